// libFuzzer target: template.yaml as an organization admin pushes it. Invariants: no crash,
// a template that parses round-trips through its canonical JSON, and its defaults and
// presets resolve (RE2 patterns included) without throwing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "berth/templates/parameters.hpp"
#include "berth/templates/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = berth::templates::parse_template({{"template.yaml", text}});
  if (!spec) return 0;
  auto json = berth::templates::to_json(*spec);
  auto back = berth::templates::from_json(json);
  if (!back || berth::templates::to_json(*back) != json) __builtin_trap();
  for (const auto& p : spec->presets) {
    (void)berth::templates::resolve_parameters(*spec, {.preset = p.name});
  }
  berth::templates::ParameterValues values;
  for (const auto& p : spec->parameters) values[p.name] = text.substr(0, 64);
  (void)berth::templates::resolve_parameters(*spec, {.provided = values});
  return 0;
}
