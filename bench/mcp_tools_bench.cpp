// The chat tools over MCP Streamable HTTP against a real `berth server` (Release build) with
// real agent processes:
//   (a) tool overhead: the agent's "ready" committed -> create_workspace answered, taken from
//       the server's log (microsecond timestamps), over N sequential creates in fresh chats;
//   (b) create_workspace on an already-ready workspace, client round trip, and `execute` of
//       `true` (issue 4);
//   (c) C chats calling create_workspace at once on `shell`: all must succeed, one workspace
//       each;
//   (d) on a fresh server, W calls waiting on slow builds: the server's threads and RSS;
//   (e) tool overhead in both MCP eras, in one run: the same calls through a 2025-11-25
//       session and as 2026-07-28 stateless requests (streamed answers, as the SDK asks).
//
//   cmake --preset release && cmake --build --preset release &&
//   build/berth_bench_mcp_tools [N=100] [C=500] [W=1000]
//   build/berth_bench_mcp_tools --eras [R=500]     (only (e))
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
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
using berth::bench::session_tokens;
using berth::bench::StatelessClient;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// "2026-11-22T02:50:01.123456 info ..." -> microseconds since the epoch.
std::int64_t log_time_us(const std::string& line) {
  std::tm tm{};
  strptime(line.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000 + std::stoll(line.substr(20, 6));
}

void row(const std::string& what, std::size_t n, const std::vector<double>& v,
         const std::string& unit) {
  std::cout << fmt::format("| {} | {} | {:.3f} {} | {:.3f} {} | {:.3f} {} |\n", what, n,
                           percentile(v, 50), unit, percentile(v, 99), unit, percentile(v, 100),
                           unit);
}

// (a) and (b): sequential creates in fresh chats, then repeated creates on a ready workspace.
void sequential(const BenchServer& server, const std::string& shell, int n) {
  berth::cli::ApiClient api(server.url(), server.token());
  std::vector<std::string> chat_ids;
  std::vector<double> create_ms;
  for (int i = -3; i < n; ++i) {  // three warm-up creates
    std::string key = fmt::format("seq-{}", i);
    auto chat = api.post("/api/v1/chats", {{"key", key}});
    if (!chat) throw std::runtime_error("chat: " + chat.error().message);
    Session s(server, key);
    auto start = Clock::now();
    auto r = s.call("create_workspace", {{"template_id", shell}});
    double took = ms_since(start);
    if (!r.value("created", false) || r.contains("agent_status") || r.contains("status")) {
      throw std::runtime_error("create not ready: " + r.dump());
    }
    if (i < 0) continue;
    create_ms.push_back(took);
    chat_ids.push_back((*chat)["id"]);
  }
  // Map chat -> its bound agent, then agent ready / tool done times from the server log.
  std::map<std::string, std::string> agent_of;
  for (const auto& id : chat_ids) {
    auto chat = api.get("/api/v1/chats/" + id);
    if (!chat || (*chat)["agent_id"].is_null()) throw std::runtime_error("chat has no agent");
    agent_of[id] = (*chat)["agent_id"];
  }
  std::map<std::string, std::int64_t> ready_us, done_us;
  std::ifstream log(server.log_path());
  std::string line;
  std::regex ready_re("agent lifecycle agent_id=(\\S+) state=ready");
  std::regex done_re("tool call done tool=create_workspace chat_id=(\\S+)");
  std::smatch m;
  while (std::getline(log, line)) {
    if (std::regex_search(line, m, ready_re)) ready_us.emplace(m[1], log_time_us(line));
    if (std::regex_search(line, m, done_re)) done_us.emplace(m[1], log_time_us(line));
  }
  std::vector<double> overhead_ms;
  for (const auto& id : chat_ids) {
    auto r = ready_us.find(agent_of[id]);
    auto d = done_us.find(id);
    if (r == ready_us.end() || d == done_us.end()) throw std::runtime_error("log lines missing");
    overhead_ms.push_back(static_cast<double>(d->second - r->second) / 1000.0);
  }
  row("(a) agent ready committed -> create_workspace answered (server log)", overhead_ms.size(),
      overhead_ms, "ms");
  row("create_workspace, new workspace, shell (client)", create_ms.size(), create_ms, "ms");

  Session again(server, "seq-0");
  std::vector<double> ready_ms;
  for (int i = -10; i < 200; ++i) {
    auto start = Clock::now();
    auto r = again.call("create_workspace", {{"template_id", shell}});
    double took = ms_since(start);
    if (r.value("status", "") != "already_exists") throw std::runtime_error(r.dump());
    if (i >= 0) ready_ms.push_back(took);
  }
  row("(b) create_workspace on an already-ready workspace (client)", ready_ms.size(), ready_ms,
      "ms");

  // Issue 4: `execute` of `true` through MCP, agent round trip and process start included.
  std::vector<double> exec_ms;
  for (int i = -10; i < 200; ++i) {
    auto start = Clock::now();
    auto r = again.call("execute", {{"command", "true"}});
    double took = ms_since(start);
    if (r.value("exit_code", -1) != 0) throw std::runtime_error(r.dump());
    if (i >= 0) exec_ms.push_back(took);
  }
  row("execute `true` round trip (client)", exec_ms.size(), exec_ms, "ms");
}

// (c): `c` chats at once.
void concurrent(const BenchServer& server, const std::string& shell, int c) {
  std::vector<double> took(static_cast<std::size_t>(c));
  std::vector<std::string> names(static_cast<std::size_t>(c));
  std::atomic<int> failures{0};
  const auto tokens = session_tokens(server, c);
  std::vector<std::thread> threads;
  for (int i = 0; i < c; ++i) {
    threads.emplace_back([&, i] {
      try {
        Session s(server, "", tokens[static_cast<std::size_t>(i) / 50]);
        auto start = Clock::now();
        auto r = s.call("create_workspace", {{"template_id", shell}});
        took[static_cast<std::size_t>(i)] = ms_since(start);
        if (!r.value("created", false) || r.contains("status") || r.contains("agent_status")) {
          throw std::runtime_error("not ready: " + r.dump());
        }
        names[static_cast<std::size_t>(i)] = r["workspace_name"];
      } catch (const std::exception& e) {
        if (failures++ < 3) std::cerr << e.what() << "\n";
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> distinct(names.begin(), names.end());
  if (failures || distinct.size() != static_cast<std::size_t>(c)) {
    throw std::runtime_error(fmt::format("{} of {} concurrent creates failed; {} workspaces",
                                         failures.load(), c, distinct.size()));
  }
  row(fmt::format("(c) {} chats at once: create_workspace -> ready (client)", c), took.size(), took,
      "ms");
}

std::map<std::string, long> proc_status(pid_t pid) {
  std::map<std::string, long> out;
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string key;
  long value = 0;
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    key = line.substr(0, colon);
    if (key == "Threads" || key == "VmRSS" || key == "VmHWM") {
      value = std::stol(line.substr(colon + 1));
      out[key] = value;
    }
  }
  return out;
}

// (d): `w` calls waiting on slow builds, on a fresh server.
void waiting(int w) {
  auto owned = std::make_unique<BenchServer>(std::vector<std::string>{
      "--tool-wait-budget", "10m", "--max-connections-per-client", "4096"});
  const BenchServer& server = *owned;
  berth::cli::ApiClient api(server.url(), server.token());
  auto slow = api.post("/api/v1/templates",
                       {{"files",
                         {{"template.yaml",
                           "name: slowbuild\nagents:\n  - name: main\nscripts:\n  start: "
                           "sleep 600\n"}}}});
  if (!slow) throw std::runtime_error(slow.error().message);
  const std::string tid = (*slow)["id"];
  auto idle = proc_status(server.pid());
  std::atomic<int> sent{0};
  std::atomic<int> failures{0};
  std::atomic<bool> owned_gone{false};
  const auto tokens = session_tokens(server, w);
  std::vector<std::thread> threads;
  for (int i = 0; i < w; ++i) {
    threads.emplace_back([&, i] {
      try {
        Session s(server, "", tokens[static_cast<std::size_t>(i) / 50]);
        ++sent;
        s.call("create_workspace", {{"template_id", tid}});
      } catch (const std::exception& e) {
        // The server is killed at the end: the waiting calls fail then. One failing earlier
        // shows in the workspace count; say why.
        if (failures++ == 0 && !owned_gone)
          std::cerr << "a waiting call failed: " << e.what() << "\n";
      }
    });
  }
  // Wait until every call has created its workspace and is waiting on its build.
  for (int i = 0; i < 600; ++i) {
    auto list = api.get("/api/v1/workspaces");
    if (list && static_cast<int>(list->size()) >= w) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long max_threads = 0, max_rss = 0;
  for (int i = 0; i < 20; ++i) {
    auto st = proc_status(server.pid());
    max_threads = std::max(max_threads, st["Threads"]);
    max_rss = std::max(max_rss, st["VmRSS"]);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto peak = proc_status(server.pid());
  auto list = api.get("/api/v1/workspaces");
  std::cout << fmt::format(
      "| (d) {} calls waiting on slow builds ({} workspaces) | threads {} | RSS {:.1f} MB (idle "
      "{:.1f} MB) | peak RSS {:.1f} MB |\n",
      w, list ? list->size() : 0, max_threads, static_cast<double>(max_rss) / 1024.0,
      static_cast<double>(idle["VmRSS"]) / 1024.0, static_cast<double>(peak["VmHWM"]) / 1024.0);
  std::cout.flush();
  owned_gone = true;
  owned.reset();  // killing the server ends the waiting calls
  for (auto& t : threads) t.join();
}

// (e): the same three calls, `r` times each, in both eras, interleaved so that both see the
// same machine.
void eras(const BenchServer& server, const std::string& shell, int r) {
  Session legacy(server, "era-legacy");
  StatelessClient modern(server, "era-modern");
  legacy.call("create_workspace", {{"template_id", shell}});
  modern.call("create_workspace", {{"template_id", shell}});
  struct Call {
    const char* label;
    const char* tool;
    json args;
  };
  const std::vector<Call> calls = {
      {"list_templates", "list_templates", json::object()},
      {"create_workspace on its ready workspace", "create_workspace", {{"template_id", shell}}},
      {"execute `true`", "execute", {{"command", "true"}}}};
  for (const auto& c : calls) {
    std::vector<double> old_ms, new_ms;
    for (int i = -20; i < r; ++i) {
      auto start = Clock::now();
      legacy.call(c.tool, c.args);
      double a = ms_since(start);
      start = Clock::now();
      modern.call(c.tool, c.args);
      double b = ms_since(start);
      if (i < 0) continue;
      old_ms.push_back(a);
      new_ms.push_back(b);
    }
    row(fmt::format("(e) {}, 2025-11-25 session", c.label), old_ms.size(), old_ms, "ms");
    row(fmt::format("(e) {}, 2026-07-28 stateless (SSE)", c.label), new_ms.size(), new_ms, "ms");
    std::cout << fmt::format("| (e) {}: 2026-07-28 / 2025-11-25 at p50 | | {:.2f}x | | |\n",
                             c.label, percentile(new_ms, 50) / percentile(old_ms, 50));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--eras") {
    try {
      std::cout << "| measure | n | p50 | p99 | max |\n|---|---|---|---|---|\n";
      BenchServer server({"--max-connections-per-client", "4096"});
      berth::cli::ApiClient api(server.url(), server.token());
      auto templates = api.get("/api/v1/templates");  // named: a range-for over *temporary
      if (!templates) throw std::runtime_error(templates.error().message);  // would dangle
      std::string shell;
      for (const auto& t : *templates) {
        if (t["name"] == "shell") shell = t["id"];
      }
      eras(server, shell, argc > 2 ? std::atoi(argv[2]) : 500);
    } catch (const std::exception& e) {
      std::cerr << "benchmark failed: " << e.what() << "\n";
      return 1;
    }
    return 0;
  }
  const int n = argc > 1 ? std::atoi(argv[1]) : 100;
  const int c = argc > 2 ? std::atoi(argv[2]) : 500;
  const int w = argc > 3 ? std::atoi(argv[3]) : 1000;
  try {
    std::cout << "| measure | n | p50 | p99 | max |\n|---|---|---|---|---|\n";
    {
      // Every client of the benchmark comes from 127.0.0.1: lift the per-address cap.
      BenchServer server({"--max-connections-per-client", "4096"});
      berth::cli::ApiClient api(server.url(), server.token());
      auto templates = api.get("/api/v1/templates");
      std::string shell;
      for (const auto& t : *templates) {
        if (t["name"] == "shell") shell = t["id"];
      }
      sequential(server, shell, n);
      eras(server, shell, 500);
      concurrent(server, shell, c);
    }
    waiting(w);
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
