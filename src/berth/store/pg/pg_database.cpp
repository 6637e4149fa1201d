#include "berth/store/pg/pg_database.hpp"

#include <libpq-fe.h>

#include <charconv>

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

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      name_(other.name_),
      params_(std::move(other.params_)),
      result_(other.result_),
      row_(other.row_),
      rows_(other.rows_),
      executed_(other.executed_) {
  other.result_ = nullptr;
}

Statement::~Statement() {
  if (result_) PQclear(result_);
}

void Statement::bind(int index, std::nullptr_t) {
  if (index < 1) return;
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
  params_[index - 1].reset();
}

void Statement::bind(int index, std::string_view v) {
  if (index < 1) return;
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(index);
  params_[index - 1] = std::string(v);
}

void Statement::bind(int index, std::int64_t v) {
  bind(index, std::string_view(std::to_string(v)));
}

Status Statement::execute() {
  executed_ = true;
  std::vector<const char*> values;
  values.reserve(params_.size());
  for (const auto& p : params_) values.push_back(p ? p->c_str() : nullptr);
  result_ = PQexecPrepared(db_->conn_, name_->c_str(), static_cast<int>(values.size()),
                           values.data(), nullptr, nullptr, 0);
  if (auto e = result_error(result_, db_->conn_)) return *e;
  rows_ = PQntuples(result_);
  const char* affected = PQcmdTuples(result_);
  int n = 0;
  if (affected && *affected) std::from_chars(affected, affected + std::strlen(affected), n);
  db_->changes_ = n;
  return {};
}

Result<bool> Statement::step() {
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

Status Statement::run() {
  if (!executed_) return execute();
  return {};
}

bool Statement::is_null(int col) const { return PQgetisnull(result_, row_, col) != 0; }

std::string Statement::text(int col) const {
  if (is_null(col)) return {};
  return std::string(PQgetvalue(result_, row_, col),
                     static_cast<std::size_t>(PQgetlength(result_, row_, col)));
}

std::int64_t Statement::int64(int col) const {
  if (is_null(col)) return 0;
  const char* v = PQgetvalue(result_, row_, col);
  std::int64_t n = 0;
  std::from_chars(v, v + PQgetlength(result_, row_, col), n);
  return n;
}

bool Statement::boolean(int col) const {
  if (is_null(col)) return false;
  std::string_view v(PQgetvalue(result_, row_, col));
  return v == "t" || v == "true" || (v != "0" && v != "f" && v != "false" && !v.empty());
}

std::optional<std::string> Statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
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

Result<Statement> Database::prepare(std::string_view sql) {
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
  return Statement(this, &it->second);
}

std::string Database::last_error() const { return trimmed_error(PQerrorMessage(conn_)); }

Result<Transaction> Transaction::begin(Database& db) {
  if (auto s = db.exec("BEGIN"); !s) return s.error();
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  auto s = db_->exec("COMMIT");
  if (s) db_ = nullptr;
  return s;
}

}  // namespace berth::store::pg
