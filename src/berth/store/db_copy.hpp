#pragma once
// `berth db copy`: moves an installation's SQLite database into an empty PostgreSQL database.
// The target is migrated to the same schema, every table is copied in an order that keeps
// foreign keys satisfied, all in one transaction, and then the row count of every table is
// compared; any difference rolls the copy back.

#include <cstdint>
#include <string>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/store/sql/connection.hpp"

namespace berth::store {

struct TableCopy {
  std::string table;
  std::int64_t rows = 0;
};

// Copies every table of `from` (a migrated SQLite store) into `to` (a migrated, empty
// store). failed_precondition when `to` holds data or the schemas differ.
Result<std::vector<TableCopy>> copy_database(sql::Connection& from, sql::Connection& to);

// The tables of a SQLite database, each after the tables its foreign keys point at.
Result<std::vector<std::string>> tables_in_dependency_order(sql::Connection& sqlite);

}  // namespace berth::store
