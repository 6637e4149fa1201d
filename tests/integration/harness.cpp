#include "tests/integration/harness.hpp"

#include "tests/support/pg_test_database.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "berth/core/ids.hpp"

extern char** environ;

namespace berth::testing {

namespace fs = std::filesystem;

namespace {

int spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
          const std::vector<std::string>& extra_env = {}, const fs::path& cwd = {},
          const fs::path& in = "/dev/null") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("BERTH_")) continue;  // the caller's own Berth settings stay out
    env_strings.emplace_back(kv);
  }
  for (const auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0].c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

void kill_tree_under(const fs::path& dir) {
  for (int round = 0; round < 3; ++round) {
    auto pids = agent_pids_under(dir);
    if (pids.empty()) return;
    for (int pid : pids) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    std::this_thread::sleep_for(50ms);
  }
}

// A killed server leaves its workspaces' control groups (berth-<id>, empty once their
// processes are gone): remove them, as a delete would have.
void remove_cgroups_of(const fs::path& workspaces) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(workspaces, ec)) {
    names.insert("berth-" + e.path().filename().string());
  }
  if (names.empty()) return;
  for (const char* controller : {"memory", "pids", "cpu"}) {
    std::vector<fs::path> found;
    fs::recursive_directory_iterator it(fs::path("/sys/fs/cgroup") / controller,
                                        fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it.depth() > 3) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_directory(ec) && names.count(it->path().filename().string())) {
        found.push_back(it->path());
        it.disable_recursion_pending();
      }
    }
    for (const auto& group : found) ::rmdir(group.c_str());
  }
}

}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TestServer::TestServer(ServerFlags flags) : flags_(std::move(flags)) {
  dir_ = fs::temp_directory_path() / ("berth-it-" + random_hex(6));
  fs::create_directories(dir_);
  if (!flags_.database_url.empty()) {
    database_url_ = flags_.database_url;
  } else if (postgres_store()) {
    database_url_ = create_test_database();
    EXPECT_FALSE(database_url_.empty()) << "no test database";
  }
  start();
}

TestCertificates make_test_certificates(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string d = dir.string();
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script = fmt::format(
      "cd '{0}' && openssl req -x509 {1} -keyout ca.key -out ca.pem -days 2 "
      "-subj '/CN=Berth Test CA' && "
      "openssl req -x509 {1} -keyout other.key -out other-ca.pem -days 2 -subj '/CN=Other CA' && "
      "openssl req {1} -keyout server.key -out server.csr -subj '/CN=127.0.0.1' && "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > ext.cnf && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 2 -extfile ext.cnf",
      d, key);
  EXPECT_EQ(std::system((script + " >certs.log 2>&1").c_str()), 0) << read_file(dir / "certs.log");
  return {dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "other-ca.pem"};
}

bool postgres_store() {
  const char* store = std::getenv("BERTH_TEST_STORE");
  return store && std::string_view(store) == "postgres";
}

TestServer::~TestServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (int pid : spawned_) {
    // Only a child not yet reaped (waitpid says 0) is still ours to kill.
    if (::waitpid(pid, nullptr, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  kill_tree_under(dir_);
  remove_cgroups_of(dir_ / "workspaces");
  if (!::testing::Test::HasFailure()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } else {
    std::cerr << "test data kept in " << dir_ << "\n--- server log (tail) ---\n";
    std::string log = server_log();
    std::cerr << (log.size() > 6000 ? log.substr(log.size() - 6000) : log) << "\n";
  }
}

void TestServer::start() {
  fs::remove(dir_ / "server.url");
  std::vector<std::string> args = {BERTH_BINARY,
                                   "server",
                                   "--data-dir",
                                   dir_.string(),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--agent-inactive-timeout",
                                   flags_.agent_inactive_timeout,
                                   "--build-timeout",
                                   flags_.build_timeout,
                                   "--tool-wait-budget",
                                   flags_.tool_wait_budget,
                                   "--prebuild-backoff",
                                   flags_.prebuild_backoff};
  if (!database_url_.empty()) args.insert(args.end(), {"--database", database_url_});
  if (flags_.allow_unisolated) args.push_back("--allow-unisolated");
  if (flags_.example_templates) {
    args.insert(args.end(),
                {"--example-templates", std::string(BERTH_SOURCE_DIR) + "/examples/templates"});
  } else {
    args.push_back("--no-example-templates");
  }
  args.insert(args.end(), flags_.extra_args.begin(), flags_.extra_args.end());
  if (flags_.max_open_files > 0) {
    // prlimit execs the server in place: pid_ is still the server's pid.
    const std::string n = std::to_string(flags_.max_open_files);
    args.insert(args.begin(), {"/usr/bin/prlimit", "--nofile=" + n + ":" + n, "--"});
  }
  pid_ = spawn(args, dir_ / "server.out", dir_ / "server.log", flags_.extra_env);
  ASSERT_GT(pid_, 0) << "cannot start " << BERTH_BINARY;
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!fs::exists(dir_ / "server.url")) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid_, &status, WNOHANG), 0) << "berth server exited:\n" << server_log();
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "berth server did not start:\n"
                                                       << server_log();
    std::this_thread::sleep_for(10ms);
  }
  url_ = read_file(dir_ / "server.url");
  while (!url_.empty() && url_.back() == '\n') url_.pop_back();
  // A replica joining a database made by another server has no admin.token of its own.
  if (fs::exists(dir_ / "admin.token")) admin_token_ = read_file(dir_ / "admin.token");
  while (!admin_token_.empty() && admin_token_.back() == '\n') admin_token_.pop_back();
}

