#pragma once
// The shapes of failed tool results (spec sections 2.2 and 2.3). JSON, so a client keeps the
// build id and the validations; is_error is set (reference choice 6). Pure.

#include <optional>
#include <string>

#include "berth/chattools/tool.hpp"
#include "berth/core/result.hpp"

namespace berth::chattools {

inline constexpr std::string_view kInsufficientQuota = "INSUFFICIENT_QUOTA";

enum class BuildAction { create, start };

struct BuildFailure {
  std::string error;  // the full wrapped text, e.g. "workspace build failed: script exited 1"
  std::optional<std::string> error_code;  // the provisioner's, e.g. SCRIPT_FAILED
  std::string build_id;
};

struct QuotaFigures {
  std::int64_t credits_consumed = 0;
  std::int64_t budget = 0;
};

// {"error", "build_id"}; a quota failure (error code INSUFFICIENT_QUOTA) gets the quota shape:
// also "error_code", "title", "message" and, when known, "quota". Other error codes stay out,
// as upstream: the error text says what failed.
ToolResult build_failure_result(BuildAction action, const BuildFailure& failure,
                                std::optional<QuotaFigures> quota = std::nullopt);

// True for errors the API answers with a message, a detail and validations (bad input, a
// conflict, a missing thing): the tool passes them on as JSON (responseErrorResult).
bool is_responder_error(const Error& e);
// {"error": message or "request failed", "detail"?, "validations"?: [{field, detail}]}.
ToolResult responder_error_result(const Error& e);

}  // namespace berth::chattools
