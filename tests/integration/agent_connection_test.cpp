// Agent connection status: killed -> disconnected, reconnected -> connected; frozen past the
// inactive timeout -> disconnected; old agents are refused.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

// An external agent: the test holds its token (minted over the API) and runs it by hand, as
// its owner would. Agents Berth starts get their token through a descriptor and keep it out
// of reach (tests/security).
constexpr const char* kTemplate = R"(name: t
agents:
  - name: main
    external: true
    startup_script: echo hi
)";

int start_agent(const std::string& url, const std::string& token, const fs::path& cwd) {
  fs::create_directories(cwd);
  std::string binary = BERTH_BINARY;
  std::string token_env = "BERTH_AGENT_TOKEN=" + token;
  std::string url_env = "BERTH_AGENT_URL=" + url;
  char* argv[] = {binary.data(), const_cast<char*>("agent"), nullptr};
  char* envp[] = {token_env.data(), url_env.data(), const_cast<char*>("PATH=/usr/bin:/bin"),
                  nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

struct Ready {
  std::string id;
  fs::path dir;  // where the agent runs (under the data directory, so the harness ends it)
  std::string token;
  int agent_pid = -1;
};

Ready make_ready(TestServer& server) {
  server.push_template(kTemplate);
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "t"}});
  EXPECT_TRUE(created);
  Ready r;
  r.id = created->value("id", "");
  poll_workspace(api, r.id,
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });
  auto minted = api.post("/api/v1/workspaces/" + r.id + "/agent-token", json::object());
  EXPECT_TRUE(minted);
  r.token = minted ? minted->value("token", "") : "";
  r.dir = server.data_dir() / "agent-host";
  r.agent_pid = start_agent(server.url(), r.token, r.dir);
  auto ws = wait_settled(api, r.id);
  EXPECT_EQ(ws["readiness"]["phase"], "ready") << ws.dump();
  return r;
}

std::string agent_status(const json& ws) { return ws["agents"][0].value("status", ""); }

TEST(AgentConnection, KilledAgentIsDisconnectedAndReconnectsWithItsToken) {
  TestServer server;
  auto r = make_ready(server);
  ASSERT_GT(r.agent_pid, 0);
  auto api = server.admin();

  ::kill(r.agent_pid, SIGKILL);
  ::waitpid(r.agent_pid, nullptr, 0);
  poll_workspace(api, r.id, [](const json& ws) { return agent_status(ws) == "disconnected"; });

  int pid = start_agent(server.url(), r.token, r.dir);
  ASSERT_GT(pid, 0);
  auto ws = poll_workspace(api, r.id, [](const json& ws) {
    return agent_status(ws) == "connected" && ws["agents"][0]["lifecycle_state"] == "ready";
  });
  EXPECT_EQ(agent_status(ws), "connected");
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(AgentConnection, FrozenAgentReadsDisconnectedAfterTheInactiveTimeout) {
  TestServer server({.agent_inactive_timeout = "1s"});
  auto r = make_ready(server);
  ASSERT_GT(r.agent_pid, 0);
  auto api = server.admin();
  ::kill(r.agent_pid, SIGSTOP);
  auto ws =
      poll_workspace(api, r.id, [](const json& ws) { return agent_status(ws) == "disconnected"; });
  ::kill(r.agent_pid, SIGCONT);
  poll_workspace(api, r.id, [](const json& ws) { return agent_status(ws) == "connected"; });
  ::kill(r.agent_pid, SIGKILL);
  ::waitpid(r.agent_pid, nullptr, 0);
}

TEST(AgentConnection, AgentOfAStoppedBuildIsRefused) {
  TestServer server;
  auto r = make_ready(server);
  auto api = server.admin();
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + r.id + "/stop", json::object()));
  wait_settled(api, r.id);
  ::waitpid(r.agent_pid, nullptr, 0);  // told to exit when its workspace stopped
  int pid = start_agent(server.url(), r.token, r.dir);
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(WIFEXITED(status)) << "the agent exits when its build is no longer current";
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST(AgentConnection, UnknownTokenIsRefused) {
  TestServer server;
  int pid = start_agent(server.url(), "not-a-token", server.data_dir());
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace berth::testing
