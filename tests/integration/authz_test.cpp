// Members see and act on their own workspaces only; templates need an admin.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

TEST(Authz, MemberCannotSeeOrTouchAnotherMembersWorkspace) {
  TestServer server;
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto alice = server.client(server.create_member("alice"));
  auto bob = server.client(server.create_member("bob"));

  auto ws = alice.post("/api/v1/workspaces", {{"template", "t"}, {"name", "mine"}});
  ASSERT_TRUE(ws) << ws.error().message;
  const std::string id = ws->value("id", "");
  const std::string build = (*ws)["latest_build"].value("id", "");
  wait_settled(alice, id);

  for (auto r : {bob.get("/api/v1/workspaces/" + id),
                 bob.post("/api/v1/workspaces/" + id + "/stop", json::object()),
                 bob.post("/api/v1/workspaces/" + id + "/start", json::object()),
                 bob.del("/api/v1/workspaces/" + id),
                 bob.get("/api/v1/workspaces/" + id + "/wait?timeout=0s"),
                 bob.get("/api/v1/builds/" + build), bob.get("/api/v1/builds/" + build + "/logs"),
                 bob.get("/api/v1/workspaces/alice%2Fmine")}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::not_found) << r.error().message;
  }
  auto bobs = bob.get("/api/v1/workspaces");
  ASSERT_TRUE(bobs);
  EXPECT_TRUE(bobs->empty());
  auto alices = alice.get("/api/v1/workspaces");
  ASSERT_EQ(alices->size(), 1u);

  // The same name may be used by another owner.
  auto same_name = bob.post("/api/v1/workspaces", {{"template", "t"}, {"name", "mine"}});
  EXPECT_TRUE(same_name) << same_name.error().message;
  // Site admins see everything.
  auto all = server.admin().get("/api/v1/workspaces");
  EXPECT_EQ(all->size(), 2u);
  EXPECT_TRUE(server.admin().get("/api/v1/workspaces/alice%2Fmine"));
}

TEST(Authz, MembersCannotPushTemplatesOrChangeSettings) {
  TestServer server;
  auto alice = server.client(server.create_member("alice"));
  auto push = alice.post("/api/v1/templates",
                         {{"files", {{"template.yaml", "name: x\nagents:\n  - name: a\n"}}}});
  ASSERT_FALSE(push);
  EXPECT_EQ(push.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(push.error().message, "only organization admins can push templates");
  auto cfg = alice.put("/api/v1/config/agents_workspace_ttl", {{"value", "2h"}});
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message, "only site admins can change site settings");
  auto user = alice.post("/api/v1/users", {{"username", "mallory"}});
  ASSERT_FALSE(user);
  EXPECT_EQ(user.error().code, ErrorCode::permission_denied);
}

TEST(Authz, TemplatesBelongToTheirOrganization) {
  TestServer server;
  auto api = server.admin();
  ASSERT_TRUE(api.post("/api/v1/organizations", {{"name", "acme"}}));
  ASSERT_TRUE(api.post("/api/v1/templates",
                       {{"organization", "acme"},
                        {"files", {{"template.yaml", "name: secret\nagents:\n  - name: a\n"}}}}));
  auto alice = server.client(server.create_member("alice"));  // member of "default" only
  auto list = alice.get("/api/v1/templates");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  auto create = alice.post("/api/v1/workspaces", {{"template", "secret"}});
  ASSERT_FALSE(create);
  EXPECT_EQ(create.error().code, ErrorCode::not_found);
  EXPECT_EQ(create.error().message, "template \"secret\" not found");
}

TEST(Authz, MissingOrBadTokenIs401) {
  TestServer server;
  for (const std::string token : {"", "berth_nope_nope", "garbage"}) {
    auto r = server.client(token).get("/api/v1/workspaces");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::unauthenticated);
  }
  auto cli = server.cli({"workspaces", "list"}, "berth_bad_token");
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.err.find("invalid API token"), std::string::npos) << cli.err;
  EXPECT_TRUE(server.client("").get("/healthz"));
}

TEST(Authz, ExpiredTokenIsRefused) {
  TestServer server;
  auto token = server.admin().post("/api/v1/tokens", {{"lifetime", "1ms"}});
  ASSERT_TRUE(token);
  std::this_thread::sleep_for(20ms);
  auto r = server.client(token->value("token", "")).get("/api/v1/workspaces");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "API token expired");
}

TEST(Authz, OrganizationAdminsManageOnlyTheirOrganization) {
  TestServer server;
  auto api = server.admin();
  ASSERT_TRUE(api.post("/api/v1/organizations", {{"name", "acme"}}));
  ASSERT_TRUE(api.post("/api/v1/users",
                       {{"username", "carol"}, {"organization", "acme"}, {"role", "admin"}}));
  auto token = api.post("/api/v1/tokens", {{"username", "carol"}});
  ASSERT_TRUE(token);
  auto carol = server.client((*token)["token"]);
  const json files = {{"template.yaml", "name: t\nagents:\n  - name: a\n"}};
  EXPECT_TRUE(carol.post("/api/v1/templates", {{"organization", "acme"}, {"files", files}}));
  auto elsewhere = carol.post("/api/v1/templates", {{"organization", "default"}, {"files", files}});
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().message, "only organization admins can push templates");
  EXPECT_TRUE(carol.put("/api/v1/organizations/acme/quota", {{"budget", 20}}));
  auto quota = carol.put("/api/v1/organizations/default/quota", {{"budget", 20}});
  ASSERT_FALSE(quota);
  EXPECT_EQ(quota.error().message, "only organization admins can set quotas");
  auto cfg = carol.put("/api/v1/config/agents_workspace_ttl", {{"value", "2h"}});
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message, "only site admins can change site settings");
}

