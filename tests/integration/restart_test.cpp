// The server is killed (SIGKILL) and started again: everything it reported survives, every
// job reaches a final state, agents reconnect.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

TEST(Restart, ReadyWorkspaceSurvivesAndItsAgentReconnects) {
  TestServer server;
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "t"}, {"name", "keep"}});
  ASSERT_TRUE(created);
  const std::string id = created->value("id", "");
  auto before = wait_settled(api, id);
  ASSERT_EQ(before["readiness"]["phase"], "ready");

  server.restart();
  api = server.admin();
  auto after = poll_workspace(api, id, [](const json& ws) {
    return !ws["agents"].empty() && ws["agents"][0]["status"] == "connected";
  });
  EXPECT_EQ(after["name"], "keep");
  EXPECT_EQ(after["latest_build"]["id"], before["latest_build"]["id"]);
  EXPECT_EQ(after["agents"][0]["id"], before["agents"][0]["id"]);
  EXPECT_EQ(after["agents"][0]["lifecycle_state"], "ready") << "the agent keeps its state";
  // Stop still ends the agent started by the previous server process.
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/stop", json::object()));
  EXPECT_EQ(wait_settled(api, id)["readiness"]["phase"], "stopped");
  EXPECT_TRUE(agent_pids_under(server.data_dir() / "workspaces" / id).empty());
}

TEST(Restart, KilledMidBuildEveryJobReachesAFinalState) {
  TestServer server;
  server.push_template("name: slow\nagents:\n  - name: main\nscripts:\n  start: sleep 30\n");
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto slow = api.post("/api/v1/workspaces", {{"template", "slow"}, {"name", "mid"}});
  ASSERT_TRUE(slow);
  const std::string slow_id = slow->value("id", "");
  poll_workspace(api, slow_id,
                 [](const json& ws) { return ws["latest_build"]["job"]["status"] == "running"; });

  server.kill_hard();
  server.start();
  api = server.admin();
  auto ws = wait_settled(api, slow_id);
  EXPECT_EQ(ws["latest_build"]["job"]["status"], "failed");
  EXPECT_EQ(ws["latest_build"]["job"]["error_code"], "PROVISIONER_LOST");
  EXPECT_NE(ws["latest_build"]["job"].value("error", "").find("start the workspace again"),
            std::string::npos);

  // Nothing is lost: the workspace can be started again, and new work flows.
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + slow_id + "/start", json::object()));
  poll_workspace(api, slow_id,
                 [](const json& w) { return w["latest_build"]["build_number"] == 2; });
  auto fresh = api.post("/api/v1/workspaces", {{"template", "t"}});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(wait_settled(api, fresh->value("id", ""))["readiness"]["phase"], "ready");
}

TEST(Restart, PendingJobsAreRunAfterRestart) {
  TestServer server;
  server.push_template("name: slow\nagents:\n  - name: main\nscripts:\n  start: sleep 30\n");
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto api = server.admin();
  // One running build, then a stop queued behind it on the same workspace is refused, but a
  // new workspace's build is pending until the provisioner takes it.
  auto a = api.post("/api/v1/workspaces", {{"template", "t"}, {"name", "a"}});
  ASSERT_TRUE(a);
  server.kill_hard();  // possibly before the provisioner claimed it
  server.start();
  api = server.admin();
  auto ws = wait_settled(api, a->value("id", ""));
  auto phase = ws["readiness"].value("phase", "");
  EXPECT_TRUE(phase == "ready" || phase == "build_failed") << phase;
  EXPECT_NE(ws["latest_build"]["job"]["status"], "running");
  EXPECT_NE(ws["latest_build"]["job"]["status"], "pending");
}

TEST(Restart, SecondServerOnTheSameDataDirIsRefused) {
  TestServer server;
  auto r =
      server.cli({"server", "--data-dir", server.data_dir().string(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another berth server"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pass a different --data-dir"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::testing
