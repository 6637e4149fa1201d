// Helpers every tool uses; no tool logic.
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

ToolResult ToolResult::text_error(std::string message) {
  ToolResult r;
  r.structured = json{{key::kError, std::move(message)}};
  r.is_error = true;
  return r;
}

}  // namespace berth::chattools
