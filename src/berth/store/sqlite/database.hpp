#pragma once
// A thin RAII layer over the SQLite C API: one connection, cached prepared statements,
// positional `$1..$n` parameters (the PostgreSQL spelling), and typed column reads.
// Not thread-safe; SqliteStore serialises access with its mutex.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::store::sqlite {

// A prepared statement borrowed from the Database's cache. Reset when it goes out of scope.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_), db_(other.db_) {
    other.stmt_ = nullptr;
  }
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
    (bind(parameter_index(++i), args), ...);
    return *this;
  }

  // Steps once. Returns true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion, ignoring rows.
  Status run();

  bool is_null(int col) const;
  std::string text(int col) const;
  std::int64_t int64(int col) const;
  int int32(int col) const { return static_cast<int>(int64(col)); }
  bool boolean(int col) const { return int64(col) != 0; }
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;

 private:
  int parameter_index(int n) const;

  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

class Database {
 public:
  // Opens (creating if needed) the file at `path` in WAL mode with foreign keys on and
  // synchronous=FULL, so a commit that returned survives a crash of the process or machine.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status exec(std::string_view sql);
  // Returns the cached statement for `sql`, prepared on first use.
  Result<Statement> prepare(std::string_view sql);
  int changes() const;
  std::string last_error() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// Begins an IMMEDIATE transaction (takes the write lock up front, so two writers never
// deadlock on upgrade) and rolls back unless commit() succeeded.
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

}  // namespace berth::store::sqlite
