#pragma once
// Bytes that cross a boundary (a client's body, an agent's frame, a process's output) before
// they become JSON. Two dangers: nesting deep enough that the recursive copies and dumps of
// nlohmann::json overflow the stack, and bytes that are not UTF-8, on which dump() throws.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace berth {

// The deepest nesting of arrays and objects accepted from outside. Every legitimate message
// (MCP, REST, the agent protocol) is under 10 levels.
inline constexpr int kMaxJsonDepth = 64;

enum class JsonRefusal {
  none,
  invalid,   // not JSON (or JSON with invalid UTF-8)
  too_deep,  // arrays/objects nested deeper than the limit
};

// Parses `text` as JSON, refusing nesting deeper than `max_depth` before anything is built.
// On refusal `out` is untouched.
JsonRefusal parse_untrusted_json(std::string_view text, nlohmann::json& out,
                                 int max_depth = kMaxJsonDepth);

// True when arrays/objects in `text` nest deeper than `max_depth` (strings are skipped, so a
// '[' inside a string does not count). Linear, no allocation; text need not be valid JSON.
bool json_nesting_exceeds(std::string_view text, int max_depth);

// The message for a refusal, naming the limit: for clients and logs alike.
std::string json_refusal_message(JsonRefusal refusal, std::string_view what);

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD (as browsers and
// nlohmann's `replace` handler do: one U+FFFD per maximal invalid subpart).
std::string valid_utf8(std::string_view text);

// The offset of the first byte that is not part of valid UTF-8, or nullopt when all is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// dump() that never throws on invalid UTF-8 (replaces it) — for JSON that carries output.
std::string dump_json(const nlohmann::json& value);

}  // namespace berth
