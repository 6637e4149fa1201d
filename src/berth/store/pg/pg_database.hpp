#pragma once
// The PostgreSQL driver of sql::Connection (store/sql/connection.hpp), through libpq: one
// connection, statements prepared once per connection and cached by their text, `$1..$n`
// parameters sent as text, typed column reads, and errors mapped as the SQLite driver maps
// them (a unique or foreign-key violation is already_exists; a lost connection unavailable).
// Not thread-safe; a store serialises access to a connection. Several connections (replicas)
// may share a database: see begin().

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"
#include "berth/store/sql/connection.hpp"

struct pg_conn;

namespace berth::store::pg {

class Database final : public sql::Connection {
 public:
  // Connects to `url` (postgres://... or postgresql://..., or libpq key=value words).
  static Result<std::unique_ptr<Database>> open(const std::string& url);
  ~Database() override;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sql::Dialect dialect() const override { return sql::Dialect::postgres; }
  Status exec(std::string_view sql) override;
  Result<sql::Statement> prepare(std::string_view sql) override;
  int changes() const override { return changes_; }
  // A transaction that writes one at a time with every other Berth transaction on the
  // database (an advisory lock held to its end), as SQLite's BEGIN IMMEDIATE does: the store's
  // read-then-write steps (one workspace per chat, a prebuild claimed once, quota admission)
  // then hold across replicas. Statements outside transactions run concurrently.
  Status begin() override;
  // Plain BEGIN: job claims lock their rows (FOR UPDATE SKIP LOCKED) and run beside others.
  Status begin_row_locking() override;

  // For the driver's statements.
  pg_conn* connection() { return conn_; }
  void set_changes(int n) { changes_ = n; }

 private:
  explicit Database(pg_conn* conn) : conn_(conn) {}

  pg_conn* conn_;
  std::map<std::string, std::string, std::less<>> names_;  // SQL text -> statement name
  int changes_ = 0;
};

// The error for a failed statement: a constraint violation (SQLSTATE class 23) is
// already_exists, a lost connection (class 08, 57P01) unavailable, anything else internal.
Error error_from_state(std::string_view sqlstate, std::string_view message);

}  // namespace berth::store::pg
