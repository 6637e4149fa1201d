// Helpers every tool uses; no tool logic.
#include "berth/chattools/tool.hpp"

#include "berth/chattools/result_keys.hpp"

namespace berth::chattools {

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
