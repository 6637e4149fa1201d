// The PostgreSQL driver of sql::Connection against a real PostgreSQL
// (scripts/test-postgres.sh): the calls the SQLite driver answers, with the same results and
// error codes.
#include "berth/store/pg/pg_database.hpp"

#include <gtest/gtest.h>

#include "tests/support/pg_test_database.hpp"

namespace berth::store::pg {
namespace {

class PgDatabase : public ::testing::Test {
 protected:
  void SetUp() override {
    url = testing::create_test_database();
    ASSERT_FALSE(url.empty());
    auto opened = Database::open(url);
    ASSERT_TRUE(opened) << opened.error().message;
    db = std::move(*opened);
    ASSERT_TRUE(
        db->exec("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT, note TEXT, "
                 "parent TEXT REFERENCES t(id))"));
  }
  std::string url;
  std::unique_ptr<Database> db;
};

TEST_F(PgDatabase, BindsStepsAndReadsTypedColumns) {
  auto ins = db->prepare("INSERT INTO t (id, n, note) VALUES ($1, $2, $3)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(ins->with("a", std::int64_t{9'000'000'000}, std::optional<std::string>()).run());
  EXPECT_EQ(db->changes(), 1);
  auto again = db->prepare("INSERT INTO t (id, n, note) VALUES ($1, $2, $3)");
  ASSERT_TRUE(again->with("b", 2, std::string("hé\nllo")).run());

  auto sel = db->prepare("SELECT id, n, note FROM t ORDER BY id");
  ASSERT_TRUE(sel);
  auto row = sel->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(sel->text(0), "a");
  EXPECT_EQ(sel->int64(1), 9'000'000'000);
  EXPECT_TRUE(sel->is_null(2));
  EXPECT_EQ(sel->opt_text(2), std::nullopt);
  row = sel->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(sel->opt_text(2), "hé\nllo");
  EXPECT_EQ(sel->int32(1), 2);
  row = sel->step();
  ASSERT_TRUE(row);
  EXPECT_FALSE(*row);
}

TEST_F(PgDatabase, ConstraintViolationsAreAlreadyExists) {
  ASSERT_TRUE(db->prepare("INSERT INTO t (id) VALUES ($1)")->with("a").run());
  auto dup = db->prepare("INSERT INTO t (id) VALUES ($1)")->with("a").run();
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::already_exists);
  EXPECT_NE(dup.error().message.find("constraint failed"), std::string::npos);
  auto orphan = db->prepare("INSERT INTO t (id, parent) VALUES ($1, $2)")->with("b", "nope").run();
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code, ErrorCode::already_exists);
  auto bad = db->prepare("SELEKT 1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::internal);
  EXPECT_NE(bad.error().message.find("SQLSTATE 42601"), std::string::npos) << bad.error().message;
}

TEST_F(PgDatabase, TransactionsRollBackUnlessCommitted) {
  {
    auto tx = sql::Transaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->prepare("INSERT INTO t (id) VALUES ($1)")->with("gone").run());
  }
  {
    auto tx = sql::Transaction::begin(*db);
    ASSERT_TRUE(db->prepare("INSERT INTO t (id) VALUES ($1)")->with("kept").run());
    ASSERT_TRUE(tx->commit());
  }
  auto count = db->prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count->step());
  EXPECT_EQ(count->int64(0), 1);
  auto update = db->prepare("UPDATE t SET n = $1");
  ASSERT_TRUE(update->with(5).run());
  EXPECT_EQ(db->changes(), 1);
}

TEST(PgDatabaseOpen, AnUnreachableServerIsUnavailableWithAHint) {
  auto db = Database::open("postgresql://berth@/x?host=/nonexistent-berth-dir&connect_timeout=2");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::unavailable);
  EXPECT_NE(db.error().message.find("cannot connect to PostgreSQL"), std::string::npos);
  EXPECT_EQ(db.error().detail, "check the --database URL and that the server is running");
}

}  // namespace
}  // namespace berth::store::pg