TEST(Authz, ATokenScopedToAnOrganizationActsOnlyThere) {
  TestServer server;
  auto api = server.admin();
  server.push_template("name: home\nagents:\n  - name: main\n");
  ASSERT_TRUE(api.post("/api/v1/organizations", {{"name", "acme"}}));
  ASSERT_TRUE(api.post("/api/v1/templates",
                       {{"organization", "acme"},
                        {"files", {{"template.yaml", "name: away\nagents:\n  - name: a\n"}}}}));
  auto home = api.post("/api/v1/workspaces", {{"template", "home"}, {"name", "d"}});
  ASSERT_TRUE(home);

  auto made = server.cli({"--json", "tokens", "create", "--org", "acme"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto scoped_token = json::parse(made.out);
  EXPECT_FALSE(scoped_token["organization_id"].is_null());
  auto scoped = server.client(scoped_token["token"]);
  EXPECT_TRUE(scoped.get("/api/v1/workspaces")->empty()) << "d is in another organization";
  auto other = scoped.get("/api/v1/workspaces/admin%2Fd");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::not_found);
  auto templates = scoped.get("/api/v1/templates");
  ASSERT_TRUE(templates);
  ASSERT_EQ(templates->size(), 1u);
  EXPECT_EQ((*templates)[0]["name"], "away");
  auto outside = scoped.post("/api/v1/workspaces", {{"template", "home"}});
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message, "template \"home\" not found");
  EXPECT_TRUE(scoped.post("/api/v1/workspaces", {{"template", "away"}, {"name", "w"}}));
  // A scoped token is never a site admin, and cannot widen itself.
  auto cfg = scoped.put("/api/v1/config/agents_workspace_ttl", {{"value", "2h"}});
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message, "only site admins can change site settings");
  auto wider = scoped.post("/api/v1/tokens", {{"organization", "default"}});
  ASSERT_FALSE(wider);
  EXPECT_EQ(wider.error().message,
            "this token is limited to another organization and cannot make tokens for this one");
  auto same = scoped.post("/api/v1/tokens", json::object());
  ASSERT_TRUE(same);
  EXPECT_EQ((*same)["organization_id"], scoped_token["organization_id"]) << "inherits the scope";
  auto not_member = server.cli({"tokens", "create", "--org", "acme"}, server.create_member("dave"));
  EXPECT_NE(not_member.exit_code, 0);
  EXPECT_NE(not_member.err.find("user dave is not a member of organization acme"),
            std::string::npos)
      << not_member.err;
}

TEST(Authz, AReadOnlyTokenOnlyReads) {
  TestServer server;
  const std::string tid = server.push_template("name: t\nagents:\n  - name: main\n")["id"];
  auto made = server.cli({"--json", "tokens", "create", "--read-only"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string ro = json::parse(made.out)["token"];
  EXPECT_EQ(json::parse(made.out)["read_only"], true);
  auto client = server.client(ro);
  EXPECT_TRUE(client.get("/api/v1/workspaces"));
  EXPECT_TRUE(client.get("/api/v1/templates"));
  auto write = client.exchange("POST", "/api/v1/workspaces", {{"Content-Type", "application/json"}},
                               R"({"template": "t"})");
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 403);
  EXPECT_NE(write->body.find("this token is read-only; POST /api/v1/workspaces changes things"),
            std::string::npos)
      << write->body;
  auto cli = server.cli({"workspaces", "create", "--template", "t"}, ro);
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.err.find("use a token created without --read-only"), std::string::npos) << cli.err;
  EXPECT_FALSE(client.post("/api/v1/tokens", json::object())) << "cannot mint a wider token";

  // Over MCP it sees and calls only the tools that change nothing.
  McpClient mcp(server, ro);
  auto listed = http_request(server.url(), "POST", "/mcp",
                             {{"Authorization", "Bearer " + ro},
                              {"Content-Type", "application/json"},
                              {"Accept", "application/json, text/event-stream"},
                              {"Mcp-Session-Id", mcp.session_id()}},
                             R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})");
  std::set<std::string> names;
  const json listed_body = listed.json_body();
  for (const auto& t : listed_body["result"]["tools"]) names.insert(t["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"list_templates", "read_template", "wait_for_workspace",
                                          "process_output", "read_file"}))
      << listed.body;
  EXPECT_FALSE(mcp.call("list_templates").contains("isError"));
  auto refused = mcp.call("create_workspace", {{"template_id", tid}});
  EXPECT_EQ(refused["isError"], true);
  EXPECT_EQ(refused["structuredContent"]["error"],
            "this token is read-only, and create_workspace changes things. Ask the user for a "
            "token created without --read-only.");
  EXPECT_TRUE(server.admin().get("/api/v1/workspaces")->empty()) << "nothing was created";
}

}  // namespace
}  // namespace berth::testing
