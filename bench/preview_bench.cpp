// What a preview URL adds (issue 12): in one run, the same client fetches from an HTTP app
// listening on 127.0.0.1 in a workspace (an unisolated one, so the host can reach the app
// directly too),
//   (a) directly, and
//   (b) through its preview URL: the server, the agent's WebSocket and the agent's connection
//       to the port (a public port: a private one adds a hash of its grant cookie).
// Latency: N requests for a small page, each on a new connection (the proxy carries one
// request per tunnel, Connection: close), p50/p99 in ms. Throughput: one download of SIZE MiB,
// MB/s, best of three. The paths take turns. A third path, two plain TCP relays in a row,
// shows what three hops cost on the machine with nothing of Berth's on them.
//
//   cmake --preset release
//   cmake --build --preset release --target berth berth-agent berth_bench_preview
//   build/berth_bench_preview [N] [SIZE_MIB]

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
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
  App() {
    fd_ = berth::bench::listen_tcp(INADDR_LOOPBACK, port_);
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

// GET `target` from 127.0.0.1:`port` on a new connection; the bytes of the answer.
std::size_t fetch(int port, const std::string& target, const std::string& host) {
  int fd = berth::bench::dial_tcp(port);
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

// A plain TCP relay on 127.0.0.1: each connection is carried to `target_port` by two threads
// copying 256 KiB at a time, nothing else. Two of them in a row give the three TCP hops of the
// preview path with nothing of Berth's on them: what any design that carries the bytes through
// the agent's connection can at best reach on this machine.
class Relay {
 public:
  explicit Relay(int target_port) : target_(target_port) {
    fd_ = berth::bench::listen_tcp(INADDR_LOOPBACK, port_);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        int up = berth::bench::dial_tcp(target_);
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
  int port_ = 0;
  std::thread thread_;
};

struct Path {
  std::string name;
  int port = 0;
  std::string prefix;   // before the app's own target
  bool latency = true;  // also measured request by request
  std::vector<double> ms;
  double mbps = 0;
};

// The paths take turns, request by request and download by download, so that what else the
// machine does at a moment weighs on each alike.
void measure(std::vector<Path>& paths, const std::string& host, int n, std::size_t big) {
  for (int i = 0; i < 20; ++i) {
    for (auto& p : paths) fetch(p.port, p.prefix + "/", host);  // warm up
  }
  for (int i = 0; i < n; ++i) {
    for (auto& p : paths) {
      if (!p.latency) continue;
      auto t0 = Clock::now();
      fetch(p.port, p.prefix + "/", host);
      p.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  }
  for (int i = 0; i < 3; ++i) {
    for (auto& p : paths) {
      auto t0 = Clock::now();
      std::size_t got = fetch(p.port, p.prefix + fmt::format("/big?{}", big), host);
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      if (got < big) throw std::runtime_error("short download");
      p.mbps = std::max(p.mbps, static_cast<double>(got) / s / 1e6);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500;
  const std::size_t big = (argc > 2 ? std::stoull(argv[2]) : 256) * 1024 * 1024;
  App app;
  berth::bench::BenchServer server({"--allow-unisolated"});
  berth::cli::ApiClient api(server.url(), server.token());
  auto pushed =
      api.post("/api/v1/templates",
               {{"files",
                 {{"template.yaml",
                   "name: bench-preview\nisolation: process\nagents:\n  - name: main\n"}}}});
  if (!pushed) throw std::runtime_error(pushed.error().message);
  auto created = api.post("/api/v1/workspaces", {{"template", "bench-preview"}, {"name", "web"}});
  if (!created) throw std::runtime_error(created.error().message);
  const std::string id = created->value("id", "");
  auto ready = api.get("/api/v1/workspaces/" + id + "/wait?timeout=60s");
  if (!ready) throw std::runtime_error(ready.error().message);
  auto exposed =
      api.put(fmt::format("/api/v1/workspaces/{}/ports/{}", id, app.port()), {{"public", true}});
  if (!exposed) throw std::runtime_error(exposed.error().message);
  const int server_port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
  const std::string prefix = fmt::format("/@admin/web/ports/{}", app.port());

  Relay inner(app.port());
  Relay outer(inner.port());
  // The relays start two threads a connection: their latency says nothing of interest.
  std::vector<Path> paths = {{"direct", app.port(), "", true, {}, 0},
                             {"preview", server_port, prefix, true, {}, 0},
                             {"2 relays", outer.port(), "", false, {}, 0}};
  measure(paths, "127.0.0.1", n, big);
  std::cout << fmt::format(
      "preview proxy, {} requests of a 13-byte page (new connection each), one {} MiB "
      "download (best of 3); the paths take turns\n",
      n, big / 1024 / 1024);
  std::cout << fmt::format("{:<10} {:>9} {:>9} {:>11}\n", "path", "p50 ms", "p99 ms", "MB/s");
  for (const auto& p : paths) {
    if (p.latency) {
      std::cout << fmt::format("{:<10} {:>9.3f} {:>9.3f} {:>11.1f}\n", p.name, percentile(p.ms, 50),
                               percentile(p.ms, 99), p.mbps);
    } else {
      std::cout << fmt::format("{:<10} {:>9} {:>9} {:>11.1f}\n", p.name, "-", "-", p.mbps);
    }
  }
  const Path& direct = paths[0];
  const Path& preview = paths[1];
  const Path& relays = paths[2];
  std::cout << fmt::format(
      "added at p50: {:.3f} ms; throughput: {:.0f}% of direct (two plain relays: {:.0f}%)\n",
      percentile(preview.ms, 50) - percentile(direct.ms, 50), 100.0 * preview.mbps / direct.mbps,
      100.0 * relays.mbps / direct.mbps);
  return 0;
}
