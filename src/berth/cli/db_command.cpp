// `berth db copy --from DATA_DIR --to postgres://...`: an installation's SQLite database into
// an empty PostgreSQL database (store/db_copy.hpp). Run it with the server stopped.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/cli/commands.hpp"
#include "berth/store/db_copy.hpp"
#include "berth/store/pg/pg_database.hpp"
#include "berth/store/sqlite/database.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::cli {

namespace fs = std::filesystem;

namespace {

struct CopyOptions {
  std::string from;
  std::string to;
};

int run_copy(const CopyOptions& o, bool json) {
  const fs::path file = fs::path(o.from) / "berth.db";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return report(
        Error::not_found(fmt::format("{} has no berth.db", o.from), "give the server's --data-dir"),
        json);
  }
  // A running server would go on writing what the copy no longer sees.
  if (int fd = ::open((fs::path(o.from) / "berth.lock").c_str(), O_RDWR | O_CLOEXEC); fd >= 0) {
    bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd);
    if (busy) {
      return report(Error::failed_precondition(fmt::format("a berth server is using {}", o.from),
                                               "stop it first: the copy must see every write"),
                    json);
    }
  }
  if (!o.to.starts_with("postgres://") && !o.to.starts_with("postgresql://")) {
    return report(Error::invalid_argument("--to takes a PostgreSQL URL",
                                          "write postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
                  json);
  }
  // Opening each as a store migrates it to this version's schema.
  {
    auto source = store::SqliteStore::open(file.string());
    if (!source) return report(source.error(), json);
  }
  auto to = store::pg::Database::open(o.to);
  if (!to) return report(to.error(), json);
  auto target = store::SqliteStore::open(std::unique_ptr<store::sql::Connection>(std::move(*to)));
  if (!target) return report(target.error(), json);
  target->reset();
  auto from = store::sqlite::Database::open(file.string());
  if (!from) return report(from.error(), json);
  auto dest = store::pg::Database::open(o.to);
  if (!dest) return report(dest.error(), json);
  auto copied = store::copy_database(**from, **dest);
  if (!copied) return report(copied.error(), json);
  std::int64_t total = 0;
  for (const auto& c : *copied) total += c.rows;
  if (json) {
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& c : *copied) tables[c.table] = c.rows;
    std::cout << nlohmann::json{{"tables", tables}, {"rows", total}}.dump(2) << "\n";
  } else {
    for (const auto& c : *copied) std::cout << fmt::format("{:<28} {:>9}\n", c.table, c.rows);
    std::cout << fmt::format(
        "copied {} rows in {} tables; every table's count matches. Start the server with "
        "--database {}\n",
        total, copied->size(), o.to);
  }
  return 0;
}

}  // namespace

void add_db_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto* db = app.add_subcommand("db", "Database maintenance")->require_subcommand(1);
  auto opts = std::make_shared<CopyOptions>();
  auto* copy = db->add_subcommand(
      "copy", "Copy a SQLite installation into an empty PostgreSQL database (server stopped)");
  copy->add_option("--from", opts->from, "The server's data directory (holds berth.db)")
      ->required();
  copy->add_option("--to", opts->to, "postgres://USER:PASSWORD@HOST:PORT/DATABASE (empty)")
      ->required();
  copy->callback([opts, &global, &exit_code] { exit_code = run_copy(*opts, global.json); });
}

}  // namespace berth::cli
