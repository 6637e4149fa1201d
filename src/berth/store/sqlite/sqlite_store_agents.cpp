// SqliteStore: workspace agents (their rows, tokens, connection, lifecycle and logs).
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/log_cap.hpp"
#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::all;
using sqlite::one;
using sqlite::Statement;
using sqlite::Transaction;

Result<std::vector<WorkspaceAgent>> SqliteStore::insert_agents(std::string_view build_id,
                                                               const std::vector<NewAgent>& agents,
                                                               UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto workspace_id = workspace_of_build_locked(build_id);
  if (!workspace_id) return workspace_id.error();
  for (const auto& a : agents) {
    auto q = db_->prepare(
        "INSERT INTO workspace_agents (id, build_id, workspace_id, name, display_order, is_chat, "
        "external, directory, startup_script, startup_script_timeout_ms, connection_timeout_s, "
        "auth_token_hash, created_at, env) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14)");
    if (!q) return q.error();
    if (auto s = q->with(new_uuid(), build_id, *workspace_id, a.name, a.display_order, a.is_chat,
                         a.external, a.directory, a.startup_script, a.startup_script_timeout_ms,
                         a.connection_timeout_s, a.auth_token_hash, now, a.env)
                     .run();
        !s) {
      return s.error();
    }
  }
  static const std::string kSql = sqlite::sql(
      "SELECT ", sqlite::kAgentColumns,
      " FROM workspace_agents a WHERE a.build_id = $1 ORDER BY a.display_order, a.name");
  std::vector<WorkspaceAgent> out;
  {
    auto q = db_->prepare(kSql);
    if (q) q->with(build_id);
    auto rows = all<WorkspaceAgent>(q, [](const auto& s) { return sqlite::read_agent(s); });
    if (!rows) return rows.error();
    out = std::move(*rows);
  }
  if (auto s = tx->commit(); !s) return s.error();
  return out;
}

Status SqliteStore::set_agent_pid(std::string_view agent_id, std::optional<int> pid) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("UPDATE workspace_agents SET pid = $2 WHERE id = $1");
  if (!q) return q.error();
  return q->with(agent_id, pid).run();
}

Result<std::vector<WorkspaceAgent>> SqliteStore::agents_for_build(std::string_view build_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", sqlite::kAgentColumns,
      " FROM workspace_agents a WHERE a.build_id = $1 ORDER BY a.display_order, a.name");
  auto q = db_->prepare(kSql);
  if (q) q->with(build_id);
  return all<WorkspaceAgent>(q, [](const auto& s) { return sqlite::read_agent(s); });
}

Result<WorkspaceAgent> SqliteStore::agent_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kAgentColumns, " FROM workspace_agents a WHERE a.id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<WorkspaceAgent>(
      q, [](const auto& s) { return sqlite::read_agent(s); },
      fmt::format("agent {} not found", id));
}

Result<WorkspaceAgent> SqliteStore::agent_by_token_hash(std::string_view token_hash) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", sqlite::kAgentColumns, " FROM workspace_agents a WHERE a.auth_token_hash = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(token_hash);
  auto a = one<WorkspaceAgent>(
      q, [](const auto& s) { return sqlite::read_agent(s); }, "unknown agent token");
  if (!a && a.error().code == ErrorCode::not_found) {
    return Error::unauthenticated("unknown agent token",
                                  "agent tokens are issued per build; use the token of the "
                                  "workspace's current build");
  }
  return a;
}

Status SqliteStore::set_agent_token_hash(std::string_view agent_id, std::string_view token_hash) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("UPDATE workspace_agents SET auth_token_hash = $2 WHERE id = $1");
  if (!q) return q.error();
  return q->with(agent_id, token_hash).run();
}

Status SqliteStore::agent_connected(std::string_view agent_id, UnixMillis now,
                                    std::string_view replica_id) {
  std::lock_guard lock(mu_);
  // last_connected_at must be strictly after disconnected_at for the agent to read as
  // connected, even when both happen within one millisecond.
  auto q = db_->prepare(
      "UPDATE workspace_agents SET first_connected_at = COALESCE(first_connected_at, $2), "
      "last_connected_at = CASE WHEN $2 > COALESCE(disconnected_at, 0) THEN $2 "
      "ELSE COALESCE(disconnected_at, 0) + 1 END, replica_id = $3 WHERE id = $1");
  if (!q) return q.error();
  return q->with(agent_id, now, replica_id).run();
}

Status SqliteStore::agent_disconnected(std::string_view agent_id, UnixMillis now,
                                       std::string_view replica_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE workspace_agents SET disconnected_at = CASE WHEN $2 > COALESCE(last_connected_at, 0) "
      "THEN $2 ELSE COALESCE(last_connected_at, 0) END, replica_id = NULL "
      "WHERE id = $1 AND (replica_id IS NULL OR replica_id = $3)");
  if (!q) return q.error();
  return q->with(agent_id, now, replica_id).run();
}

Status SqliteStore::set_agent_lifecycle(std::string_view agent_id, AgentLifecycle state,
                                        UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE workspace_agents SET lifecycle_state = $2, "
      "started_at = CASE WHEN $2 = 'starting' THEN $3 ELSE started_at END, "
      "ready_at = CASE WHEN $4 THEN $3 ELSE ready_at END WHERE id = $1");
  if (!q) return q.error();
  return q->with(agent_id, to_string(state), now, lifecycle_start_finished(state)).run();
}

Status SqliteStore::append_agent_logs(std::string_view agent_id,
                                      const std::vector<std::string>& lines, UnixMillis now) {
  if (lines.empty()) return {};
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::int64_t seq = 0;
  std::int64_t stored = 0;
  {
    auto q = db_->prepare(
        "SELECT COALESCE((SELECT MAX(seq) FROM workspace_agent_logs WHERE agent_id = $1), 0), "
        "COALESCE((SELECT log_bytes FROM workspace_agents WHERE id = $1), 0)");
    if (!q) return q.error();
    if (auto r = q->with(agent_id).step(); !r) return r.error();
    seq = q->int64(0);
    stored = q->int64(1);
  }
  std::vector<std::size_t> sizes;
  sizes.reserve(lines.size());
  for (const auto& l : lines) sizes.push_back(l.size());
  const CappedLines capped = cap_log_lines(stored, sizes);
  if (capped.keep == 0 && !capped.add_marker) return {};
  auto insert = [&](std::string_view output) -> Status {
    auto q = db_->prepare(
        "INSERT INTO workspace_agent_logs (agent_id, seq, created_at, output) VALUES ($1, $2, $3, "
        "$4)");
    if (!q) return q.error();
    return q->with(agent_id, ++seq, now, output).run();
  };
  for (std::size_t i = 0; i < capped.keep; ++i) {
    if (auto s = insert(lines[i]); !s) return s;
  }
  if (capped.add_marker) {
    if (auto s = insert(log_cap_marker()); !s) return s;
  }
  auto q = db_->prepare("UPDATE workspace_agents SET log_bytes = $2 WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(agent_id, capped.new_total).run(); !s) return s;
  return tx->commit();
}

Result<std::vector<LogLine>> SqliteStore::agent_logs(std::string_view agent_id,
                                                     std::int64_t after_seq, int limit) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT seq, created_at, output FROM workspace_agent_logs WHERE agent_id = $1 AND seq > $2 "
      "ORDER BY seq LIMIT $3");
  if (q) q->with(agent_id, after_seq, limit);
  return all<LogLine>(q, [](const auto& s) {
    return LogLine{s.int64(0), s.int64(1), "startup_script", "info", s.text(2)};
  });
}

}  // namespace berth::store
