// SqliteStore: quota allowances, usage, and admitting a start build's daily cost.
#include <fmt/format.h>

#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::Transaction;

Status SqliteStore::set_quota_allowance(std::string_view org_id, std::string_view subject,
                                        std::optional<std::int64_t> budget) {
  std::lock_guard lock(mu_);
  if (!budget) {
    auto q =
        db_->prepare("DELETE FROM quota_allowances WHERE organization_id = $1 AND subject = $2");
    if (!q) return q.error();
    return q->with(org_id, subject).run();
  }
  auto q = db_->prepare(
      "INSERT INTO quota_allowances (organization_id, subject, budget) VALUES ($1, $2, $3) "
      "ON CONFLICT (organization_id, subject) DO UPDATE SET budget = excluded.budget");
  if (!q) return q.error();
  return q->with(org_id, subject, *budget).run();
}

Result<std::vector<QuotaAllowance>> SqliteStore::quota_allowances(std::string_view org_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT a.subject, COALESCE(u.username, ''), a.budget FROM quota_allowances a "
      "LEFT JOIN users u ON u.id = a.subject WHERE a.organization_id = $1 "
      "ORDER BY a.subject <> '*', u.username");
  if (!q) return q.error();
  q->with(org_id);
  std::vector<QuotaAllowance> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({q->text(0), q->text(1), q->int64(2)});
  }
  return out;
}

Result<QuotaUsage> SqliteStore::quota_usage_locked(std::string_view user_id,
                                                   std::string_view org_id,
                                                   std::string_view except_workspace_id) {
  QuotaUsage usage;
  {
    // A workspace costs what its latest build committed while that build is a start that
    // has not failed or been canceled; stopped and deleted workspaces cost nothing.
    auto q = db_->prepare(
        "SELECT COALESCE(SUM(b.daily_cost), 0) FROM workspaces w "
        "JOIN workspace_builds b ON b.workspace_id = w.id AND b.build_number = "
        "(SELECT MAX(build_number) FROM workspace_builds WHERE workspace_id = w.id) "
        "JOIN provisioner_jobs j ON j.id = b.job_id "
        "WHERE w.owner_id = $1 AND w.organization_id = $2 AND NOT w.deleted AND w.id <> $3 "
        "AND b.transition = 'start' AND j.error IS NULL AND j.canceled_at IS NULL");
    if (!q) return q.error();
    if (auto r = q->with(user_id, org_id, except_workspace_id).step(); !r) return r.error();
    usage.credits_consumed = q->int64(0);
  }
  auto q = db_->prepare(
      "SELECT budget FROM quota_allowances WHERE organization_id = $1 AND subject IN ($2, '*') "
      "ORDER BY subject = '*' LIMIT 1");
  if (!q) return q.error();
  auto row = q->with(org_id, user_id).step();
  if (!row) return row.error();
  if (*row) usage.budget = q->int64(0);
  return usage;
}

Result<QuotaUsage> SqliteStore::quota_usage(std::string_view user_id, std::string_view org_id) {
  std::lock_guard lock(mu_);
  return quota_usage_locked(user_id, org_id, "");
}

Result<Store::QuotaDecision> SqliteStore::admit_build_cost(std::string_view build_id,
                                                           std::int64_t daily_cost) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto workspace_id = workspace_of_build_locked(build_id);
  if (!workspace_id) return workspace_id.error();
  auto ws = workspace_locked(*workspace_id);
  if (!ws) return ws.error();
  auto usage = quota_usage_locked(ws->owner_id, ws->organization_id, ws->id);
  if (!usage) return usage.error();
  QuotaDecision d{
      .admitted = !usage->budget || usage->credits_consumed + daily_cost <= *usage->budget,
      .usage = *usage};
  if (!d.admitted) return d;
  auto q = db_->prepare("UPDATE workspace_builds SET daily_cost = $2 WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(build_id, daily_cost).run(); !s) return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  return d;
}

}  // namespace berth::store
