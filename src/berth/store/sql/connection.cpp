#include "berth/store/sql/connection.hpp"

#include <chrono>

#include <fmt/format.h>

#include "berth/core/metrics.hpp"

namespace berth::store::sql {

Status Statement::run() {
  while (true) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

std::optional<std::string> Statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

Result<Transaction> Transaction::begin(Connection& db) {
  if (auto s = db.begin(); !s) return s.error();
  return Transaction(&db);
}

Result<Transaction> Transaction::begin_row_locking(Connection& db) {
  if (auto s = db.begin_row_locking(); !s) return s.error();
  return Transaction(&db);
}

std::string row_lock_clause(Dialect dialect, std::string_view alias) {
  if (dialect == Dialect::sqlite) return "";
  return fmt::format(" FOR UPDATE OF {} SKIP LOCKED", alias);
}

std::string tags_satisfy_expr(Dialect dialect, std::string_view offered, std::string_view wanted) {
  if (dialect == Dialect::sqlite) return fmt::format("tags_satisfy({}, {})", offered, wanted);
  return fmt::format(
      "(CASE WHEN CAST({1} AS TEXT) = '{{}}' THEN CAST({0} AS TEXT) = '{{}}' ELSE "
      "CAST(CAST({0} AS TEXT) AS jsonb) @> CAST(CAST({1} AS TEXT) AS jsonb) END)",
      offered, wanted);
}

Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  static auto& latency = metrics::registry().histogram(
      "berth_store_commit_seconds", "How long the store's transaction commits took, by driver.",
      {"driver"}, metrics::short_latency_buckets());
  const auto started = std::chrono::steady_clock::now();
  auto s = db_->exec("COMMIT");
  latency.labels({db_->dialect() == Dialect::sqlite ? "sqlite" : "postgres"})
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (s) db_ = nullptr;
  return s;
}

}  // namespace berth::store::sql
