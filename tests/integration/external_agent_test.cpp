// External agents against the real server: a template whose agent runs on the user's own host.
// The build starts nothing; `berth workspaces agent-token` mints the token and prints the
// command; a real `berth agent` started late connects with it, the chat tools work through it,
// and it is told to exit when its workspace stops.
#include <gtest/gtest.h>

#include <regex>

#include "berth/core/agent_protocol.hpp"
#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kExternal = R"(name: ext
agents:
  - name: main
    external: true
    startup_script: echo started > started.txt
)";

json content(const json& call_result) { return call_result["structuredContent"]; }

// The token in "BERTH_AGENT_TOKEN=TOKEN berth agent --url URL".
std::string token_in(const std::string& command) {
  std::smatch m;
  if (!std::regex_search(command, m, std::regex("BERTH_AGENT_TOKEN=(berth_[0-9a-f_]+|[0-9a-f]+)")))
    return "";
  return m[1];
}

int connect_status(const TestServer& server, const std::string& token) {
  return http_request(server.url(), "GET", std::string(agent_protocol::kConnectPath),
                      {{"Authorization", "Bearer " + token},
                       {"Connection", "Upgrade"},
                       {"Upgrade", "websocket"},
                       {"Sec-WebSocket-Version", "13"},
                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}})
      .status;
}

TEST(ExternalAgents, ConnectLateWithAMintedTokenAndExitWhenTheWorkspaceStops) {
  TestServer server({.tool_wait_budget = "2s"});
  server.push_template(kExternal);
  auto api = server.admin();
  auto ws = api.post("/api/v1/workspaces", {{"template", "ext"}, {"name", "mybox"}});
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string ws_id = (*ws)["id"];
  auto built = poll_workspace(
      api, ws_id, [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });
  EXPECT_EQ(built["agents"][0]["status"], "connecting") << built.dump();
  // The build log tells the user where the command comes from.
  auto log = server.cli({"workspaces", "logs", "mybox"});
  EXPECT_NE(log.out.find("berth workspaces agent-token mybox --agent main"), std::string::npos)
      << log.out;

  auto unknown = server.cli({"workspaces", "agent-token", "mybox", "--agent", "nope"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("workspace mybox has no agent \"nope\""), std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("its agents are: main"), std::string::npos) << unknown.err;

  auto printed = server.cli({"workspaces", "agent-token", "mybox"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find(" berth agent --url " + server.url()), std::string::npos)
      << printed.out;
  const std::string first = token_in(printed.out);
  ASSERT_EQ(first.size(), 64u) << printed.out;

  // Asking again retires the first token.
  auto minted = api.post("/api/v1/workspaces/" + ws_id + "/agent-token", json::object());
  ASSERT_TRUE(minted) << minted.error().message;
  const std::string token = (*minted)["token"];
  EXPECT_NE(token, first);
  EXPECT_EQ((*minted)["agent_name"], "main");
  EXPECT_EQ((*minted)["command"],
            "BERTH_AGENT_TOKEN=" + token + " berth agent --url " + server.url());
  EXPECT_EQ(connect_status(server, first), 401);

  // The chat sees the offline agent, then the agent connects late and the tools work.
  auto chat = api.post("/api/v1/chats", {{"key", "late"}});
  ASSERT_TRUE(chat);
  ASSERT_TRUE(api.post("/api/v1/chats/" + (*chat)["id"].get<std::string>() + "/workspace",
                       {{"workspace", "mybox"}}));
  McpClient mcp(server, server.admin_token(), "late");
  auto offline = mcp.call("execute", {{"command", "true"}});
  EXPECT_EQ(offline["isError"], true);
  EXPECT_NE(content(offline)["error"].get<std::string>().find("externally managed agent"),
            std::string::npos)
      << offline.dump();

  const auto host = server.data_dir() / "users-host";
  int agent = server.spawn_berth({"agent", "--url", server.url(), "--token", token}, host);
  ASSERT_GT(agent, 0);
  auto done = wait_until_done(mcp);
  EXPECT_EQ(done["status"], "ready") << done.dump();
  auto ran = content(mcp.call("execute", {{"command", "pwd; cat started.txt"}}));
  EXPECT_EQ(ran["exit_code"], 0) << ran.dump();
  EXPECT_EQ(ran["output"], host.string() + "\nstarted\n") << ran.dump();

  // Stopping cannot kill a process on someone else's host: the server tells it to exit.
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + ws_id + "/stop", json::object()));
  auto code = wait_exit(agent, 15s);
  ASSERT_TRUE(code.has_value()) << "the external agent kept running after the stop";
  EXPECT_EQ(*code, 2);
  EXPECT_NE(read_file(host / "berth.out").find("the server rejected this agent"), std::string::npos)
      << read_file(host / "berth.out");
  auto stopped = wait_settled(api, ws_id);
  EXPECT_EQ(stopped["status"], "stopped") << stopped.dump();
  auto again = server.cli({"workspaces", "agent-token", "mybox"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("workspace mybox is not running, so its agents cannot connect"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(connect_status(server, token), 410);
}

TEST(ExternalAgents, TokensOnlyForExternalAgents) {
  TestServer server;
  server.push_template("name: shell\nagents:\n  - name: main\n");
  server.push_template(R"(name: pair
agents:
  - name: one
    external: true
  - name: two
    external: true
  - name: local
)");
  auto api = server.admin();
  auto shell = api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "box"}});
  auto pair = api.post("/api/v1/workspaces", {{"template", "pair"}, {"name", "pair"}});
  ASSERT_TRUE(shell && pair);
  wait_settled(api, (*shell)["id"]);
  poll_workspace(api, (*pair)["id"],
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });

  auto own = server.cli({"workspaces", "agent-token", "box"});
  EXPECT_NE(own.exit_code, 0);
  EXPECT_NE(own.err.find("workspace box has no external agents; Berth starts its agents itself"),
            std::string::npos)
      << own.err;
  auto several = server.cli({"workspaces", "agent-token", "pair"});
  EXPECT_NE(several.exit_code, 0);
  EXPECT_NE(several.err.find("workspace pair has several external agents (one, two)"),
            std::string::npos)
      << several.err;
  EXPECT_NE(several.err.find("--agent NAME"), std::string::npos) << several.err;
  auto local = server.cli({"workspaces", "agent-token", "pair", "--agent", "local"});
  EXPECT_NE(local.exit_code, 0);
  EXPECT_NE(local.err.find("agent local of workspace pair is started by Berth"), std::string::npos)
      << local.err;
  auto two = server.cli({"--json", "workspaces", "agent-token", "pair", "--agent", "two"});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(json::parse(two.out)["agent_name"], "two") << two.out;

  // Another member cannot mint a token for someone else's workspace.
  auto other = server.cli({"workspaces", "agent-token", "admin/pair", "--agent", "two"},
                          server.create_member("mallory"));
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("workspace admin/pair not found"), std::string::npos) << other.err;
}

}  // namespace
}  // namespace berth::testing
