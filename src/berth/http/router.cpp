#include "berth/http/router.hpp"

#include <nlohmann/json.hpp>

#include "berth/core/untrusted.hpp"

namespace berth::http {

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string Request::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::string Request::bearer_token() const {
  std::string auth = header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), auth.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
      })) {
    return auth.substr(kBearer.size());
  }
  return {};
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::unauthenticated:
      return 401;
    case ErrorCode::permission_denied:
      return 403;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::already_exists:
      return 409;
    case ErrorCode::failed_precondition:
      return 409;
    case ErrorCode::resource_exhausted:
      return 429;
    case ErrorCode::cancelled:
      return 499;
    case ErrorCode::internal:
      return 500;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::deadline_exceeded:
      return 504;
  }
  return 500;
}

Response error_response(const Error& error) {
  nlohmann::json body = {{"message", error.message}};
  if (!error.detail.empty()) body["detail"] = error.detail;
  if (!error.validations.empty()) {
    body["validations"] = nlohmann::json::array();
    for (const auto& v : error.validations)
      body["validations"].push_back({{"field", v.field}, {"detail", v.detail}});
  }
  Response r = Response::json(status_for(error.code), dump_json(body));
  if (error.code == ErrorCode::unauthenticated)
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Match match_route(std::span<const Route> routes, std::string_view method, std::string_view path,
                  std::map<std::string, std::string>& params) {
  Match m;
  auto parts = split(path);
  for (const auto& route : routes) {
    auto pattern = split(route.pattern);
    if (pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> found;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      if (pattern[i].size() > 2 && pattern[i].front() == '{' && pattern[i].back() == '}') {
        found[std::string(pattern[i].substr(1, pattern[i].size() - 2))] = percent_decode(parts[i]);
      } else {
        ok = pattern[i] == parts[i];
      }
    }
    if (!ok) continue;
    m.path_matched = true;
    if (route.method == method) {
      m.route = &route;
      params = std::move(found);
      return m;
    }
  }
  return m;
}

std::vector<std::span<const Route>> all_routes() {
  return {workspace_routes(),  admin_routes(),   account_routes(),     mcp_routes(),
          chat_watch_routes(), replica_routes(), provisioner_routes(), metrics_routes(),
          openapi_routes(),    session_routes(), dashboard_routes(),   port_routes()};
}

}  // namespace berth::http
