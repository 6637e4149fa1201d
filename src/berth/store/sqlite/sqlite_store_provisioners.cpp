// SqliteStore: the hosts that run builds (provisioners) and the keys daemons authenticate with.
#include <fmt/format.h>

#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::all;
using sqlite::one;
using sqlite::Statement;
using sqlite::Transaction;

namespace {

constexpr std::string_view kProvisionerColumns =
    "id, name, kind, worker_id, started_at, last_seen_at, tags, key_id";

ProvisionerHost read_provisioner(const Statement& r) {
  return ProvisionerHost{r.text(0),  r.text(1),  r.text(2), r.text(3),
                         r.int64(4), r.int64(5), r.text(6), r.opt_text(7)};
}

constexpr std::string_view kKeyColumns = "id, name, secret_hash, tags, created_by, created_at";

ProvisionerKey read_key(const Statement& r) {
  return ProvisionerKey{r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.int64(5)};
}

}  // namespace

Status SqliteStore::register_provisioner(const ProvisionerHost& h) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto del = db_->prepare("DELETE FROM provisioners WHERE id = $1");
  if (!del) return del.error();
  if (auto s = del->with(h.id).run(); !s) return s;
  auto q = db_->prepare(
      "INSERT INTO provisioners (id, name, kind, worker_id, started_at, last_seen_at, tags, "
      "key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
  if (!q) return q.error();
  if (auto s =
          q->with(h.id, h.name, h.kind, h.worker_id, h.started_at, h.last_seen_at, h.tags, h.key_id)
              .run();
      !s) {
    return s;
  }
  return tx->commit();
}

Status SqliteStore::provisioner_seen(std::string_view id, UnixMillis now) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE provisioners SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(id, now).run(); !s) return s;
  if (db_->changes() == 0) return Error::not_found(fmt::format("provisioner {} not found", id));
  return {};
}

Result<std::vector<ProvisionerHost>> SqliteStore::list_provisioners() {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kProvisionerColumns, " FROM provisioners ORDER BY name, id");
  auto q = db_->prepare(kSql);
  return all<ProvisionerHost>(q, read_provisioner);
}

Result<ProvisionerHost> SqliteStore::provisioner_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kProvisionerColumns, " FROM provisioners WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<ProvisionerHost>(q, read_provisioner, fmt::format("provisioner {} not found", id));
}

Status SqliteStore::create_provisioner_key(const ProvisionerKey& k) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  {
    auto q = db_->prepare("SELECT 1 FROM provisioner_keys WHERE name = $1");
    if (!q) return q.error();
    auto row = q->with(k.name).step();
    if (!row) return row.error();
    if (*row) {
      return Error::already_exists(
          fmt::format("a provisioner key named \"{}\" already exists", k.name),
          "choose another name, or delete the old key first");
    }
  }
  auto q = db_->prepare(
      "INSERT INTO provisioner_keys (id, name, secret_hash, tags, created_by, created_at) VALUES "
      "($1, $2, $3, $4, $5, $6)");
  if (!q) return q.error();
  if (auto s = q->with(k.id, k.name, k.secret_hash, k.tags, k.created_by, k.created_at).run(); !s)
    return s;
  return tx->commit();
}

Result<std::vector<ProvisionerKey>> SqliteStore::list_provisioner_keys() {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kKeyColumns, " FROM provisioner_keys ORDER BY name");
  auto q = db_->prepare(kSql);
  return all<ProvisionerKey>(q, read_key);
}

Result<ProvisionerKey> SqliteStore::provisioner_key_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      sqlite::sql("SELECT ", kKeyColumns, " FROM provisioner_keys WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<ProvisionerKey>(q, read_key, "no such provisioner key");
}

Status SqliteStore::delete_provisioner_key(std::string_view name) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM provisioner_keys WHERE name = $1");
  if (!q) return q.error();
  if (auto s = q->with(name).run(); !s) return s;
  if (db_->changes() == 0) {
    return Error::not_found(fmt::format("no provisioner key named \"{}\"", name),
                            "`berth provisioner-keys list` shows the keys");
  }
  return {};
}

}  // namespace berth::store
