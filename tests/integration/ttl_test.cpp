// Time to live against the real server and agents: the deadline scheduler stops an idle
// workspace when its deadline passes, never one whose agent connection is in use (a long
// execute), and stopping keeps the workspace's files.
#include <gtest/gtest.h>

#include <thread>

#include "berth/core/clock.hpp"
#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kShell = "name: shell\nagents:\n  - name: main\n";

json content(const json& call_result) { return call_result["structuredContent"]; }

std::optional<UnixMillis> time_of(const json& j) {
  return j.is_string() ? parse_rfc3339(j.get<std::string>()) : std::nullopt;
}

bool stopped_by_deadline(const json& w) {
  return w["status"] == "stopped" && w["latest_build"]["reason"] == "autostop";
}

TEST(TimeToLive, AnIdleWorkspaceStopsAtItsDeadlineAndKeepsItsFiles) {
  TestServer server;
  server.push_template(kShell);
  auto api = server.admin();
  auto ws =
      api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "brief"}, {"ttl_ms", 1500}});
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string id = (*ws)["id"];
  EXPECT_TRUE((*ws)["deadline"].is_null()) << "no deadline before the build succeeds";
  auto ready = wait_settled(api, id);
  ASSERT_EQ(ready["status"], "running") << ready.dump();
  ASSERT_TRUE(ready["deadline"].is_string()) << ready.dump();
  // The deadline is the build's completion plus the TTL.
  const auto completed = time_of(ready["latest_build"]["job"]["completed_at"]);
  const auto deadline = time_of(ready["deadline"]);
  ASSERT_TRUE(completed && deadline) << ready.dump();
  EXPECT_EQ(*deadline - *completed, 1500);

  const std::string agent_id = ready["agents"][0]["id"];
  auto wrote = api.post("/api/v1/agents/" + agent_id + "/files/write",
                        {{"path", "notes.txt"}, {"content", "kept"}});
  ASSERT_TRUE(wrote) << wrote.error().message;

  auto stopped = poll_workspace(api, id, stopped_by_deadline, 15s);
  EXPECT_TRUE(stopped["deadline"].is_null()) << stopped.dump();
  EXPECT_EQ(stopped["latest_build"]["initiator_id"], ready["owner_id"]);
  auto shown = server.cli({"workspaces", "show", "brief"});
  EXPECT_NE(shown.out.find("(stop, deadline passed): succeeded"), std::string::npos) << shown.out;

  // Starting again finds the files, and sets a new deadline.
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/start", json::object()));
  auto again = wait_settled(api, id);
  ASSERT_EQ(again["status"], "running") << again.dump();
  EXPECT_TRUE(again["deadline"].is_string());
  auto read =
      api.post("/api/v1/agents/" + again["agents"][0]["id"].get<std::string>() + "/files/read",
               {{"path", "notes.txt"}});
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ((*read)["content"], "kept");
}

TEST(TimeToLive, ALongExecuteKeepsTheWorkspaceRunningPastItsDeadline) {
  TestServer server;
  server.push_template(kShell);
  // agents_workspace_ttl cannot go below a minute, so the chat gets a workspace made with a
  // short TTL through the API.
  auto api = server.admin();
  auto ws =
      api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "busy"}, {"ttl_ms", 3000}});
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string id = (*ws)["id"];
  ASSERT_EQ(wait_settled(api, id)["status"], "running");
  auto chat = api.post("/api/v1/chats", {{"key", "busy"}});
  ASSERT_TRUE(chat);
  ASSERT_TRUE(api.post("/api/v1/chats/" + (*chat)["id"].get<std::string>() + "/workspace",
                       {{"workspace", "busy"}}));
  McpClient mcp(server, server.admin_token(), "busy");

  // Five seconds of work on a 3 s TTL: the agent's connection is in use all along.
  auto started = std::chrono::steady_clock::now();
  auto ran = content(mcp.call("execute", {{"command", "sleep 5; echo done"}}));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(ran["exit_code"], 0) << ran.dump();
  EXPECT_EQ(ran["output"], "done\n");
  auto after = api.get("/api/v1/workspaces/" + id);
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)["status"], "running") << after->dump();
  EXPECT_EQ((*after)["latest_build"]["build_number"], 1) << "no stop build was made";

  // Tool calls move the deadline too; once the chat goes quiet the workspace stops.
  const auto before = time_of((*after)["deadline"]);
  ASSERT_TRUE(before);
  std::this_thread::sleep_for(300ms);
  content(mcp.call("read_file", {{"path", "/etc/hostname"}}));
  auto bumped = api.get("/api/v1/workspaces/" + id);
  ASSERT_TRUE(bumped);
  EXPECT_GT(time_of((*bumped)["deadline"]).value_or(0), *before) << bumped->dump();
  poll_workspace(api, id, stopped_by_deadline, 15s);
  auto next = content(mcp.call("execute", {{"command", "true"}}));
  EXPECT_NE(next["error"].get<std::string>().find("start_workspace"), std::string::npos)
      << next.dump();
}

}  // namespace
}  // namespace berth::testing
