// SqliteStore: workspaces, builds, provisioner jobs and their logs.
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/logging.hpp"
#include "berth/store/log_cap.hpp"
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
        "INSERT INTO provisioner_jobs (id, organization_id, kind, created_at, updated_at, "
        "request_id) VALUES ($1, $2, $3, $4, $4, $5)");
    if (!q) return q.error();
    // The request being served, if any (core/logging): its id follows the job into the build.
    out.job.request_id = current_request_id();
    if (auto s = q->with(out.job.id, out.job.organization_id, out.job.kind, now, out.job.request_id)
                     .run();
        !s) {
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

Result<std::vector<Workspace>> SqliteStore::workspaces_by_name_ignoring_case(
    std::string_view owner_id, std::string_view lowered) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kWorkspaceColumns, sqlite::kWorkspaceFrom,
                  "WHERE w.owner_id = $1 AND lower(w.name) = $2 AND NOT w.deleted ORDER BY w.name "
                  "LIMIT 2");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id, lowered);
  return all<Workspace>(q, [](const auto& s) { return sqlite::read_workspace(s); });
}

Result<std::vector<Workspace>> SqliteStore::list_workspaces(std::optional<std::string> owner_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", sqlite::kWorkspaceColumns, sqlite::kWorkspaceFrom,
                  "WHERE NOT w.deleted AND (CAST($1 AS TEXT) IS NULL OR w.owner_id = $1) ORDER BY "
                  "u.username, w.name");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id);
  return all<Workspace>(q, [](const auto& s) { return sqlite::read_workspace(s); });
}

Result<std::vector<WorkspaceSummary>> SqliteStore::list_workspace_summaries(
    std::optional<std::string> owner_id) {
  std::lock_guard lock(mu_);
  // Only what a listing filters on: a page's whole rows are read after (workspace_by_id).
  static const std::string kSql = sqlite::sql(
      "SELECT w.id, w.organization_id, u.username, w.name, t.name, b.transition, j.started_at, "
      "j.completed_at, j.canceled_at, CASE WHEN COALESCE(j.error, '') = '' THEN 0 ELSE 1 END",
      sqlite::kWorkspaceFrom,
      "JOIN workspace_builds b ON b.workspace_id = w.id AND b.build_number = "
      "(SELECT MAX(build_number) FROM workspace_builds WHERE workspace_id = w.id) "
      "JOIN provisioner_jobs j ON j.id = b.job_id "
      "WHERE NOT w.deleted AND (CAST($1 AS TEXT) IS NULL OR w.owner_id = $1) "
      "ORDER BY u.username, w.name");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id);
  return all<WorkspaceSummary>(q, [](const auto& s) {
    WorkspaceSummary out{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4)};
    out.transition = parse_transition(s.text(5)).value_or(Transition::start);
    out.status = derive_job_status({.started_at = s.opt_int64(6),
                                    .completed_at = s.opt_int64(7),
                                    .canceled_at = s.opt_int64(8),
                                    .has_error = s.int64(9) != 0});
    return out;
  });
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

Result<BuildWithJob> SqliteStore::build_for_job_locked(std::string_view job_id) {
  static const std::string kSql = kBuildWithJobSelect + "WHERE b.job_id = $1";
  auto q = db_->prepare(kSql);
  if (q) q->with(job_id);
  return one<BuildWithJob>(q, read_build_with_job, fmt::format("job {} not found", job_id));
}

