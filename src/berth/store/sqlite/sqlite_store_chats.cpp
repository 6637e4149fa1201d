// SqliteStore: chats and their workspace binding.
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/sqlite/rows.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::store {

using sqlite::all;
using sqlite::one;
using sqlite::Statement;
using sqlite::Transaction;

namespace {
constexpr std::string_view kChatColumns =
    "id, organization_id, owner_id, chat_key, title, workspace_id, build_id, agent_id, "
    "created_at, updated_at";
Chat read_chat(const Statement& s) {
  return {s.text(0),     s.text(1),     s.text(2),     s.opt_text(3), s.text(4),
          s.opt_text(5), s.opt_text(6), s.opt_text(7), s.int64(8),    s.int64(9)};
}
}  // namespace

Result<Chat> SqliteStore::chat_locked(std::string_view id) {
  static const std::string kSql = sqlite::sql("SELECT ", kChatColumns, " FROM chats WHERE id = $1");
  auto q = db_->prepare(kSql);
  if (q) q->with(id);
  return one<Chat>(q, read_chat, fmt::format("chat {} not found", id));
}

Result<Chat> SqliteStore::create_chat(std::string_view organization_id, std::string_view owner_id,
                                      std::optional<std::string> key, std::string_view title) {
  std::lock_guard lock(mu_);
  std::string id = new_uuid();
  UnixMillis now = now_ms();
  auto q = db_->prepare(
      "INSERT INTO chats (id, organization_id, owner_id, chat_key, title, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $6)");
  if (!q) return q.error();
  if (auto s = q->with(id, organization_id, owner_id, key, title, now).run(); !s) {
    if (s.error().code == ErrorCode::already_exists) {
      return Error::already_exists(
          fmt::format("you already have a chat with key \"{}\"", key.value_or("")));
    }
    return s.error();
  }
  return chat_locked(id);
}

Result<Chat> SqliteStore::chat_for_key(std::string_view organization_id, std::string_view owner_id,
                                       std::string_view key) {
  std::lock_guard lock(mu_);
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  std::optional<std::string> found;
  {
    auto q = db_->prepare(
        "SELECT id FROM chats WHERE owner_id = $1 AND organization_id = $2 AND chat_key = $3");
    if (!q) return q.error();
    auto row = q->with(owner_id, organization_id, key).step();
    if (!row) return row.error();
    if (*row) found = q->text(0);
  }
  if (!found) {
    found = new_uuid();
    UnixMillis now = now_ms();
    auto q = db_->prepare(
        "INSERT INTO chats (id, organization_id, owner_id, chat_key, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $5)");
    if (!q) return q.error();
    if (auto s = q->with(*found, organization_id, owner_id, key, now).run(); !s) return s.error();
  }
  auto chat = chat_locked(*found);
  if (!chat) return chat.error();
  if (auto s = tx->commit(); !s) return s.error();
  return chat;
}

Result<Chat> SqliteStore::chat_by_id(std::string_view id) {
  std::lock_guard lock(mu_);
  return chat_locked(id);
}

Result<std::vector<Chat>> SqliteStore::list_chats(std::string_view owner_id) {
  std::lock_guard lock(mu_);
  static const std::string kSql = sqlite::sql(
      "SELECT ", kChatColumns, " FROM chats WHERE owner_id = $1 ORDER BY created_at, id");
  auto q = db_->prepare(kSql);
  if (q) q->with(owner_id);
  return all<Chat>(q, read_chat);
}

Result<Chat> SqliteStore::set_chat_binding(std::string_view chat_id,
                                           std::optional<std::string> workspace_id,
                                           std::optional<std::string> build_id,
                                           std::optional<std::string> agent_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "UPDATE chats SET workspace_id = $2, build_id = $3, agent_id = $4, updated_at = $5 WHERE id "
      "= $1");
  if (!q) return q.error();
  if (auto s = q->with(chat_id, workspace_id, build_id, agent_id, now_ms()).run(); !s)
    return s.error();
  if (db_->changes() == 0) return Error::not_found(fmt::format("chat {} not found", chat_id));
  return chat_locked(chat_id);
}

Result<CreatedWorkspace> SqliteStore::create_workspace_for_chat(
    std::string_view chat_id, std::optional<std::string> expected_workspace_id,
    const NewWorkspace& ws, const NewBuild& build) {
  std::lock_guard lock(mu_);
  // BEGIN IMMEDIATE takes the write lock first, so the check and the insert see the same
  // binding (PostgreSQL: pg_advisory_xact_lock keyed by the chat, then the same statements).
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  auto chat = chat_locked(chat_id);
  if (!chat) return chat.error();
  if (chat->workspace_id != expected_workspace_id) {
    return Error::failed_precondition("chat binding changed",
                                      "another call bound a workspace to this chat first");
  }
  auto created = insert_workspace_locked(ws, build);
  if (!created) return created.error();
  auto q = db_->prepare(
      "UPDATE chats SET workspace_id = $2, build_id = $3, agent_id = NULL, updated_at = $4 WHERE "
      "id = $1");
  if (!q) return q.error();
  if (auto s = q->with(chat_id, created->workspace.id, created->build.id, now_ms()).run(); !s) {
    return s.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return created;
}

}  // namespace berth::store
