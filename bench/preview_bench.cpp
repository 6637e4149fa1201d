// What a preview URL adds (issue 12): in one run, the same client fetches from an HTTP app,
//   (a) directly,
//   (b) through the preview URL of a sandboxed workspace, the app listening on 127.0.0.1 in
//       the sandbox's network namespace: the server connects there itself (client -> server ->
//       app), and
//   (c) through the preview URL of an unisolated workspace, whose agent dials in over TCP:
//       the server carries the bytes over the agent's WebSocket and the agent to the app
//       (client -> server -> agent -> app), as for external agents;
// public ports (a private one adds a hash of its grant cookie). The bench process itself
// listens in the sandbox's namespace and dials into it for (a) (root only, as the server).
// Latency: N requests for a small page, each on a new connection (the proxy carries one
// request per connection, Connection: close), p50/p99 in ms. Throughput: one download of SIZE
// MiB, MB/s, best of three. The paths take turns. One and two plain TCP relays (copying
// threads, nothing else) show what two and three hops cost on this machine.
//
//   cmake --preset release
//   cmake --build --preset release --target berth berth-agent berth_bench_preview
//   build/berth_bench_preview [N] [SIZE_MIB]

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"

using berth::bench::percentile;
using Clock = std::chrono::steady_clock;

namespace {

// The app: "/" answers a short page, "/big?N" answers N bytes; one request per connection.
class App {
 public:
  // Listening in the network namespace of `netns_pidfd`'s process, when given.
  explicit App(int netns_pidfd = -1) {
    fd_ = berth::bench::listen_tcp(INADDR_LOOPBACK, port_, netns_pidfd);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::thread(serve, c).detach();
      }
    });
  }
  ~App() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  static void serve(int c) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t size = 13;
    if (auto at = head.find("/big?"); at != std::string::npos) {
      size = std::stoull(head.substr(at + 5));
    }
    std::string reply = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: "
        "close\r\n\r\n",
        size);
    if (size == 13) {
      reply += "hello, world\n";
      (void)!::write(c, reply.data(), reply.size());
    } else {
      (void)!::write(c, reply.data(), reply.size());
      std::string chunk(256 * 1024, 'x');
      while (size > 0) {
        std::size_t n = std::min(size, chunk.size());
        ssize_t w = ::write(c, chunk.data(), n);
        if (w <= 0) break;
        size -= static_cast<std::size_t>(w);
      }
    }
    ::shutdown(c, SHUT_WR);
    while (::read(c, buf, sizeof buf) > 0) {
    }
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// GET `target` from 127.0.0.1:`port` (in `netns_pidfd`'s network namespace when given) on a
// new connection; the bytes of the answer.
std::size_t fetch(int port, int netns_pidfd, const std::string& target, const std::string& host) {
  int fd = berth::bench::dial_tcp(port, netns_pidfd);
  std::string req =
      fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", target, host);
  (void)!::write(fd, req.data(), req.size());
  std::vector<char> buf(256 * 1024);
  std::size_t total = 0;
  std::string first;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    if (first.size() < 16) first.append(buf.data(), static_cast<std::size_t>(n));
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (!first.starts_with("HTTP/1.1 200")) {
    throw std::runtime_error("unexpected answer: " + first.substr(0, 40));
  }
  return total;
}

// A plain TCP relay on 127.0.0.1: each connection is carried to `target_port` (in
// `netns_pidfd`'s network namespace when given) by two threads copying 256 KiB at a time,
// nothing else: what a path of as many hops can at best reach on this machine.
class Relay {
 public:
  explicit Relay(int target_port, int netns_pidfd = -1)
      : target_(target_port), netns_(netns_pidfd) {
    fd_ = berth::bench::listen_tcp(INADDR_LOOPBACK, port_);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        int up = berth::bench::dial_tcp(target_, netns_);
        std::thread(copy, c, up).detach();
        std::thread(copy, up, c).detach();
      }
    });
  }
  ~Relay() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  // in -> out until in ends; the last of the two threads closes both.
  static void copy(int in, int out) {
    std::vector<char> buf(256 * 1024);
    for (;;) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
        if (w <= 0) return;
        off += w;
      }
    }
    ::shutdown(out, SHUT_WR);
  }

  int fd_ = -1;
  int target_ = 0;
  int netns_ = -1;
  int port_ = 0;
  std::thread thread_;
};

struct Path {
  std::string name;
  int port = 0;
  int netns = -1;       // the client dials in this process's network namespace when set
  std::string prefix;   // before the app's own target
  bool latency = true;  // also measured request by request
  std::vector<double> ms;
  double mbps = 0;
};

