#include "berth/store/sqlite/database.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <cstdio>

#include "berth/core/tags.hpp"

namespace berth::store::sqlite {

namespace {

// How long a writer waits for another connection's lock (tools like the sqlite3 shell).
constexpr int kBusyTimeoutMs = 5000;

// A cached statement in use: reset (and its bindings cleared) when the use ends.
class Cursor final : public sql::Cursor {
 public:
  Cursor(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Cursor() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  void bind_null(int index) override {
    if (int i = slot(index); i > 0) sqlite3_bind_null(stmt_, i);
  }
  void bind_text(int index, std::string_view v) override {
    if (int i = slot(index); i > 0) {
      sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
  }
  void bind_int64(int index, std::int64_t v) override {
    if (int i = slot(index); i > 0) sqlite3_bind_int64(stmt_, i, v);
  }

  Result<bool> step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) {
      return Error::already_exists(fmt::format("constraint failed: {}", sqlite3_errmsg(db_)));
    }
    return Error::internal(fmt::format("sqlite step: {}", sqlite3_errmsg(db_)));
  }

  bool is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const override {
    const auto* p = sqlite3_column_text(stmt_, col);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::int64_t int64(int col) const override { return sqlite3_column_int64(stmt_, col); }

 private:
  // `$n` is a named parameter to SQLite: its slot is looked up by name.
  int slot(int n) const {
    char name[16];
    std::snprintf(name, sizeof name, "$%d", n);
    return sqlite3_bind_parameter_index(stmt_, name);
  }

  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// GREATEST(a, b, ...) as PostgreSQL has it (the largest argument, NULLs ignored), so that
// queries spell it one way on both drivers. Whole numbers only: that is what the store
// compares.
void greatest(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  bool any = false;
  sqlite3_int64 best = 0;
  for (int i = 0; i < argc; ++i) {
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) continue;
    sqlite3_int64 v = sqlite3_value_int64(argv[i]);
    if (!any || v > best) best = v;
    any = true;
  }
  if (any) {
    sqlite3_result_int64(ctx, best);
  } else {
    sqlite3_result_null(ctx);
  }
}

// tags_satisfy(offered, wanted): berth::tags_satisfy on two tags_json texts (the store's job
// matching; PostgreSQL spells it with jsonb, see sql::tags_satisfy_expr). Text that is not
// tags satisfies nothing.
void tags_satisfy_fn(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = [&](int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
    return std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
  };
  auto offered = tags_from_json(text(0));
  auto wanted = tags_from_json(text(1));
  sqlite3_result_int(ctx, offered && wanted && tags_satisfy(*offered, *wanted) ? 1 : 0);
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    return Error::unavailable(fmt::format("cannot open database {}: {}", path, msg),
                              "check that the data directory exists and is writable");
  }
  std::unique_ptr<Database> db(new Database(raw));
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  sqlite3_create_function_v2(raw, "greatest", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                             greatest, nullptr, nullptr, nullptr);
  sqlite3_create_function_v2(raw, "tags_satisfy", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                             tags_satisfy_fn, nullptr, nullptr, nullptr);
  if (auto s = db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                        "PRAGMA foreign_keys=ON;");
      !s) {
    return s.error();
  }
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status Database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string copy(sql);
  if (sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Error::internal(fmt::format("sqlite: {}", msg));
  }
  return {};
}

Result<sql::Statement> Database::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr) != SQLITE_OK) {
      return Error::internal(fmt::format("sqlite prepare: {} in: {}", sqlite3_errmsg(db_), sql));
    }
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return sql::Statement(std::make_unique<Cursor>(it->second, db_));
}

int Database::changes() const { return sqlite3_changes(db_); }

}  // namespace berth::store::sqlite
