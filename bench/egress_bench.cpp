// What the egress proxy adds to a request (hardening issue): in one run, the same curl
// fetches a small page from an HTTP server on 127.0.0.2, N times each,
//   (a) directly, from the host, and
//   (b) from inside a sandboxed workspace, through its relay on 127.0.0.1:3128 and the
//       server's egress proxy (name check, resolve, address check, connect, relay).
// Every request is a new connection (the proxy sends each plain-http request on its own).
// curl's own time_total per request; prints p50/p99 in milliseconds.
//
//   cmake --preset release && cmake --build --preset release && build/berth_bench_egress [N]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"

namespace fs = std::filesystem;
using berth::bench::percentile;

namespace {

// Answers every request with a short page, one request per connection.
class Target {
 public:
  Target() {
    fd_ = berth::bench::listen_tcp(0x7f000002, port_);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          head.append(buf, n);
        }
        static const std::string reply =
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
        (void)!::write(c, reply.data(), reply.size());
        ::close(c);
      }
    });
  }
  ~Target() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.2:{}/page", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// A shell command that fetches `url` n times with curl and prints each time_total (seconds).
std::string curl_loop(const std::string& url, int n, const std::string& extra) {
  return fmt::format(
      "curl -s {} -H 'Connection: close' -w '%{{time_total}}\\n' $(i=0; while [ $i -lt {} ]; "
      "do echo -o /dev/null {}; i=$((i+1)); done)",
      extra, n, url);
}

std::vector<double> parse_times(const std::string& text, int skip) {
  std::vector<double> ms;
  std::istringstream in(text);
  double seconds = 0;
  int i = 0;
  while (in >> seconds) {
    if (i++ >= skip) ms.push_back(seconds * 1000);
  }
  return ms;
}

void row(const std::string& what, const std::vector<double>& v) {
  std::cout << fmt::format("| {} | {} | {:.3f} | {:.3f} |\n", what, v.size(), percentile(v, 50),
                           percentile(v, 99));
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500;
  constexpr int kWarmup = 20;
  try {
    Target target;
    berth::bench::BenchServer server({"--egress-allow-net", "127.0.0.2/32"});
    berth::cli::ApiClient api(server.url(), server.token());
    const std::string yaml = fmt::format(
        "name: bench-egress\nsandbox:\n  egress: [127.0.0.2]\nscripts:\n  start: |\n    {} > "
        "proxy-times.txt\nagents:\n  - name: main\n",
        curl_loop(target.url(), n + kWarmup, ""));
    auto pushed = api.post("/api/v1/templates", {{"files", {{"template.yaml", yaml}}}});
    if (!pushed) throw std::runtime_error(pushed.error().message);

    // (a) direct, from the host.
    std::string direct_out;
    {
      std::string cmd = curl_loop(target.url(), n + kWarmup, "--noproxy '*'");
      FILE* p = ::popen(cmd.c_str(), "r");
      if (!p) throw std::runtime_error("cannot run curl");
      char buf[4096];
      std::size_t got;
      while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) direct_out.append(buf, got);
      if (::pclose(p) != 0) throw std::runtime_error("direct curl failed");
    }
    // (b) through the proxy, from a workspace's start script.
    auto created = api.post("/api/v1/workspaces", {{"template", "bench-egress"}});
    if (!created) throw std::runtime_error("create failed: " + created.error().message);
    const std::string id = created->value("id", "");
    auto ws = api.get("/api/v1/workspaces/" + id + "/wait?timeout=120s");
    if (!ws || (*ws)["readiness"].value("phase", "") != "ready") {
      throw std::runtime_error("not ready: " + (ws ? ws->dump() : ws.error().message));
    }
    std::ifstream in(server.data_dir() / "workspaces" / id / "proxy-times.txt");
    std::stringstream proxied;
    proxied << in.rdbuf();

    auto direct = parse_times(direct_out, kWarmup);
    auto proxy = parse_times(proxied.str(), kWarmup);
    if (direct.size() != static_cast<std::size_t>(n) ||
        proxy.size() != static_cast<std::size_t>(n)) {
      throw std::runtime_error(fmt::format("expected {} times each, got {} direct and {} proxied",
                                           n, direct.size(), proxy.size()));
    }
    std::cout << "| request (curl time_total) | n | p50 ms | p99 ms |\n|---|---|---|---|\n";
    row("direct, from the host", direct);
    row("from a sandbox, through its relay and the egress proxy", proxy);
    std::cout << fmt::format("\nadded at p50: {:.3f} ms\n",
                             percentile(proxy, 50) - percentile(direct, 50));
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
