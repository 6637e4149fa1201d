// create -> ready -> stop -> start -> delete, through the real server and real agents.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDemo = R"(name: demo
display_name: Demo
description: What it is for
isolation: sandbox
agents_allowed: true
parameters:
  - {name: greeting, type: string, default: hello, mutable: true}
presets:
  - {name: quick, parameters: {greeting: hi}, prebuilds: 0}
agents:
  - name: main
    display_order: 0
    chat: false
    startup_script: |
      echo "$BERTH_PARAM_GREETING" > greeting.txt
      echo started
    startup_script_timeout: 10m
    connection_timeout: 2m
scripts:
  start: |
    echo preparing
  stop: |
    echo stopping
)";

TEST(Lifecycle, CreateReachesReadyWithParametersAndLogs) {
  TestServer server;
  auto tmpl = server.push_template(kDemo);
  ASSERT_TRUE(tmpl.contains("id"));
  auto api = server.admin();
  auto created =
      api.post("/api/v1/workspaces",
               {{"template", "demo"}, {"name", "dev"}, {"parameters", {{"greeting", "howdy"}}}});
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->value("full_name", ""), "admin/dev");

  auto ws = wait_settled(api, created->value("id", ""));
  EXPECT_EQ(ws["readiness"]["phase"], "ready");
  EXPECT_EQ(ws["latest_build"]["transition"], "start");
  EXPECT_EQ(ws["latest_build"]["job"]["status"], "succeeded");
  EXPECT_TRUE(ws["latest_build"]["job"]["error"].is_null());
  ASSERT_EQ(ws["agents"].size(), 1u);
  EXPECT_EQ(ws["agents"][0]["name"], "main");
  EXPECT_EQ(ws["agents"][0]["status"], "connected");
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "ready");

  fs::path dir = server.data_dir() / "workspaces" / ws.value("id", "");
  EXPECT_EQ(read_file(dir / "greeting.txt"), "howdy\n");

  auto build_logs = api.get("/api/v1/builds/" + ws["latest_build"].value("id", "") + "/logs");
  ASSERT_TRUE(build_logs);
  std::string all;
  for (const auto& l : *build_logs) all += l.value("output", "") + "\n";
  EXPECT_NE(all.find("preparing"), std::string::npos) << all;
  EXPECT_NE(all.find("started agent main"), std::string::npos) << all;

  auto agent_logs = api.get("/api/v1/agents/" + ws["agents"][0].value("id", "") + "/logs");
  ASSERT_TRUE(agent_logs);
  ASSERT_FALSE(agent_logs->empty());
  EXPECT_EQ((*agent_logs)[0]["output"], "started");
}

TEST(Lifecycle, PresetValuesApply) {
  TestServer server;
  server.push_template(kDemo);
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "demo"}, {"preset", "quick"}});
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->value("name", "").rfind("demo-", 0), 0u) << "generated from the template name";
  auto ws = wait_settled(api, created->value("id", ""));
  EXPECT_EQ(ws["latest_build"]["parameters"]["greeting"], "hi");
  EXPECT_EQ(ws["latest_build"]["preset"], "quick");
}

TEST(Lifecycle, StopStartDelete) {
  TestServer server;
  server.push_template(kDemo);
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "demo"}, {"name", "dev"}});
  ASSERT_TRUE(created);
  const std::string id = created->value("id", "");
  auto ws = wait_settled(api, id);
  ASSERT_EQ(ws["readiness"]["phase"], "ready");
  fs::path dir = server.data_dir() / "workspaces" / id;
  ASSERT_FALSE(agent_pids_under(dir).empty());
  std::ofstream(dir / "work.txt") << "keep me";

  auto stop = api.post("/api/v1/workspaces/" + id + "/stop", json::object());
  ASSERT_TRUE(stop) << stop.error().message;
  EXPECT_EQ((*stop)["transition"], "stop");
  ws = wait_settled(api, id);
  EXPECT_EQ(ws["readiness"]["phase"], "stopped");
  EXPECT_EQ(ws["status"], "stopped");
  EXPECT_TRUE(agent_pids_under(dir).empty()) << "stop ends the agent's process tree";
  EXPECT_EQ(read_file(dir / "work.txt"), "keep me") << "stopping never deletes data";

  auto again = api.post("/api/v1/workspaces/" + id + "/stop", json::object());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "workspace dev is already stopped");

  auto start = api.post("/api/v1/workspaces/" + id + "/start", json::object());
  ASSERT_TRUE(start) << start.error().message;
  ws = wait_settled(api, id);
  EXPECT_EQ(ws["readiness"]["phase"], "ready");
  EXPECT_EQ(ws["latest_build"]["build_number"], 3);
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "ready");

  auto del = api.del("/api/v1/workspaces/" + id);
  ASSERT_TRUE(del) << del.error().message;
  ws = wait_settled(api, id);
  EXPECT_EQ(ws["readiness"]["phase"], "deleted");
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(agent_pids_under(dir).empty());
  auto gone = api.get("/api/v1/workspaces/" + id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::not_found);
  EXPECT_TRUE(api.post("/api/v1/workspaces", {{"template", "demo"}, {"name", "dev"}}))
      << "the name is free again";
}

