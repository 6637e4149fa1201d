#include "berth/chattools/failure_results.hpp"

#include <fmt/format.h>

#include "berth/chattools/result_keys.hpp"

namespace berth::chattools {

ToolResult build_failure_result(BuildAction action, const BuildFailure& f,
                                std::optional<QuotaFigures> quota) {
  json out = {{key::kError, f.error}};
  if (!f.build_id.empty()) out[key::kBuildId] = f.build_id;
  if (f.error_code && *f.error_code == kInsufficientQuota) {
    out["error_code"] = *f.error_code;
    out["title"] = "Workspace quota reached";
    out["message"] = fmt::format(
        "Berth could not {} this workspace because your workspace quota is full. Delete a "
        "workspace you no longer need to free quota, or ask an administrator to raise your "
        "group quota allowance.",
        action == BuildAction::create ? "create" : "start");
    if (quota) {
      out["quota"] = {{"credits_consumed", quota->credits_consumed}, {"budget", quota->budget}};
    }
  }
  return ToolResult::success(std::move(out));
}

bool is_responder_error(const Error& e) {
  switch (e.code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::not_found:
    case ErrorCode::already_exists:
    case ErrorCode::failed_precondition:
    case ErrorCode::permission_denied:
      return true;
    default:
      return false;
  }
}

ToolResult responder_error_result(const Error& e) {
  json out = {{key::kError, e.message.empty() ? "request failed" : e.message}};
  if (!e.detail.empty()) out[key::kDetail] = e.detail;
  if (!e.validations.empty()) {
    json list = json::array();
    for (const auto& v : e.validations) list.push_back({{"field", v.field}, {"detail", v.detail}});
    out[key::kValidations] = std::move(list);
  }
  return ToolResult::success(std::move(out));
}

}  // namespace berth::chattools
