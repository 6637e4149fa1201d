// Members see and act on their own workspaces only; templates need an admin.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/harness.hpp"

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

}  // namespace
}  // namespace berth::testing
