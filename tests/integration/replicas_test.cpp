// Several `berth server` replicas on one PostgreSQL database, each with its own data
// directory standing in for a host: sessions and agent calls through any replica, one
// workspace per chat across replicas, and a replica killed mid-build. Runs in the postgres.*
// pass of the suite (BERTH_TEST_STORE=postgres); skipped on SQLite, which is one server's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kShell = "name: shell\nagents:\n  - name: main\n";

json content(const json& call_result) { return call_result["structuredContent"]; }

std::string random_suffix() {
  return std::to_string(::getpid()) + "-" + std::to_string(std::rand());
}

// A replica of `first`: same database, its own data directory and provisioner (unless
// `provisioners` is 0).
ServerFlags replica_of(const TestServer& first, int provisioners = 1,
                       std::vector<std::string> more = {}) {
  ServerFlags f;
  f.database_url = first.database_url();
  f.extra_args = {"--provisioners", std::to_string(provisioners)};
  f.extra_args.insert(f.extra_args.end(), more.begin(), more.end());
  return f;
}

class Replicas : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!postgres_store()) GTEST_SKIP() << "replicas share a PostgreSQL database";
  }
};

TEST_F(Replicas, ASessionAndItsAgentCallsWorkThroughAnyReplica) {
  TestServer a;
  TestServer b(replica_of(a, /*provisioners=*/0));  // builds run on a only
  const std::string tid = a.push_template(kShell)["id"];
  McpClient mcp(a, a.admin_token());
  auto created = content(mcp.call("create_workspace", {{"template_id", tid}}));
  ASSERT_EQ(created["created"], true) << created.dump();
  ASSERT_FALSE(created.contains("status")) << "ready: " << created.dump();

  // The load balancer sends the session's next calls to b: the session is in the database,
  // the agent's connection is on a, and b relays to it.
  mcp.use_server(b);
  auto ran = content(mcp.call("execute", {{"command", "echo relayed-$((6*7))"}}));
  EXPECT_EQ(ran["exit_code"], 0) << ran.dump();
  EXPECT_NE(ran["output"].get<std::string>().find("relayed-42"), std::string::npos) << ran.dump();
  auto wrote = mcp.call("write_file", {{"path", "notes.txt"}, {"content", "via b\n"}});
  EXPECT_FALSE(wrote.contains("isError")) << wrote.dump();
  auto read = content(mcp.call("read_file", {{"path", "notes.txt"}}));
  EXPECT_NE(read.dump().find("via b"), std::string::npos) << read.dump();
  // Progress streams through the relay too (exec with streamed output).
  auto streamed = mcp.call_streaming("execute", {{"command", "echo one; sleep 0.2; echo two"}});
  EXPECT_NE(streamed.response.dump().find("two"), std::string::npos) << streamed.response.dump();
  EXPECT_NE(a.server_log().find("agent connected"), std::string::npos);
  EXPECT_EQ(b.server_log().find("agent connected"), std::string::npos)
      << "the agent is connected to a, not b";

  // The same through REST on b.
  auto api = b.client(a.admin_token());
  auto list = api.get("/api/v1/workspaces");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  auto ws = api.get("/api/v1/workspaces/" + (*list)[0]["id"].get<std::string>());
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string agent = (*ws)["agents"][0]["id"];
  auto exec = api.post("/api/v1/agents/" + agent + "/exec", {{"command", "echo rest-through-b"}});
  ASSERT_TRUE(exec) << exec.error().message;
  EXPECT_NE(exec->dump().find("rest-through-b"), std::string::npos) << exec->dump();
}

