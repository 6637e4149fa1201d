// REST handlers for account hygiene: list and revoke tokens, suspend users, memberships, and
// the bootstrap token's rotation.
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/json_mapping.hpp"
#include "berth/http/request_body.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

json token_json(const store::ApiToken& t) {
  return {
      {"id", t.id},
      {"name", t.name},
      {"user_id", t.user_id},
      {"created_at", format_rfc3339(t.created_at)},
      {"expires_at", t.expires_at ? json(format_rfc3339(*t.expires_at)) : json(nullptr)},
      {"organization_id", t.scope.organization_id ? json(*t.scope.organization_id) : json(nullptr)},
      {"read_only", t.scope.read_only}};
}

Response no_content() {
  Response r;
  r.status = 204;
  return r;
}

// GET /api/v1/tokens[?user=NAME]: the tokens (never their secrets).
awaitable<Response> list_tokens(Context& c) {
  auto tokens = c.app.admin.list_tokens(c.caller(), c.request.query_param("user").value_or(""));
  if (!tokens) co_return error_response(tokens.error());
  json out = json::array();
  for (const auto& t : *tokens) out.push_back(token_json(t));
  co_return Response::json(200, dump_json(out));
}

// DELETE /api/v1/tokens/{id}: the token stops working at once.
awaitable<Response> revoke_token(Context& c) {
  if (auto s = c.app.admin.revoke_token(c.caller(), c.request.params.at("id")); !s) {
    co_return error_response(s.error());
  }
  co_return no_content();
}

// POST /api/v1/users/{name}/suspend and /unsuspend (site admins).
awaitable<Response> suspend_user(Context& c) {
  if (auto s = c.app.admin.set_suspended(c.caller(), c.request.params.at("name"), true); !s) {
    co_return error_response(s.error());
  }
  co_return no_content();
}

awaitable<Response> unsuspend_user(Context& c) {
  if (auto s = c.app.admin.set_suspended(c.caller(), c.request.params.at("name"), false); !s) {
    co_return error_response(s.error());
  }
  co_return no_content();
}

// PUT /api/v1/organizations/{org}/members/{name} {"role": "member" | "admin"}
awaitable<Response> put_member(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto role = string_field(*body, "role");
  if (!role) co_return error_response(role.error());
  auto parsed = store::parse_org_role(role->value_or("member"));
  if (!parsed) {
    co_return error_response(
        Error::invalid_argument(fmt::format("unknown role \"{}\"", role->value_or("")),
                                "use member or admin")
            .with_validation("role", "must be member or admin"));
  }
  if (auto s = c.app.admin.set_membership(c.caller(), c.request.params.at("org"),
                                          c.request.params.at("name"), *parsed);
      !s) {
    co_return error_response(s.error());
  }
  co_return no_content();
}

// DELETE /api/v1/organizations/{org}/members/{name}
awaitable<Response> delete_member(Context& c) {
  if (auto s = c.app.admin.remove_member(c.caller(), c.request.params.at("org"),
                                         c.request.params.at("name"));
      !s) {
    co_return error_response(s.error());
  }
  co_return no_content();
}

// GET /api/v1/organizations/{org}/members: users with their role (organization admins).
awaitable<Response> list_members(Context& c) {
  auto members = c.app.admin.members(c.caller(), c.request.params.at("org"));
  if (!members) co_return error_response(members.error());
  json out = json::array();
  for (const auto& m : *members) {
    json j = user_json(m.user);
    j["role"] = to_string(m.role);
    out.push_back(std::move(j));
  }
  co_return Response::json(200, dump_json(out));
}

// POST /api/v1/tokens/rotate-bootstrap: a new admin token; the bootstrap one is revoked and
// its file in the data directory removed.
awaitable<Response> rotate_bootstrap(Context& c) {
  auto token = c.app.admin.rotate_bootstrap_token(c.caller(), c.app.options.bootstrap_token_file);
  if (!token) co_return error_response(token.error());
  json out = token_json(token->row);
  out["token"] = token->token;
  co_return Response::json(201, dump_json(out));
}

constexpr Route kRoutes[] = {
    {"GET", "/api/v1/tokens", Auth::user, &list_tokens},
    {"DELETE", "/api/v1/tokens/{id}", Auth::user, &revoke_token},
    {"POST", "/api/v1/tokens/rotate-bootstrap", Auth::user, &rotate_bootstrap},
    {"POST", "/api/v1/users/{name}/suspend", Auth::user, &suspend_user},
    {"POST", "/api/v1/users/{name}/unsuspend", Auth::user, &unsuspend_user},
    {"GET", "/api/v1/organizations/{org}/members", Auth::user, &list_members},
    {"PUT", "/api/v1/organizations/{org}/members/{name}", Auth::user, &put_member},
    {"DELETE", "/api/v1/organizations/{org}/members/{name}", Auth::user, &delete_member},
};

}  // namespace

std::span<const Route> account_routes() { return kRoutes; }

}  // namespace berth::http
