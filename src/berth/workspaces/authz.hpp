#pragma once
// Who may do what. Site admins may do everything; organization admins manage their
// organization's templates; members see and act on their own workspaces only. A workspace
// someone may not see is reported as not found, so its existence does not leak.

#include <string>

#include "berth/core/result.hpp"
#include "berth/store/store.hpp"

namespace berth::workspaces {

// The authenticated caller of a service method. A token scoped to an organization acts only
// there (and never as site admin: authenticate clears site_admin); a read-only token only
// reads (the transports enforce that).
struct Actor {
  store::User user;
  store::TokenScope scope;
  std::string token_id;  // the API token acting ("" for internal actors)

  // False when the token is scoped to another organization.
  bool in_scope(std::string_view org_id) const {
    return !scope.organization_id || *scope.organization_id == org_id;
  }
};

class Authorizer {
 public:
  explicit Authorizer(store::Store& store) : store_(store) {}

  bool is_member(const Actor& actor, std::string_view org_id);
  // Returns not_found (not permission_denied) for a workspace the actor may not see.
  Status can_access_workspace(const Actor& actor, const store::Workspace& ws);
  // Members of the template's organization may use it.
  Status can_use_template(const Actor& actor, const store::Template& t);
  // Pushing templates needs an organization admin (or a site admin).
  Status can_manage_templates(const Actor& actor, std::string_view org_id);
  // permission_denied "only organization admins can <action>" for anyone else.
  Status require_org_admin(const Actor& actor, std::string_view org_id, std::string_view action);
  Status require_site_admin(const Actor& actor, std::string_view action);
  // The organizations whose templates the actor may see ({} = all, for site admins).
  Result<std::vector<std::string>> visible_organizations(const Actor& actor);

 private:
  store::Store& store_;
};

}  // namespace berth::workspaces