TEST_F(Replicas, TwentyConcurrentCreatesOfOneChatOverThreeReplicasMakeOneWorkspace) {
  TestServer a;
  TestServer b(replica_of(a));
  TestServer c(replica_of(a));
  const std::string tid = a.push_template(kShell)["id"];
  const TestServer* servers[] = {&a, &b, &c};
  std::vector<json> results(20);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      McpClient mcp(*servers[i % 3], a.admin_token(), "one-chat");
      results[i] = content(mcp.call("create_workspace", {{"template_id", tid}}));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> names;
  int created = 0;
  for (const auto& r : results) {
    names.insert(r.value("workspace_name", ""));
    if (r.value("created", false)) ++created;
  }
  EXPECT_EQ(names.size(), 1u) << results[0].dump() << "\n" << results[1].dump();
  EXPECT_EQ(created, 1);
  auto list = a.admin().get("/api/v1/workspaces");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u) << list->dump();
  // Whichever replica's provisioner built it, every replica reaches its agent.
  for (const TestServer* s : servers) {
    McpClient mcp(*s, a.admin_token(), "one-chat");
    auto ran = content(mcp.call("execute", {{"command", "echo ok"}}));
    EXPECT_EQ(ran["exit_code"], 0) << ran.dump();
  }
}

TEST_F(Replicas, AReplicaKilledMidBuildLosesNothing) {
  ServerFlags fa;
  fa.extra_args = {"--hung-job-timeout", "3s"};
  fa.tool_wait_budget = "1s";
  TestServer a(fa);
  const std::string tid =
      a.push_template("name: slow\nagents:\n  - name: main\nscripts:\n  start: sleep 30\n")["id"];
  const std::string quick = a.push_template(kShell)["id"];
  McpClient mcp(a, a.admin_token(), "survivor");
  auto first = content(mcp.call("create_workspace", {{"template_id", tid}}));
  ASSERT_EQ(first["status"], "in_progress") << first.dump();
  const std::string name = first["workspace_name"];

  // b joins; a dies in the middle of the build.
  ServerFlags fb = replica_of(a, 1, {"--hung-job-timeout", "3s"});
  fb.tool_wait_budget = "20s";
  TestServer b(fb);
  a.kill_hard();

  // The chat, its workspace and its build are all still there, seen from b: the build is
  // failed by b's reaper once a's provisioner stops heartbeating, with a reason.
  McpClient again(b, a.admin_token(), "survivor");
  auto waited = wait_until_done(again);
  EXPECT_EQ(waited["workspace_name"], name) << waited.dump();
  EXPECT_NE(waited.dump().find("went away"), std::string::npos) << waited.dump();

  // The chat's next call works through b: a new workspace replaces the failed one.
  auto next = content(again.call("create_workspace", {{"template_id", quick}}));
  EXPECT_EQ(next["created"], true) << next.dump();
  EXPECT_FALSE(next.contains("status")) << next.dump();
  auto ran = content(again.call("execute", {{"command", "echo alive"}}));
  EXPECT_EQ(ran["exit_code"], 0) << ran.dump();
}

// A 2026-07-28 request on `server` with the revision's headers and the Tasks extension
// declared; the answer's JSON-RPC message (the last event of a streamed answer).
json modern_request(const TestServer& server, const std::string& token, const std::string& method,
                    json params, const std::string& query = "") {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities",
                      {{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}}},
                     {"io.modelcontextprotocol/clientInfo", {{"name", "it"}, {"version", "1"}}}};
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"},
                                                {"Accept", "application/json"},
                                                {"MCP-Protocol-Version", "2026-07-28"},
                                                {"Mcp-Method", method}};
  if (params.contains("name")) headers["Mcp-Name"] = params["name"];
  if (params.contains("taskId")) headers["Mcp-Name"] = params["taskId"];
  json message = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  auto r = server.client(token).exchange("POST", "/mcp" + query, headers, message.dump());
  if (!r) return {{"transport_error", r.error().message}};
  return json::parse(r->body, nullptr, false);
}

