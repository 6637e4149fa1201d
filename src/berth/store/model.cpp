#include "berth/store/model.hpp"

namespace berth::store {

std::string_view to_string(OrgRole r) { return r == OrgRole::admin ? "admin" : "member"; }

std::optional<OrgRole> parse_org_role(std::string_view s) {
  if (s == "admin") return OrgRole::admin;
  if (s == "member") return OrgRole::member;
  return std::nullopt;
}

JobStatus ProvisionerJob::status() const {
  return derive_job_status({.started_at = started_at,
                            .completed_at = completed_at,
                            .canceled_at = canceled_at,
                            .has_error = error.has_value() && !error->empty()});
}

AgentStatus WorkspaceAgent::status(UnixMillis now, std::chrono::milliseconds inactive) const {
  return derive_agent_status({.created_at = created_at,
                              .first_connected_at = first_connected_at,
                              .last_connected_at = last_connected_at,
                              .disconnected_at = disconnected_at,
                              .connection_timeout = std::chrono::seconds(connection_timeout_s)},
                             now, inactive);
}

}  // namespace berth::store
