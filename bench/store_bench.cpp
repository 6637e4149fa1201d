// create -> agent ready with the store on SQLite and on PostgreSQL (scale-out issue), in one
// run: the same server, template and client, 50 sequential creates each (after 3 warm-up),
// for a `process` template (where the store's share is largest) and a `sandbox` one. The
// PostgreSQL is a throwaway local cluster (scripts/test-postgres.sh; fsync on, as a real
// deployment has it). Prints p50/p99 in milliseconds.
//
//   cmake --preset release && cmake --build --preset release && build/berth_bench_store [N]

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using berth::bench::percentile;

namespace {

double create_ready(berth::cli::ApiClient& api, const std::string& tmpl) {
  auto start = Clock::now();
  auto created = api.post("/api/v1/workspaces", {{"template", tmpl}});
  if (!created) throw std::runtime_error("create failed: " + created.error().message);
  auto ws = api.get("/api/v1/workspaces/" + created->value("id", "") + "/wait?timeout=60s");
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!ws || (*ws)["readiness"].value("phase", "") != "ready") {
    throw std::runtime_error("not ready: " + (ws ? ws->dump() : ws.error().message));
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 50;
  int status = 0;
  try {
    berth::bench::BenchPostgres pg;
    const std::string url = pg.create_database("bench");
    std::cout << "| store | isolation | n | p50 ms | p99 ms |\n|---|---|---|---|---|\n";
    for (const char* store : {"sqlite", "postgres"}) {
      std::vector<std::string> args = {"--allow-unisolated"};
      if (std::string(store) == "postgres") args.insert(args.end(), {"--database", url});
      berth::bench::BenchServer server(args);
      berth::cli::ApiClient api(server.url(), server.token());
      for (const char* iso : {"process", "sandbox"}) {
        auto pushed = api.post(
            "/api/v1/templates",
            {{"files",
              {{"template.yaml", fmt::format("name: bench-{}\nisolation: {}\nagents:\n  - name: "
                                             "main\n",
                                             iso, iso)}}}});
        if (!pushed) throw std::runtime_error(pushed.error().message);
        const std::string tmpl = fmt::format("bench-{}", iso);
        for (int i = 0; i < 3; ++i) create_ready(api, tmpl);
        std::vector<double> v;
        for (int i = 0; i < n; ++i) v.push_back(create_ready(api, tmpl));
        std::cout << fmt::format("| {} | {} | {} | {:.2f} | {:.2f} |\n", store, iso, n,
                                 percentile(v, 50), percentile(v, 99));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    status = 1;
  }
  return status;
}
