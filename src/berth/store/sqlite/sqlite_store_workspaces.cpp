// SqliteStore: workspaces, builds, provisioner jobs, logs and agents.
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::Statement;
using sqlite::Transaction;

namespace {

using sqlite::all;
using sqlite::one;

const std::string kBuildWithJobSelect =
    sqlite::sql("SELECT ", sqlite::kBuildColumns, ", ",
                std::string(sqlite::kJobColumns) +
                    " FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id ");

BuildWithJob read_build_with_job(const Statement& s) {
  return {sqlite::read_build(s, 0), sqlite::read_job(s, sqlite::kBuildColumnCount)};
}

}  // namespace

// --- Workspaces and builds

Result<Workspace> SqliteStore::workspace_locked(std::string_view id) {
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kWorkspaceColumns, sqlite::kWorkspaceFrom, "WHERE w.id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<Workspace>(
      q, [](const auto& s) { return sqlite::read_workspace(s); },
      fmt::format("workspace {} not found", id));
}

Result<BuildWithJob> SqliteStore::latest_build_locked(std::string_view workspace_id) {
  static const std::string kSql =
      kBuildWithJobSelect + "WHERE b.workspace_id = $1 ORDER BY b.build_number DESC LIMIT 1";
  auto q = db_->prepare(kSql);
  if (q) q->with(workspace_id);
  return one<BuildWithJob>(q, read_build_with_job,
                           fmt::format("workspace {} has no builds", workspace_id));
}

Result<ProvisionerJob> SqliteStore::job_locked(std::string_view id) {
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kJobColumns, " FROM provisioner_jobs j WHERE j.id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<ProvisionerJob>(
      q, [](const auto& s) { return sqlite::read_job(s); }, fmt::format("job {} not found", id));
}

Result<BuildWithJob> SqliteStore::insert_build_locked(const Workspace& ws, const NewBuild& b,
                                                      UnixMillis now) {
  int number = 1;
  {
    auto q = db_->prepare(
        "SELECT COALESCE(MAX(build_number), 0) + 1 FROM workspace_builds WHERE workspace_id = $1");
    if (!q) return q.error();
    if (auto r = q->with(ws.id).step(); !r) return r.error();
    number = q->int32(0);
  }
  BuildWithJob out;
  out.job.id = new_uuid();
  out.job.organization_id = ws.organization_id;
  out.job.kind = "workspace_build";
  out.job.created_at = now;
  {
    auto q = db_->prepare(
        "INSERT INTO provisioner_jobs (id, organization_id, kind, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $4)");
    if (!q) return q.error();
    if (auto s = q->with(out.job.id, out.job.organization_id, out.job.kind, now).run(); !s) {
      return s.error();
    }
  }
  out.build =
      WorkspaceBuild{new_uuid(), ws.id,          b.template_version_id, number,   b.transition,
                     out.job.id, b.initiator_id, b.parameters,          b.preset, now,
                     b.reason};
  {
    auto q = db_->prepare(
        "INSERT INTO workspace_builds (id, workspace_id, template_version_id, build_number, "
        "transition, job_id, initiator_id, parameters, preset, created_at, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
    if (!q) return q.error();
    const auto& nb = out.build;
    if (auto s = q->with(nb.id, nb.workspace_id, nb.template_version_id, nb.build_number,
                         to_string(nb.transition), nb.job_id, nb.initiator_id, nb.parameters,
                         nb.preset, nb.created_at, nb.reason)
                     .run();
        !s) {
      return s.error();
    }
  }
  // Every new build ends the old deadline; a start that succeeds sets the next one.
  auto q = db_->prepare("UPDATE workspaces SET deadline_at = NULL WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(ws.id).run(); !s) return s.error();
  return out;
}

Result<CreatedWorkspace> SqliteStore::insert_workspace_locked(const NewWorkspace& nw,
                                                              const NewBuild& b) {
  UnixMillis now = now_ms();
  std::string id = new_uuid();
  {
    auto q = db_->prepare(
        "INSERT INTO workspaces (id, organization_id, owner_id, template_id, name, ttl_ms, "
        "created_at, updated_at, prebuild_preset_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)");
    if (!q) return q.error();
    if (auto s = q->with(id, nw.organization_id, nw.owner_id, nw.template_id, nw.name, nw.ttl_ms,
                         now, nw.prebuild_preset_id)
                     .run();
        !s) {
      if (s.error().code == ErrorCode::already_exists) {
        return Error::already_exists(
                   fmt::format("a workspace named \"{}\" already exists", nw.name),
                   "choose another name, or omit the name to have one generated")
            .with_validation("name", "is already taken");
      }
      return s.error();
    }
  }
  auto ws = workspace_locked(id);
  if (!ws) return ws.error();
  auto bj = insert_build_locked(*ws, b, now);
  if (!bj) return bj.error();
  return CreatedWorkspace{std::move(*ws), std::move(bj->build), std::move(bj->job)};
}

Result<CreatedWorkspace> SqliteStore::create_workspace(const NewWorkspace& nw, const NewBuild& b) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto created = insert_workspace_locked(nw, b);
  if (!created) return created.error();
  if (auto s = tx->commit(); !s) return s.error();
  return created;
}

Result<BuildWithJob> SqliteStore::create_build(std::string_view workspace_id, const NewBuild& b) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto ws = workspace_locked(workspace_id);
  if (!ws) return ws.error();
  if (ws->deleted) {
    return Error::failed_precondition(fmt::format("workspace {} is deleted", ws->name));
  }
  if (auto latest = latest_build_locked(workspace_id); latest && job_active(latest->job.status())) {
    return Error::failed_precondition(
        fmt::format("workspace {} already has a {} build in progress (build {})", ws->name,
                    to_string(latest->build.transition), latest->build.id),
        "wait for it to finish, then try again");
  }
  auto bj = insert_build_locked(*ws, b, now_ms());
  if (!bj) return bj.error();
  {
    auto q = db_->prepare("UPDATE workspaces SET updated_at = $2 WHERE id = $1");
    if (!q) return q.error();
    if (auto s = q->with(workspace_id, bj->build.created_at).run(); !s) return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return std::move(*bj);
}

Result<Workspace> SqliteStore::workspace_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  return workspace_locked(id);
}

