#pragma once
// Column lists and row readers shared by the SqliteStore translation units.

#include <string>
#include <vector>

#include "berth/store/model.hpp"
#include "berth/store/sqlite/database.hpp"

namespace berth::store::sqlite {

inline constexpr std::string_view kWorkspaceColumns =
    "w.id, w.organization_id, w.owner_id, u.username, w.template_id, t.name, w.name, w.ttl_ms, "
    "w.created_at, w.updated_at, w.deleted, w.deadline_at, w.prebuild_preset_id, w.provisioner_id";
inline constexpr int kWorkspaceColumnCount = 14;
inline constexpr std::string_view kWorkspaceFrom =
    " FROM workspaces w JOIN users u ON u.id = w.owner_id JOIN templates t ON t.id = "
    "w.template_id ";

inline Workspace read_workspace(const Statement& s, int c = 0) {
  Workspace w;
  w.id = s.text(c + 0);
  w.organization_id = s.text(c + 1);
  w.owner_id = s.text(c + 2);
  w.owner_name = s.text(c + 3);
  w.template_id = s.text(c + 4);
  w.template_name = s.text(c + 5);
  w.name = s.text(c + 6);
  w.ttl_ms = s.opt_int64(c + 7);
  w.created_at = s.int64(c + 8);
  w.updated_at = s.int64(c + 9);
  w.deleted = s.boolean(c + 10);
  w.deadline_at = s.opt_int64(c + 11);
  w.prebuild_preset_id = s.opt_text(c + 12);
  w.provisioner_id = s.opt_text(c + 13);
  return w;
}

inline constexpr std::string_view kBuildColumns =
    "b.id, b.workspace_id, b.template_version_id, b.build_number, b.transition, b.job_id, "
    "b.initiator_id, b.parameters, b.preset, b.created_at, b.reason, b.daily_cost";
inline constexpr int kBuildColumnCount = 12;  // where the next table's columns start

inline WorkspaceBuild read_build(const Statement& s, int c = 0) {
  WorkspaceBuild b;
  b.id = s.text(c + 0);
  b.workspace_id = s.text(c + 1);
  b.template_version_id = s.text(c + 2);
  b.build_number = s.int32(c + 3);
  b.transition = parse_transition(s.text(c + 4)).value_or(Transition::start);
  b.job_id = s.text(c + 5);
  b.initiator_id = s.text(c + 6);
  b.parameters = s.text(c + 7);
  b.preset = s.text(c + 8);
  b.created_at = s.int64(c + 9);
  b.reason = s.text(c + 10);
  b.daily_cost = s.int64(c + 11);
  return b;
}

inline constexpr std::string_view kJobColumns =
    "j.id, j.organization_id, j.kind, j.created_at, j.started_at, j.completed_at, j.canceled_at, "
    "j.error, j.error_code, j.worker_id, j.heartbeat_at, j.deadline_at, j.request_id";
inline constexpr int kJobColumnCount = 13;

inline ProvisionerJob read_job(const Statement& s, int c = 0) {
  ProvisionerJob j;
  j.id = s.text(c + 0);
  j.organization_id = s.text(c + 1);
  j.kind = s.text(c + 2);
  j.created_at = s.int64(c + 3);
  j.started_at = s.opt_int64(c + 4);
  j.completed_at = s.opt_int64(c + 5);
  j.canceled_at = s.opt_int64(c + 6);
  j.error = s.opt_text(c + 7);
  j.error_code = s.opt_text(c + 8);
  j.worker_id = s.opt_text(c + 9);
  j.heartbeat_at = s.opt_int64(c + 10);
  j.deadline_at = s.opt_int64(c + 11);
  j.request_id = s.text(c + 12);
  return j;
}

inline constexpr std::string_view kAgentColumns =
    "a.id, a.build_id, a.workspace_id, a.name, a.display_order, a.is_chat, a.external, "
    "a.directory, a.startup_script, a.startup_script_timeout_ms, a.connection_timeout_s, "
    "a.created_at, a.first_connected_at, a.last_connected_at, a.disconnected_at, "
    "a.lifecycle_state, a.started_at, a.ready_at, a.pid, a.env, a.replica_id";

inline WorkspaceAgent read_agent(const Statement& s, int c = 0) {
  WorkspaceAgent a;
  a.id = s.text(c + 0);
  a.build_id = s.text(c + 1);
  a.workspace_id = s.text(c + 2);
  a.name = s.text(c + 3);
  a.display_order = s.int32(c + 4);
  a.is_chat = s.boolean(c + 5);
  a.external = s.boolean(c + 6);
  a.directory = s.text(c + 7);
  a.startup_script = s.text(c + 8);
  a.startup_script_timeout_ms = s.int64(c + 9);
  a.connection_timeout_s = s.int32(c + 10);
  a.created_at = s.int64(c + 11);
  a.first_connected_at = s.opt_int64(c + 12);
  a.last_connected_at = s.opt_int64(c + 13);
  a.disconnected_at = s.opt_int64(c + 14);
  a.lifecycle_state = parse_lifecycle(s.text(c + 15)).value_or(AgentLifecycle::created);
  a.started_at = s.opt_int64(c + 16);
  a.ready_at = s.opt_int64(c + 17);
  if (auto pid = s.opt_int64(c + 18)) a.pid = static_cast<int>(*pid);
  a.env = s.text(c + 19);
  a.replica_id = s.opt_text(c + 20);
  return a;
}

inline constexpr std::string_view kTemplateColumns =
    "id, organization_id, name, display_name, description, isolation, agents_allowed, "
    "COALESCE(active_version_id, ''), created_at, updated_at";

inline Template read_template(const Statement& s, int c = 0) {
  Template t;
  t.id = s.text(c + 0);
  t.organization_id = s.text(c + 1);
  t.name = s.text(c + 2);
  t.display_name = s.text(c + 3);
  t.description = s.text(c + 4);
  t.isolation = s.text(c + 5);
  t.agents_allowed = s.boolean(c + 6);
  t.active_version_id = s.text(c + 7);
  t.created_at = s.int64(c + 8);
  t.updated_at = s.int64(c + 9);
  return t;
}

inline constexpr std::string_view kTemplateVersionColumns =
    "id, template_id, number, source, spec, readme, has_external_agent, created_at";

inline TemplateVersion read_template_version(const Statement& s) {
  return TemplateVersion{s.text(0), s.text(1), s.int32(2),   s.text(3),
                         s.text(4), s.text(5), s.boolean(6), s.int64(7)};
}

// Runs a single-row query; not_found with `what` when there is no row.
template <class T, class Read>
Result<T> one(Result<Statement>& q, Read read, std::string what) {
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return Error::not_found(std::move(what));
  return read(*q);
}

// Runs a query and reads every row.
template <class T, class Read>
Result<std::vector<T>> all(Result<Statement>& q, Read read) {
  if (!q) return q.error();
  std::vector<T> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read(*q));
  }
  return out;
}

// Builds "<prefix><columns><suffix>" once per call site (statements are cached by text).
template <typename... Parts>
std::string sql(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

}  // namespace berth::store::sqlite