// The Tasks extension across replicas: a task started on a is answered by b, and when a dies
// mid-build b takes the task over (once a's replica row is gone as stale), runs its call
// again, and the task ends with a ready workspace.
TEST_F(Replicas, ATaskIsAnsweredByAnyReplicaAndTakenOverWhenItsReplicaDies) {
  ServerFlags fa;
  fa.extra_args = {"--hung-job-timeout", "3s"};
  TestServer a(fa);
  const std::string tid =
      a.push_template("name: slow\nagents:\n  - name: main\nscripts:\n  start: sleep 10\n")["id"];
  auto started = modern_request(
      a, a.admin_token(), "tools/call",
      {{"name", "create_workspace"}, {"arguments", {{"template_id", tid}}}}, "?chat=tasks");
  ASSERT_EQ(started["result"]["resultType"], "task") << started.dump();
  const std::string task_id = started["result"]["taskId"];

  TestServer b(replica_of(a, 1, {"--hung-job-timeout", "3s"}));
  auto seen = modern_request(b, a.admin_token(), "tasks/get", {{"taskId", task_id}});
  EXPECT_EQ(seen["result"]["status"], "working") << seen.dump();
  a.kill_hard();

  json task;
  for (auto until = std::chrono::steady_clock::now() + 120s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(500ms)) {
    task = modern_request(b, a.admin_token(), "tasks/get", {{"taskId", task_id}})["result"];
    if (task.value("status", "") != "working") break;
  }
  ASSERT_EQ(task["status"], "completed") << task.dump();
  const json& result = task["result"]["structuredContent"];
  EXPECT_FALSE(task["result"].contains("isError")) << task.dump();
  EXPECT_EQ(result["created"], true) << result.dump();
  EXPECT_TRUE(result.contains("replaced_workspace")) << result.dump();
  EXPECT_NE(b.server_log().find("task taken over task_id=" + task_id), std::string::npos);
}

// Six chats on three replicas race for the one ready prebuild: it is claimed once. And a
// quota with room for two workspaces admits two builds however the creates are spread.
TEST_F(Replicas, APrebuildIsClaimedOnceAndQuotaAdmissionHoldsAcrossReplicas) {
  TestServer a;
  TestServer b(replica_of(a));
  TestServer c(replica_of(a));
  const TestServer* servers[] = {&a, &b, &c};
  const std::string tid = a.push_template(R"(name: warm
presets:
  - {name: fast, prebuilds: 1}
agents:
  - name: main
)")["id"];
  auto api = a.admin();
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
    auto t = api.get("/api/v1/templates/warm");
    if (t && !(*t)["prebuilds"].empty() && (*t)["prebuilds"][0]["ready"] == 1) break;
  }
  McpClient reader(a, a.admin_token());
  const std::string preset =
      content(reader.call("read_template", {{"template_id", tid}}))["presets"][0]["id"];
  std::vector<json> results(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      McpClient mcp(*servers[i % 3], a.admin_token(), "racer-" + std::to_string(i));
      results[i] =
          content(mcp.call("create_workspace", {{"template_id", tid}, {"preset_id", preset}}));
    });
  }
  for (auto& t : threads) t.join();
  // Each chat has a workspace of its own: no prebuild went to two chats. (The pool refills
  // while the race goes on, so a later racer may claim the replacement.)
  int claims = 0;
  std::set<std::string> names;
  for (const auto& r : results) {
    EXPECT_EQ(r["created"], true) << r.dump();
    names.insert(r.value("workspace_name", ""));
    if (r.value("prebuild_claimed", false)) ++claims;
  }
  EXPECT_EQ(names.size(), 6u);
  EXPECT_GE(claims, 1);
  auto all = api.get("/api/v1/workspaces");
  ASSERT_TRUE(all);
  int owned_by_admin = 0;
  for (const auto& w : *all) {
    if (w["owner_name"] == "admin") ++owned_by_admin;
  }
  EXPECT_EQ(owned_by_admin, 6) << all->dump();

  // Quota: a member may run two workspaces of cost 10 with a budget of 20.
  a.push_template("name: priced\ndaily_cost: 10\nagents:\n  - name: main\n");
  ASSERT_EQ(a.cli({"quotas", "set", "20"}).exit_code, 0);
  const std::string member = a.create_member("carol");
  std::vector<json> priced(6);
  threads.clear();
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto client = servers[i % 3]->client(member);
      auto created = client.post("/api/v1/workspaces", {{"template", "priced"}});
      ASSERT_TRUE(created) << created.error().message;
      priced[i] = wait_settled(client, (*created)["id"]);
    });
  }
  for (auto& t : threads) t.join();
  int admitted = 0, refused = 0;
  for (const auto& w : priced) {
    if (w["readiness"]["phase"] == "ready") ++admitted;
    if (w["latest_build"]["job"]["error_code"] == "INSUFFICIENT_QUOTA") ++refused;
  }
  EXPECT_EQ(admitted, 2);
  EXPECT_EQ(refused, 4);
}

