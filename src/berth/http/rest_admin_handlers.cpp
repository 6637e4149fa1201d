// REST handlers for templates, users, tokens, organizations and site settings.
#include <algorithm>

#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/duration.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/json_mapping.hpp"
#include "berth/http/request_body.hpp"
#include "berth/http/router.hpp"
#include "berth/templates/template_spec.hpp"
#include "berth/workspaces/prebuild_reconciler.hpp"

namespace berth::http {

using boost::asio::awaitable;

namespace {

json template_with_spec(Context& c, const store::Template& t) {
  auto version = c.app.store.template_version_by_id(t.active_version_id);
  if (!version) return template_json(t);
  auto spec = templates::from_json(version->spec);
  json j = template_json(t, spec ? &*spec : nullptr);
  j["version"] = {{"id", version->id}, {"number", version->number}};
  // The prebuild pools of presets that want some.
  json pools = json::array();
  auto presets = c.app.store.presets_for_version(version->id);
  const bool wants_prebuilds =
      presets && std::any_of(presets->begin(), presets->end(),
                             [](const store::Preset& p) { return p.desired_instances > 0; });
  const UnixMillis now = now_ms();
  auto pool =
      wants_prebuilds
          ? c.app.store.prebuild_workspaces(now)
          : Result<std::vector<store::PrebuildWorkspace>>(std::vector<store::PrebuildWorkspace>{});
  if (wants_prebuilds && pool) {
    for (const auto& p : *presets) {
      if (p.desired_instances <= 0) continue;
      auto s = workspaces::prebuild_status(c.app.store, p, *pool, c.app.options.prebuilds, now);
      if (!s) continue;
      pools.push_back(
          {{"preset_id", p.id},
           {"preset", p.name},
           {"desired", s->desired},
           {"ready", s->ready},
           {"building", s->building},
           {"state", s->state},
           {"consecutive_failures", s->consecutive_failures},
           {"last_error", s->last_error.empty() ? json(nullptr) : json(s->last_error)}});
    }
  }
  j["prebuilds"] = std::move(pools);
  return j;
}

// POST /api/v1/templates {"files": {"template.yaml": "...", "README.md": "..."}, "organization"}
awaitable<Response> push_template(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto org = string_field(*body, "organization");
  if (!org) co_return error_response(org.error());
  auto files = string_map_field(*body, "files");
  if (!files) co_return error_response(files.error());
  auto pushed = c.app.admin.push_template(c.caller(), org->value_or(""), *files);
  if (!pushed) co_return error_response(pushed.error());
  c.app.bus.publish(events::topic::kPrebuilds);  // its presets may want prebuilds now
  json out = template_with_spec(c, pushed->tmpl);
  out["created"] = pushed->created;
  co_return Response::json(pushed->created ? 201 : 200, dump_json(out));
}

awaitable<Response> list_templates(Context& c) {
  auto all = c.app.admin.list_templates(c.caller());
  if (!all) co_return error_response(all.error());
  json out = json::array();
  for (const auto& t : *all) out.push_back(template_json(t));
  co_return Response::json(200, dump_json(out));
}

awaitable<Response> get_template(Context& c) {
  auto t = c.app.admin.get_template(c.caller(), c.request.params.at("id"));
  if (!t) co_return error_response(t.error());
  co_return Response::json(200, dump_json(template_with_spec(c, *t)));
}

// GET /api/v1/templates/{id}/versions: every version, newest first, with its template.yaml.
awaitable<Response> template_versions(Context& c) {
  auto t = c.app.admin.get_template(c.caller(), c.request.params.at("id"));
  if (!t) co_return error_response(t.error());
  auto versions = c.app.store.template_versions(t->id);
  if (!versions) co_return error_response(versions.error());
  json out = json::array();
  for (const auto& e : *versions) {
    out.push_back({{"id", e.version.id},
                   {"number", e.version.number},
                   {"active", t->active_version_id == e.version.id},
                   {"created_at", format_rfc3339(e.version.created_at)},
                   {"created_by", e.created_by.empty() ? json(nullptr) : json(e.created_by)},
                   {"has_external_agent", e.version.has_external_agent},
                   {"source", e.version.source}});
  }
  co_return Response::json(200, dump_json(out));
}

awaitable<Response> create_user(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto username = string_field(*body, "username");
  auto email = string_field(*body, "email");
  auto admin = bool_field(*body, "site_admin");
  auto org = string_field(*body, "organization");
  auto role = string_field(*body, "role");
  for (const Error* e : {username ? nullptr : &username.error(), email ? nullptr : &email.error(),
                         admin ? nullptr : &admin.error(), org ? nullptr : &org.error(),
                         role ? nullptr : &role.error()}) {
    if (e) co_return error_response(*e);
  }
  if (!username->has_value()) {
    co_return error_response(Error::invalid_argument("field \"username\" is required")
                                 .with_validation("username", "is required"));
  }
  auto parsed_role = store::parse_org_role(role->value_or("member"));
  if (!parsed_role) {
    co_return error_response(
        Error::invalid_argument(fmt::format("unknown role \"{}\"", role->value_or("")),
                                "use member or admin")
            .with_validation("role", "must be member or admin"));
  }
  auto user = c.app.admin.create_user(c.caller(), {.username = **username,
                                                   .email = email->value_or(""),
                                                   .site_admin = admin->value_or(false),
                                                   .organization = org->value_or(""),
                                                   .role = *parsed_role});
  if (!user) co_return error_response(user.error());
  co_return Response::json(201, dump_json(user_json(*user)));
}

// GET /api/v1/users (site admins)
awaitable<Response> list_users(Context& c) {
  auto users = c.app.admin.list_users(c.caller());
  if (!users) co_return error_response(users.error());
  json out = json::array();
  for (const auto& u : *users) out.push_back(user_json(u));
  co_return Response::json(200, dump_json(out));
}

awaitable<Response> me(Context& c) {
  co_return Response::json(200, dump_json(user_json(c.caller().user)));
}

// POST /api/v1/tokens {"name", "username", "lifetime": "720h"} -> the token, shown once.
awaitable<Response> create_token(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto name = string_field(*body, "name");
  auto username = string_field(*body, "username");
  auto lifetime = string_field(*body, "lifetime");
  auto org = string_field(*body, "organization");
  auto read_only = bool_field(*body, "read_only");
  for (const Error* e : {name ? nullptr : &name.error(), username ? nullptr : &username.error(),
                         lifetime ? nullptr : &lifetime.error(), org ? nullptr : &org.error(),
                         read_only ? nullptr : &read_only.error()}) {
    if (e) co_return error_response(*e);
  }
  std::optional<std::chrono::milliseconds> life;
  if (lifetime->has_value()) {
    auto d = parse_duration(**lifetime);
    if (!d)
      co_return error_response(Error(d.error()).with_validation("lifetime", d.error().message));
    life = *d;
  }
  auto token = c.app.admin.create_token(c.caller(), {.name = name->value_or(""),
                                                     .username = *username,
                                                     .lifetime = life,
                                                     .organization = org->value_or(""),
                                                     .read_only = read_only->value_or(false)});
  if (!token) co_return error_response(token.error());
  const auto& scope = token->row.scope;
  json out = {
      {"id", token->row.id},
      {"name", token->row.name},
      {"user_id", token->row.user_id},
      {"token", token->token},
      {"organization_id", scope.organization_id ? json(*scope.organization_id) : json(nullptr)},
      {"read_only", scope.read_only},
      {"expires_at",
       token->row.expires_at ? json(format_rfc3339(*token->row.expires_at)) : json(nullptr)}};
  co_return Response::json(201, dump_json(out));
}

awaitable<Response> create_organization(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto name = string_field(*body, "name");
  auto display = string_field(*body, "display_name");
  if (!name) co_return error_response(name.error());
  if (!display) co_return error_response(display.error());
  auto org = c.app.admin.create_organization(c.caller(), name->value_or(""), display->value_or(""));
  if (!org) co_return error_response(org.error());
  co_return Response::json(201, dump_json(organization_json(*org)));
}

awaitable<Response> list_organizations(Context& c) {
  auto all = c.app.admin.list_organizations(c.caller());
  if (!all) co_return error_response(all.error());
  json out = json::array();
  for (const auto& o : *all) out.push_back(organization_json(o));
  co_return Response::json(200, dump_json(out));
}

json quota_usage_json(const store::QuotaUsage& u) {
  return {{"credits_consumed", u.credits_consumed},
          {"budget", u.budget ? json(*u.budget) : json(nullptr)}};
}

// PUT /api/v1/organizations/{org}/quota {"user"?: name, "budget": N | null}: a member's
// budget, or (without "user") every member's; null removes it.
awaitable<Response> set_quota(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto user = string_field(*body, "user");
  auto budget = int_field(*body, "budget");
  if (!user) co_return error_response(user.error());
  if (!budget) co_return error_response(budget.error());
  if (!body->contains("budget")) {
    co_return error_response(
        Error::invalid_argument("field \"budget\" is required",
                                "pass a whole number of credits, or null to remove the quota")
            .with_validation("budget", "is required"));
  }
  const auto& org = c.request.params.at("org");
  if (auto s = c.app.admin.set_quota(c.caller(), org, user->value_or(""), *budget); !s)
    co_return error_response(s.error());
  auto usage = c.app.admin.quota_usage(c.caller(), org, user->value_or(""));
  if (!usage) co_return error_response(usage.error());
  co_return Response::json(200, dump_json(quota_usage_json(*usage)));
}

// GET /api/v1/organizations/{org}/quota[?user=NAME]: usage and budget (yours by default).
awaitable<Response> get_quota(Context& c) {
  auto usage = c.app.admin.quota_usage(c.caller(), c.request.params.at("org"),
                                       c.request.query_param("user").value_or(""));
  if (!usage) co_return error_response(usage.error());
  co_return Response::json(200, dump_json(quota_usage_json(*usage)));
}

// GET /api/v1/organizations/{org}/quotas: the budgets set (organization admins).
awaitable<Response> list_quotas(Context& c) {
  auto all = c.app.admin.quotas(c.caller(), c.request.params.at("org"));
  if (!all) co_return error_response(all.error());
  json out = {{"every_member", nullptr}, {"users", json::array()}};
  for (const auto& a : *all) {
    if (a.subject == store::kEveryMember) {
      out["every_member"] = a.budget;
    } else {
      out["users"].push_back(
          {{"user_id", a.subject}, {"username", a.username}, {"budget", a.budget}});
    }
  }
  co_return Response::json(200, dump_json(out));
}

// PUT /api/v1/config/{key} {"value": "2h"}
awaitable<Response> set_config(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto value = string_field(*body, "value");
  if (!value) co_return error_response(value.error());
  if (!value->has_value()) {
    co_return error_response(Error::invalid_argument("field \"value\" is required")
                                 .with_validation("value", "is required"));
  }
  const auto& key = c.request.params.at("key");
  if (auto s = c.app.admin.set_config(c.caller(), key, **value); !s)
    co_return error_response(s.error());
  auto stored = c.app.admin.get_config(key);
  co_return Response::json(
      200,
      json{{"key", key}, {"value", stored && *stored ? json(**stored) : json(nullptr)}}.dump());
}

awaitable<Response> get_config(Context& c) {
  const auto& key = c.request.params.at("key");
  auto value = c.app.admin.get_config(key);
  if (!value) co_return error_response(value.error());
  co_return Response::json(
      200, json{{"key", key}, {"value", *value ? json(**value) : json(nullptr)}}.dump());
}

// POST /api/v1/chats {"key"?, "organization"?, "title"?}: a new chat, or the caller's chat
// with that key (created on first use).
awaitable<Response> open_chat(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto key = string_field(*body, "key");
  auto org = string_field(*body, "organization");
  auto title = string_field(*body, "title");
  for (const Error* e : {key ? nullptr : &key.error(), org ? nullptr : &org.error(),
                         title ? nullptr : &title.error()}) {
    if (e) co_return error_response(*e);
  }
  auto chat = c.app.chats->open(c.caller(), *key, org->value_or(""), title->value_or(""));
  if (!chat) co_return error_response(chat.error());
  co_return Response::json(key->has_value() ? 200 : 201, dump_json(chat_json(*chat)));
}

awaitable<Response> list_chats(Context& c) {
  auto all = c.app.chats->list(c.caller());
  if (!all) co_return error_response(all.error());
  json out = json::array();
  for (const auto& chat : *all) out.push_back(chat_json(chat));
  co_return Response::json(200, dump_json(out));
}

awaitable<Response> get_chat(Context& c) {
  auto chat = c.app.chats->get(c.caller(), c.request.params.at("id"));
  if (!chat) co_return error_response(chat.error());
  co_return Response::json(200, dump_json(chat_json(*chat)));
}

// POST /api/v1/chats/{id}/workspace {"workspace": "id | name | owner/name"}: binds the chat to
// an existing workspace; the chat tools then work against it.
awaitable<Response> attach_workspace(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto ref = string_field(*body, "workspace");
  if (!ref) co_return error_response(ref.error());
  if (!*ref || (*ref)->empty()) {
    co_return error_response(
        Error::invalid_argument("workspace is required", "name the workspace to attach")
            .with_validation("workspace", "is required"));
  }
  auto ws = c.app.workspaces.get(c.caller(), **ref);
  if (!ws) co_return error_response(ws.error());
  auto chat = c.app.chats->attach(c.caller(), c.request.params.at("id"), ws->workspace,
                                  ws->latest.build.id);
  if (!chat) co_return error_response(chat.error());
  c.app.bus.publish(events::topic::chat(chat->id));
  co_return Response::json(200, dump_json(chat_json(*chat)));
}

constexpr Route kRoutes[] = {
    {"POST", "/api/v1/chats", Auth::user, &open_chat},
    {"POST", "/api/v1/chats/{id}/workspace", Auth::user, &attach_workspace},
    {"GET", "/api/v1/chats", Auth::user, &list_chats},
    {"GET", "/api/v1/chats/{id}", Auth::user, &get_chat},
    {"POST", "/api/v1/templates", Auth::user, &push_template},
    {"GET", "/api/v1/templates", Auth::user, &list_templates},
    {"GET", "/api/v1/templates/{id}", Auth::user, &get_template},
    {"GET", "/api/v1/templates/{id}/versions", Auth::user, &template_versions},
    {"POST", "/api/v1/users", Auth::user, &create_user},
    {"GET", "/api/v1/users", Auth::user, &list_users},
    {"GET", "/api/v1/users/me", Auth::user, &me},
    {"POST", "/api/v1/tokens", Auth::user, &create_token},
    {"POST", "/api/v1/organizations", Auth::user, &create_organization},
    {"GET", "/api/v1/organizations", Auth::user, &list_organizations},
    {"PUT", "/api/v1/organizations/{org}/quota", Auth::user, &set_quota},
    {"GET", "/api/v1/organizations/{org}/quota", Auth::user, &get_quota},
    {"GET", "/api/v1/organizations/{org}/quotas", Auth::user, &list_quotas},
    {"PUT", "/api/v1/config/{key}", Auth::user, &set_config},
    {"GET", "/api/v1/config/{key}", Auth::user, &get_config},
};

}  // namespace

std::span<const Route> admin_routes() { return kRoutes; }

}  // namespace berth::http
