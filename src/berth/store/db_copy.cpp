#include "berth/store/db_copy.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace berth::store {

namespace {

constexpr std::string_view kMigrationsTable = "schema_migrations";

Result<std::vector<std::string>> column_names(sql::Connection& sqlite, const std::string& table) {
  auto q = sqlite.prepare(fmt::format("PRAGMA table_info(\"{}\")", table));
  if (!q) return q.error();
  std::vector<std::string> out;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(q->text(1));
  }
  return out;
}

Result<std::int64_t> count_rows(sql::Connection& db, const std::string& table) {
  auto q = db.prepare(fmt::format("SELECT COUNT(*) FROM {}", table));
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  return *row ? q->int64(0) : 0;
}

Result<std::int64_t> schema_version(sql::Connection& db) {
  auto q = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  return *row ? q->int64(0) : 0;
}

}  // namespace

Result<std::vector<std::string>> tables_in_dependency_order(sql::Connection& sqlite) {
  auto q = sqlite.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY "
      "name");
  if (!q) return q.error();
  std::vector<std::string> tables;
  while (true) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    if (q->text(0) != kMigrationsTable) tables.push_back(q->text(0));
  }
  std::map<std::string, std::set<std::string>> needs;
  for (const auto& t : tables) {
    auto fk = sqlite.prepare(fmt::format("PRAGMA foreign_key_list(\"{}\")", t));
    if (!fk) return fk.error();
    while (true) {
      auto row = fk->step();
      if (!row) return row.error();
      if (!*row) break;
      if (fk->text(2) != t) needs[t].insert(fk->text(2));  // a table may point at itself
    }
  }
  std::vector<std::string> order;
  std::set<std::string> placed;
  while (order.size() < tables.size()) {
    bool progress = false;
    for (const auto& t : tables) {
      if (placed.count(t)) continue;
      const auto& deps = needs[t];
      if (std::all_of(deps.begin(), deps.end(), [&](const auto& d) { return placed.count(d); })) {
        order.push_back(t);
        placed.insert(t);
        progress = true;
      }
    }
    if (!progress) {
      return Error::failed_precondition(
          "the tables' foreign keys form a cycle; cannot order "
          "the copy");
    }
  }
  return order;
}

Result<std::vector<TableCopy>> copy_database(sql::Connection& from, sql::Connection& to) {
  auto from_version = schema_version(from);
  if (!from_version) return from_version.error();
  auto to_version = schema_version(to);
  if (!to_version) return to_version.error();
  if (*from_version != *to_version) {
    return Error::failed_precondition(
        fmt::format("the source is at schema version {} and the target at {}", *from_version,
                    *to_version),
        "open the source with this version of berth first (it migrates), then copy");
  }
  auto tables = tables_in_dependency_order(from);
  if (!tables) return tables.error();
  for (const auto& t : *tables) {
    auto n = count_rows(to, t);
    if (!n) return n.error();
    if (*n > 0) {
      return Error::failed_precondition(
          fmt::format("the target database is not empty: table {} has {} rows", t, *n),
          "copy into a new, empty database");
    }
  }

  auto tx = sql::Transaction::begin(to);
  if (!tx) return tx.error();
  std::vector<TableCopy> copied;
  for (const auto& t : *tables) {
    auto columns = column_names(from, t);
    if (!columns) return columns.error();
    std::string list, params;
    for (std::size_t i = 0; i < columns->size(); ++i) {
      list += fmt::format("{}{}", i ? ", " : "", (*columns)[i]);
      params += fmt::format("{}${}", i ? ", " : "", i + 1);
    }
    auto read = from.prepare(fmt::format("SELECT {} FROM {}", list, t));
    if (!read) return read.error();
    const std::string insert_sql = fmt::format("INSERT INTO {} ({}) VALUES ({})", t, list, params);
    std::int64_t rows = 0;
    while (true) {
      auto row = read->step();
      if (!row) return row.error();
      if (!*row) break;
      auto ins = to.prepare(insert_sql);
      if (!ins) return ins.error();
      for (std::size_t i = 0; i < columns->size(); ++i) {
        const int col = static_cast<int>(i);
        if (read->is_null(col)) {
          ins->bind(col + 1, nullptr);
        } else {
          ins->bind(col + 1, read->text(col));
        }
      }
      if (auto s = ins->run(); !s) {
        Error e = s.error();
        e.message = fmt::format("copying table {}: {}", t, e.message);
        return e;
      }
      ++rows;
    }
    copied.push_back({t, rows});
  }
  // Every table must hold in the target what it holds in the source.
  for (const auto& c : copied) {
    auto n = count_rows(to, c.table);
    if (!n) return n.error();
    auto source = count_rows(from, c.table);
    if (!source) return source.error();
    if (*n != *source || *n != c.rows) {
      return Error::internal(
          fmt::format("table {} has {} rows in the source but {} in the target; nothing was copied",
                      c.table, *source, *n));
    }
  }
  if (auto s = tx->commit(); !s) return s.error();
  return copied;
}

}  // namespace berth::store
