// A workspace is a boundary (findings 1, 2, 5, 9, 15 and 16 of the hardening issue): code in a
// member's workspace is run as its attacker would run it, through the member's own token and
// the chat tools, against a real server with real sandboxes. The suite runs as root in CI;
// where root changes the outcome (host uids) both cases are asserted.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSandbox = R"(name: box
agents:
  - name: main
    chat: true
scripts:
  stop: echo stopping
)";

json content(const json& call_result) { return call_result["structuredContent"]; }

// A member with a ready workspace of `yaml` (pushed by the site admin), through MCP.
struct MemberWorkspace {
  MemberWorkspace(TestServer& s, const std::string& yaml, const std::string& user = "mallory")
      : server(s), token(s.create_member(user)), mcp(s, token, user) {
    auto pushed = s.push_template(yaml);
    mcp.call("create_workspace", {{"template_id", pushed["id"]}, {"name", user + "-ws"}});
    auto done = wait_until_done(mcp);
    EXPECT_EQ(done["status"], "ready") << done.dump();
    auto ws = s.admin().get("/api/v1/workspaces/" + user + "%2F" + user + "-ws");
    EXPECT_TRUE(ws);
    if (ws) id = (*ws)["id"];
  }
  json run(const std::string& command) {
    return content(mcp.call("execute", {{"command", command}, {"timeout_ms", 20000}}));
  }
  fs::path dir() const { return server.data_dir() / "workspaces" / id; }

  TestServer& server;
  std::string token;
  McpClient mcp;
  std::string id;
};

std::string status_field(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) return line.substr(field.size() + 1);
  }
  return "";
}

int host_uid_of(int pid) {
  std::istringstream uids(status_field(pid, "Uid"));
  int uid = -1;
  uids >> uid;
  return uid;
}

