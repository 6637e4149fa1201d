#include "berth/mcp/retries.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"

namespace berth::mcp {

namespace msg {
constexpr const char* kStillRunning =
    "an identical {} call in this chat was cut off before its answer reached you (it started "
    "at {}) and is still running; it was not started again. Its outcome is not known yet: call "
    "{} again with the same arguments in a little while to get its answer, and check its "
    "effects before doing anything that depends on them";
constexpr const char* kReplayed =
    "this is the answer of an identical call whose answer was cut off before it reached you; "
    "it ran once and was not run again";
}  // namespace msg

CallRetries::CallRetries(store::Store& store, std::chrono::milliseconds keep)
    : store_(store), keep_(keep) {}

bool CallRetries::guarded(const chattools::Tool& tool) {
  return !tool.annotations.read_only && !tool.annotations.idempotent;
}

std::string CallRetries::call_key(const std::string& tool, const nlohmann::json& arguments) {
  // nlohmann::json keeps object keys sorted: equal arguments dump equal.
  return sha256_hex(tool + "\n" + dump_json(arguments));
}

std::optional<chattools::ToolResult> CallRetries::earlier(const std::string& chat_id,
                                                          const std::string& tool,
                                                          const std::string& key) {
  auto found = store_.take_undelivered_call(chat_id, key, now_ms());
  if (!found) {
    spdlog::error("reading undelivered calls failed chat_id={} error={}", chat_id,
                  found.error().message);
    return std::nullopt;
  }
  if (!*found) return std::nullopt;
  const auto& call = **found;
  if (call.status != "done") {
    chattools::ToolResult r = chattools::ToolResult::text_error(
        fmt::format(fmt::runtime(msg::kStillRunning), tool, format_rfc3339(call.started_at), tool));
    r.structured["outcome"] = "unknown";
    return r;
  }
  chattools::ToolResult r;
  r.structured = nlohmann::json::parse(call.result, nullptr, /*allow_exceptions=*/false);
  if (!r.structured.is_object()) r.structured = nlohmann::json::object();
  r.is_error = call.is_error;
  r.structured["earlier_call"] = {{"started_at", format_rfc3339(call.started_at)},
                                  {"note", msg::kReplayed}};
  spdlog::info("cut-off call answered to its retry tool={} chat_id={}", tool, chat_id);
  return r;
}

std::string CallRetries::cut(const std::string& chat_id, const std::string& tool,
                             const std::string& key, UnixMillis started_at) {
  const UnixMillis now = now_ms();
  store::UndeliveredCall call{.id = new_uuid(),
                              .chat_id = chat_id,
                              .call_key = key,
                              .tool = tool,
                              .status = "running",
                              .started_at = started_at,
                              .cut_at = now,
                              .expires_at = now + keep_.count()};
  if (auto s = store_.record_undelivered_call(call); !s) {
    spdlog::error("recording a cut-off call failed tool={} chat_id={} error={}", tool, chat_id,
                  s.error().message);
    return "";
  }
  spdlog::info("call cut off while running tool={} chat_id={}", tool, chat_id);
  return call.id;
}

void CallRetries::finished(const std::string& record_id, const chattools::ToolResult& result) {
  if (auto s =
          store_.finish_undelivered_call(record_id, dump_json(result.structured), result.is_error);
      !s) {
    spdlog::error("recording a cut-off call's answer failed id={} error={}", record_id,
                  s.error().message);
  }
}

}  // namespace berth::mcp
