// `berth db copy`: a SQLite installation with data of every kind, copied into an empty
// PostgreSQL database, reads the same through the store; a non-empty target is refused.
#include "berth/store/db_copy.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/pg/pg_database.hpp"
#include "berth/store/sqlite/database.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"
#include "tests/support/pg_test_database.hpp"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<SqliteStore> open_pg(const std::string& url) {
  auto db = pg::Database::open(url);
  EXPECT_TRUE(db);
  auto s = SqliteStore::open(std::unique_ptr<sql::Connection>(std::move(*db)));
  EXPECT_TRUE(s) << s.error().message;
  return std::move(*s);
}

TEST(DbCopy, ASqliteInstallationReadsTheSameOnPostgres) {
  const fs::path dir = fs::temp_directory_path() / ("berth-copy-" + random_hex(6));
  fs::create_directories(dir);
  const std::string file = (dir / "berth.db").string();
  std::string workspace_id, chat_id;
  {
    auto s = SqliteStore::open(file);
    ASSERT_TRUE(s);
    auto& st = **s;
    auto org = st.create_organization("acme", "Acme");
    auto user = st.create_user("alice", "a@example.com", true, false);
    ASSERT_TRUE(org && user);
    ASSERT_TRUE(st.set_member(org->id, user->id, OrgRole::admin));
    auto pushed = st.push_template_version({.organization_id = org->id,
                                            .name = "shell",
                                            .isolation = "sandbox",
                                            .source = "name: shell",
                                            .spec = "{}",
                                            .created_by = user->id});
    ASSERT_TRUE(pushed);
    auto ws = st.create_workspace(
        {.organization_id = org->id,
         .owner_id = user->id,
         .template_id = pushed->tmpl.id,
         .name = "dev",
         .ttl_ms = 3'600'000},
        {.template_version_id = pushed->tmpl.active_version_id, .initiator_id = user->id});
    ASSERT_TRUE(ws) << ws.error().message;
    workspace_id = ws->workspace.id;
    ASSERT_TRUE(st.append_job_logs(ws->build.job_id, {{"start", "info", "hé"}}, now_ms()));
    auto chat = st.create_chat(org->id, user->id, std::string("chat-1"), "a chat");
    ASSERT_TRUE(chat);
    chat_id = chat->id;
    ASSERT_TRUE(st.set_config("agents_workspace_ttl", "2h"));
  }
  const std::string url = testing::create_test_database();
  ASSERT_FALSE(url.empty());
  open_pg(url);  // migrated, empty
  auto from = sqlite::Database::open(file);
  auto to = pg::Database::open(url);
  ASSERT_TRUE(from && to);
  auto copied = copy_database(**from, **to);
  ASSERT_TRUE(copied) << copied.error().message;
  std::map<std::string, std::int64_t> rows;
  for (const auto& c : *copied) rows[c.table] = c.rows;
  EXPECT_EQ(rows["users"], 1);
  EXPECT_EQ(rows["workspaces"], 1);
  EXPECT_EQ(rows["provisioner_job_logs"], 1);
  EXPECT_EQ(rows["chats"], 1);

  auto pg = open_pg(url);
  auto ws = pg->workspace_by_id(workspace_id);
  ASSERT_TRUE(ws) << ws.error().message;
  EXPECT_EQ(ws->name, "dev");
  EXPECT_EQ(ws->ttl_ms, 3'600'000);
  EXPECT_FALSE(ws->deleted);
  auto user = pg->user_by_username("alice");
  ASSERT_TRUE(user);
  EXPECT_TRUE(user->site_admin);  // a boolean survives the copy
  auto build = pg->latest_build(workspace_id);
  ASSERT_TRUE(build);
  auto logs = pg->job_logs(build->job.id, 0, 10);
  ASSERT_TRUE(logs);
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0].output, "hé");
  auto chat = pg->chat_by_id(chat_id);
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->key, "chat-1");
  EXPECT_EQ(pg->config("agents_workspace_ttl").value(), "2h");

  // Copying again finds data in the target and changes nothing.
  auto again = copy_database(**from, **to);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message,
            "the target database is not empty: table organizations has 1 rows");
  EXPECT_EQ(again.error().detail, "copy into a new, empty database");
  fs::remove_all(dir);
}

TEST(DbCopy, TablesComeAfterTheTablesTheyReference) {
  const fs::path dir = fs::temp_directory_path() / ("berth-copy-" + random_hex(6));
  fs::create_directories(dir);
  { ASSERT_TRUE(SqliteStore::open((dir / "berth.db").string())); }
  auto db = sqlite::Database::open((dir / "berth.db").string());
  auto order = tables_in_dependency_order(**db);
  ASSERT_TRUE(order);
  auto at = [&](const std::string& t) {
    return std::find(order->begin(), order->end(), t) - order->begin();
  };
  EXPECT_LT(at("organizations"), at("templates"));
  EXPECT_LT(at("templates"), at("template_versions"));
  EXPECT_LT(at("users"), at("workspaces"));
  EXPECT_LT(at("workspaces"), at("workspace_builds"));
  EXPECT_LT(at("provisioner_jobs"), at("provisioner_job_logs"));
  EXPECT_EQ(std::find(order->begin(), order->end(), "schema_migrations"), order->end());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth::store
