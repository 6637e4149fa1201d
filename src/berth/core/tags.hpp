#pragma once
// Provisioner tags: what a template asks of the host that builds its workspaces
// (`provisioner_tags` in berth.yaml) and what a provisioner daemon offers (its key's tags).
// Pure functions, shared by the template parser, the CLI and the store's job matching.
//
// The rule (as Coder's): a job with no tags runs only on a provisioner with no tags (a host
// set aside for GPU work never takes ordinary builds); a job with tags runs on a provisioner
// whose tags include every one of them with the same value.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth {

using Tags = std::map<std::string, std::string>;

inline constexpr std::size_t kMaxTags = 16;
inline constexpr std::size_t kMaxTagLength = 63;

// nullopt when `key` / `value` may be a tag, else why not.
std::optional<std::string> tag_key_invalid_reason(std::string_view key);
std::optional<std::string> tag_value_invalid_reason(std::string_view value);

// "gpu=a100,zone=eu" -> {gpu: a100, zone: eu}; "" -> {}. The error names the bad part.
Result<Tags> parse_tags(std::string_view text);
// {gpu: a100, zone: eu} -> "gpu=a100,zone=eu" (what parse_tags reads).
std::string format_tags(const Tags& tags);

// Canonical JSON object with sorted keys and no spaces: equal tags give equal text, which the
// store compares and matches on. "{}" for none.
std::string tags_json(const Tags& tags);
// Reads tags_json's output (and any JSON object of strings); invalid_argument otherwise.
Result<Tags> tags_from_json(std::string_view text);

// Whether a provisioner offering `offered` may run a job asking for `wanted` (see above).
bool tags_satisfy(const Tags& offered, const Tags& wanted);

}  // namespace berth
