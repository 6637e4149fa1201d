#include "bench/bench_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "berth/core/ids.hpp"

namespace fs = std::filesystem;

namespace berth::bench {

namespace {

// Starts BERTH_BINARY with `args`, its stdout and stderr in `log`.
pid_t spawn_berth(std::vector<std::string> args, const fs::path& log) {
  std::string binary = BERTH_BINARY;
  args.insert(args.begin(), binary);
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, cargv.data(), environ) != 0) {
    throw std::runtime_error("cannot start " + binary);
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// A /proc file's bytes, "" when the process is gone (reading may then fail with ESRCH, which
// an istreambuf_iterator would throw from).
std::string read_proc_file(const fs::path& file) {
  std::string out;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// Kills `pid`, then every agent and sandbox started for `dir` (their working directories or
// executables are under it), removes their control groups and the directory.
void end_everything_under(pid_t pid, const fs::path& dir) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    auto cwd = fs::read_symlink(entry.path() / "cwd", ec);
    const std::string cmd = read_proc_file(entry.path() / "cmdline");
    // Unisolated agents run in their workspace (but make themselves non-dumpable, so their
    // cwd may be unreadable: their executable is the copy under the data directory);
    // sandboxes name it on bwrap's command line.
    if ((!ec && cwd.string().starts_with(dir.string())) || cmd.starts_with(dir.string() + "/") ||
        (cmd.starts_with("bwrap") && cmd.find(dir.string()) != std::string::npos)) {
      ::kill(-std::stoi(name), SIGKILL);
      ::kill(std::stoi(name), SIGKILL);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // And the workspaces' control groups (berth-<id>), as deletes would have removed them.
  std::set<std::string> groups;
  for (const auto& e : fs::directory_iterator(dir / "workspaces", ec)) {
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
  fs::remove_all(dir, ec);
}

}  // namespace

BenchServer::BenchServer(std::vector<std::string> extra_args)
    : dir_(fs::temp_directory_path() / ("berth-bench-" + random_hex(4))) {
  fs::create_directories(dir_);
  std::string examples = std::string(BERTH_SOURCE_DIR) + "/examples/templates";
  std::vector<std::string> args = {"server",      "--data-dir",          dir_.string(), "--listen",
                                   "127.0.0.1:0", "--example-templates", examples};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // The server logs to stdout and reports to stderr: both go to server.log.
  pid_ = spawn_berth(std::move(args), log_path());
  while (!fs::exists(dir_ / "server.url"))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::ifstream(dir_ / "server.url") >> url_;
  std::ifstream(dir_ / "admin.token") >> token_;
}

BenchDaemon::BenchDaemon(const std::string& url, const std::string& key,
                         std::vector<std::string> extra_args)
    : dir_(fs::temp_directory_path() / ("berth-bench-" + random_hex(4))) {
  fs::create_directories(dir_);
  std::vector<std::string> args = {"--url", url,          "provisioner", "--key",
                                   key,     "--data-dir", dir_.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn_berth(std::move(args), dir_ / "daemon.log");
  // Running once its agent socket is there (it registered first).
  for (int i = 0; i < 500 && !fs::exists(dir_ / "run" / "agent.sock"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!fs::exists(dir_ / "run" / "agent.sock")) {
    throw std::runtime_error("the provisioner daemon did not start; see " +
                             (dir_ / "daemon.log").string());
  }
}

BenchDaemon::~BenchDaemon() { end_everything_under(pid_, dir_); }

BenchServer::~BenchServer() { end_everything_under(pid_, dir_); }

std::string shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  if (::pclose(p) != 0) throw std::runtime_error(cmd + " failed: " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

BenchPostgres::BenchPostgres()
    : cluster_(fmt::format("/tmp/berth-pg-bench-{}", ::getpid())),
      script_(std::string(BERTH_SOURCE_DIR) + "/scripts/test-postgres.sh") {
  try {
    base_url_ = shell(fmt::format("BERTH_PG_DURABLE=1 {} start {}", script_, cluster_));
  } catch (...) {
    std::system(fmt::format("{} stop {} >/dev/null 2>&1", script_, cluster_).c_str());
    throw;
  }
}

BenchPostgres::~BenchPostgres() {
  std::system(fmt::format("{} stop {} >/dev/null 2>&1", script_, cluster_).c_str());
}

std::string BenchPostgres::create_database(const std::string& name) {
  shell(fmt::format("psql '{}' -qc 'CREATE DATABASE {}'", base_url_, name));
  std::string url = base_url_;
  url.replace(url.find("/postgres?"), 10, "/" + name + "?");
  return url;
}

namespace {

// A blocking TCP socket, in the network namespace of `netns_pidfd`'s process when given: the
// calling thread enters it for the socket() call and returns (cheaper than the server's way,
// a thread per socket, which would weigh on the direct path's latency).
int tcp_socket(int netns_pidfd) {
  if (netns_pidfd < 0) return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0 || ::setns(netns_pidfd, CLONE_NEWNET) != 0) {
    throw std::runtime_error(
        fmt::format("cannot enter the sandbox's network namespace: {}", std::strerror(errno)));
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::setns(home, CLONE_NEWNET) != 0) std::abort();  // never run on in the wrong namespace
  ::close(home);
  return fd;
}

}  // namespace

int listen_tcp(std::uint32_t address, int& port, int netns_pidfd) {
  int fd = tcp_socket(netns_pidfd);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot listen on {}.{}.{}.{}", address >> 24,
                                         (address >> 16) & 255, (address >> 8) & 255,
                                         address & 255));
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int dial_tcp(int port, int netns_pidfd) {
  int fd = tcp_socket(netns_pidfd);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot connect to 127.0.0.1:{}", port));
  }
  return fd;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

}  // namespace berth::bench
