// /mcp over Streamable HTTP against the real server: sessions, auth, Origin/Host checks,
// JSON-RPC errors, and the template tools.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

class McpHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.push_template("name: shell\ndescription: A shell\nagents:\n  - name: main\n");
  }
  std::map<std::string, std::string> headers(const std::string& session = "") const {
    std::map<std::string, std::string> h = {{"Authorization", "Bearer " + server_.admin_token()},
                                            {"Content-Type", "application/json"},
                                            {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) h["Mcp-Session-Id"] = session;
    return h;
  }
  HttpReply post(const json& message, const std::string& session = "") {
    return http_request(server_.url(), "POST", "/mcp", headers(session), message.dump());
  }
  std::string initialize() {
    auto r = post({{"jsonrpc", "2.0"},
                   {"id", 1},
                   {"method", "initialize"},
                   {"params",
                    {{"protocolVersion", "2025-11-25"},
                     {"capabilities", json::object()},
                     {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json_body()["result"]["protocolVersion"], "2025-11-25");
    return r.headers["mcp-session-id"];
  }

  TestServer server_;
};

TEST_F(McpHttp, SessionThenToolsListAndCall) {
  std::string session = initialize();
  ASSERT_EQ(session.size(), 32u);
  auto initialized = post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, session);
  EXPECT_EQ(initialized.status, 202);
  EXPECT_TRUE(initialized.body.empty());

  auto list = post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}}, session);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.headers["content-type"], "application/json");
  auto tools = list.json_body()["result"]["tools"];
  ASSERT_GE(tools.size(), 2u);
  EXPECT_EQ(tools[0]["name"], "list_templates");

  auto call = post({{"jsonrpc", "2.0"},
                    {"id", 3},
                    {"method", "tools/call"},
                    {"params", {{"name", "list_templates"}, {"arguments", json::object()}}}},
                   session);
  ASSERT_EQ(call.status, 200);
  auto result = call.json_body()["result"];
  ASSERT_EQ(result["structuredContent"]["templates"].size(), 1u);
  std::string id = result["structuredContent"]["templates"][0]["id"];
  auto read = post({{"jsonrpc", "2.0"},
                    {"id", 4},
                    {"method", "tools/call"},
                    {"params", {{"name", "read_template"}, {"arguments", {{"template_id", id}}}}}},
                   session);
  EXPECT_EQ(read.json_body()["result"]["structuredContent"]["template"]["name"], "shell");

  auto end = http_request(server_.url(), "DELETE", "/mcp", headers(session));
  EXPECT_EQ(end.status, 200);
  auto after = post({{"jsonrpc", "2.0"}, {"id", 5}, {"method", "ping"}}, session);
  EXPECT_EQ(after.status, 404);
}

TEST_F(McpHttp, AuthSessionAndOriginErrors) {
  auto unauth = http_request(server_.url(), "POST", "/mcp", {{"Content-Type", "application/json"}},
                             R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(unauth.headers["www-authenticate"].rfind("Bearer", 0), 0u);

  auto no_session = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}});
  EXPECT_EQ(no_session.status, 400);
  EXPECT_EQ(no_session.json_body()["error"]["message"],
            "Bad Request: Mcp-Session-Id header is required; send initialize first");
  auto unknown = post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, std::string(32, 'a'));
  EXPECT_EQ(unknown.status, 404);

  // Another user cannot use someone else's session.
  std::string session = initialize();
  std::string bob = server_.create_member("bob");
  auto h = headers(session);
  h["Authorization"] = "Bearer " + bob;
  auto stolen =
      http_request(server_.url(), "POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(stolen.status, 404);

  auto evil = headers(session);
  evil["Origin"] = "http://evil.example";
  auto rebinding = http_request(server_.url(), "POST", "/mcp", evil,
                                R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(rebinding.status, 403);
  auto host = headers(session);
  host["Host"] = "evil.example:80";
  EXPECT_EQ(http_request(server_.url(), "POST", "/mcp", host,
                         R"({"jsonrpc":"2.0","id":1,"method":"ping"})")
                .status,
            403);
  auto local = headers(session);
  local["Origin"] = "http://localhost:3000";
  EXPECT_EQ(http_request(server_.url(), "POST", "/mcp", local,
                         R"({"jsonrpc":"2.0","id":1,"method":"ping"})")
                .status,
            200);
  EXPECT_EQ(http_request(server_.url(), "GET", "/mcp", headers(session)).status, 405);
}

TEST_F(McpHttp, MalformedMessagesGetJsonRpcErrors) {
  std::string session = initialize();
  auto garbage = http_request(server_.url(), "POST", "/mcp", headers(session), "{not json");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(garbage.json_body()["error"]["code"], -32700);
  auto batch = http_request(server_.url(), "POST", "/mcp", headers(session), "[]");
  EXPECT_EQ(batch.json_body()["error"]["code"], -32600);
  auto method = post({{"jsonrpc", "2.0"}, {"id", 9}, {"method", "nope/nope"}}, session);
  EXPECT_EQ(method.json_body()["error"]["code"], -32601);
  EXPECT_EQ(method.json_body()["id"], 9);
  auto tool = post(
      {{"jsonrpc", "2.0"}, {"id", 10}, {"method", "tools/call"}, {"params", {{"name", "nope"}}}},
      session);
  EXPECT_EQ(tool.json_body()["error"]["code"], -32602);
  // The server is still healthy afterwards.
  EXPECT_EQ(post({{"jsonrpc", "2.0"}, {"id", 11}, {"method", "ping"}}, session).status, 200);
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

TEST(Chats, RestAndMcpSessionsShareChatsByKey) {
  TestServer server;
  auto api = server.admin();
  auto scratch = api.post("/api/v1/chats", {{"title", "scratch"}});
  ASSERT_TRUE(scratch) << scratch.error().message;
  EXPECT_TRUE((*scratch)["key"].is_null());
  EXPECT_TRUE((*scratch)["workspace_id"].is_null());
  auto keyed = api.post("/api/v1/chats", {{"key", "support-42"}});
  ASSERT_TRUE(keyed);
  auto again = api.post("/api/v1/chats", {{"key", "support-42"}});
  EXPECT_EQ((*again)["id"], (*keyed)["id"]) << "one chat per key";
  EXPECT_EQ(api.get("/api/v1/chats/" + keyed->value("id", ""))->value("key", ""), "support-42");

  // An MCP session with ?chat=KEY works for that chat; one without gets a chat of its own.
  auto init = [&](const std::string& query) {
    return http_request(
        server.url(), "POST", "/mcp" + query,
        {{"Authorization", "Bearer " + server.admin_token()}, {"Content-Type", "application/json"}},
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})");
  };
  EXPECT_EQ(init("?chat=support-42").status, 200);
  EXPECT_EQ(init("").status, 200);
  auto chats = api.get("/api/v1/chats");
  ASSERT_TRUE(chats);
  EXPECT_EQ(chats->size(), 3u) << chats->dump(2);

  // Chats are private.
  auto bob = server.client(server.create_member("bob"));
  auto peek = bob.get("/api/v1/chats/" + keyed->value("id", ""));
  ASSERT_FALSE(peek);
  EXPECT_EQ(peek.error().code, ErrorCode::not_found);
  EXPECT_TRUE(bob.get("/api/v1/chats")->empty());
  auto bad = api.post("/api/v1/chats", {{"key", ""}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "chat key must be 1-128 characters");
}

}  // namespace
}  // namespace berth::testing
