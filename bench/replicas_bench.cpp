// Replicas on one PostgreSQL database (scale-out issue), in one run:
//  1. `execute true` (REST exec on the agent) answered by the replica holding the agent's
//     connection against the same call relayed through another replica: N calls each,
//     interleaved, after 20 warm-up calls each.
//  2. CHATS chats at once over 3 replicas (2 with an embedded provisioner, 1 serving only),
//     from CHATS/10 users, each chat's create_workspace on /mcp sent to replica i % 3 until
//     its workspace is ready (wait_for_workspace after an in_progress): how many succeed,
//     wall time, workspaces per second, and the per-chat latency.
//  3. The same over 3 replicas that build nothing and 2 `berth provisioner` daemons (each
//     talking to a different replica over HTTP), on a database of its own.
// Templates use isolation `process` (the store, relay and scheduling are what is measured,
// not bubblewrap). PostgreSQL is a throwaway local cluster with fsync on.
//
//   cmake --preset release && cmake --build --preset release
//   build/berth_bench_replicas [N=500] [CHATS=500]

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "bench/mcp_session.hpp"
#include "berth/cli/http_client.hpp"

using Clock = std::chrono::steady_clock;
using berth::bench::BenchDaemon;
using berth::bench::BenchServer;
using berth::bench::percentile;
using nlohmann::json;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double exec_true(berth::cli::ApiClient& api, const std::string& agent) {
  auto start = Clock::now();
  auto r = api.post("/api/v1/agents/" + agent + "/exec", {{"command", "true"}});
  double ms = ms_since(start);
  if (!r || r->value("exit_code", -1) != 0) {
    throw std::runtime_error("exec failed: " + (r ? r->dump() : r.error().message));
  }
  return ms;
}

