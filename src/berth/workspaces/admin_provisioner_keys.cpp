// AdminService: keys of `berth provisioner` daemons (site admins), and their authentication.
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/names.hpp"
#include "berth/workspaces/admin_service.hpp"

namespace berth::workspaces {

Result<IssuedProvisionerKey> AdminService::create_provisioner_key(const Actor& actor,
                                                                  std::string_view name,
                                                                  const Tags& tags) {
  if (auto s = authz_.require_site_admin(actor, "create provisioner keys"); !s) return s.error();
  if (auto why = name_invalid_reason(name)) {
    return Error::invalid_argument(fmt::format("provisioner key name \"{}\" {}", name, *why),
                                   "use a short name such as gpu-fleet");
  }
  store::ProvisionerKey key{.id = random_hex(8),
                            .name = std::string(name),
                            .secret_hash = "",
                            .tags = tags_json(tags),
                            .created_by = actor.user.id,
                            .created_at = now_ms()};
  std::string secret = random_hex(24);
  key.secret_hash = sha256_hex(secret);
  if (auto s = store_.create_provisioner_key(key); !s) return s.error();
  return IssuedProvisionerKey{key, fmt::format("{}{}_{}", kProvisionerKeyPrefix, key.id, secret)};
}

Result<std::vector<store::ProvisionerKey>> AdminService::list_provisioner_keys(const Actor& actor) {
  if (auto s = authz_.require_site_admin(actor, "list provisioner keys"); !s) return s.error();
  return store_.list_provisioner_keys();
}

Status AdminService::delete_provisioner_key(const Actor& actor, std::string_view name) {
  if (auto s = authz_.require_site_admin(actor, "delete provisioner keys"); !s) return s.error();
  return store_.delete_provisioner_key(name);
}

Result<store::ProvisionerKey> AdminService::authenticate_provisioner(std::string_view key) {
  const auto invalid = [] {
    return Error::unauthenticated(
        "missing or invalid provisioner key",
        "a site admin makes one with `berth provisioner-keys create NAME`; pass it to "
        "`berth provisioner --key` (or BERTH_PROVISIONER_KEY)");
  };
  if (!key.starts_with(kProvisionerKeyPrefix)) return invalid();
  std::string_view rest = key.substr(kProvisionerKeyPrefix.size());
  auto sep = rest.find('_');
  if (sep == std::string_view::npos) return invalid();
  auto row = store_.provisioner_key_by_id(rest.substr(0, sep));
  if (!row) {
    if (row.error().code == ErrorCode::not_found) return invalid();
    return row.error();
  }
  if (sha256_hex(rest.substr(sep + 1)) != row->secret_hash) return invalid();
  return row;
}

}  // namespace berth::workspaces
