#pragma once
// A real `berth server` process for integration tests: its own data directory and port, real
// HTTP, real agent processes. Its store is SQLite in the data directory, or with
// BERTH_TEST_STORE=postgres a fresh database in the test PostgreSQL (the same tests on both). Every
// process it started (server, agents, sandboxes) is killed when the test ends.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/cli/http_client.hpp"

namespace berth::testing {

using nlohmann::json;
using namespace std::chrono_literals;

struct ServerFlags {
  std::string agent_inactive_timeout = "2s";
  std::string build_timeout = "60s";
  bool example_templates = false;
  std::string tool_wait_budget = "50s";
  std::string prebuild_backoff = "200ms";
  bool allow_unisolated = false;  // --allow-unisolated: templates with isolation process/script
  int max_open_files = 0;         // > 0: the server runs under this RLIMIT_NOFILE (soft and hard)
  std::vector<std::string> extra_args;  // more `berth server` flags
  std::vector<std::string> extra_env;   // more NAME=VALUE for the server's environment
  // A database to share with other servers (a replica); "" = its own, as BERTH_TEST_STORE says.
  std::string database_url;
};

// True when the suite runs on PostgreSQL (BERTH_TEST_STORE=postgres), where servers can share
// one database.
bool postgres_store();

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class TestServer {
 public:
  explicit TestServer(ServerFlags flags = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  void start();
  void kill_hard();  // SIGKILL, like a crash
  void restart() {
    kill_hard();
    start();
  }

  const std::filesystem::path& data_dir() const { return dir_; }
  // The flags the next start() uses (change them, then restart()).
  ServerFlags& flags() { return flags_; }
  const std::string& url() const { return url_; }
  const std::string& admin_token() const { return admin_token_; }
  // The server's PostgreSQL database ("" on SQLite): pass it to replicas in ServerFlags.
  const std::string& database_url() const { return database_url_; }
  // The server's pid (-1 when not running).
  int pid() const { return pid_; }
  cli::ApiClient admin() const { return cli::ApiClient(url_, admin_token_); }
  cli::ApiClient client(const std::string& token) const { return cli::ApiClient(url_, token); }
  std::string server_log() const;

  // Pushes template.yaml text as the admin; fails the test on error.
  json push_template(const std::string& yaml);
  // Creates a user in the default organization and returns a token for it.
  std::string create_member(const std::string& username);

  // Runs the berth CLI against this server.
  CliResult cli(const std::vector<std::string>& args, const std::string& token = "") const;
  // Runs the berth CLI with only `env` (NAME=VALUE) of Berth's settings and `input` on its
  // standard input; BERTH_CONFIG points into the data directory unless `env` sets it.
  CliResult cli_env(const std::vector<std::string>& args, const std::vector<std::string>& env,
                    const std::string& input = "") const;
  // Starts `berth ARGS...` in `cwd` (created; keep it under data_dir() so the test's end kills
  // the process) with its output in cwd/berth.out and cwd/berth.log. Returns the pid.
  int spawn_berth(const std::vector<std::string>& args, const std::filesystem::path& cwd) const;

 private:
  ServerFlags flags_;
  std::filesystem::path dir_;
  int pid_ = -1;
  std::string url_;
  std::string admin_token_;
  // With BERTH_TEST_STORE=postgres: the server's own database in the test PostgreSQL.
  std::string database_url_;
  // What spawn_berth started: killed with the server (an external agent is non-dumpable, so
  // an unprivileged test cannot find it by its working directory).
  mutable std::vector<int> spawned_;
};

// A test CA, a server certificate it signed for 127.0.0.1 and localhost, and an unrelated CA
// (made with the openssl command in `dir`).
struct TestCertificates {
  std::filesystem::path ca;        // PEM CA certificate
  std::filesystem::path cert;      // server certificate (127.0.0.1, localhost)
  std::filesystem::path key;       // its key
  std::filesystem::path other_ca;  // a CA that signed nothing here
};
TestCertificates make_test_certificates(const std::filesystem::path& dir);

// Waits for a child to exit: its exit code, or nullopt after `timeout`.
std::optional<int> wait_exit(int pid, std::chrono::milliseconds timeout);

// Long-polls until the workspace settles; returns the workspace JSON with "readiness".
json wait_settled(cli::ApiClient& api, const std::string& workspace_id,
                  std::chrono::seconds timeout = 30s);
// Polls GET /workspaces/{id} until `pred` holds (for states with no wait endpoint, such as an
// agent becoming disconnected). Fails the test after `timeout`.
json poll_workspace(cli::ApiClient& api, const std::string& workspace_id,
                    const std::function<bool(const json&)>& pred,
                    std::chrono::seconds timeout = 20s);

// A raw HTTP exchange, for what the API client does not expose (headers, odd requests).
struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  json json_body() const { return json::parse(body, nullptr, false); }
};
HttpReply http_request(const std::string& url, const std::string& method, const std::string& path,
                       const std::map<std::string, std::string>& headers,
                       const std::string& body = "");

// The environment of a running process (to take an agent's token, as its owner could).
std::map<std::string, std::string> process_environment(int pid);
// Pids of agent processes whose working directory is under `dir`, and of sandboxes (bwrap)
// whose command line names a path under it.
std::vector<int> agent_pids_under(const std::filesystem::path& dir);
std::string read_file(const std::filesystem::path& path);

}  // namespace berth::testing
