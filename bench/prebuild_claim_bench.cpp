// Prebuild claim -> ready result: create_workspace with a preset whose pool has a ready
// workspace, client round trip over MCP Streamable HTTP, against a real `berth server`
// (Release build) with real agents. Each claim runs in a fresh chat; before each one the
// benchmark waits (untimed) until the reconciler has a ready prebuild again.
//
//   cmake --preset release && cmake --build --preset release &&
//   build/berth_bench_prebuild_claim [N=50] [POOL=5]
#include <chrono>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "bench/mcp_session.hpp"
#include "berth/cli/http_client.hpp"

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using berth::bench::BenchServer;
using berth::bench::percentile;
using berth::bench::Session;

namespace {

int ready_in_pool(berth::cli::ApiClient& api) {
  auto t = api.get("/api/v1/templates/warm");
  if (!t || (*t)["prebuilds"].empty()) return 0;
  return (*t)["prebuilds"][0].value("ready", 0);
}

void wait_for_ready(berth::cli::ApiClient& api, int at_least) {
  auto until = Clock::now() + std::chrono::seconds(60);
  while (ready_in_pool(api) < at_least) {
    if (Clock::now() > until) throw std::runtime_error("the prebuild pool did not fill");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 50;
  const int pool = argc > 2 ? std::stoi(argv[2]) : 5;
  BenchServer server;
  berth::cli::ApiClient api(server.url(), server.token());
  const std::string yaml = fmt::format(
      "name: warm\npresets:\n  - {{name: ready, prebuilds: {}}}\nagents:\n  - name: main\n"
      "    startup_script: echo warmed > warm.txt\n",
      pool);
  auto pushed = api.post("/api/v1/templates", {{"files", {{"template.yaml", yaml}}}});
  if (!pushed) {
    std::cerr << "push failed: " << pushed.error().message << "\n";
    return 1;
  }
  const std::string tid = (*pushed)["id"];
  auto fill_start = Clock::now();
  wait_for_ready(api, pool);
  const double fill_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - fill_start).count();

  Session reader(server, "reader");
  const std::string preset =
      reader.call("read_template", {{"template_id", tid}})["presets"][0]["id"];

  std::vector<double> claims;
  int fallbacks = 0;
  for (int i = 0; i < n; ++i) {
    wait_for_ready(api, 1);
    Session s(server, "claim-" + std::to_string(i));
    auto start = Clock::now();
    json r = s.call("create_workspace", {{"template_id", tid}, {"preset_id", preset}});
    claims.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!r.value("prebuild_claimed", false) || r.contains("status")) ++fallbacks;
  }
  std::cout << fmt::format("pool of {} filled from empty in {:.0f} ms\n", pool, fill_ms);
  std::cout << "| measure | n | p50 | p99 | max |\n|---|---|---|---|---|\n";
  std::cout << fmt::format(
      "| prebuild claim -> ready result (create_workspace round trip) | {} | "
      "{:.3f} ms | {:.3f} ms | {:.3f} ms |\n",
      claims.size(), percentile(claims, 50), percentile(claims, 99), percentile(claims, 100));
  // The same calls as the server timed them (its "tool call done" log lines).
  std::vector<double> server_ms;
  {
    std::ifstream log(server.log_path());
    std::regex done("tool call done tool=create_workspace .* ms=([0-9.]+)");
    std::smatch m;
    for (std::string line; std::getline(log, line);) {
      if (std::regex_search(line, m, done)) server_ms.push_back(std::stod(m[1]));
    }
  }
  std::cout << fmt::format(
      "| the same, inside the server (tool call done) | {} | {:.3f} ms | {:.3f} "
      "ms | {:.3f} ms |\n",
      server_ms.size(), percentile(server_ms, 50), percentile(server_ms, 99),
      percentile(server_ms, 100));
  std::cout << fmt::format("claims that did not get a ready prebuild: {}\n", fallbacks);
  return fallbacks == 0 ? 0 : 1;
}
