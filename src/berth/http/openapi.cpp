#include "berth/http/openapi.hpp"

#include <charconv>

#include <yaml-cpp/yaml.h>

#include "berth/core/untrusted.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

namespace {

using nlohmann::json;

json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() != "?") return s;  // quoted: a string
  if (s == "true") return true;
  if (s == "false") return false;
  if (s == "null" || s == "~") return nullptr;
  std::int64_t i = 0;
  if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      ec == std::errc() && p == s.data() + s.size())
    return i;
  double d = 0;
  if (auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      ec == std::errc() && p == s.data() + s.size())
    return d;
  return s;
}

json convert(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : n) out[kv.first.Scalar()] = convert(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : n) out.push_back(convert(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar(n);
    default:
      return nullptr;
  }
}

boost::asio::awaitable<Response> openapi_json(Context&) {
  static const std::string body = dump_json(openapi_document());
  co_return Response::json(200, body);
}

constexpr Route kRoutes[] = {
    {"GET", "/api/v1/openapi.json", Auth::none, &openapi_json},
};

}  // namespace

nlohmann::json yaml_to_json(std::string_view yaml) {
  return convert(YAML::Load(std::string(yaml)));
}

namespace {

// What every authenticated operation may answer, added where the YAML does not say it
// already: 401 (no valid token), and for changes 403 (a read-only token) and 413 (a body over
// the limit).
void add_common_responses(json& doc) {
  const json error = {{"$ref", "#/components/responses/Error"}};
  for (auto& [path, item] : doc["paths"].items()) {
    for (const char* method : {"get", "post", "put", "delete"}) {
      if (!item.contains(method)) continue;
      json& op = item[method];
      const bool open = op.contains("security") && op["security"].empty();
      if (open) continue;
      json& responses = op["responses"];
      if (!responses.contains("401")) responses["401"] = error;
      if (std::string_view(method) != "get") {
        if (!responses.contains("403")) responses["403"] = error;
        if (!responses.contains("413")) responses["413"] = error;
      }
    }
  }
}

}  // namespace

const nlohmann::json& openapi_document() {
  static const json doc = [] {
    json d = yaml_to_json(openapi_yaml());
    add_common_responses(d);
    return d;
  }();
  return doc;
}

std::span<const Route> openapi_routes() { return kRoutes; }

}  // namespace berth::http
