// SqliteStore: prebuilt workspaces — the presets to keep, the pool, the claim, and the
// failure count the reconciler backs off on.
#include <fmt/format.h>

#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::Transaction;

namespace {

// The latest build of workspace w, as b, with its job j.
constexpr std::string_view kLatestBuildJoin =
    " JOIN workspace_builds b ON b.workspace_id = w.id AND b.build_number = "
    "(SELECT MAX(build_number) FROM workspace_builds WHERE workspace_id = w.id) "
    "JOIN provisioner_jobs j ON j.id = b.job_id ";

// Every agent of build b is connected and its startup script is done.
constexpr std::string_view kAgentsReady =
    "NOT EXISTS (SELECT 1 FROM workspace_agents a WHERE a.build_id = b.id AND "
    "(a.lifecycle_state <> 'ready' OR a.last_connected_at IS NULL OR "
    "a.last_connected_at <= COALESCE(a.disconnected_at, 0)))";

// Some agent of build b will never be ready: its startup script failed or timed out, or it
// did not connect within its connection timeout ($1 = now).
constexpr std::string_view kAgentsFailed =
    "EXISTS (SELECT 1 FROM workspace_agents a WHERE a.build_id = b.id AND "
    "(a.lifecycle_state IN ('start_error', 'start_timeout') OR (a.first_connected_at IS NULL "
    "AND a.connection_timeout_s > 0 AND a.created_at + a.connection_timeout_s * 1000 < $1)))";

}  // namespace

Result<std::vector<PrebuildPreset>> SqliteStore::prebuild_presets() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT p.id, p.template_version_id, p.name, p.description, p.is_default, p.parameters, "
      "p.desired_instances, t.id, t.organization_id, t.name FROM template_version_presets p "
      "JOIN templates t ON t.active_version_id = p.template_version_id "
      "WHERE NOT t.deleted AND p.desired_instances > 0 ORDER BY t.name, p.name");
  if (!q) return q.error();
  std::vector<PrebuildPreset> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(
        {{q->text(0), q->text(1), q->text(2), q->text(3), q->boolean(4), q->text(5), q->int32(6)},
         q->text(7),
         q->text(8),
         q->text(9)});
  }
  return out;
}

Result<std::vector<PrebuildWorkspace>> SqliteStore::prebuild_workspaces(UnixMillis now) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", sqlite::kWorkspaceColumns, ", ", sqlite::kBuildColumns, ", ", sqlite::kJobColumns,
      ", ", kAgentsReady, ", ", kAgentsFailed, sqlite::kWorkspaceFrom, kLatestBuildJoin,
      "WHERE w.prebuild_preset_id IS NOT NULL AND NOT w.deleted ORDER BY w.created_at");
  auto q = db_->prepare(kSql);
  if (!q) return q.error();
  q->with(now);
  std::vector<PrebuildWorkspace> out;
  constexpr int kBuildAt = sqlite::kWorkspaceColumnCount;
  constexpr int kJobAt = kBuildAt + sqlite::kBuildColumnCount;
  constexpr int kReadyAt = kJobAt + sqlite::kJobColumnCount;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({sqlite::read_workspace(*q, 0),
                   {sqlite::read_build(*q, kBuildAt), sqlite::read_job(*q, kJobAt)},
                   q->boolean(kReadyAt),
                   q->boolean(kReadyAt + 1)});
  }
  return out;
}

