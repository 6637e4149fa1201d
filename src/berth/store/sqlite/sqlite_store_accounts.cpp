// SqliteStore: account hygiene: listing and revoking tokens, suspending users, ending
// memberships.
#include <fmt/format.h>

#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

namespace {

constexpr const char* kTokenColumns =
    "id, user_id, name, created_at, expires_at, organization_id, read_only";

ApiToken read_token(const sqlite::Statement& q) {
  ApiToken t;
  t.id = q.text(0);
  t.user_id = q.text(1);
  t.name = q.text(2);
  t.created_at = q.int64(3);
  t.expires_at = q.opt_int64(4);
  t.scope = {q.opt_text(5), q.boolean(6)};
  return t;
}

}  // namespace

Result<std::vector<ApiToken>> SqliteStore::list_api_tokens(std::string_view user_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(fmt::format(
      "SELECT {} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id", kTokenColumns));
  if (!q) return q.error();
  q->with(user_id);
  std::vector<ApiToken> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_token(*q));
  }
  return out;
}

Result<ApiToken> SqliteStore::api_token_by_id(std::string_view token_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(fmt::format("SELECT {} FROM api_tokens WHERE id = $1", kTokenColumns));
  if (!q) return q.error();
  auto row = q->with(token_id).step();
  if (!row) return row.error();
  if (!*row) return Error::not_found(fmt::format("token {} not found", token_id));
  return read_token(*q);
}

Status SqliteStore::delete_api_token(std::string_view token_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM api_tokens WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(token_id).run(); !s) return s.error();
  if (db_->changes() == 0) return Error::not_found(fmt::format("token {} not found", token_id));
  return {};
}

Status SqliteStore::set_user_suspended(std::string_view user_id, bool suspended) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("UPDATE users SET suspended = $2 WHERE id = $1");
  if (!q) return q.error();
  if (auto s = q->with(user_id, suspended).run(); !s) return s.error();
  if (db_->changes() == 0) return Error::not_found(fmt::format("user {} not found", user_id));
  return {};
}

Status SqliteStore::remove_member(std::string_view org_id, std::string_view user_id) {
  std::lock_guard lock(mu_);
  auto q =
      db_->prepare("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2");
  if (!q) return q.error();
  if (auto s = q->with(org_id, user_id).run(); !s) return s.error();
  if (db_->changes() == 0) return Error::not_found("no such membership");
  return {};
}

}  // namespace berth::store