Result<Workspace> SqliteStore::workspace_by_name(std::string_view owner_id, std::string_view name) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kWorkspaceColumns, sqlite::kWorkspaceFrom,
                  "WHERE w.owner_id = $1 AND w.name = $2 AND NOT w.deleted");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id, name);
  return one<Workspace>(
      q, [](const auto& s) { return sqlite::read_workspace(s); },
      fmt::format("workspace \"{}\" not found", name));
}

Result<std::vector<Workspace>> SqliteStore::list_workspaces(std::optional<std::string> owner_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", sqlite::kWorkspaceColumns, sqlite::kWorkspaceFrom,
      "WHERE NOT w.deleted AND ($1 IS NULL OR w.owner_id = $1) ORDER BY u.username, w.name");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id);
  return all<Workspace>(q, [](const auto& s) { return sqlite::read_workspace(s); });
}

Result<BuildWithJob> SqliteStore::latest_build(std::string_view workspace_id) {
  std::lock_guard lock(mu_);
  return latest_build_locked(workspace_id);
}

Result<BuildWithJob> SqliteStore::build_by_id(std::string_view build_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = kBuildWithJobSelect + "WHERE b.id = $1";
  auto q = db_->prepare(kSql);
  if (q) q->with(build_id);
  return one<BuildWithJob>(q, read_build_with_job, fmt::format("build {} not found", build_id));
}

Result<std::optional<WorkspaceBuild>> SqliteStore::latest_start_build(
    std::string_view workspace_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kBuildColumns,
                  " FROM workspace_builds b WHERE b.workspace_id = $1 AND b.transition = 'start' "
                  "ORDER BY b.build_number DESC LIMIT 1");
  auto q = db_->prepare(kSql);
  if (!q) return q.error();
  auto row = q->with(workspace_id).step();
  if (!row) return row.error();
  if (!*row) return std::optional<WorkspaceBuild>();
  return std::optional<WorkspaceBuild>(sqlite::read_build(*q));
}

// --- Provisioner jobs

