// Builds and startup scripts that fail, hang or time out on purpose.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

json create_and_wait(TestServer& server, const std::string& tmpl) {
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", tmpl}});
  EXPECT_TRUE(created) << (created ? "" : created.error().message);
  if (!created) return json();
  return wait_settled(api, created->value("id", ""));
}

TEST(Failures, FailingStartScriptFailsTheBuildWithItsLastStderrLine) {
  TestServer server;
  server.push_template(R"(name: broken
agents:
  - name: main
scripts:
  start: |
    echo "installing"
    echo "warning: something odd" >&2
    echo "fatal: disk full" >&2
    exit 1
)");
  auto ws = create_and_wait(server, "broken");
  EXPECT_EQ(ws["readiness"]["phase"], "build_failed");
  const auto& job = ws["latest_build"]["job"];
  EXPECT_EQ(job["status"], "failed");
  EXPECT_EQ(job["error"], "start script exited with status 1: fatal: disk full");
  EXPECT_EQ(job["error_code"], "SCRIPT_FAILED");
  EXPECT_TRUE(ws["agents"].empty()) << "no agents start when the start script fails";

  auto cli = server.cli({"workspaces", "create", "--template", "broken", "--wait"});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.err.find("fatal: disk full"), std::string::npos) << cli.err;
}

TEST(Failures, StartupScriptErrorIsStartError) {
  TestServer server;
  server.push_template(R"(name: badstartup
agents:
  - name: main
    startup_script: |
      echo "about to fail"
      exit 3
)");
  auto ws = create_and_wait(server, "badstartup");
  EXPECT_EQ(ws["readiness"]["phase"], "agent_failed");
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "start_error");
  EXPECT_EQ(ws["readiness"]["message"], "agent main: startup script failed");
  auto logs = server.admin().get("/api/v1/agents/" + ws["agents"][0].value("id", "") + "/logs");
  ASSERT_TRUE(logs);
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_EQ((*logs)[1]["output"], "startup script exited with status 3");

  auto cli = server.cli({"workspaces", "create", "--template", "badstartup", "--wait"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.err.find("startup script failed"), std::string::npos) << cli.err;
}

TEST(Failures, StartupScriptTimeoutIsStartTimeout) {
  TestServer server;
  server.push_template(R"(name: slowstartup
agents:
  - name: main
    startup_script: sleep 60
    startup_script_timeout: 500ms
)");
  auto ws = create_and_wait(server, "slowstartup");
  EXPECT_EQ(ws["readiness"]["phase"], "agent_failed");
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "start_timeout");
  EXPECT_EQ(ws["agents"][0]["status"], "connected") << "the agent itself stays up";
}

TEST(Failures, BuildPastItsDeadlineIsFailed) {
  TestServer server({.build_timeout = "1s"});
  server.push_template(R"(name: hang
agents:
  - name: main
scripts:
  start: sleep 60
)");
  auto ws = create_and_wait(server, "hang");
  EXPECT_EQ(ws["readiness"]["phase"], "build_failed");
  EXPECT_EQ(ws["latest_build"]["job"]["error_code"], "DEADLINE_EXCEEDED");
  EXPECT_NE(ws["latest_build"]["job"]
                .value("error", "")
                .find("did not finish within the build timeout (1s)"),
            std::string::npos)
      << ws.dump(2);
}

TEST(Failures, AgentThatNeverConnectsTimesOut) {
  TestServer server;
  server.push_template(R"(name: lonely
agents:
  - name: main
    external: true
    connection_timeout: 1s
)");
  auto ws = create_and_wait(server, "lonely");
  EXPECT_EQ(ws["readiness"]["phase"], "agent_failed");
  EXPECT_EQ(ws["agents"][0]["status"], "timeout");
  EXPECT_EQ(ws["readiness"]["message"], "agent main: did not connect within 1s");
}

}  // namespace
}  // namespace berth::testing
