// POST /api/v1/sessions, GET and DELETE /api/v1/sessions/current (web_session.hpp).
#include "berth/http/web_session.hpp"

#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/app.hpp"
#include "berth/http/json_mapping.hpp"
#include "berth/http/request_body.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

namespace {

using boost::asio::awaitable;
using nlohmann::json;

constexpr auto kSessionLifetime = std::chrono::hours(12);

std::string cookie_header(const App& app, std::string_view value, std::chrono::seconds max_age) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie,
                     value, max_age.count(), app.options.tls ? "; Secure" : "");
}

// POST /api/v1/sessions {"token": "berth_..."}: sets the session cookie.
awaitable<Response> sign_in(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto token = string_field(*body, "token");
  if (!token) co_return error_response(token.error());
  if (!token->has_value() || (*token)->empty()) {
    co_return error_response(
        Error::invalid_argument("field \"token\" is required",
                                "paste an API token (`berth tokens create`, or the first admin "
                                "token in DATA/admin.token)")
            .with_validation("token", "is required"));
  }
  auto actor = c.app.admin.authenticate(**token);
  if (!actor) co_return error_response(actor.error());
  auto session = c.app.admin.create_token(
      *actor,
      {.name = "dashboard session",
       .lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(kSessionLifetime)});
  if (!session) co_return error_response(session.error());
  json out = {
      {"user", user_json(actor->user)},
      {"csrf_token", csrf_token_for(session->token)},
      {"read_only", actor->scope.read_only},
      {"expires_at",
       session->row.expires_at ? json(format_rfc3339(*session->row.expires_at)) : json(nullptr)}};
  Response r = Response::json(201, dump_json(out));
  r.headers.emplace_back(
      "Set-Cookie",
      cookie_header(c.app, session->token,
                    std::chrono::duration_cast<std::chrono::seconds>(kSessionLifetime)));
  r.headers.emplace_back("Cache-Control", "no-store");
  co_return r;
}

// GET /api/v1/sessions/current: who this is, and (with the cookie) the CSRF token again.
awaitable<Response> current(Context& c) {
  json out = {{"user", user_json(c.caller().user)},
              {"read_only", c.caller().scope.read_only},
              {"via", c.request.session_cookie.empty() ? "bearer" : "cookie"},
              {"csrf_token", c.request.session_cookie.empty()
                                 ? json(nullptr)
                                 : json(csrf_token_for(c.request.session_cookie))}};
  Response r = Response::json(200, dump_json(out));
  r.headers.emplace_back("Cache-Control", "no-store");
  co_return r;
}

// DELETE /api/v1/sessions/current: signs out (the session's token is revoked).
awaitable<Response> sign_out(Context& c) {
  if (c.request.session_cookie.empty()) {
    co_return error_response(
        Error::invalid_argument("this request has no session cookie",
                                "sign out from the dashboard, or revoke the token "
                                "with `berth tokens revoke`"));
  }
  if (auto s = c.app.admin.revoke_token(c.caller(), c.caller().token_id); !s)
    co_return error_response(s.error());
  Response r;
  r.status = 204;
  r.headers.emplace_back("Set-Cookie", cookie_header(c.app, "", std::chrono::seconds(0)));
  co_return r;
}

constexpr Route kRoutes[] = {
    {"POST", "/api/v1/sessions", Auth::none, &sign_in},
    {"GET", "/api/v1/sessions/current", Auth::user, &current},
    {"DELETE", "/api/v1/sessions/current", Auth::user_any_method, &sign_out},
};

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t end = header.find(';', pos);
    std::string_view part =
        header.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      std::string_view value = part.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

std::string csrf_token_for(std::string_view session) {
  return sha256_hex(fmt::format("berth-csrf:{}", session));
}

std::span<const Route> session_routes() { return kRoutes; }

}  // namespace berth::http
