// GET /api/v1/workspaces with N workspaces (default 5,000): a page of 50 (first, last, a
// status filter, a name search) against the whole unpaged list. The workspaces are made over
// the API on a server with no provisioner, then completed in the store from this process (a
// succeeded start build and one agent each, as a real one has), so no sandbox runs. Prints the
// client's round trip p50/p95 and the server's own time per request (from /metrics:
// berth_http_request_duration_seconds for the route, sum/count over the runs).
//
//   cmake --preset release && cmake --build --preset release
//   build/berth_bench_workspace_list [N]

#include <chrono>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

using Clock = std::chrono::steady_clock;
using berth::bench::percentile;

namespace {

// The route's server-side seconds and count so far, from /metrics.
std::pair<double, double> server_time(berth::cli::ApiClient& api) {
  auto r = api.exchange("GET", "/metrics", {}, "");
  if (!r || r->status != 200) throw std::runtime_error("cannot read /metrics");
  double sum = 0, count = 0;
  std::istringstream in(r->body);
  const std::string route = "route=\"/api/v1/workspaces\"}";
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("berth_http_request_duration_seconds_sum{") &&
        line.find(route) != std::string::npos)
      sum = std::stod(line.substr(line.rfind(' ') + 1));
    if (line.starts_with("berth_http_request_duration_seconds_count{") &&
        line.find(route) != std::string::npos)
      count = std::stod(line.substr(line.rfind(' ') + 1));
  }
  return {sum, count};
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int runs = 200;
  try {
    berth::bench::BenchServer server({"--provisioners", "0"});
    berth::cli::ApiClient api(server.url(), server.token());
    auto start = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto w = api.post("/api/v1/workspaces",
                        {{"template", "shell"}, {"name", fmt::format("ws-{}", i)}});
      if (!w) throw std::runtime_error("create failed: " + w.error().message);
    }
    // Complete every build in the store: claimed, one agent, succeeded.
    auto store = berth::store::SqliteStore::open((server.data_dir() / "berth.db").string());
    if (!store) throw std::runtime_error(store.error().message);
    berth::store::ProvisionerHost host{.id = berth::new_uuid(),
                                       .name = "bench",
                                       .kind = "embedded",
                                       .worker_id = "bench-worker",
                                       .started_at = berth::now_ms(),
                                       .last_seen_at = berth::now_ms()};
    if (auto s = (*store)->register_provisioner(host); !s)
      throw std::runtime_error(s.error().message);
    for (int done = 0;; ++done) {
      const auto now = berth::now_ms();
      auto job = (*store)->acquire_job({.worker_id = "bench-worker",
                                        .provisioner_id = host.id,
                                        .now = now,
                                        .deadline_at = now + 600'000});
      if (!job) throw std::runtime_error(job.error().message);
      if (!*job) break;
      berth::store::NewAgent agent{.name = "main",
                                   .connection_timeout_s = 120,
                                   .auth_token_hash = berth::sha256_hex(berth::new_uuid())};
      if (auto a = (*store)->insert_agents((*job)->build.id, {agent}, now); !a)
        throw std::runtime_error(a.error().message);
      if (auto c = (*store)->complete_job((*job)->job.id, std::nullopt, std::nullopt, now); !c)
        throw std::runtime_error(c.error().message);
    }
    std::cout << fmt::format("{} workspaces made and completed in {:.1f} s\n", n,
                             std::chrono::duration<double>(Clock::now() - start).count());

    struct Case {
      const char* name;
      std::string path;
      int runs;
    };
    const Case cases[] = {
        {"first page of 50", "/api/v1/workspaces?limit=50", runs},
        {"last page of 50", fmt::format("/api/v1/workspaces?limit=50&offset={}", n - 50), runs},
        {"status=running, page of 50", "/api/v1/workspaces?status=running&limit=50", runs},
        {"q=ws-4999 (search)", "/api/v1/workspaces?q=ws-4999&limit=50", runs},
        {"whole list, unpaged", "/api/v1/workspaces", 10},
    };
    std::cout << fmt::format("{:<30} {:>10} {:>10} {:>14} {:>8}\n", "request", "p50 ms", "p95 ms",
                             "server mean ms", "items");
    for (const auto& c : cases) {
      auto before = server_time(api);
      std::vector<double> ms;
      std::size_t items = 0;
      for (int i = 0; i < c.runs; ++i) {
        auto t = Clock::now();
        auto r = api.get(c.path);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
        if (!r) throw std::runtime_error(c.path + ": " + r.error().message);
        items = r->size();
      }
      auto after = server_time(api);
      double server_ms = (after.first - before.first) / (after.second - before.second) * 1000;
      std::cout << fmt::format("{:<30} {:>10.2f} {:>10.2f} {:>14.2f} {:>8}\n", c.name,
                               percentile(ms, 50), percentile(ms, 95), server_ms, items);
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