std::vector<std::string> server_args(const std::string& url, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--database", url, "--allow-unisolated",
                                   "--max-connections-per-client", "8192"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// CHATS chats at once over three replicas on `url`: two with embedded provisioners and one
// serving only, or (daemons) three serving only and two provisioner daemons, each talking to
// a different replica. Prints a table row; false when any chat did not get a ready workspace.
bool chats_at_once(const std::string& url, int chats, bool daemons) {
  const std::vector<std::string> none = {"--provisioners", "0"};
  BenchServer a(server_args(url, daemons ? none : std::vector<std::string>{}));
  BenchServer b(server_args(url, none));
  BenchServer c(server_args(url, daemons ? none : std::vector<std::string>{}));
  b.use_token(a.token());
  c.use_token(a.token());
  berth::cli::ApiClient api_a(a.url(), a.token());
  auto pushed =
      api_a.post("/api/v1/templates",
                 {{"files",
                   {{"template.yaml",
                     "name: bench-replicas\nisolation: process\nagents:\n  - name: main\n"}}}});
  if (!pushed) throw std::runtime_error(pushed.error().message);
  const std::string tid = (*pushed)["id"];
  std::vector<std::unique_ptr<BenchDaemon>> hosts;
  if (daemons) {
    auto key = api_a.post("/api/v1/provisioner-keys", {{"name", "bench"}});
    if (!key) throw std::runtime_error(key.error().message);
    for (const BenchServer* s : {&b, &c}) {
      hosts.push_back(std::make_unique<BenchDaemon>(
          s->url(), (*key)["key"].get<std::string>(),
          std::vector<std::string>{"--allow-unisolated", "--max-jobs", "64"}));
    }
  }
  const BenchServer* servers[] = {&a, &b, &c};
  // The chats belong to many users (10 chats each): one token has at most 64 MCP sessions.
  std::vector<std::string> tokens;
  for (int u = 0; u < (chats + 9) / 10; ++u) {
    const std::string name = fmt::format("bench-user-{}", u);
    auto user = api_a.post("/api/v1/users", {{"username", name}});
    auto token = api_a.post("/api/v1/tokens", {{"username", name}, {"name", "bench"}});
    if (!user || !token) throw std::runtime_error("cannot create bench users");
    tokens.push_back((*token)["token"]);
  }
  std::vector<double> latency(chats, 0);
  std::atomic<int> ready{0};
  std::mutex errors_mu;
  std::vector<std::string> errors;
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < chats; ++i) {
    threads.emplace_back([&, i] {
      auto t0 = Clock::now();
      try {
        berth::bench::Session s(*servers[i % 3], fmt::format("bench-chat-{}", i), tokens[i / 10]);
        json r = s.call("create_workspace", {{"template_id", tid}});
        for (int k = 0; k < 10 && r.value("status", "") == "in_progress"; ++k) {
          r = s.call("wait_for_workspace", json::object());
        }
        if (r.contains("status") && r.value("status", "") != "already_exists") {
          throw std::runtime_error(r.dump());
        }
        latency[i] = ms_since(t0);
        ++ready;
      } catch (const std::exception& e) {
        std::lock_guard lock(errors_mu);
        errors.push_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = ms_since(start) / 1000.0;
  std::vector<double> ok;
  for (double v : latency) {
    if (v > 0) ok.push_back(v);
  }
  if (!daemons) {
    std::cout << "| chats at once | replicas | provisioners | ready | wall s | workspaces/s | "
                 "p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|\n";
  }
  std::cout << fmt::format("| {} | 3 | {} | {} | {:.2f} | {:.1f} | {:.0f} | {:.0f} |\n", chats,
                           daemons ? "2 daemons" : "2 embedded", ready.load(), wall,
                           ready.load() / wall, percentile(ok, 50), percentile(ok, 99));
  for (std::size_t i = 0; i < errors.size() && i < 5; ++i) {
    std::cerr << "failed: " << errors[i] << "\n";
  }
  return ready.load() == chats;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500;
  const int chats = argc > 2 ? std::atoi(argv[2]) : 500;
  int status = 0;
  try {
    berth::bench::BenchPostgres pg;
    const std::string url = pg.create_database("bench");

    {  // part 1's servers end before part 2 starts its own
      BenchServer a(server_args(url));
      BenchServer b(server_args(url, {"--provisioners", "0"}));
      b.use_token(a.token());
      berth::cli::ApiClient api_a(a.url(), a.token()), api_b(b.url(), a.token());
      auto pushed =
          api_a.post("/api/v1/templates",
                     {{"files",
                       {{"template.yaml",
                         "name: bench-replicas\nisolation: process\nagents:\n  - name: main\n"}}}});
      if (!pushed) throw std::runtime_error(pushed.error().message);
      const std::string tid = (*pushed)["id"];

      // 1. Relay overhead. Only a has a provisioner, so the agent is connected to a.
      auto created = api_a.post("/api/v1/workspaces", {{"template", "bench-replicas"}});
      if (!created) throw std::runtime_error(created.error().message);
      auto ws = api_a.get("/api/v1/workspaces/" + created->value("id", "") + "/wait?timeout=60s");
      if (!ws || (*ws)["readiness"].value("phase", "") != "ready") {
        throw std::runtime_error("not ready: " + (ws ? ws->dump() : ws.error().message));
      }
      const std::string agent = (*ws)["agents"][0]["id"];
      for (int i = 0; i < 20; ++i) {
        exec_true(api_a, agent);
        exec_true(api_b, agent);
      }
      std::vector<double> direct, relayed;
      for (int i = 0; i < n; ++i) {
        direct.push_back(exec_true(api_a, agent));
        relayed.push_back(exec_true(api_b, agent));
      }
      std::cout << "| execute true (REST exec) | n | p50 ms | p99 ms |\n|---|---|---|---|\n";
      std::cout << fmt::format("| direct (replica holding the agent) | {} | {:.3f} | {:.3f} |\n", n,
                               percentile(direct, 50), percentile(direct, 99));
      std::cout << fmt::format("| relayed through another replica | {} | {:.3f} | {:.3f} |\n", n,
                               percentile(relayed, 50), percentile(relayed, 99));
      std::cout << fmt::format("\nrelay adds {:.3f} ms at p50, {:.3f} ms at p99\n\n",
                               percentile(relayed, 50) - percentile(direct, 50),
                               percentile(relayed, 99) - percentile(direct, 99));
    }
    // 2. Many chats at once over three replicas, two of them building; then 3. the same with
    // three replicas that build nothing and two provisioner daemons (each run on a database of
    // its own, so each has its first server and admin token).
    for (bool daemons : {false, true}) {
      const std::string db_url = pg.create_database(daemons ? "bench_daemons" : "bench_embedded");
      if (!chats_at_once(db_url, chats, daemons)) status = 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    status = 1;
  }
  return status;
}
