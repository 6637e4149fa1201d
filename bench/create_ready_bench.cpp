// End-to-end benchmark: create -> every agent ready, through the REST API of a real
// `berth server` (Release build) with real agent processes. For each template: 50 sequential
// creates, then 50 concurrent ones; prints p50/p95/p99 of the client-observed latency (POST
// sent -> wait answered "ready") and of the server-side latency (workspace row created ->
// agent ready_at), both in milliseconds.
//
//   cmake --preset release && cmake --build --preset release && build/berth_bench_create [N]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "berth/cli/http_client.hpp"
#include "berth/core/ids.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Sample {
  double client_ms = 0;
  double server_ms = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

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
  fs::path dir = fs::temp_directory_path() / ("berth-bench-" + berth::random_hex(4));
  fs::create_directories(dir);
  std::string binary = BERTH_BINARY;
  std::string examples = std::string(BERTH_SOURCE_DIR) + "/examples/templates";
  std::vector<std::string> args = {binary,     "server",      "--data-dir",          dir.string(),
                                   "--listen", "127.0.0.1:0", "--example-templates", examples};
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, (dir / "server.log").c_str(), O_WRONLY | O_CREAT,
                                   0600);
  pid_t server = -1;
  if (posix_spawn(&server, binary.c_str(), &actions, nullptr, cargv.data(), environ) != 0) {
    std::cerr << "cannot start " << binary << "\n";
    return 1;
  }
  while (!fs::exists(dir / "server.url"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::string url, token;
  std::ifstream(dir / "server.url") >> url;
  std::ifstream(dir / "admin.token") >> token;

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
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  // End every agent and sandbox the server started.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    auto cwd = fs::read_symlink(entry.path() / "cwd", ec);
    if (!ec && cwd.string().starts_with(dir.string()))
      ::kill(-std::stoi(entry.path().filename()), SIGKILL);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fs::remove_all(dir, ec);
  return rc;
}