// Finding 1: `process` was the default, and a member's workspace read the server's files.
TEST(WorkspaceBoundary, AMemberCannotReadTheServersDataFromTheDefaultTemplate) {
  TestServer server({.example_templates = true});
  const std::string admin_token = server.admin_token();
  const std::string member = server.create_member("mallory");
  McpClient mcp(server, member, "attack");
  auto listed = content(mcp.call("list_templates"));
  std::string shell_id;
  for (const auto& t : listed["templates"]) {
    if (t["name"] == "shell") shell_id = t["id"];
  }
  ASSERT_FALSE(shell_id.empty()) << listed.dump();
  mcp.call("create_workspace", {{"template_id", shell_id}});
  ASSERT_EQ(wait_until_done(mcp)["status"], "ready");

  const std::string data = server.data_dir().string();
  auto ran = content(mcp.call(
      "execute", {{"command", "cat " + data + "/admin.token; ls " + data + "; cat " + data +
                                  "/berth.db | head -c 100; ls /; cat /etc/shadow; ls /root"}}));
  const std::string out = ran["output"];
  EXPECT_EQ(out.find(admin_token), std::string::npos) << "the admin token leaked";
  EXPECT_NE(out.find(data + "/admin.token: No such file or directory"), std::string::npos) << out;
  EXPECT_NE(out.find("/etc/shadow: No such file or directory"), std::string::npos) << out;
  EXPECT_EQ(out.find("SQLite format"), std::string::npos) << out;
  EXPECT_NE(out.find("home\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("root\n"), std::string::npos) << "/root is not in the sandbox: " << out;

  // Every example template is sandboxed.
  auto templates = server.admin().get("/api/v1/templates");
  ASSERT_TRUE(templates);
  for (const auto& t : *templates) {
    auto full = server.admin().get("/api/v1/templates/" + t["name"].get<std::string>());
    ASSERT_TRUE(full);
    EXPECT_EQ((*full)["isolation"], "sandbox") << full->dump();
  }
}

// Finding 2: as root, the sandbox kept every capability in the host's namespaces and sniffed
// other users' tokens on lo; without root it shared the host network and all of /etc.
TEST(WorkspaceBoundary, TheSandboxHasNoPrivilegesNoHostNetworkAndItsOwnUid) {
  TestServer server;
  MemberWorkspace ws(server, kSandbox);
  auto ran = ws.run(
      "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; id -u; "
      "perl -e 'socket(S, 17, 3, 0) or print \"packet socket: $!\\n\"'; "
      "perl -e 'socket(S, 40, 1, 0) or print \"vsock: $!\\n\"'; "
      "unshare -Ur true 2>&1 | head -1; "
      "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" +
      server.url().substr(server.url().rfind(':') + 1) +
      "' 2>&1 | head -1; ls /etc; ip -o link 2>/dev/null | wc -l");
  const std::string out = ran["output"];
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
  EXPECT_NE(out.find("Seccomp:\t2"), std::string::npos) << out;
  EXPECT_NE(out.find("\n1000\n"), std::string::npos) << out;
  EXPECT_NE(out.find("packet socket: Address family not supported by protocol"), std::string::npos)
      << out;
  EXPECT_NE(out.find("vsock: Address family not supported by protocol"), std::string::npos) << out;
  EXPECT_NE(out.find("unshare failed: Operation not permitted"), std::string::npos) << out;
  // The server's port on the host's loopback is not reachable: the sandbox has its own lo.
  EXPECT_NE(out.find("Connection refused"), std::string::npos) << out;
  EXPECT_EQ(out.find("shadow"), std::string::npos) << out;
  EXPECT_EQ(out.find("ssh"), std::string::npos) << out;

  // From the host: the sandbox never runs as host root.
  auto pids = agent_pids_under(ws.dir());
  ASSERT_FALSE(pids.empty());
  for (int pid : pids) {
    const int uid = host_uid_of(pid);
    if (::geteuid() == 0) {
      EXPECT_GE(uid, 200'000) << "a root server runs each sandbox as a host uid of its own";
    } else {
      EXPECT_EQ(uid, static_cast<int>(::geteuid()));
    }
  }
  // A second member's sandbox gets another host uid (root servers).
  MemberWorkspace other(server, kSandbox, "trudy");
  auto other_pids = agent_pids_under(other.dir());
  ASSERT_FALSE(other_pids.empty());
  if (::geteuid() == 0) {
    EXPECT_NE(host_uid_of(other_pids[0]), host_uid_of(pids[0]));
  }
  // And it cannot see the first one's files or processes.
  auto peek = other.run("ls " + ws.dir().string() + " 2>&1; ps -e -o comm= | sort -u");
  EXPECT_NE(peek["output"].get<std::string>().find("No such file or directory"), std::string::npos)
      << peek.dump();
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
}

// Finding 5: an organization admin obtained the site admin token through a start script
// (process isolation runs it on the host as the server's user).
TEST(WorkspaceBoundary, UnisolatedTemplatesAreRefusedAndSiteAdminOnly) {
  const std::string steal = R"(name: steal
isolation: process
agents:
  - name: main
scripts:
  start: cat ../../admin.token
)";
  for (bool allowed : {false, true}) {
    TestServer server({.allow_unisolated = allowed});
    auto api = server.admin();
    ASSERT_TRUE(api.post("/api/v1/users",
                         {{"username", "carol"}, {"organization", "default"}, {"role", "admin"}}));
    auto token = api.post("/api/v1/tokens", {{"username", "carol"}});
    ASSERT_TRUE(token);
    auto carol = server.client((*token)["token"]);
    auto pushed = carol.post("/api/v1/templates", {{"files", {{"template.yaml", steal}}}});
    ASSERT_FALSE(pushed);
    if (allowed) {
      EXPECT_EQ(pushed.error().code, ErrorCode::permission_denied);
      EXPECT_EQ(pushed.error().message,
                "template steal uses isolation: process, which runs its commands on the "
                "server's host as the server's user; only site admins may push such templates");
    } else {
      EXPECT_EQ(pushed.error().code, ErrorCode::failed_precondition);
      EXPECT_EQ(pushed.error().message,
                "template steal uses isolation: process, which runs its commands on the "
                "server's host as the server's user, and this server refuses that");
      EXPECT_EQ(pushed.error().detail,
                "use isolation: sandbox, or (single-user development) start the server with "
                "--allow-unisolated");
      // Site admins too: without the flag no host command runs.
      auto by_admin = api.post("/api/v1/templates", {{"files", {{"template.yaml", steal}}}});
      ASSERT_FALSE(by_admin);
      EXPECT_EQ(by_admin.error().code, ErrorCode::failed_precondition);
    }
    EXPECT_TRUE(api.get("/api/v1/templates")->empty());
    EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
  }
}

// A template pushed while the server allowed unisolated runs is refused by its builds once
// the server no longer does.
TEST(WorkspaceBoundary, BuildsOfUnisolatedTemplatesFailWithoutTheFlag) {
  TestServer server({.allow_unisolated = true});
  server.push_template("name: host\nisolation: process\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto first = api.post("/api/v1/workspaces", {{"template", "host"}, {"name", "h1"}});
  ASSERT_TRUE(first);
  EXPECT_EQ(wait_settled(api, (*first)["id"])["readiness"]["phase"], "ready");

  server.flags().allow_unisolated = false;
  server.restart();
  api = server.admin();  // the restarted server listens on a new port
  auto second = api.post("/api/v1/workspaces", {{"template", "host"}, {"name", "h2"}});
  ASSERT_TRUE(second);
  auto failed = wait_settled(api, (*second)["id"]);
  EXPECT_EQ(failed["latest_build"]["job"]["status"], "failed") << failed.dump();
  EXPECT_EQ(failed["latest_build"]["job"]["error_code"], "UNISOLATED_REFUSED") << failed.dump();
  EXPECT_EQ(failed["latest_build"]["job"]["error"],
            "template host uses isolation: process, which runs commands on the server's host as "
            "the server's user, and this server refuses that; push it with isolation: sandbox, "
            "or start the server with --allow-unisolated");
}

// Finding 9: a background process survived stop and delete.
TEST(WorkspaceBoundary, NothingOutlivesStopOrDelete) {
  TestServer server;
  MemberWorkspace ws(server, kSandbox);
  auto count_sleepers = [] {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::string cmd = read_file(e.path() / "cmdline");
      if (cmd.find("sleep") != std::string::npos && cmd.find("987654") != std::string::npos) ++n;
    }
    return n;
  };
  ws.run("nohup sleep 987654 >/dev/null 2>&1 & setsid sleep 987654 >/dev/null 2>&1 < /dev/null &");
  EXPECT_EQ(count_sleepers(), 2);
  auto stopped = content(ws.mcp.call("stop_workspace"));
  auto api = server.admin();
  EXPECT_EQ(wait_settled(api, ws.id)["readiness"]["phase"], "stopped");
  EXPECT_EQ(count_sleepers(), 0) << "a background process outlived stop";
  EXPECT_TRUE(agent_pids_under(ws.dir()).empty());

  content(ws.mcp.call("start_workspace"));
  ASSERT_EQ(wait_until_done(ws.mcp)["status"], "ready");
  ws.run("nohup sleep 987654 >/dev/null 2>&1 &");
  EXPECT_EQ(count_sleepers(), 1);
  ASSERT_TRUE(api.del("/api/v1/workspaces/" + ws.id));
  EXPECT_EQ(wait_settled(api, ws.id)["readiness"]["phase"], "deleted");
  EXPECT_EQ(count_sleepers(), 0) << "a background process outlived delete";
}

// Finding 15: the agent's token was in the environment of every command.
TEST(WorkspaceBoundary, CommandsCannotReadTheAgentsToken) {
  TestServer server;
  MemberWorkspace ws(server, kSandbox);
  auto ran = ws.run(
      "env; for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null | tr '\\0' '\\n'; "
      "done");
  const std::string out = ran["output"];
  EXPECT_EQ(out.find("BERTH_AGENT_TOKEN="), std::string::npos) << out;
  // Tokens are 64 hex digits; nothing of the kind is readable from inside.
  EXPECT_FALSE(std::regex_search(out, std::regex("[0-9a-f]{64}"))) << out;
  // The agent's own /proc files are closed to the workspace's code.
  auto mem = ws.run("cat /proc/2/environ >/dev/null; head -c 1 /proc/2/mem");
  EXPECT_NE(mem["output"].get<std::string>().find("Permission denied"), std::string::npos)
      << mem.dump();
}

// Finding 15: script and external agent tokens sat on command lines.
TEST(WorkspaceBoundary, AnAgentTokenGivenOnTheCommandLineIsOverwritten) {
  TestServer server;
  server.push_template("name: ext\nagents:\n  - name: main\n    external: true\n");
  auto api = server.admin();
  auto ws = api.post("/api/v1/workspaces", {{"template", "ext"}});
  ASSERT_TRUE(ws);
  poll_workspace(api, (*ws)["id"],
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });
  auto minted = api.post("/api/v1/workspaces/" + (*ws)["id"].get<std::string>() + "/agent-token",
                         json::object());
  ASSERT_TRUE(minted);
  const std::string token = (*minted)["token"];
  EXPECT_TRUE((*minted)["command"].get<std::string>().starts_with("BERTH_AGENT_TOKEN=" + token +
                                                                  " berth agent --url "));
  int pid = server.spawn_berth({"agent", "--url", server.url(), "--token", token},
                               server.data_dir() / "host");
  ASSERT_GT(pid, 0);
  poll_workspace(api, (*ws)["id"],
                 [](const json& w) { return w["agents"][0]["status"] == "connected"; });
  std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  EXPECT_EQ(cmdline.find(token), std::string::npos) << "the token is readable in cmdline";
  EXPECT_NE(cmdline.find(std::string(token.size(), 'x')), std::string::npos);
}

// Finding 16: after a restart, stop killed whatever process had been given the stored pid.
TEST(WorkspaceBoundary, StopNeverSignalsAProcessThatReusedAnAgentsPid) {
  TestServer server;
  server.push_template(kSandbox);
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "box"}, {"name", "p"}});
  ASSERT_TRUE(created);
  const std::string id = (*created)["id"];
  ASSERT_EQ(wait_settled(api, id)["readiness"]["phase"], "ready");

  // An unrelated process of the host, and the agent's row pointing at it (as a reused pid).
  pid_t bystander = ::fork();
  if (bystander == 0) {
    ::setsid();
    // Named like one of ours, as an old check on the command line ("berth") would accept.
    ::execl("/bin/sleep", "berth-bystander", "300", nullptr);
    _exit(127);
  }
  server.kill_hard();
  for (int pid : agent_pids_under(server.data_dir() / "workspaces" / id)) ::kill(pid, SIGKILL);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((server.data_dir() / "berth.db").c_str(), &db), SQLITE_OK);
  std::string sql = "UPDATE workspace_agents SET pid = " + std::to_string(bystander);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  server.start();
  api = server.admin();  // the restarted server listens on a new port

  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/stop", json::object()));
  EXPECT_EQ(wait_settled(api, id)["readiness"]["phase"], "stopped");
  EXPECT_EQ(::waitpid(bystander, nullptr, WNOHANG), 0) << "stop killed an unrelated process";
  ::kill(bystander, SIGKILL);
  ::waitpid(bystander, nullptr, 0);
}

