#pragma once
// What the store asks of a database, whichever it is: one connection that prepares
// statements with `$1..$n` parameters, steps through their rows with typed reads, and runs
// transactions. Two drivers implement it: SQLite (store/sqlite/database.hpp, embedded) and
// PostgreSQL (store/pg/pg_database.hpp, libpq). The store's queries are written once against
// this; where the dialects differ, `Dialect` says which one is talking. Not thread-safe: a
// store serialises access to a connection.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth::store::sql {

enum class Dialect { sqlite, postgres };

// One prepared statement in use, as a driver implements it.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void bind_null(int index) = 0;
  virtual void bind_text(int index, std::string_view value) = 0;
  virtual void bind_int64(int index, std::int64_t value) = 0;
  // Runs the statement on the first call; true while a row is available.
  virtual Result<bool> step() = 0;
  virtual bool is_null(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual std::int64_t int64(int col) const = 0;
};

// A statement with its parameters and, once stepped, its current row.
class Statement {
 public:
  explicit Statement(std::unique_ptr<Cursor> cursor) : cursor_(std::move(cursor)) {}

  void bind(int index, std::nullptr_t) { cursor_->bind_null(index); }
  void bind(int index, std::string_view v) { cursor_->bind_text(index, v); }
  void bind(int index, const std::string& v) { cursor_->bind_text(index, v); }
  void bind(int index, const char* v) { cursor_->bind_text(index, v); }
  void bind(int index, std::int64_t v) { cursor_->bind_int64(index, v); }
  void bind(int index, int v) { cursor_->bind_int64(index, v); }
  void bind(int index, bool v) { cursor_->bind_int64(index, v ? 1 : 0); }
  template <class T>
  void bind(int index, const std::optional<T>& v) {
    if (v) {
      bind(index, *v);
    } else {
      bind(index, nullptr);
    }
  }

  // Binds $1, $2, ... in order.
  template <class... Args>
  Statement& with(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // Steps once: true when a row is available, false when done.
  Result<bool> step() { return cursor_->step(); }
  // Steps to completion, ignoring rows.
  Status run();

  bool is_null(int col) const { return cursor_->is_null(col); }
  std::string text(int col) const { return cursor_->text(col); }
  std::int64_t int64(int col) const { return cursor_->int64(col); }
  int int32(int col) const { return static_cast<int>(int64(col)); }
  bool boolean(int col) const { return int64(col) != 0; }
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;

 private:
  std::unique_ptr<Cursor> cursor_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without parameters or rows (DDL, BEGIN).
  virtual Status exec(std::string_view sql) = 0;
  // A statement for `sql`, prepared on first use and cached by its text.
  virtual Result<Statement> prepare(std::string_view sql) = 0;
  // Rows the last statement inserted, updated or deleted.
  virtual int changes() const = 0;
  // Starts a transaction that takes the write lock up front where the dialect has one
  // (SQLite: BEGIN IMMEDIATE, so two writers never deadlock on upgrade).
  virtual Status begin() = 0;
  // Starts a transaction for statements that lock the rows they claim themselves (see
  // row_lock_clause): PostgreSQL takes no database-wide lock, so claimers on several replicas
  // proceed at once; SQLite, which has no row locks, takes its write lock as begin() does.
  virtual Status begin_row_locking() { return begin(); }
};

// Where the dialects differ, spelled once. Appended to a SELECT that claims rows of `alias`:
// PostgreSQL " FOR UPDATE OF alias SKIP LOCKED" (rows another transaction holds are passed
// over), SQLite "" (its write lock already serialises claimers).
std::string row_lock_clause(Dialect dialect, std::string_view alias);
// A boolean expression: whether tags `offered` satisfy `wanted` (both tags_json text), as
// berth::tags_satisfy decides. SQLite calls that very function; PostgreSQL uses jsonb.
std::string tags_satisfy_expr(Dialect dialect, std::string_view offered, std::string_view wanted);

// A transaction, rolled back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& db);
  static Result<Transaction> begin_row_locking(Connection& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection* db) : db_(db) {}
  Connection* db_;
};

}  // namespace berth::store::sql
