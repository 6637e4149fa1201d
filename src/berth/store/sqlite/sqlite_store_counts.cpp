// SqliteStore: counts read at each /metrics scrape.
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

Result<std::vector<WorkspaceStateCount>> SqliteStore::count_workspaces_by_state() {
  std::lock_guard lock(mu_);
  // A job's status is derived from its timestamps (core/status), so the rows are grouped by
  // which of them are set and the status derived here.
  auto q = db_->prepare(
      "SELECT b.transition, "
      "CASE WHEN j.started_at IS NULL THEN 0 ELSE 1 END, "
      "CASE WHEN j.completed_at IS NULL THEN 0 ELSE 1 END, "
      "CASE WHEN j.canceled_at IS NULL THEN 0 ELSE 1 END, "
      "CASE WHEN COALESCE(j.error, '') = '' THEN 0 ELSE 1 END, COUNT(*) "
      "FROM workspaces w "
      "JOIN workspace_builds b ON b.workspace_id = w.id AND b.build_number = "
      "(SELECT MAX(build_number) FROM workspace_builds WHERE workspace_id = w.id) "
      "JOIN provisioner_jobs j ON j.id = b.job_id "
      "WHERE NOT w.deleted GROUP BY 1, 2, 3, 4, 5");
  if (!q) return q.error();
  std::vector<WorkspaceStateCount> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto transition = parse_transition(q->text(0));
    if (!transition) continue;
    auto set = [](std::int64_t flag) { return flag ? std::optional<UnixMillis>(1) : std::nullopt; };
    JobStatus status = derive_job_status({.started_at = set(q->int64(1)),
                                          .completed_at = set(q->int64(2)),
                                          .canceled_at = set(q->int64(3)),
                                          .has_error = q->int64(4) != 0});
    bool merged = false;
    for (auto& c : out) {
      if (c.transition == *transition && c.status == status) {
        c.count += q->int64(5);
        merged = true;
      }
    }
    if (!merged) out.push_back({*transition, status, q->int64(5)});
  }
  return out;
}

Result<std::int64_t> SqliteStore::count_mcp_sessions() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT COUNT(*) FROM mcp_sessions");
  if (!q) return q.error();
  if (auto r = q->step(); !r) return r.error();
  return q->int64(0);
}

}  // namespace berth::store
