// The cost of the hardened sandbox (hardening issue): in one run,
//   (a) a bare `bwrap --unshare-all ... true`,
//   (b) the hardened launch of `true` (provisioner/sandbox: host uid, rlimits, seccomp filter,
//       minimal filesystem, generated /etc files), as the provisioner spawns it,
//   (c) create -> agent ready through the REST API for a `process` template and for the same
//       template as `sandbox` (a real server with --allow-unisolated, 50 sequential each).
// Prints p50/p99 in milliseconds.
//
//   cmake --preset release && cmake --build --preset release && build/berth_bench_sandbox [N]

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"
#include "berth/proc/process.hpp"
#include "berth/provisioner/sandbox.hpp"

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using berth::bench::percentile;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Spawns `options` and waits for it; the time from spawn to exit.
double run_once(boost::asio::io_context& io, const berth::proc::SpawnOptions& options) {
  auto start = Clock::now();
  int code = -1;
  auto child = berth::proc::Process::spawn(io.get_executor(), options);
  if (!child) throw std::runtime_error(child.error().message);
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { code = co_await (*child)->wait(); },
      boost::asio::detached);
  io.restart();
  io.run();
  if (code != 0) throw std::runtime_error(fmt::format("{} exited {}", options.argv[0], code));
  return ms_since(start);
}

void row(const std::string& what, std::vector<double> v) {
  std::cout << fmt::format("| {} | {} | {:.2f} | {:.2f} |\n", what, v.size(), percentile(v, 50),
                           percentile(v, 99));
}

double create_ready(berth::cli::ApiClient& api, const std::string& tmpl) {
  auto start = Clock::now();
  auto created = api.post("/api/v1/workspaces", {{"template", tmpl}});
  if (!created) throw std::runtime_error("create failed: " + created.error().message);
  auto ws = api.get("/api/v1/workspaces/" + created->value("id", "") + "/wait?timeout=60s");
  double ms = ms_since(start);
  if (!ws || (*ws)["readiness"].value("phase", "") != "ready") {
    throw std::runtime_error("not ready: " + (ws ? ws->dump() : ws.error().message));
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 50;
  try {
    boost::asio::io_context io;
    const fs::path scratch = fs::temp_directory_path() / fmt::format("berth-bench-sb-{}", getpid());
    fs::create_directories(scratch / "home");
    fs::create_directories(scratch / "run");
    std::optional<unsigned> uid;
    if (::geteuid() == 0) {
      uid = berth::provisioner::kSandboxUidBase;
      (void)::chown((scratch / "home").c_str(), *uid, *uid);
      std::error_code perm_ec;
      fs::permissions(scratch, fs::perms::owner_all | fs::perms::others_exec, perm_ec);
    }
    std::cout << "| what | n | p50 ms | p99 ms |\n|---|---|---|---|\n";

    berth::proc::SpawnOptions bare{
        .argv = {"bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64",
                 "/lib64", "--symlink", "usr/lib", "/lib", "--symlink", "usr/bin", "/bin",
                 "/usr/bin/true"},
        .env = {{"PATH", "/usr/bin:/bin"}},
        .output = berth::proc::Output::discard};
    std::vector<double> v;
    for (int i = 0; i < 5; ++i) run_once(io, bare);
    for (int i = 0; i < 2 * n; ++i) v.push_back(run_once(io, bare));
    row("bare `bwrap --unshare-all ... true`", v);

    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    v.clear();
    for (int i = 0; i < 2 * n + 5; ++i) {
      auto prepared = berth::provisioner::prepare_sandbox({.home = scratch / "home",
                                                           .agent_socket_dir = scratch / "run",
                                                           .berth_binary = self,
                                                           .hostname = "bench",
                                                           .host_uid = uid},
                                                          {"/usr/bin/true"});
      if (!prepared) throw std::runtime_error(prepared.error().message);
      berth::proc::SpawnOptions o{.argv = prepared->argv,
                                  .env = {{"PATH", "/usr/bin:/bin"}},
                                  .cwd = "/",
                                  .output = berth::proc::Output::discard,
                                  .confine = prepared->confine};
      double ms = run_once(io, o);
      if (i >= 5) v.push_back(ms);
    }
    row("hardened sandbox launch of `true` (uid drop, seccomp, minimal fs)", v);
    fs::remove_all(scratch, ec);

    berth::bench::BenchServer server({"--allow-unisolated"});
    berth::cli::ApiClient api(server.url(), server.token());
    for (const char* iso : {"process", "sandbox"}) {
      auto pushed =
          api.post("/api/v1/templates",
                   {{"files",
                     {{"template.yaml",
                       fmt::format("name: bench-{}\nisolation: {}\nagents:\n  - name: main\n", iso,
                                   iso)}}}});
      if (!pushed) throw std::runtime_error(pushed.error().message);
    }
    for (const char* iso : {"process", "sandbox"}) {
      const std::string tmpl = fmt::format("bench-{}", iso);
      for (int i = 0; i < 3; ++i) create_ready(api, tmpl);
      v.clear();
      for (int i = 0; i < n; ++i) v.push_back(create_ready(api, tmpl));
      row(fmt::format("create -> agent ready, isolation {} (client)", iso), v);
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
