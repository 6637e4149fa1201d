#include "berth/workspaces/admin_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/core/clock.hpp"
#include "berth/core/duration.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/names.hpp"
#include "berth/templates/parse.hpp"

namespace berth::workspaces {

namespace {
constexpr std::string_view kTokenPrefix = "berth_";
constexpr auto kMinWorkspaceTtl = std::chrono::minutes(1);
constexpr auto kMaxWorkspaceTtl = std::chrono::hours(24 * 30);
}  // namespace

Result<std::chrono::milliseconds> parse_workspace_ttl_setting(std::string_view value) {
  auto d = parse_duration(value);
  if (!d) return d.error();
  if (d->count() < 0) return Error::invalid_argument("Workspace TTL must be non-negative.");
  if (d->count() > 0 && *d < kMinWorkspaceTtl) {
    return Error::invalid_argument("Workspace TTL must not be less than 1 minute.");
  }
  if (*d > kMaxWorkspaceTtl)
    return Error::invalid_argument("Workspace TTL must not exceed 30 days.");
  return *d;
}

Result<IssuedToken> AdminService::issue_token(const store::User& user, std::string_view name,
                                              std::optional<std::chrono::milliseconds> lifetime,
                                              const store::TokenScope& scope) {
  std::string id = random_hex(8);
  std::string secret = random_hex(24);
  std::optional<UnixMillis> expires;
  if (lifetime) expires = now_ms() + lifetime->count();
  auto row = store_.create_api_token(user.id, name, id, sha256_hex(secret), expires, scope);
  if (!row) return row.error();
  return IssuedToken{std::move(*row), fmt::format("{}{}_{}", kTokenPrefix, id, secret)};
}

Result<Actor> AdminService::bootstrap(const std::filesystem::path& token_file) {
  auto admin = store_.user_by_username(kAdminUser);
  if (admin) return Actor{*admin};
  if (admin.error().code != ErrorCode::not_found) return admin.error();
  auto org = store_.organization_by_name(kDefaultOrganization);
  if (!org) {
    org = store_.create_organization(kDefaultOrganization, "Default");
    if (!org) return org.error();
  }
  auto user = store_.create_user(kAdminUser, "", /*site_admin=*/true, /*is_system=*/false);
  if (!user) return user.error();
  if (auto s = store_.set_member(org->id, user->id, store::OrgRole::admin); !s) return s.error();
  auto token = issue_token(*user, "bootstrap", std::nullopt);
  if (!token) return token.error();
  // Created 0600 in one step: never readable by others, not even for a moment.
  const std::string line = token->token + "\n";
  int fd = ::open(token_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
                 ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (fd >= 0) ::close(fd);
  if (!written) {
    return Error::unavailable(fmt::format("cannot write {}", token_file.string()),
                              "check that the data directory is writable");
  }
  return Actor{*user};
}

Result<Actor> AdminService::authenticate(std::string_view token) {
  const auto invalid = [] {
    return Error::unauthenticated(
        "missing or invalid API token",
        "pass a token with --token or BERTH_TOKEN (as `Authorization: Bearer <token>`); "
        "the admin token is in <data-dir>/admin.token");
  };
  if (!token.starts_with(kTokenPrefix)) return invalid();
  std::string_view rest = token.substr(kTokenPrefix.size());
  auto sep = rest.find('_');
  if (sep == std::string_view::npos) return invalid();
  auto owner =
      store_.user_for_token(rest.substr(0, sep), sha256_hex(rest.substr(sep + 1)), now_ms());
  if (!owner) return owner.error();
  Actor actor{std::move(owner->user), std::move(owner->scope), std::string(rest.substr(0, sep))};
  if (actor.scope.organization_id) actor.user.site_admin = false;
  return actor;
}

Result<Actor> AdminService::actor_for_token_id(std::string_view token_id) {
  auto owner = store_.token_owner(token_id, now_ms());
  if (!owner) return owner.error();
  Actor actor{std::move(owner->user), std::move(owner->scope), std::string(token_id)};
  if (actor.scope.organization_id) actor.user.site_admin = false;
  return actor;
}

Result<store::Organization> AdminService::organization(std::string_view ref) {
  if (ref.empty()) ref = kDefaultOrganization;
  auto org =
      looks_like_uuid(ref) ? store_.organization_by_id(ref) : store_.organization_by_name(ref);
  if (!org && org.error().code == ErrorCode::not_found) {
    return Error::not_found(fmt::format("organization \"{}\" not found", ref),
                            "list organizations with `berth orgs list`");
  }
  return org;
}

Result<store::PushedTemplate> AdminService::push_template(
    const Actor& actor, std::string_view org_ref, const std::map<std::string, std::string>& files) {
  auto org = organization(org_ref);
  if (!org) return org.error();
  if (auto s = authz_.can_manage_templates(actor, org->id); !s) return s.error();
  auto spec = templates::parse_template(files);
  if (!spec) return spec.error();
  if (spec->isolation != templates::Isolation::sandbox) {
    // process and script run the template's commands on this host as the server's user:
    // whoever pushes one can read everything the server can.
    const std::string what = fmt::format(
        "template {} uses isolation: {}, which runs its commands on the server's host as the "
        "server's user",
        spec->name, templates::to_string(spec->isolation));
    if (!allow_unisolated_) {
      return Error::failed_precondition(
          what + ", and this server refuses that",
          "use isolation: sandbox, or (single-user development) start the server with "
          "--allow-unisolated");
    }
    if (auto s = authz_.require_site_admin(actor,
                                           "push a template with isolation: " +
                                               std::string(templates::to_string(spec->isolation)));
        !s) {
      return Error::permission_denied(what + "; only site admins may push such templates",
                                      "use isolation: sandbox");
    }
  }
  std::vector<store::NewPreset> presets;
  for (const auto& p : spec->presets) {
    presets.push_back({.name = p.name,
                       .description = p.description,
                       .is_default = p.is_default,
                       .parameters = nlohmann::json(p.parameters).dump(),
                       .desired_instances = p.prebuilds});
  }
  return store_.push_template_version(
      {.organization_id = org->id,
       .name = spec->name,
       .display_name = spec->display_name,
       .description = spec->description,
       .isolation = std::string(templates::to_string(spec->isolation)),
       .agents_allowed = spec->agents_allowed,
       .source = files.at(std::string(templates::kTemplateFile)),
       .spec = templates::to_json(*spec),
       .readme = spec->readme,
       .has_external_agent = spec->has_external_agent(),
       .provisioner_tags = tags_json(spec->provisioner_tags),
       .created_by = actor.user.id,
       .presets = std::move(presets)});
}

Result<std::vector<store::Template>> AdminService::list_templates(const Actor& actor) {
  auto orgs = authz_.visible_organizations(actor);
  if (!orgs) return orgs.error();
  return store_.list_templates(*orgs);
}

Result<store::Template> AdminService::get_template(const Actor& actor, std::string_view ref) {
  auto all = list_templates(actor);
  if (!all) return all.error();
  for (auto& t : *all) {
    if (t.id == ref || t.name == ref) return t;
  }
  return Error::not_found(fmt::format("template \"{}\" not found", ref),
                          "list the templates you can use with `berth templates list`");
}

Result<store::User> AdminService::create_user(const Actor& actor, const NewUserRequest& req) {
  if (auto s = authz_.require_site_admin(actor, "create users"); !s) return s.error();
  if (auto why = name_invalid_reason(req.username)) {
    return Error::invalid_argument(fmt::format("invalid username \"{}\": {}", req.username, *why),
                                   "use 1-32 letters, digits and single hyphens")
        .with_validation("username", *why);
  }
  auto org = organization(req.organization);
  if (!org) return org.error();
  auto user = store_.create_user(req.username, req.email, req.site_admin, false);
  if (!user) return user.error();
  if (auto s = store_.set_member(org->id, user->id, req.role); !s) return s.error();
  return user;
}

Result<IssuedToken> AdminService::create_token(const Actor& actor, const TokenRequest& req) {
  store::User user = actor.user;
  if (req.username && *req.username != actor.user.username) {
    if (auto s = authz_.require_site_admin(actor, "create tokens for other users"); !s)
      return s.error();
    auto other = store_.user_by_username(*req.username);
    if (!other) return other.error();
    user = *other;
  }
  if (req.lifetime && req.lifetime->count() <= 0) {
    return Error::invalid_argument("token lifetime must be positive", "e.g. --lifetime 720h")
        .with_validation("lifetime", "must be positive");
  }
  // Never wider than the caller's own token.
  store::TokenScope scope{actor.scope.organization_id, actor.scope.read_only || req.read_only};
  if (!req.organization.empty()) {
    auto org = organization(req.organization);
    if (!org) return org.error();
    if (!actor.in_scope(org->id)) {
      return Error::permission_denied(
          "this token is limited to another organization and cannot make tokens for this one",
          "use a token of that organization, or one without --org");
    }
    auto role = store_.member_role(org->id, user.id);
    if (!role) return role.error();
    if (!role->has_value()) {
      return Error::invalid_argument(fmt::format("user {} is not a member of organization {}",
                                                 user.username, org->name),
                                     "scope the token to an organization the user belongs to")
          .with_validation("organization", "not a member");
    }
    scope.organization_id = org->id;
  }
  return issue_token(user, req.name.empty() ? "cli" : req.name, req.lifetime, scope);
}

Result<std::vector<store::User>> AdminService::list_users(const Actor& actor) {
  if (auto s = authz_.require_site_admin(actor, "list users"); !s) return s.error();
  return store_.list_users();
}

Result<store::Organization> AdminService::create_organization(const Actor& actor,
                                                              std::string_view name,
                                                              std::string_view display_name) {
  if (auto s = authz_.require_site_admin(actor, "create organizations"); !s) return s.error();
  if (auto why = name_invalid_reason(name)) {
    return Error::invalid_argument(fmt::format("invalid organization name \"{}\": {}", name, *why),
                                   "use 1-32 letters, digits and single hyphens")
        .with_validation("name", *why);
  }
  auto org = store_.create_organization(name, display_name);
  if (!org) return org.error();
  if (auto s = store_.set_member(org->id, actor.user.id, store::OrgRole::admin); !s)
    return s.error();
  return org;
}

Result<std::vector<store::Organization>> AdminService::list_organizations(const Actor& actor) {
  auto all = store_.list_organizations();
  if (!all) return all.error();
  std::vector<store::Organization> out;
  for (auto& o : *all) {
    if (authz_.is_member(actor, o.id)) out.push_back(std::move(o));
  }
  return out;
}

Status AdminService::set_config(const Actor& actor, std::string_view key, std::string_view value) {
  if (auto s = authz_.require_site_admin(actor, "change site settings"); !s) return s;
  if (key == kWorkspaceTtlSetting) {
    auto d = parse_workspace_ttl_setting(value);
    if (!d) {
      Error e = d.error();
      e.detail = "e.g. `berth config set agents_workspace_ttl 2h`; 0 disables it";
      e.validations.push_back({std::string(key), e.message});
      return e;
    }
    return store_.set_config(key, format_duration(*d));
  }
  return Error::invalid_argument(fmt::format("unknown setting \"{}\"", key),
                                 fmt::format("known settings: {}", kWorkspaceTtlSetting))
      .with_validation("key", "unknown setting");
}

Result<std::optional<std::string>> AdminService::get_config(std::string_view key) {
  if (key != kWorkspaceTtlSetting) {
    return Error::invalid_argument(fmt::format("unknown setting \"{}\"", key),
                                   fmt::format("known settings: {}", kWorkspaceTtlSetting));
  }
  return store_.config(key);
}

}  // namespace berth::workspaces
