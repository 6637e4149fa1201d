#pragma once
// AdminService: the site's people and settings. Authenticates API tokens, bootstraps a new
// data directory (organization "default", site admin "admin" and its token), pushes
// templates, creates users, tokens and organizations, and validates site settings.

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "berth/core/result.hpp"
#include "berth/core/tags.hpp"
#include "berth/store/store.hpp"
#include "berth/workspaces/authz.hpp"

namespace berth::workspaces {

inline constexpr std::string_view kDefaultOrganization = "default";
inline constexpr std::string_view kAdminUser = "admin";

// Site settings Berth knows.
inline constexpr std::string_view kWorkspaceTtlSetting = "agents_workspace_ttl";

struct IssuedToken {
  store::ApiToken row;
  std::string token;  // shown once; only its hash is stored
};

// A provisioner daemon's key: "bpk_<id>_<secret>", shown once.
inline constexpr std::string_view kProvisionerKeyPrefix = "bpk_";
struct IssuedProvisionerKey {
  store::ProvisionerKey row;
  std::string key;
};

struct NewUserRequest {
  std::string username;
  std::string email;
  bool site_admin = false;
  std::string organization;  // "" = the default organization
  store::OrgRole role = store::OrgRole::member;
};

class AdminService {
 public:
  // `allow_unisolated`: whether templates may use isolation process or script, which run
  // commands on the server's host as the server's user (berth server --allow-unisolated).
  explicit AdminService(store::Store& store, bool allow_unisolated = false)
      : store_(store), authz_(store), allow_unisolated_(allow_unisolated) {}

  // On an empty store: creates the default organization, the admin user and a token for it,
  // written to `token_file` with mode 0600. Returns the admin actor either way.
  Result<Actor> bootstrap(const std::filesystem::path& token_file);

  // Resolves "berth_<id>_<secret>" to its user. unauthenticated when missing or wrong.
  Result<Actor> authenticate(std::string_view token);
  // The actor of the token with id `token_id` as it stands now, for work the token started
  // earlier that outlives its request (an MCP task taken over after a restart). unauthenticated
  // when the token was deleted or expired, or its user suspended.
  Result<Actor> actor_for_token_id(std::string_view token_id);

  // Parses and validates `files`; stores nothing unless valid. `organization` is a name or
  // id ("" = the default organization).
  Result<store::PushedTemplate> push_template(const Actor& actor, std::string_view organization,
                                              const std::map<std::string, std::string>& files);
  Result<std::vector<store::Template>> list_templates(const Actor& actor);
  Result<store::Template> get_template(const Actor& actor, std::string_view ref);

  Result<store::User> create_user(const Actor& actor, const NewUserRequest& request);
  // A token for the actor, or (site admins only) for `username`. `organization` (a name or
  // id) limits it to one organization the user belongs to; `read_only` to reads. A scoped
  // caller's tokens are at most as wide as its own.
  struct TokenRequest {
    std::string name;
    std::optional<std::string> username;
    std::optional<std::chrono::milliseconds> lifetime;
    std::string organization;
    bool read_only = false;
  };
  Result<IssuedToken> create_token(const Actor& actor, const TokenRequest& request);
  Result<store::Organization> create_organization(const Actor& actor, std::string_view name,
                                                  std::string_view display_name);
  Result<std::vector<store::Organization>> list_organizations(const Actor& actor);
  // Every user (site admins).
  Result<std::vector<store::User>> list_users(const Actor& actor);

  // Site settings; invalid_argument for unknown keys or malformed values.
  Status set_config(const Actor& actor, std::string_view key, std::string_view value);
  Result<std::optional<std::string>> get_config(std::string_view key);

  // Quotas (admin_quotas.cpp). `username` "" means every member without a budget of their
  // own; nullopt `budget` removes it (no quota). Organization admins only.
  Status set_quota(const Actor& actor, std::string_view organization, std::string_view username,
                   std::optional<std::int64_t> budget);
  Result<std::vector<store::QuotaAllowance>> quotas(const Actor& actor,
                                                    std::string_view organization);
  // A user's usage and budget; `username` "" = the actor. Others' need an organization admin.
  Result<store::QuotaUsage> quota_usage(const Actor& actor, std::string_view organization,
                                        std::string_view username);

  // Account hygiene (admin_accounts.cpp). Tokens: one's own, or (site admins) anyone's.
  Result<std::vector<store::ApiToken>> list_tokens(const Actor& actor, std::string_view username);
  Status revoke_token(const Actor& actor, std::string_view token_id);
  // Site admins: a suspended user's tokens stop working at once.
  Status set_suspended(const Actor& actor, std::string_view username, bool suspended);
  // Organization admins: add or change a member, or end a membership.
  Status set_membership(const Actor& actor, std::string_view organization,
                        std::string_view username, store::OrgRole role);
  Status remove_member(const Actor& actor, std::string_view organization,
                       std::string_view username);
  Result<std::vector<store::Member>> members(const Actor& actor, std::string_view organization);
  // Site admins: a new token for the actor replaces the bootstrap token, which is revoked,
  // and its file (`token_file`) is removed.
  Result<IssuedToken> rotate_bootstrap_token(const Actor& actor,
                                             const std::filesystem::path& token_file);

  // Provisioner keys (admin_provisioner_keys.cpp), site admins only. A key's daemons offer its
  // tags, and only ever act as daemons of that key.
  Result<IssuedProvisionerKey> create_provisioner_key(const Actor& actor, std::string_view name,
                                                      const Tags& tags);
  Result<std::vector<store::ProvisionerKey>> list_provisioner_keys(const Actor& actor);
  Status delete_provisioner_key(const Actor& actor, std::string_view name);
  // "bpk_<id>_<secret>" to its key; unauthenticated when missing, unknown or wrong.
  Result<store::ProvisionerKey> authenticate_provisioner(std::string_view key);

  Authorizer& authz() { return authz_; }

 private:
  Result<store::Organization> organization(std::string_view ref);
  Result<IssuedToken> issue_token(const store::User& user, std::string_view name,
                                  std::optional<std::chrono::milliseconds> lifetime,
                                  const store::TokenScope& scope = {});

  store::Store& store_;
  Authorizer authz_;
  bool allow_unisolated_ = false;
};

// Validates a value of agents_workspace_ttl: a duration, 0 (disabled) or 1 minute to 30 days.
Result<std::chrono::milliseconds> parse_workspace_ttl_setting(std::string_view value);

}  // namespace berth::workspaces
