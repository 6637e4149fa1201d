#pragma once
// The PostgreSQL driver, with the shape of sqlite::Database (store/sqlite/database.hpp) so
// that one store's queries run on either: one libpq connection, statements prepared once per
// connection and cached by their text, `$1..$n` parameters, typed column reads, and errors
// mapped to the same codes (a unique or foreign-key violation is already_exists, as SQLite's
// constraint failure is). Not thread-safe; a store serialises access to a connection.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/result.hpp"

struct pg_conn;
struct pg_result;

namespace berth::store::pg {

class Database;

// A statement with its parameters; executes on the first step() and then walks its rows.
class Statement {
 public:
  Statement(Database* db, const std::string* name) : db_(db), name_(name) {}
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  void bind(int index, std::nullptr_t);
  void bind(int index, std::string_view v);
  void bind(int index, const std::string& v) { bind(index, std::string_view(v)); }
  void bind(int index, const char* v) { bind(index, std::string_view(v)); }
  void bind(int index, std::int64_t v);
  void bind(int index, int v) { bind(index, static_cast<std::int64_t>(v)); }
  void bind(int index, bool v) { bind(index, static_cast<std::int64_t>(v ? 1 : 0)); }
  template <class T>
  void bind(int index, const std::optional<T>& v) {
    if (v) {
      bind(index, *v);
    } else {
      bind(index, nullptr);
    }
  }

  template <class... Args>
  Statement& with(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // Steps once. Returns true when a row is available, false when done.
  Result<bool> step();
  // Runs the statement, ignoring rows.
  Status run();

  bool is_null(int col) const;
  std::string text(int col) const;
  std::int64_t int64(int col) const;
  int int32(int col) const { return static_cast<int>(int64(col)); }
  bool boolean(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;

 private:
  Status execute();

  Database* db_;
  const std::string* name_;  // the prepared statement's name on the connection
  std::vector<std::optional<std::string>> params_;
  pg_result* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
  bool executed_ = false;
};

class Database {
 public:
  // Connects to `url` (postgres://... or postgresql://..., or libpq key=value words).
  static Result<std::unique_ptr<Database>> open(const std::string& url);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status exec(std::string_view sql);
  // Returns a statement for `sql`, prepared on the connection on first use.
  Result<Statement> prepare(std::string_view sql);
  // Rows the last statement inserted, updated or deleted.
  int changes() const { return changes_; }
  std::string last_error() const;

 private:
  friend class Statement;
  explicit Database(pg_conn* conn) : conn_(conn) {}

  pg_conn* conn_;
  std::map<std::string, std::string, std::less<>> names_;  // SQL text -> statement name
  int changes_ = 0;
};

// BEGIN ... COMMIT, rolled back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

// The error for a failed result: a constraint violation (SQLSTATE class 23) is
// already_exists, a lost connection unavailable, anything else internal.
Error error_from_state(std::string_view sqlstate, std::string_view message);

}  // namespace berth::store::pg
