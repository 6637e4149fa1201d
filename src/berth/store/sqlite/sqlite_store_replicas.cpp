// SqliteStore: what servers sharing one database keep there: replicas, leases, MCP sessions.
#include <fmt/format.h>

#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::all;
using sqlite::one;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

constexpr std::string_view kReplicaColumns =
    "id, hostname, data_dir, relay_url, relay_secret, started_at, heartbeat_at";

Replica read_replica(const Statement& s) {
  return {s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.int64(5), s.int64(6)};
}

constexpr std::string_view kSessionColumns =
    "id, token_id, chat_id, organization_id, protocol_version, client_info, initialized, "
    "created_at, last_used_at";

McpSessionRecord read_session(const Statement& s) {
  return {s.text(0), s.text(1),    s.text(2),  s.text(3), s.text(4),
          s.text(5), s.boolean(6), s.int64(7), s.int64(8)};
}

}  // namespace

Status SqliteStore::register_replica(const Replica& r) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto del = db_->prepare(
      "DELETE FROM replicas WHERE id = $1 OR (hostname = $2 AND data_dir = $3 AND data_dir <> '')");
  if (!del) return del.error();
  if (auto s = del->with(r.id, r.hostname, r.data_dir).run(); !s) return s;
  auto q = db_->prepare(
      "INSERT INTO replicas (id, hostname, data_dir, relay_url, relay_secret, started_at, "
      "heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $6)");
  if (!q) return q.error();
  if (auto s =
          q->with(r.id, r.hostname, r.data_dir, r.relay_url, r.relay_secret, r.started_at).run();
      !s) {
    return s;
  }
  return tx->commit();
}

Status SqliteStore::heartbeat_replica(std::string_view id, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("UPDATE replicas SET heartbeat_at = $2 WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(id, now).run(); !s) return s;
  if (db_->changes() == 0) return Error::not_found(fmt::format("replica {} not found", id));
  return {};
}

Status SqliteStore::remove_replica(std::string_view id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM replicas WHERE id = $1");
  if (!q) return q.error();
  return q->with(id).run();
}

Result<Replica> SqliteStore::replica_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kReplicaColumns, " FROM replicas WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<Replica>(q, read_replica, fmt::format("replica {} not found", id));
}

Result<std::vector<Replica>> SqliteStore::list_replicas() {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kReplicaColumns, " FROM replicas ORDER BY started_at, id");
  auto q = db_->prepare(kSql);
  return all<Replica>(q, read_replica);
}

Result<std::int64_t> SqliteStore::remove_stale_replicas(UnixMillis stale_before) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM replicas WHERE heartbeat_at < $1");
  if (!q) return q.error();
  if (auto s = q->with(stale_before).run(); !s) return s.error();
  return static_cast<std::int64_t>(db_->changes());
}

Result<bool> SqliteStore::acquire_lease(std::string_view name, std::string_view holder,
                                        UnixMillis now, UnixMillis until) {
  std::lock_guard lock(mu_);
  // One statement: both engines apply an upsert atomically per row.
  auto q = db_->prepare(
      "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4) "
      "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
      "WHERE leases.holder = excluded.holder OR leases.expires_at < $3");
  if (!q) return q.error();
  if (auto s = q->with(name, holder, now, until).run(); !s) return s.error();
  return db_->changes() > 0;
}

Status SqliteStore::release_lease(std::string_view name, std::string_view holder) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM leases WHERE name = $1 AND holder = $2");
  if (!q) return q.error();
  return q->with(name, holder).run();
}

Status SqliteStore::create_mcp_session(const McpSessionRecord& m, std::size_t max_per_token,
                                       UnixMillis evictable_before) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto q = db_->prepare(
      "INSERT INTO mcp_sessions (id, token_id, chat_id, organization_id, protocol_version, "
      "client_info, initialized, created_at, last_used_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
  if (!q) return q.error();
  if (auto s = q->with(m.id, m.token_id, m.chat_id, m.organization_id, m.protocol_version,
                       m.client_info, m.initialized, m.created_at, m.last_used_at)
                   .run();
      !s) {
    return s;
  }
  // Past the cap, the token's least recently used sessions make room for the new one.
  struct Other {
    std::string id;
    UnixMillis last_used_at;
  };
  std::vector<Other> others;  // most recently used first
  {
    auto list = db_->prepare(
        "SELECT id, last_used_at FROM mcp_sessions WHERE token_id = $1 AND id <> $2 "
        "ORDER BY last_used_at DESC, id");
    if (!list) return list.error();
    list->with(m.token_id, m.id);
    while (true) {
      auto row = list->step();
      if (!row) return row.error();
      if (!*row) break;
      others.push_back({list->text(0), list->int64(1)});
    }
  }
  const std::size_t keep = max_per_token > 0 ? max_per_token - 1 : 0;
  for (std::size_t i = keep; i < others.size(); ++i) {
    if (others[i].last_used_at >= evictable_before) {
      return Error::resource_exhausted(
          fmt::format("this token has {} MCP sessions, all in use", others.size()),
          "end one (DELETE /mcp), wait a minute, or use another token");
    }
    auto del = db_->prepare("DELETE FROM mcp_sessions WHERE id = $1");
    if (!del) return del.error();
    if (auto s = del->with(others[i].id).run(); !s) return s;
  }
  return tx->commit();
}

Result<McpSessionRecord> SqliteStore::mcp_session(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kSessionColumns, " FROM mcp_sessions WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<McpSessionRecord>(q, read_session, "MCP session not found");
}

Status SqliteStore::update_mcp_session(const McpSessionRecord& m) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE mcp_sessions SET protocol_version = $2, client_info = $3, initialized = $4, "
      "last_used_at = GREATEST(last_used_at, $5) WHERE id = $1");
  if (!q) return q.error();
  return q->with(m.id, m.protocol_version, m.client_info, m.initialized, m.last_used_at).run();
}

Status SqliteStore::touch_mcp_session(std::string_view id, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE mcp_sessions SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1");
  if (!q) return q.error();
  return q->with(id, now).run();
}

Result<bool> SqliteStore::delete_mcp_session(std::string_view id, std::string_view token_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM mcp_sessions WHERE id = $1 AND token_id = $2");
  if (!q) return q.error();
  if (auto s = q->with(id, token_id).run(); !s) return s.error();
  return db_->changes() > 0;
}

Result<std::int64_t> SqliteStore::expire_mcp_sessions(UnixMillis idle_before) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM mcp_sessions WHERE last_used_at < $1");
  if (!q) return q.error();
  if (auto s = q->with(idle_before).run(); !s) return s.error();
  return static_cast<std::int64_t>(db_->changes());
}

}  // namespace berth::store
