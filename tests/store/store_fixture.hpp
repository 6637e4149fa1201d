#pragma once
// The store test fixture: the store on each driver (tests/store/store_test.cpp and
// store_scale_out_test.cpp).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "berth/core/ids.hpp"
#include "berth/store/pg/pg_database.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"
#include "tests/support/pg_test_database.hpp"

namespace berth::store {

// The store on each driver: a real SQLite file in a fresh temporary directory, or a fresh
// database in the test PostgreSQL (scripts/test-postgres.sh).
class SqliteStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool postgres() const { return GetParam() == "postgres"; }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-store-" + random_hex(6));
    std::filesystem::create_directories(dir_);
    if (postgres()) {
      url_ = testing::create_test_database();
      ASSERT_FALSE(url_.empty());
    }
    reopen();
    auto org = store_->create_organization("default", "Default");
    ASSERT_TRUE(org);
    org_ = *org;
    auto user = store_->create_user("alice", "alice@example.com", false, false);
    ASSERT_TRUE(user);
    user_ = *user;
    NewTemplateVersion v{.organization_id = org_.id,
                         .name = "shell",
                         .isolation = "process",
                         .source = "name: shell",
                         .spec = "{}",
                         .created_by = user_.id};
    auto pushed = store_->push_template_version(v);
    ASSERT_TRUE(pushed) << pushed.error().message;
    tmpl_ = pushed->tmpl;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A store on a connection of its own to the test's database.
  Result<std::unique_ptr<SqliteStore>> open_store() {
    if (!postgres()) return SqliteStore::open((dir_ / "berth.db").string());
    auto db = pg::Database::open(url_);
    if (!db) return db.error();
    return SqliteStore::open(std::unique_ptr<sql::Connection>(std::move(*db)));
  }
  void reopen() {
    store_.reset();
    auto s = open_store();
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  Result<CreatedWorkspace> create(std::string name) {
    return store_->create_workspace(
        {.organization_id = org_.id, .owner_id = user_.id, .template_id = tmpl_.id, .name = name},
        {.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id});
  }

  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<SqliteStore> store_;
  Organization org_;
  User user_;
  Template tmpl_;
};

}  // namespace berth::store
