// SqliteStore: workspace deadlines (time to live) and the stop builds the scheduler makes.
#include <fmt/format.h>

#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::Transaction;

Result<std::int64_t> SqliteStore::sandbox_number(std::string_view workspace_id) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto q = db_->prepare(
      "UPDATE workspaces SET sandbox_number = "
      "(SELECT COALESCE(MAX(sandbox_number), 0) + 1 FROM workspaces) "
      "WHERE id = $1 AND sandbox_number IS NULL");
  if (!q) return q.error();
  if (auto s = q->with(workspace_id).run(); !s) return s.error();
  auto read = db_->prepare("SELECT sandbox_number FROM workspaces WHERE id = $1");
  if (!read) return read.error();
  auto row = read->with(workspace_id).step();
  if (!row) return row.error();
  if (!*row) return Error::not_found(fmt::format("workspace {} not found", workspace_id));
  std::int64_t n = read->int64(0);
  if (auto c = tx->commit(); !c) return c.error();
  return n;
}

Result<bool> SqliteStore::extend_workspace_deadline(std::string_view workspace_id, UnixMillis now) {
  std::lock_guard lock(mu_);
  // GREATEST() never moves a deadline earlier: a workspace started with a long TTL keeps it.
  auto q = db_->prepare(
      "UPDATE workspaces SET deadline_at = GREATEST(deadline_at, $2 + ttl_ms) "
      "WHERE id = $1 AND deadline_at IS NOT NULL AND ttl_ms IS NOT NULL");
  if (!q) return q.error();
  if (auto s = q->with(workspace_id, now).run(); !s) return s.error();
  return db_->changes() > 0;
}

Result<std::optional<UnixMillis>> SqliteStore::next_workspace_deadline() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT MIN(deadline_at) FROM workspaces WHERE deadline_at IS NOT NULL AND NOT deleted");
  if (!q) return q.error();
  if (auto r = q->step(); !r) return r.error();
  return q->opt_int64(0);
}

Result<std::vector<BuildWithJob>> SqliteStore::stop_expired_workspaces(UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::vector<std::string> expired;
  {
    auto q = db_->prepare(
        "SELECT id FROM workspaces WHERE deadline_at IS NOT NULL AND deadline_at <= $1 AND NOT "
        "deleted ORDER BY deadline_at");
    if (!q) return q.error();
    q->with(now);
    while (true) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      expired.push_back(q->text(0));
    }
  }
  std::vector<BuildWithJob> stops;
  for (const auto& id : expired) {
    auto ws = workspace_locked(id);
    if (!ws) return ws.error();
    auto latest = latest_build_locked(id);
    if (!latest) return latest.error();
    if (latest->build.transition != Transition::start ||
        latest->job.status() != JobStatus::succeeded) {
      // Not running (a build is under way or failed): nothing to stop; the next successful
      // start sets a new deadline.
      auto q = db_->prepare("UPDATE workspaces SET deadline_at = NULL WHERE id = $1");
      if (!q) return q.error();
      if (auto s = q->with(id).run(); !s) return s.error();
      continue;
    }
    auto stop = insert_build_locked(*ws,
                                    {.template_version_id = latest->build.template_version_id,
                                     .transition = Transition::stop,
                                     .initiator_id = ws->owner_id,
                                     .parameters = latest->build.parameters,
                                     .preset = latest->build.preset,
                                     .reason = "autostop"},
                                    now);
    if (!stop) return stop.error();
    auto q = db_->prepare("UPDATE workspaces SET updated_at = $2 WHERE id = $1");
    if (!q) return q.error();
    if (auto s = q->with(id, now).run(); !s) return s.error();
    stops.push_back(std::move(*stop));
  }
  if (auto s = tx->commit(); !s) return s.error();
  return stops;
}

}  // namespace berth::store
