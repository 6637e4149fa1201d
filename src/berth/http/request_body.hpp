#pragma once
// Reading JSON request bodies with errors that name the field: helpers every handler uses.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"
#include "berth/http/message.hpp"

namespace berth::http {

// The body as a JSON object ({} when empty). invalid_argument when it is not JSON or not an
// object.
Result<nlohmann::json> json_body(const Request& request);

// Optional fields of a JSON object; invalid_argument (naming the field) when the type is wrong.
Result<std::optional<std::string>> string_field(const nlohmann::json& body, std::string_view field);
Result<std::optional<bool>> bool_field(const nlohmann::json& body, std::string_view field);
Result<std::optional<std::int64_t>> int_field(const nlohmann::json& body, std::string_view field);
// An object of string values; numbers and booleans are accepted and turned into text.
Result<std::map<std::string, std::string>> string_map_field(const nlohmann::json& body,
                                                            std::string_view field);

}  // namespace berth::http
