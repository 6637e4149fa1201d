// Token scope enforced at the resource (findings 6 and 13 of the hardening issue): a token
// limited to one organization acts there only, an MCP session belongs to the token that opened
// it, and sessions per token are bounded.
#include <gtest/gtest.h>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

json content(const json& call_result) { return call_result["structuredContent"]; }

constexpr const char* kBox = R"(name: box
agents:
  - name: main
    chat: true
)";

// Finding 6: chat_for_key ignored the organization, so a token scoped to one organization
// reached the chat (and the workspace) that key named in another.
TEST(TokenScope, AScopedTokenNeverReachesAChatOfAnotherOrganization) {
  TestServer server;
  auto api = server.admin();
  ASSERT_TRUE(api.post("/api/v1/organizations", {{"name", "acme"}}));
  ASSERT_TRUE(api.post("/api/v1/users", {{"username", "alice"}}));
  ASSERT_TRUE(api.put("/api/v1/organizations/acme/members/alice", {{"role", "member"}}));
  auto full = api.post("/api/v1/tokens", {{"username", "alice"}});
  ASSERT_TRUE(full) << full.error().message;
  auto pushed = server.push_template(kBox);

  // alice's chat "work" in the default organization, with a running workspace.
  McpClient mine(server, (*full)["token"], "work");
  mine.call("create_workspace", {{"template_id", pushed["id"]}, {"name", "secret"}});
  ASSERT_EQ(wait_until_done(mine)["status"], "ready");
  ASSERT_EQ(content(mine.call("execute", {{"command", "echo s3cret > note.txt"}}))["exit_code"], 0);

  // A token of alice's limited to acme, with the same chat key: another chat, no workspace.
  auto scoped = server.client((*full)["token"]).post("/api/v1/tokens", {{"organization", "acme"}});
  ASSERT_TRUE(scoped) << scoped.error().message;
  McpClient other(server, (*scoped)["token"], "work");
  auto reached = mine.session_id() == other.session_id();
  EXPECT_FALSE(reached);
  auto ran = other.call("execute", {{"command", "cat note.txt"}});
  EXPECT_EQ(ran["isError"], true) << ran.dump();
  EXPECT_EQ(ran.dump().find("s3cret"), std::string::npos) << "reached another organization";
  EXPECT_NE(content(ran).dump().find("create_workspace"), std::string::npos) << ran.dump();
  auto waited = content(other.call("wait_for_workspace"));
  EXPECT_NE(waited.dump().find("no workspace"), std::string::npos) << waited.dump();
}

// Finding 6: an MCP session belonged to the user, so another token of the same user (a
// read-only one, or one of another organization) could drive it.
TEST(TokenScope, AnMcpSessionBelongsToTheTokenThatOpenedIt) {
  TestServer server;
  const std::string token = server.create_member("bob");
  auto second = server.client(token).post("/api/v1/tokens", {{"read_only", true}});
  ASSERT_TRUE(second) << second.error().message;
  McpClient mcp(server, token, "k");
  auto reply = http_request(server.url(), "POST", "/mcp",
                            {{"Authorization", "Bearer " + (*second)["token"].get<std::string>()},
                             {"Content-Type", "application/json"},
                             {"Accept", "application/json, text/event-stream"},
                             {"Mcp-Session-Id", mcp.session_id()}},
                            R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})");
  EXPECT_EQ(reply.status, 404) << reply.body;
  EXPECT_EQ(reply.json_body()["error"]["message"],
            "Session not found; send initialize to start a new session");
}

// Finding 13: sessions were unlimited per token, each with a chat.
TEST(TokenScope, SessionsPerTokenAreBounded) {
  TestServer server;
  const std::string token = server.create_member("carol");
  std::vector<std::unique_ptr<McpClient>> clients;
  for (int i = 0; i < 64; ++i) clients.push_back(std::make_unique<McpClient>(server, token));
  // All 64 were used just now: a 65th is refused, and none of the 64 is lost.
  for (int i = 0; i < 3; ++i) {
    auto refused = http_request(
        server.url(), "POST", "/mcp",
        {{"Authorization", "Bearer " + token},
         {"Content-Type", "application/json"},
         {"Accept", "application/json, text/event-stream"}},
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}})");
    EXPECT_EQ(refused.status, 429);
    EXPECT_EQ(refused.json_body()["error"]["message"],
              "this token has 64 MCP sessions, all in use; end one (DELETE /mcp), wait a "
              "minute, or use another token")
        << refused.body;
  }
  for (auto* c : {clients.front().get(), clients.back().get()}) {
    auto still = c->call_raw("list_templates", json::object(), 9);
    EXPECT_TRUE(still.contains("result")) << still.dump();
  }
  // Ending one makes room.
  auto ended = http_request(
      server.url(), "DELETE", "/mcp",
      {{"Authorization", "Bearer " + token}, {"Mcp-Session-Id", clients.front()->session_id()}});
  EXPECT_EQ(ended.status, 200) << ended.body;
  McpClient another(server, token);
  EXPECT_FALSE(another.session_id().empty());
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
}

}  // namespace
}  // namespace berth::testing
