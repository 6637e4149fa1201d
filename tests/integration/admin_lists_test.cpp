// What the dashboard's template and admin pages list: a template's versions, an
// organization's members, and an agent's startup log followed live.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

TEST(TemplateVersions, ListedNewestFirstWithWhoPushedAndWhichIsActive) {
  TestServer server;
  auto first = server.push_template("name: t\ndescription: one\nagents:\n  - name: main\n");
  auto second = server.push_template("name: t\ndescription: two\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto versions = api.get("/api/v1/templates/t/versions");
  ASSERT_TRUE(versions) << versions.error().message;
  ASSERT_EQ(versions->size(), 2u) << versions->dump();
  EXPECT_EQ((*versions)[0]["number"], 2);
  EXPECT_EQ((*versions)[0]["id"], second["version"]["id"]);
  EXPECT_EQ((*versions)[0]["active"], true);
  EXPECT_EQ((*versions)[1]["number"], 1);
  EXPECT_EQ((*versions)[1]["id"], first["version"]["id"]);
  EXPECT_EQ((*versions)[1]["active"], false);
  EXPECT_EQ((*versions)[0]["created_by"], "admin");
  EXPECT_NE((*versions)[0].value("source", "").find("description: two"), std::string::npos);
  EXPECT_NE((*versions)[1].value("source", "").find("description: one"), std::string::npos);

  auto cli = server.cli({"templates", "versions", "t"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("yes"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("admin"), std::string::npos) << cli.out;

  // By id too; an unknown template says where to look.
  EXPECT_TRUE(api.get("/api/v1/templates/" + first.value("id", "") + "/versions"));
  auto missing = api.get("/api/v1/templates/nope/versions");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "template \"nope\" not found");
  EXPECT_NE(missing.error().detail.find("berth templates list"), std::string::npos);
}

TEST(Members, ListedWithRolesForOrganizationAdminsOnly) {
  TestServer server;
  auto api = server.admin();
  ASSERT_TRUE(api.post("/api/v1/organizations", {{"name", "acme"}}));
  const std::string alice = server.create_member("alice");
  server.create_member("bob");
  ASSERT_TRUE(api.put("/api/v1/organizations/acme/members/alice", {{"role", "admin"}}));
  ASSERT_TRUE(api.put("/api/v1/organizations/acme/members/bob", {{"role", "member"}}));

  auto members = server.client(alice).get("/api/v1/organizations/acme/members");
  ASSERT_TRUE(members) << members.error().message;
  // The site admin who made the organization is its first admin.
  ASSERT_EQ(members->size(), 3u) << members->dump();
  EXPECT_EQ((*members)[0]["username"], "admin");
  EXPECT_EQ((*members)[1]["username"], "alice");
  EXPECT_EQ((*members)[1]["role"], "admin");
  EXPECT_EQ((*members)[2]["username"], "bob");
  EXPECT_EQ((*members)[2]["role"], "member");

  // A plain member of the default organization may not list it.
  const std::string carol = server.create_member("carol");
  auto refused = server.client(carol).get("/api/v1/organizations/default/members");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "only organization admins can list members");

  // The CLI lists them, and removing one shows.
  auto listed = server.cli({"orgs", "members", "list", "acme"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("alice"), std::string::npos) << listed.out;
  ASSERT_TRUE(api.del("/api/v1/organizations/acme/members/bob"));
  members = api.get("/api/v1/organizations/acme/members");
  ASSERT_TRUE(members);
  EXPECT_EQ(members->size(), 2u) << members->dump();
}

// The agent's startup log, followed from before its script ends to its end event.
TEST(AgentLogs, FollowedLiveUntilTheStartEnds) {
  TestServer server;
  server.push_template(R"(name: slow
agents:
  - name: main
    startup_script: |
      echo first
      sleep 1
      echo second
  - name: broken
    startup_script: |
      echo about to fail
      exit 3
)");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "slow"}, {"name", "s"}});
  ASSERT_TRUE(created) << created.error().message;
  poll_workspace(api, created->value("id", ""),
                 [](const json& w) { return w.value("agents", json::array()).size() == 2; });

  auto followed = server.cli({"workspaces", "logs", "s", "--agent", "main", "--follow"});
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_NE(followed.out.find("first"), std::string::npos) << followed.out;
  EXPECT_NE(followed.out.find("second"), std::string::npos) << followed.out;
  EXPECT_NE(followed.out.find("agent ready"), std::string::npos) << followed.out;

  auto failed = server.cli({"workspaces", "logs", "s", "--agent", "broken", "--follow"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_NE(failed.out.find("about to fail"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("agent start_error"), std::string::npos) << failed.out;
}

}  // namespace
}  // namespace berth::testing