TEST(Lifecycle, SandboxedWorkspace) {
  TestServer server({.example_templates = true});
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "sandboxed"}, {"name", "sb"}});
  ASSERT_TRUE(created) << created.error().message;
  auto ws = wait_settled(api, created->value("id", ""));
  ASSERT_EQ(ws["readiness"]["phase"], "ready") << ws.dump(2);
  fs::path dir = server.data_dir() / "workspaces" / ws.value("id", "");
  EXPECT_EQ(read_file(dir / "whereami.txt"), "sandbox home is /home/berth\n");
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + ws.value("id", "") + "/stop", json::object()));
  EXPECT_EQ(wait_settled(api, ws.value("id", ""))["readiness"]["phase"], "stopped");
  EXPECT_TRUE(agent_pids_under(dir).empty());
}

TEST(Lifecycle, TwoAgentsEachWithItsDirectory) {
  TestServer server({.example_templates = true});
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "two-agents"}});
  ASSERT_TRUE(created);
  auto ws = wait_settled(api, created->value("id", ""));
  ASSERT_EQ(ws["readiness"]["phase"], "ready") << ws.dump(2);
  ASSERT_EQ(ws["agents"].size(), 2u);
  EXPECT_EQ(ws["agents"][0]["name"], "main");
  EXPECT_EQ(ws["agents"][1]["name"], "worker");
  EXPECT_TRUE(
      fs::is_directory(server.data_dir() / "workspaces" / ws.value("id", "") / "worker" / "out"));
}

TEST(Lifecycle, ScriptIsolationStartsItsOwnAgents) {
  TestServer server({.allow_unisolated = true});
  server.push_template(R"yaml(name: scripted
isolation: script
agents:
  - name: main
scripts:
  start: |
    BERTH_AGENT_TOKEN="$BERTH_AGENT_TOKEN_MAIN" setsid "$BERTH_BINARY" agent --url "$BERTH_URL" >/dev/null 2>&1 &
    echo "$!" > agent.pid
  stop: |
    kill "$(cat agent.pid)"
)yaml");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "scripted"}});
  ASSERT_TRUE(created);
  auto ws = wait_settled(api, created->value("id", ""));
  EXPECT_EQ(ws["readiness"]["phase"], "ready") << ws.dump(2);
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + ws.value("id", "") + "/stop", json::object()));
  EXPECT_EQ(wait_settled(api, ws.value("id", ""))["readiness"]["phase"], "stopped");
}

TEST(Lifecycle, CliCreateWaitJsonAndLogs) {
  TestServer server;
  server.push_template(kDemo);
  auto r = server.cli({"workspaces", "create", "--template", "demo", "--name", "cli", "--param",
                       "greeting=yo", "--wait", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json ws = json::parse(r.out);
  EXPECT_EQ(ws["readiness"]["phase"], "ready");
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "ready");

  auto logs = server.cli({"workspaces", "logs", "cli", "--follow"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("[start] preparing"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("build succeeded"), std::string::npos) << logs.out;

  auto list = server.cli({"workspaces", "list"});
  EXPECT_NE(list.out.find("admin/cli"), std::string::npos) << list.out;
  auto stop = server.cli({"workspaces", "stop", "cli", "--wait"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  auto start = server.cli({"workspaces", "start", "cli", "--wait", "--json"});
  EXPECT_EQ(start.exit_code, 0) << start.err;
  auto del = server.cli({"workspaces", "delete", "cli", "--wait"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("deleted"), std::string::npos) << del.out;
}

TEST(Lifecycle, WaitingOnAnAlreadyDeletedWorkspaceReportsDeleted) {
  TestServer server;
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "t"}, {"name", "gone"}});
  ASSERT_TRUE(created);
  const std::string id = created->value("id", "");
  wait_settled(api, id);
  ASSERT_TRUE(api.del("/api/v1/workspaces/" + id));
  // Wait for the delete to finish by polling the list, then wait on the deleted workspace.
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!api.get("/api/v1/workspaces")->empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  auto ws = wait_settled(api, id);
  EXPECT_EQ(ws["readiness"]["phase"], "deleted");
  EXPECT_EQ(ws["status"], "deleted");
  auto by_name = api.get("/api/v1/workspaces/gone");
  ASSERT_FALSE(by_name);
  EXPECT_EQ(by_name.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace berth::testing
