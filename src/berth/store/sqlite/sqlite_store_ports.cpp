// SqliteStore: exposed ports, the ports of a workspace that answer at a preview URL.
#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::all;
using sqlite::Statement;

namespace {

constexpr std::string_view kPortColumns =
    "workspace_id, port, is_public, token_hash, created_by, created_at, updated_at";

ExposedPort read_port(const Statement& s) {
  return {s.text(0), s.int32(1), s.boolean(2), s.text(3), s.text(4), s.int64(5), s.int64(6)};
}

}  // namespace

Status SqliteStore::expose_port(const ExposedPort& p) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "INSERT INTO exposed_ports (workspace_id, port, is_public, token_hash, created_by, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (workspace_id, "
      "port) DO UPDATE SET is_public = $3, token_hash = $4, updated_at = $6");
  if (!q) return q.error();
  return q->with(p.workspace_id, p.port, p.is_public, p.token_hash, p.created_by, p.updated_at)
      .run();
}

Result<bool> SqliteStore::unexpose_port(std::string_view workspace_id, int port) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM exposed_ports WHERE workspace_id = $1 AND port = $2");
  if (!q) return q.error();
  if (auto s = q->with(workspace_id, port).run(); !s) return s.error();
  return db_->changes() > 0;
}

Result<std::optional<ExposedPort>> SqliteStore::exposed_port(std::string_view workspace_id,
                                                             int port) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(sqlite::sql("SELECT ", kPortColumns,
                                    " FROM exposed_ports WHERE workspace_id = $1 AND port = $2"));
  if (!q) return q.error();
  auto row = q->with(workspace_id, port).step();
  if (!row) return row.error();
  if (!*row) return std::optional<ExposedPort>{};
  return std::optional<ExposedPort>{read_port(*q)};
}

Result<std::vector<ExposedPort>> SqliteStore::exposed_ports(std::string_view workspace_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(sqlite::sql("SELECT ", kPortColumns,
                                    " FROM exposed_ports WHERE workspace_id = $1 ORDER BY port"));
  if (q) q->with(workspace_id);
  return all<ExposedPort>(q, read_port);
}

}  // namespace berth::store
