// Hostile input against a real server (findings 3, 4 and 12 of the hardening issue): each attack
// is replayed as its attacker would send it, the refusal and its message are asserted, and the
// server must still answer afterwards.
#include <gtest/gtest.h>

#include "tests/integration/mcp_client.hpp"
#include "tests/security/raw_agent.hpp"

namespace berth::testing {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

void expect_alive(const TestServer& server) {
  auto health = http_request(server.url(), "GET", "/healthz", {});
  EXPECT_EQ(health.status, 200) << "the server stopped answering";
}

// Finding 3: ~300,000 levels of nesting (600 KB) killed the server through recursive copies.
TEST(HostileInput, DeepJsonOnMcpWithAReadOnlyOrganizationTokenIsRefused) {
  TestServer server;
  const std::string member = server.create_member("mallory");
  auto scoped = server.client(member).post("/api/v1/tokens",
                                           {{"organization", "default"}, {"read_only", true}});
  ASSERT_TRUE(scoped) << scoped.error().message;
  const std::string token = (*scoped)["token"];

  auto reply = http_request(server.url(), "POST", "/mcp",
                            {{"Authorization", "Bearer " + token},
                             {"Content-Type", "application/json"},
                             {"Accept", "application/json, text/event-stream"}},
                            nested(300'000));
  EXPECT_EQ(reply.status, 400);
  auto body = reply.json_body();
  EXPECT_EQ(body["error"]["code"], -32700) << reply.body;
  EXPECT_EQ(body["error"]["message"],
            "Parse error: the body nests arrays or objects deeper than 64 levels")
      << reply.body;
  expect_alive(server);

  // Deep nesting inside an otherwise valid request, and on REST.
  std::string deep_args =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":)" + nested(100) + "}";
  reply = http_request(server.url(), "POST", "/mcp",
                       {{"Authorization", "Bearer " + token},
                        {"Content-Type", "application/json"},
                        {"Accept", "application/json, text/event-stream"}},
                       deep_args);
  EXPECT_EQ(reply.status, 400);
  auto rest =
      http_request(server.url(), "POST", "/api/v1/workspaces",
                   {{"Authorization", "Bearer " + member}, {"Content-Type", "application/json"}},
                   "{\"parameters\":" + nested(300'000) + "}");
  EXPECT_EQ(rest.status, 400);
  EXPECT_EQ(rest.json_body()["message"],
            "the request body nests arrays or objects deeper than 64 levels")
      << rest.body;
  expect_alive(server);
}

// Finding 3, from inside a workspace: an agent's token (code in the workspace can read its
// own agent's credentials) sends a deeply nested frame over the agent WebSocket.
TEST(HostileInput, DeepJsonFromAnAgentConnectionIsDropped) {
  TestServer server;
  server.push_template(R"(name: ext
agents:
  - name: main
    external: true
)");
  auto api = server.admin();
  auto ws = api.post("/api/v1/workspaces", {{"template", "ext"}, {"name", "box"}});
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string ws_id = (*ws)["id"];
  poll_workspace(api, ws_id,
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });
  auto minted = api.post("/api/v1/workspaces/" + ws_id + "/agent-token", json::object());
  ASSERT_TRUE(minted) << minted.error().message;
  const std::string token = (*minted)["token"];

  RawAgent sock(server.url(), token);
  sock.send(std::string(R"({"type":"hello","lifecycle_state":"created"})"));
  sock.send(nested(300'000));
  sock.send("{\"type\":\"log\",\"lines\":" + nested(200'000) + "}");
  sock.send(std::string(R"({"type":"lifecycle","state":"ready"})"));
  // The frames after the refused ones still count: the agent reads ready.
  auto ready = poll_workspace(
      api, ws_id, [](const json& w) { return w["agents"][0]["lifecycle_state"] == "ready"; });
  EXPECT_EQ(ready["agents"][0]["lifecycle_state"], "ready");
  expect_alive(server);
  EXPECT_NE(read_file(server.data_dir() / "server.out")
                .find("agent frame ignored agent_id=" + (*minted)["agent_id"].get<std::string>() +
                      " error=the frame nests arrays or objects deeper than 64 levels"),
            std::string::npos);
}

// Finding 4: a 400 KB value against a template's pattern overflowed std::regex's recursion,
// and (a+)+$ backtracked for ever on the server's only thread.
TEST(HostileInput, PatternValidationCannotHangOrCrashTheServer) {
  TestServer server;
  server.push_template(R"(name: tagged
parameters:
  - {name: tag, mutable: true, validation: {regex: '(a+)+$'}}
agents:
  - name: main
)");
  auto member = server.client(server.create_member("mallory"));
  auto big =
      member.post("/api/v1/workspaces", {{"template", "tagged"},
                                         {"name", "big"},
                                         {"parameters", {{"tag", std::string(400 * 1024, 'a')}}}});
  ASSERT_FALSE(big);
  ASSERT_EQ(big.error().validations.size(), 1u);
  EXPECT_EQ(big.error().validations[0].detail,
            "the value is 409600 bytes long; the limit is 16384 bytes");
  auto evil = member.post("/api/v1/workspaces",
                          {{"template", "tagged"},
                           {"name", "evil"},
                           {"parameters", {{"tag", std::string(16'000, 'a') + "!"}}}});
  ASSERT_FALSE(evil);
  ASSERT_EQ(evil.error().validations.size(), 1u);
  EXPECT_NE(evil.error().validations[0].detail.find("(16001 bytes) does not match the pattern"),
            std::string::npos)
      << evil.error().validations[0].detail;
  expect_alive(server);

  // A pattern RE2 cannot run is refused when the template is pushed, nothing is stored.
  auto pushed =
      server.admin().post("/api/v1/templates", {{"files", {{"template.yaml", R"(name: backref
parameters:
  - {name: tag, validation: {regex: '(a)\1'}}
agents:
  - name: main
)"}}}});
  ASSERT_FALSE(pushed);
  ASSERT_EQ(pushed.error().validations.size(), 1u);
  EXPECT_NE(pushed.error().validations[0].detail.find("patterns use RE2 syntax"),
            std::string::npos);
}

// Finding 12: output that is not UTF-8 made execute and read_file hang until their timeout,
// and build logs answer 500.
TEST(HostileInput, OutputThatIsNotUtf8IsReplacedNotFatal) {
  TestServer server;
  auto pushed = server.push_template(R"(name: bytes
agents:
  - name: main
    chat: true
scripts:
  start: printf 'start \377\376 end\n'
)");
  auto api = server.admin();
  McpClient mcp(server, server.admin_token(), "bytes");
  mcp.call("create_workspace", {{"template_id", pushed["id"]}, {"name", "bytes"}});
  auto done = wait_until_done(mcp);
  ASSERT_EQ(done["status"], "ready") << done.dump();

  auto ws = api.get("/api/v1/workspaces/bytes");
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string build_id = (*ws)["latest_build"]["id"];
  auto logs = http_request(server.url(), "GET", "/api/v1/builds/" + build_id + "/logs",
                           {{"Authorization", "Bearer " + server.admin_token()}});
  EXPECT_EQ(logs.status, 200) << logs.body;
  EXPECT_NE(logs.body.find("start " + kReplacement + kReplacement + " end"), std::string::npos)
      << logs.body;

  auto ran = mcp.call("execute", {{"command", "printf 'a\\377b'; printf 'x\\376y' > bin.txt"}});
  EXPECT_EQ(ran["structuredContent"]["output"], "a" + kReplacement + "b") << ran.dump();
  auto read = mcp.call("read_file", {{"path", "bin.txt"}});
  EXPECT_NE(read["structuredContent"].dump().find("x" + kReplacement + "y"), std::string::npos)
      << read.dump();
  expect_alive(server);
}

}  // namespace
}  // namespace berth::testing
