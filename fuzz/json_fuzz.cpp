// libFuzzer target: untrusted JSON (the depth check and parse every entry point uses) and the
// UTF-8 repair applied to everything that becomes JSON. Invariants: no crash, a parsed value
// dumps, and valid_utf8 output always parses as a JSON string.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/core/untrusted.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json value;
  if (berth::parse_untrusted_json(text, value) == berth::JsonRefusal::none) {
    (void)berth::dump_json(value);
    nlohmann::json copy = value;  // the recursive copy that once overflowed the stack
    (void)copy.dump();
  }
  const std::string fixed = berth::valid_utf8(text);
  nlohmann::json as_string = fixed;
  const std::string dumped = as_string.dump();  // throws on invalid UTF-8: must not
  if (nlohmann::json::parse(dumped).get<std::string>() != fixed) __builtin_trap();
  return 0;
}
