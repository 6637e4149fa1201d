// The relay endpoint between replicas (POST /api/v1/replicas/agent-call) reaches any agent,
// so only replicas may use it: their per-start secret is in the shared database. Replayed as
// a token holder would try it, and with the real secret as a hostile replica would send junk.
#include <gtest/gtest.h>

#include "berth/store/sqlite/sqlite_store.hpp"
#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kPath = "/api/v1/replicas/agent-call";

HttpReply relay(const TestServer& server, const std::string& bearer, const std::string& body) {
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
  if (!bearer.empty()) headers["Authorization"] = "Bearer " + bearer;
  return http_request(server.url(), "POST", kPath, headers, body);
}

TEST(ReplicaRelay, OnlyReplicasMayRelayAndJunkGetsClearErrors) {
  TestServer server;
  const std::string tid = server.push_template("name: shell\nagents:\n  - name: main\n")["id"];
  McpClient mcp(server, server.admin_token());
  auto created = mcp.call("create_workspace", {{"template_id", tid}});
  ASSERT_FALSE(created.contains("isError")) << created.dump();
  auto ws = server.admin().get("/api/v1/workspaces");
  ASSERT_TRUE(ws && ws->size() == 1u);
  auto detail = server.admin().get("/api/v1/workspaces/" + (*ws)[0]["id"].get<std::string>());
  const std::string agent = (*detail)["agents"][0]["id"];
  const std::string call = json{
      {"agent_id", agent},
      {"method", "exec"},
      {"params", {{"command", "id"}}},
      {"timeout_ms", 5000}}.dump();

  // A member, the site admin and the workspace's own agent token are all refused.
  const std::string member = server.create_member("mallory");
  for (const std::string& bearer :
       {std::string(), member, server.admin_token(), std::string("berth_relay_guess")}) {
    auto r = relay(server, bearer, call);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.json_body()["message"], "this endpoint serves Berth replicas only") << r.body;
  }

  // With the real secret (as a replica reads it from the database), junk is refused.
  auto store = store::SqliteStore::open((server.data_dir() / "berth.db").string());
  ASSERT_TRUE(store) << store.error().message;
  auto replicas = (*store)->list_replicas();
  ASSERT_TRUE(replicas && replicas->size() == 1u);
  const std::string secret = (*replicas)[0].relay_secret;
  EXPECT_EQ(secret.size(), 64u);
  const std::string needs =
      "a relayed agent call needs agent_id and method (strings), params (an object) and "
      "timeout_ms (an integer)";
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string(R"({"agent_id":1})"),
        std::string(R"({"agent_id":"x","method":"exec","params":[],"timeout_ms":1})"),
        std::string(R"({"agent_id":"x","method":"exec","params":{},"timeout_ms":"1"})")}) {
    auto r = relay(server, secret, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    if (body != "not json") {
      EXPECT_EQ(r.json_body()["message"], needs) << r.body;
    }
  }
  auto r = relay(server, secret,
                 R"({"agent_id":"x","method":"exec","params":{},"timeout_ms":999999999999})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json_body()["message"], "timeout_ms must be between 1 and 86400000") << r.body;
  // An unknown agent: the stream's result is the hub's own refusal.
  r = relay(server, secret, R"({"agent_id":"nope","method":"exec","params":{},"timeout_ms":100})");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("event: result"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("agent nope is not connected"), std::string::npos) << r.body;

  // The secret works (this is what a replica does), and the server still answers.
  r = relay(server, secret, call);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("uid="), std::string::npos) << r.body;
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
}

}  // namespace
}  // namespace berth::testing
