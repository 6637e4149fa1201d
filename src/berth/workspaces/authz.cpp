#include "berth/workspaces/authz.hpp"

#include <fmt/format.h>

namespace berth::workspaces {

bool Authorizer::is_member(const Actor& actor, std::string_view org_id) {
  if (!actor.in_scope(org_id)) return false;
  if (actor.user.site_admin) return true;
  auto role = store_.member_role(org_id, actor.user.id);
  return role && role->has_value();
}

Status Authorizer::can_access_workspace(const Actor& actor, const store::Workspace& ws) {
  if (actor.in_scope(ws.organization_id) &&
      (actor.user.site_admin || ws.owner_id == actor.user.id)) {
    return {};
  }
  return Error::not_found(fmt::format("workspace {} not found", ws.id),
                          "list your workspaces with `berth workspaces list`");
}

Status Authorizer::can_use_template(const Actor& actor, const store::Template& t) {
  if (is_member(actor, t.organization_id)) return {};
  return Error::not_found(fmt::format("template \"{}\" not found", t.name),
                          "list the templates you can use with `berth templates list`");
}

Status Authorizer::can_manage_templates(const Actor& actor, std::string_view org_id) {
  return require_org_admin(actor, org_id, "push templates");
}

Status Authorizer::require_org_admin(const Actor& actor, std::string_view org_id,
                                     std::string_view action) {
  if (!actor.in_scope(org_id)) {
    return Error::permission_denied(
        fmt::format("this token is limited to another organization and cannot {} here", action),
        "use a token of this organization, or one without --org");
  }
  if (actor.user.site_admin) return {};
  auto role = store_.member_role(org_id, actor.user.id);
  if (role && *role == store::OrgRole::admin) return {};
  return Error::permission_denied(fmt::format("only organization admins can {}", action),
                                  "ask an admin of the organization to do it, or to make you one");
}

Status Authorizer::require_site_admin(const Actor& actor, std::string_view action) {
  if (actor.user.site_admin) return {};
  return Error::permission_denied(fmt::format("only site admins can {}", action),
                                  "ask a site admin to do it");
}

Result<std::vector<std::string>> Authorizer::visible_organizations(const Actor& actor) {
  if (actor.scope.organization_id) {
    if (is_member(actor, *actor.scope.organization_id)) {
      return std::vector<std::string>{*actor.scope.organization_id};
    }
    return std::vector<std::string>{""};  // "" never matches an id
  }
  if (actor.user.site_admin) return std::vector<std::string>{};
  auto orgs = store_.list_organizations();
  if (!orgs) return orgs.error();
  std::vector<std::string> out;
  for (const auto& o : *orgs) {
    if (is_member(actor, o.id)) out.push_back(o.id);
  }
  // A user in no organization sees nothing; "" never matches an id.
  if (out.empty()) out.push_back("");
  return out;
}

}  // namespace berth::workspaces
