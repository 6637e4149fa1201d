#pragma once
// The SQLite driver of sql::Connection (store/sql/connection.hpp): one connection to a file in
// WAL mode with foreign keys on and synchronous=FULL, prepared statements cached by their
// text, `$1..$n` parameters. Not thread-safe; the store serialises access with its mutex.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"
#include "berth/store/sql/connection.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::store::sqlite {

// The store's translation units spell the shared types through this namespace.
using Statement = sql::Statement;
using Transaction = sql::Transaction;

class Database final : public sql::Connection {
 public:
  // Opens (creating if needed) the file at `path`, so that a commit that returned survives a
  // crash of the process or machine.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database() override;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sql::Dialect dialect() const override { return sql::Dialect::sqlite; }
  Status exec(std::string_view sql) override;
  Result<sql::Statement> prepare(std::string_view sql) override;
  int changes() const override;
  Status begin() override { return exec("BEGIN IMMEDIATE"); }

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

}  // namespace berth::store::sqlite
