// SqliteStore: what makes MCP calls outlive their requests: tasks of the Tasks extension, and
// undelivered answers of calls that are not safe to repeat.
//
// Tasks: A runner holds a working task by a lease it
// renews; every write of a runner is fenced by (id, runner, status = 'working'), so a runner
// whose task was taken over finds out and stops instead of overwriting its successor.
#include <fmt/format.h>

#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::all;
using sqlite::one;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

constexpr std::string_view kTaskColumns =
    "id, user_id, token_id, chat_id, organization_id, tool, arguments, status, status_message, "
    "outcome, cancel_requested, runner, runner_until, created_at, updated_at, expires_at";

McpTask read_task(const Statement& s) {
  return {s.text(0),   s.text(1),   s.text(2),   s.text(3),  s.text(4),     s.text(5),
          s.text(6),   s.text(7),   s.text(8),   s.text(9),  s.boolean(10), s.text(11),
          s.int64(12), s.int64(13), s.int64(14), s.int64(15)};
}

// A working task nobody holds: its runner's lease ran out, or its runner is gone (a server
// that restarted on the same data directory replaced its own replica row).
constexpr std::string_view kOrphan =
    "status = 'working' AND (runner_until < $2 OR runner NOT IN (SELECT id FROM replicas))";

}  // namespace

Status SqliteStore::create_mcp_task(const McpTask& t) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "INSERT INTO mcp_tasks (id, user_id, token_id, chat_id, organization_id, tool, arguments, "
      "status, status_message, outcome, cancel_requested, runner, runner_until, created_at, "
      "updated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
      "$14, $15, $16)");
  if (!q) return q.error();
  return q
      ->with(t.id, t.user_id, t.token_id, t.chat_id, t.organization_id, t.tool, t.arguments,
             t.status, t.status_message, t.outcome, t.cancel_requested, t.runner, t.runner_until,
             t.created_at, t.updated_at, t.expires_at)
      .run();
}

Result<McpTask> SqliteStore::mcp_task(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kTaskColumns, " FROM mcp_tasks WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<McpTask>(q, read_task, "task not found");
}

Result<bool> SqliteStore::renew_mcp_task(std::string_view id, std::string_view runner,
                                         UnixMillis until, std::optional<std::string> message,
                                         UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  if (message) {
    auto q = db_->prepare(
        "UPDATE mcp_tasks SET runner_until = $3, status_message = $4, updated_at = $5 "
        "WHERE id = $1 AND runner = $2 AND status = 'working'");
    if (!q) return q.error();
    if (auto s = q->with(id, runner, until, *message, now).run(); !s) return s.error();
  } else {
    auto q = db_->prepare(
        "UPDATE mcp_tasks SET runner_until = $3 WHERE id = $1 AND runner = $2 AND "
        "status = 'working'");
    if (!q) return q.error();
    if (auto s = q->with(id, runner, until).run(); !s) return s.error();
  }
  if (db_->changes() == 0) {
    return Error::failed_precondition(fmt::format("task {} is no longer run by this replica", id));
  }
  auto q = db_->prepare("SELECT cancel_requested FROM mcp_tasks WHERE id = $1");
  if (!q) return q.error();
  auto row = q->with(id).step();
  if (!row) return row.error();
  const bool cancel = *row && q->boolean(0);
  if (auto s = tx->commit(); !s) return s.error();
  return cancel;
}

Result<bool> SqliteStore::finish_mcp_task(std::string_view id, std::string_view runner,
                                          std::string_view status, std::string_view message,
                                          std::string_view outcome, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE mcp_tasks SET status = $3, status_message = $4, outcome = $5, updated_at = $6 "
      "WHERE id = $1 AND runner = $2 AND status = 'working'");
  if (!q) return q.error();
  if (auto s = q->with(id, runner, status, message, outcome, now).run(); !s) return s.error();
  return db_->changes() > 0;
}

Result<bool> SqliteStore::request_mcp_task_cancel(std::string_view id, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE mcp_tasks SET cancel_requested = TRUE, updated_at = $2 "
      "WHERE id = $1 AND status = 'working'");
  if (!q) return q.error();
  if (auto s = q->with(id, now).run(); !s) return s.error();
  return db_->changes() > 0;
}