void TestServer::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string TestServer::server_log() const {
  // spdlog writes to stdout (server.out); start-up errors go to stderr (server.log).
  return read_file(dir_ / "server.log") + read_file(dir_ / "server.out");
}

json TestServer::push_template(const std::string& yaml) {
  auto r = admin().post("/api/v1/templates", {{"files", {{"template.yaml", yaml}}}});
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : json();
}

std::string TestServer::create_member(const std::string& username) {
  auto api = admin();
  auto user = api.post("/api/v1/users", {{"username", username}});
  EXPECT_TRUE(user) << (user ? "" : user.error().message);
  auto token = api.post("/api/v1/tokens", {{"username", username}, {"name", "test"}});
  EXPECT_TRUE(token) << (token ? "" : token.error().message);
  return token ? token->value("token", "") : "";
}

CliResult TestServer::cli(const std::vector<std::string>& args, const std::string& token) const {
  return cli_env(args,
                 {"BERTH_URL=" + url_, "BERTH_TOKEN=" + (token.empty() ? admin_token_ : token)});
}

CliResult TestServer::cli_env(const std::vector<std::string>& args,
                              const std::vector<std::string>& env, const std::string& input) const {
  std::vector<std::string> argv = {BERTH_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string id = random_hex(4);
  fs::path out = dir_ / ("cli-" + id + ".out");
  fs::path err = dir_ / ("cli-" + id + ".err");
  fs::path in = dir_ / ("cli-" + id + ".in");
  {
    std::ofstream f(in);
    f << input;
  }
  // The test's own login config, never the user's (~/.config/berth); `env` may override it.
  std::vector<std::string> full_env = env;
  if (std::none_of(env.begin(), env.end(),
                   [](const std::string& e) { return e.starts_with("BERTH_CONFIG="); }))
    full_env.push_back("BERTH_CONFIG=" + (dir_ / "cli-config.json").string());
  int pid = spawn(argv, out, err, full_env, {}, in);
  CliResult r;
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  fs::remove(out);
  fs::remove(err);
  fs::remove(in);
  return r;
}

int TestServer::spawn_berth(const std::vector<std::string>& args, const fs::path& cwd) const {
  std::vector<std::string> argv = {BERTH_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  fs::create_directories(cwd);
  int pid = spawn(argv, cwd / "berth.out", cwd / "berth.log", {}, cwd);
  if (pid > 0) spawned_.push_back(pid);
  return pid;
}

std::optional<int> wait_exit(int pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 || std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

json wait_settled(cli::ApiClient& api, const std::string& id, std::chrono::seconds timeout) {
  auto r = api.get("/api/v1/workspaces/" + id + "/wait?timeout=" + std::to_string(timeout.count()) +
                   "s");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) return json();
  EXPECT_FALSE((*r)["readiness"].value("timed_out", true)) << r->dump(2);
  return *r;
}

json poll_workspace(cli::ApiClient& api, const std::string& id,
                    const std::function<bool(const json&)>& pred, std::chrono::seconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  json last;
  while (std::chrono::steady_clock::now() < until) {
    auto r = api.get("/api/v1/workspaces/" + id);
    if (r) {
      last = *r;
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "condition not reached; last state:\n" << last.dump(2);
  return last;
}

HttpReply http_request(const std::string& url, const std::string& method, const std::string& path,
                       const std::map<std::string, std::string>& headers, const std::string& body) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace bhttp = beast::http;
  auto u = boost::urls::parse_uri(url);
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(std::string(u->host()), std::string(u->port())));
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), path, 11};
  req.set(bhttp::field::host, std::string(u->host()) + ":" + std::string(u->port()));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);
  HttpReply reply;
  reply.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(f.value());
  }
  reply.body = res.body();
  return reply;
}

std::map<std::string, std::string> process_environment(int pid) {
  std::map<std::string, std::string> env;
  std::string raw = read_file("/proc/" + std::to_string(pid) + "/environ");
  std::size_t start = 0;
  while (start < raw.size()) {
    auto end = raw.find('\0', start);
    std::string kv = raw.substr(start, end - start);
    if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return env;
}

std::vector<int> agent_pids_under(const fs::path& dir) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    if (std::stoi(name) == ::getpid()) continue;
    // Unisolated agents run in their workspace directory; a sandbox's bwrap (outside and as
    // the sandbox's init) names it on its command line.
    auto cwd = fs::read_symlink(entry.path() / "cwd", ec);
    bool under = !ec && cwd.string().starts_with(dir.string());
    if (!under) {
      // An agent makes itself non-dumpable, so a server that is not root cannot read its cwd;
      // its command line (readable by all) names its executable under the data directory.
      std::string cmdline = read_file(entry.path() / "cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      under =
          cmdline.starts_with(dir.string() + "/") ||
          (cmdline.starts_with("bwrap ") && cmdline.find(" " + dir.string()) != std::string::npos);
    }
    if (under) pids.push_back(std::stoi(name));
  }
  return pids;
}

}  // namespace berth::testing