// Replicas with TLS relay over https and verify each other (their CA in BERTH_CA_FILE).
TEST_F(Replicas, RelayBetweenTlsReplicasVerifiesTheirCertificates) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("berth-tls-replicas-" + random_suffix());
  const TestCertificates certs = make_test_certificates(dir);
  ::setenv("BERTH_CA_FILE", certs.ca.c_str(), 1);  // this test's own API client
  ServerFlags fa;
  fa.extra_args = {"--tls-cert", certs.cert.string(), "--tls-key", certs.key.string()};
  fa.extra_env = {"BERTH_CA_FILE=" + certs.ca.string()};
  TestServer a(fa);
  ServerFlags fb = replica_of(a, 0, fa.extra_args);
  fb.extra_env = fa.extra_env;
  TestServer b(fb);
  ASSERT_TRUE(b.url().starts_with("https://")) << b.url();
  a.push_template(kShell);
  auto api_a = a.admin();
  auto created = api_a.post("/api/v1/workspaces", {{"template", "shell"}});
  ASSERT_TRUE(created) << created.error().message;
  auto ws = wait_settled(api_a, (*created)["id"]);
  ASSERT_EQ(ws["readiness"]["phase"], "ready") << ws.dump();
  const std::string agent = ws["agents"][0]["id"];
  auto api_b = b.client(a.admin_token());
  auto exec = api_b.post("/api/v1/agents/" + agent + "/exec", {{"command", "echo over-tls"}});
  ASSERT_TRUE(exec) << exec.error().message;
  EXPECT_NE(exec->dump().find("over-tls"), std::string::npos) << exec->dump();
  ::unsetenv("BERTH_CA_FILE");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The prebuild reconciler runs on one replica at a time (the lease holder): three replicas
// keep a pool of two at exactly two, never one build per replica.
TEST_F(Replicas, OneReplicaAtATimeBuildsPrebuilds) {
  TestServer a;
  TestServer b(replica_of(a));
  TestServer c(replica_of(a));
  a.push_template(R"(name: warm
presets:
  - {name: fast, prebuilds: 2}
agents:
  - name: main
)");
  auto api = a.admin();
  auto until = std::chrono::steady_clock::now() + 30s;
  json pool;
  while (std::chrono::steady_clock::now() < until) {
    auto t = api.get("/api/v1/templates/warm");
    if (t && !(*t)["prebuilds"].empty() && (*t)["prebuilds"][0]["ready"] == 2) break;
    std::this_thread::sleep_for(50ms);
  }
  // Let every replica's reconciler have several passes (their fallback is 10 s; events from
  // the builds wake them sooner).
  std::this_thread::sleep_for(2s);
  auto all = api.get("/api/v1/workspaces");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u) << all->dump();
  int standing_by = 0;
  for (const TestServer* s : {&a, &b, &c}) {
    if (s->server_log().find("prebuild reconciler standing by") != std::string::npos) {
      ++standing_by;
    }
  }
  EXPECT_EQ(standing_by, 2) << "one replica holds the lease";
}

}  // namespace
}  // namespace berth::testing
