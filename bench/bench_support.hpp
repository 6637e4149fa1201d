#pragma once
// What the benchmarks share: a real `berth server` process (Release build) in a temporary data
// directory, killed with every agent it started when the benchmark ends, provisioner daemons
// likewise, a PostgreSQL cluster, and percentiles.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace berth::bench {

class BenchServer {
 public:
  // Starts `berth server --listen 127.0.0.1:0` with the example templates and `extra_args`.
  explicit BenchServer(std::vector<std::string> extra_args = {});
  ~BenchServer();
  BenchServer(const BenchServer&) = delete;
  BenchServer& operator=(const BenchServer&) = delete;

  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }
  // A replica joining another server's database has no admin token of its own: use that one's.
  void use_token(std::string token) { token_ = std::move(token); }
  std::filesystem::path log_path() const { return dir_ / "server.log"; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::string url_;
  std::string token_;
};

// A `berth provisioner` daemon of the server at `url` in a temporary data directory, killed
// with every agent it started when the benchmark ends.
class BenchDaemon {
 public:
  BenchDaemon(const std::string& url, const std::string& key,
              std::vector<std::string> extra_args = {});
  ~BenchDaemon();
  BenchDaemon(const BenchDaemon&) = delete;
  BenchDaemon& operator=(const BenchDaemon&) = delete;

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

// A throwaway local PostgreSQL cluster (scripts/test-postgres.sh) with fsync on, as a real
// deployment has it; stopped and removed when destroyed.
class BenchPostgres {
 public:
  BenchPostgres();
  ~BenchPostgres();
  BenchPostgres(const BenchPostgres&) = delete;
  BenchPostgres& operator=(const BenchPostgres&) = delete;
  // Creates database `name` and returns its URL.
  std::string create_database(const std::string& name);

 private:
  std::string cluster_, script_, base_url_;
};

// A TCP socket listening on `address` (host byte order, e.g. INADDR_LOOPBACK) at a port the
// kernel picks, written to `port`. Throws when it cannot listen. With `netns_pidfd`, in the
// network namespace of that process (a sandbox's: net/netns.hpp, root only).
int listen_tcp(std::uint32_t address, int& port, int netns_pidfd = -1);
// A TCP connection (TCP_NODELAY) to 127.0.0.1:`port`, in the network namespace of
// `netns_pidfd`'s process when given. Throws when it cannot connect.
int dial_tcp(int port, int netns_pidfd = -1);

// Runs `cmd` with /bin/sh: its output without the final newline. Throws when it fails.
std::string shell(const std::string& cmd);

// The p-th percentile (nearest rank) of `v`; 0 for an empty sample.
double percentile(std::vector<double> v, double p);

}  // namespace berth::bench
