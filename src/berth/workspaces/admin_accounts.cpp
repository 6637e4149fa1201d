// AdminService: account hygiene (list and revoke tokens, suspend users, memberships, the
// bootstrap token's rotation).
#include <filesystem>

#include <fmt/format.h>

#include "berth/workspaces/admin_service.hpp"

namespace berth::workspaces {

namespace {
constexpr std::string_view kBootstrapTokenName = "bootstrap";
}  // namespace

Result<std::vector<store::ApiToken>> AdminService::list_tokens(const Actor& actor,
                                                               std::string_view username) {
  std::string user_id = actor.user.id;
  if (!username.empty() && username != actor.user.username) {
    if (auto s = authz_.require_site_admin(actor, "list other users' tokens"); !s) return s.error();
    auto user = store_.user_by_username(username);
    if (!user) return user.error();
    user_id = user->id;
  }
  return store_.list_api_tokens(user_id);
}

Status AdminService::revoke_token(const Actor& actor, std::string_view token_id) {
  auto token = store_.api_token_by_id(token_id);
  // Another user's token reads as missing unless the caller is a site admin.
  if (!token || (token->user_id != actor.user.id && !actor.user.site_admin)) {
    return Error::not_found(fmt::format("token {} not found", token_id),
                            "list your tokens with `berth tokens list`");
  }
  if (auto s = store_.delete_api_token(token_id); !s) return s.error();
  return {};
}

Status AdminService::set_suspended(const Actor& actor, std::string_view username, bool suspended) {
  if (auto s = authz_.require_site_admin(actor, suspended ? "suspend users" : "unsuspend users");
      !s) {
    return s.error();
  }
  auto user = store_.user_by_username(username);
  if (!user) return user.error();
  if (suspended && user->id == actor.user.id) {
    return Error::invalid_argument("you cannot suspend yourself",
                                   "ask another site admin, or revoke your tokens instead");
  }
  return store_.set_user_suspended(user->id, suspended);
}

Status AdminService::set_membership(const Actor& actor, std::string_view organization,
                                    std::string_view username, store::OrgRole role) {
  auto org = this->organization(organization);
  if (!org) return org.error();
  if (auto s = authz_.require_org_admin(actor, org->id, "manage members"); !s) return s.error();
  auto user = store_.user_by_username(username);
  if (!user) return user.error();
  return store_.set_member(org->id, user->id, role);
}

Status AdminService::remove_member(const Actor& actor, std::string_view organization,
                                   std::string_view username) {
  auto org = this->organization(organization);
  if (!org) return org.error();
  if (auto s = authz_.require_org_admin(actor, org->id, "manage members"); !s) return s.error();
  auto user = store_.user_by_username(username);
  if (!user) return user.error();
  if (auto s = store_.remove_member(org->id, user->id); !s) {
    if (s.error().code == ErrorCode::not_found) {
      return Error::not_found(
          fmt::format("{} is not a member of organization {}", username, org->name),
          "list the organization's members with `berth orgs members list`");
    }
    return s.error();
  }
  return {};
}

Result<std::vector<store::Member>> AdminService::members(const Actor& actor,
                                                         std::string_view organization) {
  auto org = this->organization(organization);
  if (!org) return org.error();
  if (auto s = authz_.require_org_admin(actor, org->id, "list members"); !s) return s.error();
  return store_.list_members(org->id);
}

Result<IssuedToken> AdminService::rotate_bootstrap_token(const Actor& actor,
                                                         const std::filesystem::path& token_file) {
  if (auto s = authz_.require_site_admin(actor, "rotate the bootstrap token"); !s) return s.error();
  auto admin = store_.user_by_username(kAdminUser);
  if (!admin) return admin.error();
  auto tokens = store_.list_api_tokens(admin->id);
  if (!tokens) return tokens.error();
  auto fresh = issue_token(*admin, "rotated-bootstrap", std::nullopt);
  if (!fresh) return fresh.error();
  for (const auto& t : *tokens) {
    if (t.name == kBootstrapTokenName) {
      if (auto s = store_.delete_api_token(t.id); !s) return s.error();
    }
  }
  std::error_code ec;
  std::filesystem::remove(token_file, ec);
  return fresh;
}

}  // namespace berth::workspaces
