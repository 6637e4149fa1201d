// End-to-end benchmark: create -> every agent ready, through the REST API of a real
// `berth server` (Release build) with real agent processes. For each template: 50 sequential
// creates, then 50 concurrent ones; prints p50/p95/p99 of the client-observed latency (POST
// sent -> wait answered "ready") and of the server-side latency (workspace row created ->
// agent ready_at), both in milliseconds.
//
//   cmake --preset release && cmake --build --preset release && build/berth_bench_create [N]

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using berth::bench::percentile;

namespace {

struct Sample {
  double client_ms = 0;
  double server_ms = 0;
};

// "2026-11-21T23:09:21.123Z" -> Unix ms
std::int64_t parse_time(const std::string& t) {
  std::tm tm{};
  strptime(t.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + std::stoi(t.substr(20, 3));
}

Sample create_once(berth::cli::ApiClient& api, const std::string& tmpl) {
  auto start = Clock::now();
  auto created = api.post("/api/v1/workspaces", {{"template", tmpl}});
  if (!created) throw std::runtime_error("create failed: " + created.error().message);
  auto ws = api.get("/api/v1/workspaces/" + created->value("id", "") + "/wait?timeout=60s");
  auto end = Clock::now();
  if (!ws || (*ws)["readiness"].value("phase", "") != "ready") {
    throw std::runtime_error("workspace not ready: " + (ws ? ws->dump() : ws.error().message));
  }
  Sample s;
  s.client_ms = std::chrono::duration<double, std::milli>(end - start).count();
  std::int64_t ready = 0;
  for (const auto& a : (*ws)["agents"])
    ready = std::max(ready, parse_time(a.value("ready_at", "")));
  s.server_ms = static_cast<double>(ready - parse_time(ws->value("created_at", "")));
  return s;
}

void report(const std::string& name, const std::string& mode, const std::vector<Sample>& samples) {
  std::vector<double> client, server;
  for (const auto& s : samples) {
    client.push_back(s.client_ms);
    server.push_back(s.server_ms);
  }
  std::cout << fmt::format(
      "| {} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.0f} | {:.0f} | {:.0f} |\n", name, mode,
      samples.size(), percentile(client, 50), percentile(client, 95), percentile(client, 99),
      percentile(server, 50), percentile(server, 95), percentile(server, 99));
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 50;
  berth::bench::BenchServer bench_server;
  const std::string url = bench_server.url(), token = bench_server.token();

  std::cout << "| template | mode | n | client p50 | p95 | p99 | server p50 | p95 | p99 |\n";
  std::cout << "|---|---|---|---|---|---|---|---|---|\n";
  int rc = 0;
  try {
    for (std::string tmpl : {"shell", "sandboxed"}) {
      berth::cli::ApiClient api(url, token);
      for (int i = 0; i < 3; ++i) create_once(api, tmpl);  // warm-up (page cache, first spawn)
      std::vector<Sample> seq;
      for (int i = 0; i < n; ++i) seq.push_back(create_once(api, tmpl));
      report(tmpl, "sequential", seq);

      std::vector<Sample> conc(static_cast<std::size_t>(n));
      std::vector<std::thread> threads;
      std::atomic<int> failures{0};
      for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
          berth::cli::ApiClient c(url, token);
          try {
            conc[static_cast<std::size_t>(i)] = create_once(c, tmpl);
          } catch (const std::exception& e) {
            std::cerr << e.what() << "\n";
            ++failures;
          }
        });
      }
      for (auto& t : threads) t.join();
      if (failures)
        throw std::runtime_error(fmt::format("{} concurrent creates failed", failures.load()));
      report(tmpl, fmt::format("{} concurrent", n), conc);
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    rc = 1;
  }
  return rc;
}