Result<std::vector<McpTask>> SqliteStore::claim_orphan_mcp_tasks(std::string_view runner,
                                                                 UnixMillis now, UnixMillis until,
                                                                 int limit) {
  std::lock_guard lock(mu_);
  std::vector<std::string> candidates;
  {
    static const std::string kSql =
        sqlite::sql("SELECT id FROM mcp_tasks WHERE ", kOrphan,
                    " AND runner <> $1 ORDER BY created_at, id LIMIT $3");
    auto q = db_->prepare(kSql);
    if (!q) return q.error();
    q->with(runner, now, limit);
    while (true) {
      auto row = q->step();
      if (!row) return row.error();
      if (!*row) break;
      candidates.push_back(q->text(0));
    }
  }
  std::vector<McpTask> claimed;
  for (const auto& id : candidates) {
    // Conditional per row: of several replicas sweeping at once, one wins each task.
    static const std::string kClaim = sqlite::sql(
        "UPDATE mcp_tasks SET runner = $1, runner_until = $3, updated_at = $2 WHERE id = $4 AND ",
        kOrphan);
    auto q = db_->prepare(kClaim);
    if (!q) return q.error();
    if (auto s = q->with(runner, now, until, id).run(); !s) return s.error();
    if (db_->changes() == 0) continue;
    static const std::string kRead =
        sqlite::sql("SELECT ", kTaskColumns, " FROM mcp_tasks WHERE id = $1");
    auto r = db_->prepare(kRead);
    if (r) r->with(id);
    auto task = one<McpTask>(r, read_task, "task not found");
    if (!task) return task.error();
    claimed.push_back(std::move(*task));
  }
  return claimed;
}

Result<std::int64_t> SqliteStore::expire_mcp_tasks(UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM mcp_tasks WHERE expires_at < $1");
  if (!q) return q.error();
  if (auto s = q->with(now).run(); !s) return s.error();
  return static_cast<std::int64_t>(db_->changes());
}

Status SqliteStore::record_undelivered_call(const UndeliveredCall& c) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "INSERT INTO undelivered_calls (id, chat_id, call_key, tool, status, result, is_error, "
      "started_at, cut_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
  if (!q) return q.error();
  return q
      ->with(c.id, c.chat_id, c.call_key, c.tool, c.status, c.result, c.is_error, c.started_at,
             c.cut_at, c.expires_at)
      .run();
}

Status SqliteStore::finish_undelivered_call(std::string_view id, std::string_view result,
                                            bool is_error) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE undelivered_calls SET status = 'done', result = $2, is_error = $3 WHERE id = $1");
  if (!q) return q.error();
  return q->with(id, result, is_error).run();
}

Result<std::optional<UndeliveredCall>> SqliteStore::take_undelivered_call(std::string_view chat_id,
                                                                          std::string_view call_key,
                                                                          UnixMillis now) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  {
    auto del = db_->prepare("DELETE FROM undelivered_calls WHERE chat_id = $1 AND expires_at < $2");
    if (!del) return del.error();
    if (auto s = del->with(chat_id, now).run(); !s) return s.error();
  }
  auto q = db_->prepare(
      "SELECT id, chat_id, call_key, tool, status, result, is_error, started_at, cut_at, "
      "expires_at FROM undelivered_calls WHERE chat_id = $1 AND call_key = $2 "
      "ORDER BY started_at, id LIMIT 1");
  if (!q) return q.error();
  auto row = q->with(chat_id, call_key).step();
  if (!row) return row.error();
  std::optional<UndeliveredCall> found;
  if (*row) {
    found = UndeliveredCall{q->text(0), q->text(1),    q->text(2),  q->text(3),  q->text(4),
                            q->text(5), q->boolean(6), q->int64(7), q->int64(8), q->int64(9)};
  }
  if (found && found->status == "done") {
    // Handed over once: a later identical call runs again.
    auto del = db_->prepare("DELETE FROM undelivered_calls WHERE id = $1 AND status = 'done'");
    if (!del) return del.error();
    if (auto s = del->with(found->id).run(); !s) return s.error();
    if (db_->changes() == 0) found.reset();  // another replica handed it over first
  }
  if (auto s = tx->commit(); !s) return s.error();
  return found;
}

}  // namespace berth::store