Result<std::optional<AcquiredJob>> SqliteStore::acquire_job(std::string_view worker_id,
                                                            UnixMillis now,
                                                            UnixMillis deadline_at) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::string job_id;
  {
    // The subquery and the update run under one write lock, so two workers never claim
    // the same job (PostgreSQL: FOR UPDATE SKIP LOCKED in the subquery).
    auto q = db_->prepare(
        "UPDATE provisioner_jobs SET started_at = $1, updated_at = $1, heartbeat_at = $1, "
        "worker_id = $2, deadline_at = $3 WHERE id = (SELECT id FROM provisioner_jobs "
        "WHERE started_at IS NULL AND canceled_at IS NULL ORDER BY created_at, id LIMIT 1) "
        "RETURNING id");
    if (!q) return q.error();
    auto row = q->with(now, worker_id, deadline_at).step();
    if (!row) return row.error();
    if (!*row) return std::optional<AcquiredJob>();
    job_id = q->text(0);
    if (auto s = q->run(); !s) return s.error();
  }
  AcquiredJob out;
  auto job = job_locked(job_id);
  if (!job) return job.error();
  out.job = std::move(*job);
  {
    static const std::string kSql = kBuildWithJobSelect + "WHERE b.job_id = $1";
    auto q = db_->prepare(kSql);
    if (q) q->with(job_id);
    auto bj = one<BuildWithJob>(q, read_build_with_job, "build for job not found");
    if (!bj) return bj.error();
    out.build = std::move(bj->build);
  }
  auto ws = workspace_locked(out.build.workspace_id);
  if (!ws) return ws.error();
  out.workspace = std::move(*ws);
  {
    static const std::string kSql = sqlite::sql("SELECT ", sqlite::kTemplateVersionColumns,
                                                " FROM template_versions WHERE id = $1");
    auto q = db_->prepare(kSql);
    if (q) q->with(out.build.template_version_id);
    auto v = one<TemplateVersion>(q, sqlite::read_template_version, "template version not found");
    if (!v) return v.error();
    out.version = std::move(*v);
  }
  if (auto s = tx->commit(); !s) return s.error();
  return std::optional<AcquiredJob>(std::move(out));
}

Status SqliteStore::heartbeat_jobs(std::string_view worker_id, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE provisioner_jobs SET heartbeat_at = $2 WHERE worker_id = $1 AND "
      "completed_at IS NULL AND started_at IS NOT NULL");
  if (!q) return q.error();
  return q->with(worker_id, now).run();
}

Status SqliteStore::complete_job(std::string_view job_id, std::optional<std::string> error,
                                 std::optional<std::string> error_code, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  {
    auto q = db_->prepare(
        "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = $3, "
        "error_code = $4 WHERE id = $1 AND completed_at IS NULL");
    if (!q) return q.error();
    if (auto s = q->with(job_id, now, error, error_code).run(); !s) return s;
    if (db_->changes() == 0) {
      return Error::failed_precondition(fmt::format("job {} is already completed", job_id));
    }
  }
  if (!error) {
    auto q = db_->prepare(
        "UPDATE workspaces SET deleted = TRUE, updated_at = $2 WHERE id = (SELECT workspace_id "
        "FROM workspace_builds WHERE job_id = $1 AND transition = 'delete')");
    if (!q) return q.error();
    if (auto s = q->with(job_id, now).run(); !s) return s;
    auto d = db_->prepare(
        "UPDATE workspaces SET deadline_at = $2 + ttl_ms WHERE ttl_ms IS NOT NULL AND id = "
        "(SELECT workspace_id FROM workspace_builds WHERE job_id = $1 AND transition = 'start')");
    if (!d) return d.error();
    if (auto s = d->with(job_id, now).run(); !s) return s;
  }
  return tx->commit();
}

Result<std::vector<std::string>> SqliteStore::fail_stale_jobs(const StaleJobPolicy& p) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  struct Stale {
    std::string job_id, workspace_id, reason, code;
  };
  std::vector<Stale> stale;
  {
    auto q = db_->prepare(
        "SELECT j.id, b.workspace_id, j.deadline_at, j.heartbeat_at, j.worker_id "
        "FROM provisioner_jobs j JOIN workspace_builds b ON b.job_id = j.id "
        "WHERE j.started_at IS NOT NULL AND j.completed_at IS NULL");
    if (!q) return q.error();
    while (true) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      auto deadline = q->opt_int64(2);
      auto heartbeat = q->opt_int64(3).value_or(0);
      std::string worker = q->text(4);
      bool lost_worker = !p.worker_prefix.empty() && worker.starts_with(p.worker_prefix) &&
                         worker != p.live_worker;
      if (deadline && *deadline <= p.now) {
        stale.push_back({q->text(0), q->text(1),
                         "the build ran past its deadline and was stopped; check the build log "
                         "for a step that hangs, then start the workspace again",
                         "DEADLINE_EXCEEDED"});
      } else if (lost_worker || heartbeat < p.heartbeat_stale_before) {
        stale.push_back({q->text(0), q->text(1),
                         "the provisioner running this build went away (it was restarted or "
                         "crashed) before the build finished; start the workspace again",
                         "PROVISIONER_LOST"});
      }
    }
  }
  std::vector<std::string> workspaces;
  for (const auto& s : stale) {
    auto q = db_->prepare(
        "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = $3, "
        "error_code = $4 WHERE id = $1 AND completed_at IS NULL");
    if (!q) return q.error();
    if (auto r = q->with(s.job_id, p.now, s.reason, s.code).run(); !r) return r.error();
    workspaces.push_back(s.workspace_id);
  }
  if (auto s = tx->commit(); !s) return s.error();
  return workspaces;
}