Result<BuildWithJob> SqliteStore::build_for_job(std::string_view job_id) {
  std::lock_guard lock(mu_);
  return build_for_job_locked(job_id);
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

Result<std::string> SqliteStore::workspace_of_build_locked(std::string_view build_id) {
  auto q = db_->prepare("SELECT workspace_id FROM workspace_builds WHERE id = $1");
  if (!q) return q.error();
  auto row = q->with(build_id).step();
  if (!row) return row.error();
  if (!*row) return Error::not_found(fmt::format("build {} not found", build_id));
  return q->text(0);
}

// --- Provisioner jobs

Result<std::optional<AcquiredJob>> SqliteStore::acquire_job(const JobClaim& c) {
  std::lock_guard lock(mu_);
  // PostgreSQL: the candidate row is locked (rows other claimers hold are skipped), so
  // claimers on several replicas take different jobs at once. SQLite: under the write lock.
  auto tx = Transaction::begin_row_locking(*db_);
  if (!tx) return tx.error();
  std::string job_id;
  {
    const std::string sql = sqlite::sql(
        "SELECT j.id FROM provisioner_jobs j JOIN workspace_builds b ON b.job_id = j.id "
        "JOIN workspaces w ON w.id = b.workspace_id JOIN template_versions tv ON tv.id = "
        "b.template_version_id WHERE j.started_at IS NULL AND j.canceled_at IS NULL AND "
        "j.completed_at IS NULL AND (w.provisioner_id IS NULL OR w.provisioner_id = $1) AND ",
        sql::tags_satisfy_expr(db_->dialect(), "$2", "tv.provisioner_tags"),
        " ORDER BY j.created_at, j.id LIMIT 1", sql::row_lock_clause(db_->dialect(), "j"));
    auto q = db_->prepare(sql);
    if (!q) return q.error();
    auto row = q->with(c.provisioner_id, c.tags).step();
    if (!row) return row.error();
    if (!*row) return std::optional<AcquiredJob>();
    job_id = q->text(0);
  }
  {
    auto q = db_->prepare(
        "UPDATE provisioner_jobs SET started_at = $2, updated_at = $2, heartbeat_at = $2, "
        "worker_id = $3, deadline_at = $4, provisioner_id = $5 WHERE id = $1 AND "
        "started_at IS NULL");
    if (!q) return q.error();
    if (auto s = q->with(job_id, c.now, c.worker_id, c.deadline_at, c.provisioner_id).run(); !s) {
      return s.error();
    }
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

Result<BuildWithJob> SqliteStore::complete_job(std::string_view job_id,
                                               std::optional<std::string> error,
                                               std::optional<std::string> error_code,
                                               UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  {
    auto q = db_->prepare(
        "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = $3, "
        "error_code = $4 WHERE id = $1 AND completed_at IS NULL");
    if (!q) return q.error();
    if (auto s = q->with(job_id, now, error, error_code).run(); !s) return s.error();
    if (db_->changes() == 0) {
      return Error::failed_precondition(fmt::format("job {} is already completed", job_id));
    }
  }
  if (!error) {
    auto q = db_->prepare(
        "UPDATE workspaces SET deleted = TRUE, updated_at = $2 WHERE id = (SELECT workspace_id "
        "FROM workspace_builds WHERE job_id = $1 AND transition = 'delete')");
    if (!q) return q.error();
    if (auto s = q->with(job_id, now).run(); !s) return s.error();
    // Its preview URLs die with it.
    auto ports = db_->prepare(
        "DELETE FROM exposed_ports WHERE workspace_id = (SELECT workspace_id FROM "
        "workspace_builds WHERE job_id = $1 AND transition = 'delete')");
    if (!ports) return ports.error();
    if (auto s = ports->with(job_id).run(); !s) return s.error();
    auto d = db_->prepare(
        "UPDATE workspaces SET deadline_at = $2 + ttl_ms WHERE ttl_ms IS NOT NULL AND id = "
        "(SELECT workspace_id FROM workspace_builds WHERE job_id = $1 AND transition = 'start')");
    if (!d) return d.error();
    if (auto s = d->with(job_id, now).run(); !s) return s.error();
    // A workspace lives where its first start succeeded: its files and processes are there.
    auto pin = db_->prepare(
        "UPDATE workspaces SET provisioner_id = (SELECT provisioner_id FROM provisioner_jobs "
        "WHERE id = $1) WHERE provisioner_id IS NULL AND id = (SELECT workspace_id FROM "
        "workspace_builds WHERE job_id = $1 AND transition = 'start')");
    if (!pin) return pin.error();
    if (auto s = pin->with(job_id).run(); !s) return s.error();
  }
  auto done = build_for_job_locked(job_id);
  if (!done) return done.error();
  if (auto s = tx->commit(); !s) return s.error();
  return done;
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
  {
    // Pending jobs only their workspace's provisioner may run, while it is gone.
    auto q = db_->prepare(
        "SELECT j.id, w.id, w.provisioner_id, p.name FROM provisioner_jobs j "
        "JOIN workspace_builds b ON b.job_id = j.id JOIN workspaces w ON w.id = b.workspace_id "
        "LEFT JOIN provisioners p ON p.id = w.provisioner_id "
        "WHERE j.started_at IS NULL AND j.canceled_at IS NULL AND j.completed_at IS NULL AND "
        "j.created_at < $1 AND w.provisioner_id IS NOT NULL AND "
        "(p.id IS NULL OR p.last_seen_at < $1)");
    if (!q) return q.error();
    q->with(p.heartbeat_stale_before);
    while (true) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      const std::string host = q->opt_text(3).value_or(q->text(2));
      stale.push_back({q->text(0), q->text(1),
                       fmt::format("the workspace lives on provisioner {}, which is offline, and "
                                   "only it can run this build; bring that host back, or delete "
                                   "the workspace and create a new one",
                                   host),
                       "PROVISIONER_OFFLINE"});
    }
  }
  std::vector<std::string> workspaces;
  for (const auto& s : stale) {
    auto q = db_->prepare(
        "UPDATE provisioner_jobs SET started_at = COALESCE(started_at, $2), completed_at = $2, "
        "updated_at = $2, error = $3, error_code = $4 WHERE id = $1 AND completed_at IS NULL");
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
  std::int64_t stored = 0;
  {
    auto q = db_->prepare(
        "SELECT COALESCE((SELECT MAX(seq) FROM provisioner_job_logs WHERE job_id = $1), 0), "
        "COALESCE((SELECT log_bytes FROM provisioner_jobs WHERE id = $1), 0)");
    if (!q) return q.error();
    if (auto r = q->with(job_id).step(); !r) return r.error();
    seq = q->int64(0);
    stored = q->int64(1);
  }
  std::vector<std::size_t> sizes;
  sizes.reserve(lines.size());
  for (const auto& l : lines) sizes.push_back(l.output.size());
  const CappedLines capped = cap_log_lines(stored, sizes);
  if (capped.keep == 0 && !capped.add_marker) return {};
  auto insert = [&](std::string_view stage, std::string_view level,
                    std::string_view output) -> Status {
    auto q = db_->prepare(
        "INSERT INTO provisioner_job_logs (job_id, seq, created_at, stage, level, output) "
        "VALUES ($1, $2, $3, $4, $5, $6)");
    if (!q) return q.error();
    return q->with(job_id, ++seq, now, stage, level, output).run();
  };
  for (std::size_t i = 0; i < capped.keep; ++i) {
    if (auto s = insert(lines[i].stage, lines[i].level, lines[i].output); !s) return s;
  }
  if (capped.add_marker) {
    if (auto s = insert(lines[capped.keep].stage, "error", log_cap_marker()); !s) return s;
  }
  auto q = db_->prepare("UPDATE provisioner_jobs SET log_bytes = $2 WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(job_id, capped.new_total).run(); !s) return s;
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

}  // namespace berth::store
