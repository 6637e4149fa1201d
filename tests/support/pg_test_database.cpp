#include "tests/support/pg_test_database.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <libpq-fe.h>

#include "berth/core/ids.hpp"

namespace berth::testing {

namespace {

namespace fs = std::filesystem;

// The cluster's URL: started under a lock so that parallel test processes start it once.
std::string cluster_url() {
  static std::string url;
  if (!url.empty()) return url;
  const fs::path dir = fs::path(BERTH_TEST_PG_DIR);
  int lock = ::open((dir.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  std::string cmd =
      std::string(BERTH_SOURCE_DIR) + "/scripts/test-postgres.sh start " + dir.string() + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    int status = ::pclose(p);
    if (status == 0) std::ifstream(dir / "url") >> url;
  }
  if (lock >= 0) ::close(lock);
  if (url.empty()) ADD_FAILURE() << "cannot start the test PostgreSQL: " << out;
  return url;
}

}  // namespace

std::string create_test_database() {
  std::string base = cluster_url();
  if (base.empty()) return "";
  const std::string name = "test_" + random_hex(6);
  PGconn* conn = PQconnectdb(base.c_str());
  std::string create = "CREATE DATABASE " + name;
  PGresult* r = PQexec(conn, create.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) ADD_FAILURE() << "CREATE DATABASE failed: " << PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!ok) return "";
  // postgresql://berth@/postgres?host=DIR -> the new database
  std::string url = base;
  url.replace(url.find("/postgres?"), std::string("/postgres?").size(), "/" + name + "?");
  return url;
}

}  // namespace berth::testing