Result<std::optional<UnixMillis>> SqliteStore::next_job_deadline() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT MIN(deadline_at) FROM provisioner_jobs WHERE started_at IS NOT NULL AND "
      "completed_at IS NULL");
  if (!q) return q.error();
  if (auto r = q->step(); !r) return r.error();
  return q->opt_int64(0);
}

Result<ProvisionerJob> SqliteStore::job_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  return job_locked(id);
}

Status SqliteStore::append_job_logs(std::string_view job_id, const std::vector<NewLogLine>& lines,
                                    UnixMillis now) {
  if (lines.empty()) return {};
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::int64_t seq = 0;
  {
    auto q =
        db_->prepare("SELECT COALESCE(MAX(seq), 0) FROM provisioner_job_logs WHERE job_id = $1");
    if (!q) return q.error();
    if (auto r = q->with(job_id).step(); !r) return r.error();
    seq = q->int64(0);
  }
  for (const auto& line : lines) {
    auto q = db_->prepare(
        "INSERT INTO provisioner_job_logs (job_id, seq, created_at, stage, level, output) "
        "VALUES ($1, $2, $3, $4, $5, $6)");
    if (!q) return q.error();
    if (auto s = q->with(job_id, ++seq, now, line.stage, line.level, line.output).run(); !s) {
      return s;
    }
  }
  return tx->commit();
}

Result<std::vector<LogLine>> SqliteStore::job_logs(std::string_view job_id, std::int64_t after_seq,
                                                   int limit) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT seq, created_at, stage, level, output FROM provisioner_job_logs WHERE job_id = $1 "
      "AND seq > $2 ORDER BY seq LIMIT $3");
  if (q) q->with(job_id, after_seq, limit);
  return all<LogLine>(q, [](const auto& s) {
    return LogLine{s.int64(0), s.int64(1), s.text(2), s.text(3), s.text(4)};
  });
}

// --- Agents

