#include "bench/bench_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "berth/core/ids.hpp"

namespace fs = std::filesystem;

namespace berth::bench {

BenchServer::BenchServer(std::vector<std::string> extra_args)
    : dir_(fs::temp_directory_path() / ("berth-bench-" + random_hex(4))) {
  fs::create_directories(dir_);
  std::string binary = BERTH_BINARY;
  std::string examples = std::string(BERTH_SOURCE_DIR) + "/examples/templates";
  std::vector<std::string> args = {binary,     "server",      "--data-dir",          dir_.string(),
                                   "--listen", "127.0.0.1:0", "--example-templates", examples};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The server logs to stdout and reports to stderr: both go to server.log.
  posix_spawn_file_actions_addopen(&actions, 1, log_path().c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, cargv.data(), environ) != 0) {
    throw std::runtime_error("cannot start " + binary);
  }
  posix_spawn_file_actions_destroy(&actions);
  while (!fs::exists(dir_ / "server.url"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::ifstream(dir_ / "server.url") >> url_;
  std::ifstream(dir_ / "admin.token") >> token_;
}

BenchServer::~BenchServer() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  // End every agent and sandbox the server started (their working directories are ours).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    auto cwd = fs::read_symlink(entry.path() / "cwd", ec);
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Unisolated agents run in their workspace (but make themselves non-dumpable, so their
    // cwd may be unreadable: their executable is the copy under the data directory);
    // sandboxes name it on bwrap's command line.
    if ((!ec && cwd.string().starts_with(dir_.string())) || cmd.starts_with(dir_.string() + "/") ||
        (cmd.starts_with("bwrap") && cmd.find(dir_.string()) != std::string::npos)) {
      ::kill(-std::stoi(name), SIGKILL);
      ::kill(std::stoi(name), SIGKILL);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // And the workspaces' control groups (berth-<id>), as deletes would have removed them.
  std::set<std::string> groups;
  for (const auto& e : fs::directory_iterator(dir_ / "workspaces", ec)) {
    groups.insert("berth-" + e.path().filename().string());
  }
  for (const char* controller : {"memory", "pids", "cpu"}) {
    std::vector<fs::path> found;
    fs::recursive_directory_iterator it(fs::path("/sys/fs/cgroup") / controller,
                                        fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it.depth() > 3 || groups.count(it->path().filename().string())) {
        if (it.depth() <= 3) found.push_back(it->path());
        it.disable_recursion_pending();
      }
    }
    for (const auto& g : found) ::rmdir(g.c_str());
  }
  fs::remove_all(dir_, ec);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

}  // namespace berth::bench