// Finding 16: a sandbox's stop script ran unsandboxed, on the host, when bubblewrap was
// missing.
TEST(WorkspaceBoundary, ASandboxStopScriptNeverRunsOnTheHost) {
  TestServer server;
  const auto marker = server.data_dir() / "stop-ran-on-the-host";
  server.push_template(R"(name: careful
agents:
  - name: main
scripts:
  stop: touch )" + marker.string() +
                       R"( || true
)");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "careful"}, {"name", "c"}});
  ASSERT_TRUE(created);
  const std::string id = (*created)["id"];
  ASSERT_EQ(wait_settled(api, id)["readiness"]["phase"], "ready");

  server.flags().extra_env = {"BERTH_BWRAP=/nonexistent/bwrap"};
  server.restart();
  api = server.admin();
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/stop", json::object()));
  auto stopped = wait_settled(api, id);
  EXPECT_EQ(stopped["latest_build"]["job"]["error_code"], "SANDBOX_UNAVAILABLE") << stopped.dump();
  EXPECT_EQ(stopped["latest_build"]["job"]["error"],
            "bubblewrap (bwrap) is not installed, so workspaces cannot be sandboxed; install the "
            "bubblewrap package");
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the stop script ran on the host";
  EXPECT_TRUE(agent_pids_under(server.data_dir() / "workspaces" / id).empty());

  // Delete still works: the script is skipped, and the log says so.
  ASSERT_TRUE(api.del("/api/v1/workspaces/" + id));
  EXPECT_EQ(wait_settled(api, id)["readiness"]["phase"], "deleted");
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
}

}  // namespace
}  // namespace berth::testing
