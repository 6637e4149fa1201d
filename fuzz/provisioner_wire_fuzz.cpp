// libFuzzer target: what a provisioner daemon sends the server (a key holder on another host
// is not trusted with more than its own jobs), and tag text from templates and the CLI.
// Invariant: reading never throws or crashes, whatever the bytes; what is read writes back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/core/tags.hpp"
#include "berth/provisioner/wire.hpp"

namespace wire = berth::provisioner::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto tags = berth::parse_tags(text)) (void)berth::tags_json(*tags);
  if (auto tags = berth::tags_from_json(text)) {
    (void)berth::tags_satisfy(*tags, *tags);
    (void)berth::format_tags(*tags);
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  if (auto r = wire::job_ref(j)) (void)wire::to_json(*r).dump();
  if (auto a = wire::acquired_job(j)) (void)wire::to_json(*a).dump();
  if (auto a = wire::new_agent(j)) (void)wire::to_json(*a).dump();
  if (auto a = wire::workspace_agent(j)) (void)wire::to_json(*a).dump();
  if (auto l = wire::log_line(j)) (void)wire::to_json(*l).dump();
  if (auto d = wire::quota_decision(j)) (void)wire::to_json(*d).dump();
  (void)wire::array_of<berth::store::NewLogLine>(j, "lines", wire::log_line);
  (void)wire::array_of<berth::store::NewAgent>(j, "agents", wire::new_agent);
  return 0;
}
