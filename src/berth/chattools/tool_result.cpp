// Helpers every tool uses; no tool logic.
#include <fmt/format.h>

#include "berth/chattools/refusals.hpp"
#include "berth/chattools/tool.hpp"

#include "berth/chattools/result_keys.hpp"
#include "berth/core/ids.hpp"

namespace berth::chattools {

CallControl::CallControl(events::EventBus* bus) : bus_(bus), id_(random_hex(8)) {}

void CallControl::cancel() {
  if (cancelled_.exchange(true)) return;
  if (on_cancel_) on_cancel_();
  if (bus_) bus_->publish(topic());
}

ToolResult ToolResult::success(json object) {
  ToolResult r;
  r.structured = std::move(object);
  r.is_error = r.structured.contains(key::kError);
  return r;
}

ToolResult ToolResult::from_error(const Error& error, std::string_view prefix) {
  if (!error.detail.empty()) {
    return text_error(fmt::format("{}{}; {}", prefix, error.message, error.detail));
  }
  if (error.code == ErrorCode::internal) {
    return text_error(fmt::format("{}{}; {}", prefix, error.message, refusal::kTryAgain));
  }
  return text_error(fmt::format("{}{}", prefix, error.message));
}

ToolResult ToolResult::text_error(std::string message) {
  ToolResult r;
  r.structured = json{{key::kError, std::move(message)}};
  r.is_error = true;
  return r;
}

}  // namespace berth::chattools
