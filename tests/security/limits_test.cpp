// A workspace cannot exhaust the host (the hardening issue, "Limits per workspace"): memory,
// processes and CPU per sandbox through control groups where the server can make them (root,
// cgroup v1, as here and in CI), with a clear word in the tool result when one is hit, and the
// server still answering.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

json content(const json& call_result) { return call_result["structuredContent"]; }

TEST(Limits, MemoryAndProcessLimitsHoldAndSayWhat) {
  TestServer server;
  auto pushed = server.push_template(R"(name: small
sandbox:
  limits: {memory: 256MiB, processes: 40, cpus: 0.5}
agents:
  - name: main
    chat: true
)");
  McpClient mcp(server, server.create_member("mallory"), "limits");
  mcp.call("create_workspace", {{"template_id", pushed["id"]}});
  ASSERT_EQ(wait_until_done(mcp)["status"], "ready");
  auto all = server.admin().get("/api/v1/workspaces");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  auto ws = server.admin().get("/api/v1/workspaces/" + (*all)[0]["id"].get<std::string>());
  ASSERT_TRUE(ws);
  auto logs = server.admin().get("/api/v1/builds/" +
                                 (*ws)["latest_build"]["id"].get<std::string>() + "/logs");
  ASSERT_TRUE(logs);
  std::string limits_line;
  for (const auto& l : *logs) {
    if (l["stage"] == "limits") limits_line = l["output"];
  }
  if (::geteuid() != 0) {
    EXPECT_NE(limits_line.find("limits: no control groups here"), std::string::npos) << limits_line;
    GTEST_SKIP() << "control groups need a root server";
  }
  EXPECT_TRUE(
      limits_line == "limits: 256 MiB of memory, 40 processes, 0.5 CPUs (control groups v1)" ||
      limits_line == "limits: 256 MiB of memory, 40 processes, 0.5 CPUs (control groups v2)")
      << limits_line;

  // 600 MB held by one process: killed, the agent and the server stay. (The limit leaves
  // room for an ASan-built agent, which alone holds about 64 MB.)
  auto hog = content(mcp.call(
      "execute", {{"command", "head -c 800000000 /dev/zero | tail -c 600000000 >/dev/null"}}));
  EXPECT_EQ(hog["exit_code"], 137) << hog.dump();
  EXPECT_NE(hog.value("message", "").find("memory limit"), std::string::npos) << hog.dump();
  // A fork bomb stops at the process limit.
  auto forks = content(mcp.call(
      "execute", {{"command", "for i in $(seq 100); do sleep 2 & done 2>&1 | tail -1; wait"}}));
  EXPECT_NE(forks["output"].get<std::string>().find("fork"), std::string::npos) << forks.dump();
  auto after = content(mcp.call("execute", {{"command", "echo still here"}}));
  EXPECT_EQ(after["output"], "still here\n") << after.dump();
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);

  // The groups end with the workspace.
  const std::string id = (*ws)["id"];
  auto api = server.admin();
  ASSERT_TRUE(api.del("/api/v1/workspaces/" + id));
  EXPECT_EQ(wait_settled(api, id)["readiness"]["phase"], "deleted");
  bool left = false;
  for (const auto& e : std::filesystem::recursive_directory_iterator(
           "/sys/fs/cgroup/pids", std::filesystem::directory_options::skip_permission_denied)) {
    if (e.path().filename() == "berth-" + id) left = true;
  }
  EXPECT_FALSE(left) << "the workspace's control group outlived it";
}

}  // namespace
}  // namespace berth::testing
