#include "berth/store/pg/pg_database.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace berth::store::pg {

namespace {

std::string trimmed_error(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// The error of a failed result, or nullopt when it succeeded.
std::optional<Error> result_error(PGresult* r, PGconn* conn) {
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return std::nullopt;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = trimmed_error(r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
  if (message.empty()) message = trimmed_error(PQerrorMessage(conn));
  if (!state && PQstatus(conn) != CONNECTION_OK) {
    return Error::unavailable(fmt::format("the database connection is lost: {}", message),
                              "check that PostgreSQL is running and reachable");
  }
  return error_from_state(state ? state : "", message);
}

// A prepared statement in use: its parameters, then its result.
class Cursor final : public sql::Cursor {
 public:
  Cursor(Database* db, const std::string* name) : db_(db), name_(name) {}
  ~Cursor() override {
    if (result_) PQclear(result_);
  }

  void bind_null(int index) override { slot(index).reset(); }
  void bind_text(int index, std::string_view v) override { slot(index) = std::string(v); }
  void bind_int64(int index, std::int64_t v) override { slot(index) = std::to_string(v); }

  Result<bool> step() override {
    if (!executed_) {
      if (auto s = execute(); !s) return s.error();
    }
    if (row_ + 1 >= rows_) {
      row_ = rows_;
      return false;
    }
    ++row_;
    return true;
  }

  bool is_null(int col) const override { return PQgetisnull(result_, row_, col) != 0; }
  std::string text(int col) const override {
    if (is_null(col)) return {};
    return std::string(PQgetvalue(result_, row_, col),
                       static_cast<std::size_t>(PQgetlength(result_, row_, col)));
  }
  std::int64_t int64(int col) const override {
    if (is_null(col)) return 0;
    const char* v = PQgetvalue(result_, row_, col);
    std::string_view text(v, static_cast<std::size_t>(PQgetlength(result_, row_, col)));
    if (text == "t") return 1;  // a boolean column reads as 1/0, as in SQLite
    if (text == "f") return 0;
    std::int64_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
  }

 private:
  std::optional<std::string>& slot(int index) {
    static std::optional<std::string> ignored;
    if (index < 1) return ignored;
    if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
    return params_[index - 1];
  }

  Status execute() {
    executed_ = true;
    std::vector<const char*> values;
    values.reserve(params_.size());
    for (const auto& p : params_) values.push_back(p ? p->c_str() : nullptr);
    result_ = PQexecPrepared(db_->connection(), name_->c_str(), static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0);
    if (auto e = result_error(result_, db_->connection())) return *e;
    rows_ = PQntuples(result_);
    const char* affected = PQcmdTuples(result_);
    int n = 0;
    if (affected && *affected) std::from_chars(affected, affected + std::strlen(affected), n);
    db_->set_changes(n);
    return {};
  }

  Database* db_;
  const std::string* name_;  // the prepared statement's name on the connection
  std::vector<std::optional<std::string>> params_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
  bool executed_ = false;
};

}  // namespace

Error error_from_state(std::string_view sqlstate, std::string_view message) {
  if (sqlstate.starts_with("23")) {
    return Error::already_exists(fmt::format("constraint failed: {}", message));
  }
  if (sqlstate.starts_with("08") || sqlstate == "57P01") {
    return Error::unavailable(fmt::format("the database connection is lost: {}", message),
                              "check that PostgreSQL is running and reachable");
  }
  return Error::internal(fmt::format("postgres: {} (SQLSTATE {})", message, sqlstate));
}

Result<std::unique_ptr<Database>> Database::open(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = trimmed_error(conn ? PQerrorMessage(conn) : "out of memory");
    PQfinish(conn);
    return Error::unavailable(fmt::format("cannot connect to PostgreSQL: {}", msg),
                              "check the --database URL and that the server is running");
  }
  std::unique_ptr<Database> db(new Database(conn));
  // Quiet NOTICEs ("relation already exists, skipping") would go to stderr otherwise.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (auto s = db->exec("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'"); !s) {
    return s.error();
  }
  return db;
}

Database::~Database() { PQfinish(conn_); }

Status Database::exec(std::string_view sql) {
  std::string copy(sql);
  PGresult* r = PQexec(conn_, copy.c_str());
  auto e = result_error(r, conn_);
  PQclear(r);
  if (e) return *e;
  return {};
}

Status Database::begin() {
  // The key is Berth's own ("berth" in ASCII): no other application's locks are taken.
  return exec("BEGIN; SELECT pg_advisory_xact_lock(426574727468)");
}

Status Database::begin_row_locking() { return exec("BEGIN"); }

Result<sql::Statement> Database::prepare(std::string_view sql) {
  auto it = names_.find(sql);
  if (it == names_.end()) {
    std::string name = fmt::format("berth_{}", names_.size() + 1);
    std::string text(sql);
    PGresult* r = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
    auto e = result_error(r, conn_);
    PQclear(r);
    if (e) {
      e->message += " in: " + text;
      return *e;
    }
    it = names_.emplace(std::move(text), std::move(name)).first;
  }
  return sql::Statement(std::make_unique<Cursor>(this, &it->second));
}

}  // namespace berth::store::pg