Result<std::optional<Workspace>> SqliteStore::claim_prebuild(const PrebuildClaim& c,
                                                             UnixMillis now) {
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE: the pick and the move see the same pool, so a prebuild is claimed once.
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  if (c.chat_id) {
    auto chat = chat_locked(*c.chat_id);
    if (!chat) return chat.error();
    if (chat->workspace_id != c.expected_workspace_id) {
      return Error::failed_precondition("chat binding changed",
                                        "another call bound a workspace to this chat first");
    }
  }
  std::string id, org_id, build_id;
  std::int64_t cost = 0;
  {
    static const std::string kSql = sqlite::sql(
        "SELECT w.id, w.organization_id, b.id, b.daily_cost FROM workspaces w", kLatestBuildJoin,
        "WHERE w.prebuild_preset_id = $1 AND NOT w.deleted AND b.transition = 'start' "
        "AND j.completed_at IS NOT NULL AND j.error IS NULL AND j.canceled_at IS NULL "
        "AND b.parameters = $2 AND ",
        kAgentsReady, " ORDER BY w.created_at LIMIT 1");
    auto q = db_->prepare(kSql);
    if (!q) return q.error();
    auto row = q->with(c.preset_id, c.parameters).step();
    if (!row) return row.error();
    if (!*row) return std::optional<Workspace>();
    id = q->text(0);
    org_id = q->text(1);
    build_id = q->text(2);
    cost = q->int64(3);
  }
  if (cost > 0) {
    // The new owner pays from now on: a claim that does not fit leaves the prebuild alone,
    // and the caller's own build reports the quota.
    auto usage = quota_usage_locked(c.owner_id, org_id, id);
    if (!usage) return usage.error();
    if (usage->budget && usage->credits_consumed + cost > *usage->budget) {
      return std::optional<Workspace>();
    }
  }
  {
    auto q =
        db_->prepare("SELECT 1 FROM workspaces WHERE owner_id = $1 AND name = $2 AND NOT deleted");
    if (!q) return q.error();
    auto row = q->with(c.owner_id, c.name).step();
    if (!row) return row.error();
    if (*row) {
      return Error::already_exists(fmt::format("a workspace named \"{}\" already exists", c.name),
                                   "choose another name, or omit the name to have one generated")
          .with_validation("name", "is already taken");
    }
  }
  {
    auto q = db_->prepare(
        "UPDATE workspaces SET owner_id = $2, name = $3, ttl_ms = $4, "
        "deadline_at = CASE WHEN CAST($4 AS BIGINT) IS NULL THEN NULL ELSE CAST($5 AS BIGINT) + "
        "CAST($4 AS BIGINT) END, "
        "prebuild_preset_id = NULL, updated_at = $5 WHERE id = $1 AND prebuild_preset_id IS NOT "
        "NULL");
    if (!q) return q.error();
    if (auto s = q->with(id, c.owner_id, c.name, c.ttl_ms, now).run(); !s) return s.error();
  }
  if (c.chat_id) {
    auto q = db_->prepare(
        "UPDATE chats SET workspace_id = $2, build_id = $3, agent_id = NULL, updated_at = $4 "
        "WHERE id = $1");
    if (!q) return q.error();
    if (auto s = q->with(*c.chat_id, id, build_id, now).run(); !s) return s.error();
  }
  auto ws = workspace_locked(id);
  if (!ws) return ws.error();
  if (auto s = tx->commit(); !s) return s.error();
  return std::optional<Workspace>(std::move(*ws));
}

Result<PrebuildFailures> SqliteStore::prebuild_failures(std::string_view preset_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT consecutive, last_failed_at, last_error FROM prebuild_failures WHERE preset_id = $1");
  if (!q) return q.error();
  auto row = q->with(preset_id).step();
  if (!row) return row.error();
  if (!*row) return PrebuildFailures{};
  return PrebuildFailures{q->int32(0), q->int64(1), q->text(2)};
}

Status SqliteStore::record_prebuild_outcome(std::string_view preset_id,
                                            std::optional<std::string> error, UnixMillis now) {
  std::lock_guard lock(mu_);
  if (!error) {
    auto q = db_->prepare("DELETE FROM prebuild_failures WHERE preset_id = $1");
    if (!q) return q.error();
    return q->with(preset_id).run();
  }
  auto q = db_->prepare(
      "INSERT INTO prebuild_failures (preset_id, consecutive, last_failed_at, last_error) "
      "VALUES ($1, 1, $2, $3) ON CONFLICT (preset_id) DO UPDATE SET consecutive = "
      "prebuild_failures.consecutive + "
      "1, last_failed_at = excluded.last_failed_at, last_error = excluded.last_error");
  if (!q) return q.error();
  return q->with(preset_id, now, *error).run();
}

}  // namespace berth::store