// The paths take turns, request by request and download by download, so that what else the
// machine does at a moment weighs on each alike.
void measure(std::vector<Path>& paths, const std::string& host, int n, std::size_t big) {
  for (int i = 0; i < 20; ++i) {
    for (auto& p : paths) fetch(p.port, p.netns, p.prefix + "/", host);  // warm up
  }
  for (int i = 0; i < n; ++i) {
    for (auto& p : paths) {
      if (!p.latency) continue;
      auto t0 = Clock::now();
      fetch(p.port, p.netns, p.prefix + "/", host);
      p.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  }
  for (int i = 0; i < 3; ++i) {
    for (auto& p : paths) {
      auto t0 = Clock::now();
      std::size_t got = fetch(p.port, p.netns, p.prefix + fmt::format("/big?{}", big), host);
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      if (got < big) throw std::runtime_error("short download");
      p.mbps = std::max(p.mbps, static_cast<double>(got) / s / 1e6);
    }
  }
}

// A pidfd of the sandboxed agent of the bench's server: the one berth-agent process whose
// network namespace is not this process's.
int sandbox_agent_pidfd() {
  const std::string ours = berth::bench::shell("readlink /proc/self/ns/net");
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "berth-agent") continue;
    std::error_code ec;
    auto ns = std::filesystem::read_symlink(entry.path() / "ns" / "net", ec);
    if (ec || ns.string() == ours) continue;
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(pid), 0));
    if (fd >= 0) return fd;
  }
  throw std::runtime_error("no sandboxed berth-agent found");
}

// Creates workspace `name` from a one-agent template of `isolation`, waits until it is
// ready and exposes `port` publicly; its id.
std::string ready_workspace(berth::cli::ApiClient& api, const std::string& name,
                            const std::string& isolation) {
  auto pushed = api.post(
      "/api/v1/templates",
      {{"files",
        {{"template.yaml", fmt::format("name: bench-{}\nisolation: {}\nagents:\n  - name: main\n",
                                       isolation, isolation)}}}});
  if (!pushed) throw std::runtime_error(pushed.error().message);
  auto created =
      api.post("/api/v1/workspaces", {{"template", "bench-" + isolation}, {"name", name}});
  if (!created) throw std::runtime_error(created.error().message);
  const std::string id = created->value("id", "");
  auto ready = api.get("/api/v1/workspaces/" + id + "/wait?timeout=60s");
  if (!ready) throw std::runtime_error(ready.error().message);
  return id;
}

void expose(berth::cli::ApiClient& api, const std::string& id, int port) {
  auto exposed =
      api.put(fmt::format("/api/v1/workspaces/{}/ports/{}", id, port), {{"public", true}});
  if (!exposed) throw std::runtime_error(exposed.error().message);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500;
  const std::size_t big = (argc > 2 ? std::stoull(argv[2]) : 256) * 1024 * 1024;
  if (::geteuid() != 0) {
    std::cerr << "run as root: the bench listens in a sandbox's network namespace\n";
    return 1;
  }
  berth::bench::BenchServer server({"--allow-unisolated"});
  berth::cli::ApiClient api(server.url(), server.token());
  const std::string sandboxed = ready_workspace(api, "web", "sandbox");
  const std::string unisolated = ready_workspace(api, "tunnel", "process");
  const int netns = sandbox_agent_pidfd();
  App app(netns);  // in the sandbox
  App host_app;    // on the host, for the unisolated workspace
  expose(api, sandboxed, app.port());
  expose(api, unisolated, host_app.port());
  const int server_port = std::stoi(server.url().substr(server.url().rfind(':') + 1));

  Relay one(app.port(), netns);
  Relay inner(app.port(), netns);
  Relay outer(inner.port());
  // The relays start two threads a connection: their latency says nothing of interest.
  std::vector<Path> paths = {
      {"direct", app.port(), netns, "", true, {}, 0},
      {"preview", server_port, -1, fmt::format("/@admin/web/ports/{}", app.port()), true, {}, 0},
      {"tunnel",
       server_port,
       -1,
       fmt::format("/@admin/tunnel/ports/{}", host_app.port()),
       true,
       {},
       0},
      {"1 relay", one.port(), -1, "", false, {}, 0},
      {"2 relays", outer.port(), -1, "", false, {}, 0}};
  measure(paths, "127.0.0.1", n, big);
  std::cout << fmt::format(
      "preview proxy, {} requests of a 13-byte page (new connection each), one {} MiB "
      "download (best of 3); the paths take turns\n",
      n, big / 1024 / 1024);
  std::cout << fmt::format("{:<10} {:>9} {:>9} {:>11} {:>9}\n", "path", "p50 ms", "p99 ms", "MB/s",
                           "of direct");
  const Path& direct = paths[0];
  for (const auto& p : paths) {
    const double share = 100.0 * p.mbps / direct.mbps;
    if (p.latency) {
      std::cout << fmt::format("{:<10} {:>9.3f} {:>9.3f} {:>11.1f} {:>8.0f}%\n", p.name,
                               percentile(p.ms, 50), percentile(p.ms, 99), p.mbps, share);
    } else {
      std::cout << fmt::format("{:<10} {:>9} {:>9} {:>11.1f} {:>8.0f}%\n", p.name, "-", "-", p.mbps,
                               share);
    }
  }
  std::cout << fmt::format(
      "added at p50: preview {:.3f} ms, tunnel {:.3f} ms; throughput: preview {:.0f}% of direct "
      "(one plain relay {:.0f}%), tunnel {:.0f}% (two plain relays {:.0f}%)\n",
      percentile(paths[1].ms, 50) - percentile(direct.ms, 50),
      percentile(paths[2].ms, 50) - percentile(direct.ms, 50), 100.0 * paths[1].mbps / direct.mbps,
      100.0 * paths[3].mbps / direct.mbps, 100.0 * paths[2].mbps / direct.mbps,
      100.0 * paths[4].mbps / direct.mbps);
  return 0;
}
