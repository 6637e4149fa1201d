#include "berth/http/request_body.hpp"

#include <fmt/format.h>

#include "berth/core/untrusted.hpp"

namespace berth::http {

using nlohmann::json;

namespace {
Error wrong_type(std::string_view field, std::string_view want) {
  return Error::invalid_argument(fmt::format("field \"{}\" must be {}", field, want))
      .with_validation(std::string(field), fmt::format("must be {}", want));
}
}  // namespace

Result<json> json_body(const Request& request) {
  if (request.body.empty()) return json::object();
  json body;
  if (auto refused = parse_untrusted_json(request.body, body); refused != JsonRefusal::none) {
    return Error::invalid_argument(json_refusal_message(refused, "the request body"),
                                   "send a JSON object with Content-Type: application/json");
  }
  if (!body.is_object()) {
    return Error::invalid_argument("request body must be a JSON object",
                                   "wrap the fields in {...}");
  }
  return body;
}

Result<std::optional<std::string>> string_field(const json& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return wrong_type(field, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<bool>> bool_field(const json& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return wrong_type(field, "true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::int64_t>> int_field(const json& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number_integer()) return wrong_type(field, "a whole number");
  return std::optional<std::int64_t>(it->get<std::int64_t>());
}

Result<std::map<std::string, std::string>> string_map_field(const json& body,
                                                            std::string_view field) {
  std::map<std::string, std::string> out;
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object()) return wrong_type(field, "an object of names to values");
  for (auto& [k, v] : it->items()) {
    if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else if (v.is_number() || v.is_boolean()) {
      out[k] = v.dump();
    } else {
      return wrong_type(fmt::format("{}.{}", field, k), "a string, number or boolean");
    }
  }
  return out;
}

}  // namespace berth::http