Result<std::vector<WorkspaceAgent>> SqliteStore::insert_agents(std::string_view build_id,
                                                               const std::vector<NewAgent>& agents,
                                                               UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::string workspace_id;
  {
    auto q = db_->prepare("SELECT workspace_id FROM workspace_builds WHERE id = $1");
    if (!q) return q.error();
    auto row = q->with(build_id).step();
    if (!row) return row.error();
    if (!*row) return Error::not_found(fmt::format("build {} not found", build_id));
    workspace_id = q->text(0);
  }
  for (const auto& a : agents) {
    auto q = db_->prepare(
        "INSERT INTO workspace_agents (id, build_id, workspace_id, name, display_order, is_chat, "
        "external, directory, startup_script, startup_script_timeout_ms, connection_timeout_s, "
        "auth_token_hash, created_at, env) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14)");
    if (!q) return q.error();
    if (auto s = q->with(new_uuid(), build_id, workspace_id, a.name, a.display_order, a.is_chat,
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

Status SqliteStore::agent_connected(std::string_view agent_id, UnixMillis now) {
  std::lock_guard lock(mu_);
  // last_connected_at must be strictly after disconnected_at for the agent to read as
  // connected, even when both happen within one millisecond.
  auto q = db_->prepare(
      "UPDATE workspace_agents SET first_connected_at = COALESCE(first_connected_at, $2), "
      "last_connected_at = CASE WHEN $2 > COALESCE(disconnected_at, 0) THEN $2 "
      "ELSE COALESCE(disconnected_at, 0) + 1 END WHERE id = $1");
  if (!q) return q.error();
  return q->with(agent_id, now).run();
}

Status SqliteStore::agent_disconnected(std::string_view agent_id, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE workspace_agents SET disconnected_at = CASE WHEN $2 > COALESCE(last_connected_at, 0) "
      "THEN $2 ELSE COALESCE(last_connected_at, 0) END WHERE id = $1");
  if (!q) return q.error();
  return q->with(agent_id, now).run();
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
  {
    auto q =
        db_->prepare("SELECT COALESCE(MAX(seq), 0) FROM workspace_agent_logs WHERE agent_id = $1");
    if (!q) return q.error();
    if (auto r = q->with(agent_id).step(); !r) return r.error();
    seq = q->int64(0);
  }
  for (const auto& line : lines) {
    auto q = db_->prepare(
        "INSERT INTO workspace_agent_logs (agent_id, seq, created_at, output) VALUES ($1, $2, $3, "
        "$4)");
    if (!q) return q.error();
    if (auto s = q->with(agent_id, ++seq, now, line).run(); !s) return s;
  }
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

// --- Chats

namespace {
constexpr std::string_view kChatColumns =
    "id, organization_id, owner_id, chat_key, title, workspace_id, build_id, agent_id, "
    "created_at, updated_at";
Chat read_chat(const Statement& s) {
  return {s.text(0),     s.text(1),     s.text(2),     s.opt_text(3), s.text(4),
          s.opt_text(5), s.opt_text(6), s.opt_text(7), s.int64(8),    s.int64(9)};
}
}  // namespace

Result<Chat> SqliteStore::chat_locked(std::string_view id) {
  static const std::string kSql = sqlite::sql("SELECT ", kChatColumns, " FROM chats WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<Chat>(q, read_chat, fmt::format("chat {} not found", id));
}

Result<Chat> SqliteStore::create_chat(std::string_view organization_id, std::string_view owner_id,
                                      std::optional<std::string> key, std::string_view title) {
  std::lock_guard lock(mu_);
  std::string id = new_uuid();
  UnixMillis now = now_ms();
  auto q = db_->prepare(
      "INSERT INTO chats (id, organization_id, owner_id, chat_key, title, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $6)");
  if (!q) return q.error();
  if (auto s = q->with(id, organization_id, owner_id, key, title, now).run(); !s) {
    if (s.error().code == ErrorCode::already_exists) {
      return Error::already_exists(
          fmt::format("you already have a chat with key \"{}\"", key.value_or("")));
    }
    return s.error();
  }
  return chat_locked(id);
}

Result<Chat> SqliteStore::chat_for_key(std::string_view organization_id, std::string_view owner_id,
                                       std::string_view key) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::optional<std::string> found;
  {
    auto q = db_->prepare("SELECT id FROM chats WHERE owner_id = $1 AND chat_key = $2");
    if (!q) return q.error();
    auto row = q->with(owner_id, key).step();
    if (!row) return row.error();
    if (*row) found = q->text(0);
  }
  if (!found) {
    found = new_uuid();
    UnixMillis now = now_ms();
    auto q = db_->prepare(
        "INSERT INTO chats (id, organization_id, owner_id, chat_key, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $5)");
    if (!q) return q.error();
    if (auto s = q->with(*found, organization_id, owner_id, key, now).run(); !s) return s.error();
  }
  auto chat = chat_locked(*found);
  if (!chat) return chat.error();
  if (auto s = tx->commit(); !s) return s.error();
  return chat;
}

Result<Chat> SqliteStore::chat_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  return chat_locked(id);
}

Result<std::vector<Chat>> SqliteStore::list_chats(std::string_view owner_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", kChatColumns, " FROM chats WHERE owner_id = $1 ORDER BY created_at, id");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id);
  return all<Chat>(q, read_chat);
}

Result<Chat> SqliteStore::set_chat_binding(std::string_view chat_id,
                                           std::optional<std::string> workspace_id,
                                           std::optional<std::string> build_id,
                                           std::optional<std::string> agent_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE chats SET workspace_id = $2, build_id = $3, agent_id = $4, updated_at = $5 WHERE id "
      "= $1");
  if (!q) return q.error();
  if (auto s = q->with(chat_id, workspace_id, build_id, agent_id, now_ms()).run(); !s)
    return s.error();
  if (db_->changes() == 0) return Error::not_found(fmt::format("chat {} not found", chat_id));
  return chat_locked(chat_id);
}

Result<CreatedWorkspace> SqliteStore::create_workspace_for_chat(
    std::string_view chat_id, std::optional<std::string> expected_workspace_id,
    const NewWorkspace& ws, const NewBuild& build) {
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE takes the write lock first, so the check and the insert see the same
  // binding (PostgreSQL: pg_advisory_xact_lock keyed by the chat, then the same statements).
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto chat = chat_locked(chat_id);
  if (!chat) return chat.error();
  if (chat->workspace_id != expected_workspace_id) {
    return Error::failed_precondition("chat binding changed",
                                      "another call bound a workspace to this chat first");
  }
  auto created = insert_workspace_locked(ws, build);
  if (!created) return created.error();
  auto q = db_->prepare(
      "UPDATE chats SET workspace_id = $2, build_id = $3, agent_id = NULL, updated_at = $4 WHERE "
      "id = $1");
  if (!q) return q.error();
  if (auto s = q->with(chat_id, created->workspace.id, created->build.id, now_ms()).run(); !s) {
    return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return created;
}

}  // namespace berth::store
