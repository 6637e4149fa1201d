// Account hygiene (findings 10 and 11 of the hardening issue): tokens can be listed and
// revoked, users suspended, members removed, the bootstrap token rotated away; the data
// directory and its secrets are the server's alone.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(AccountHygiene, TokensAreListedAndRevokedAndUsersSuspended) {
  TestServer server;
  auto api = server.admin();
  const std::string first = server.create_member("dave");
  auto dave = server.client(first);
  auto second = dave.post("/api/v1/tokens", {{"name", "laptop"}, {"lifetime", "720h"}});
  ASSERT_TRUE(second) << second.error().message;

  auto listed = server.cli({"tokens", "list"}, first);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("laptop"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(first.substr(first.rfind('_') + 1)), std::string::npos)
      << "a secret was listed";
  auto theirs = dave.get("/api/v1/tokens?user=admin");
  ASSERT_FALSE(theirs);
  EXPECT_EQ(theirs.error().message, "only site admins can list other users' tokens");

  // Revoked: refused at once.
  auto revoked = server.cli({"tokens", "revoke", (*second)["id"]}, first);
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  auto gone = server.client((*second)["token"]).get("/api/v1/users/me");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "invalid API token");
  // Another user's token reads as missing.
  auto others = dave.del("/api/v1/tokens/" + std::string(server.admin_token().substr(6, 16)));
  ASSERT_FALSE(others);
  EXPECT_EQ(others.error().code, ErrorCode::not_found);

  // Suspended: every token of the user stops working, with a message that says why.
  auto suspend = server.cli({"users", "suspend", "dave"});
  ASSERT_EQ(suspend.exit_code, 0) << suspend.err;
  auto refused = dave.get("/api/v1/users/me");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "user dave is suspended");
  EXPECT_EQ(refused.error().detail, "ask a site admin to unsuspend the account");
  auto by_member = dave.post("/api/v1/users/admin/suspend", json::object());
  EXPECT_FALSE(by_member);
  auto self = api.post("/api/v1/users/admin/suspend", json::object());
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().message, "you cannot suspend yourself");
  ASSERT_EQ(server.cli({"users", "unsuspend", "dave"}).exit_code, 0);
  EXPECT_TRUE(dave.get("/api/v1/users/me"));
}

TEST(AccountHygiene, RemovedMembersLoseTheOrganization) {
  TestServer server;
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto erin = server.client(server.create_member("erin"));
  EXPECT_EQ(erin.get("/api/v1/templates")->size(), 1u);
  auto removed = server.cli({"orgs", "members", "remove", "default", "erin"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(removed.out, "erin is no longer a member of default\n");
  EXPECT_TRUE(erin.get("/api/v1/templates")->empty());
  auto create = erin.post("/api/v1/workspaces", {{"template", "t"}});
  EXPECT_FALSE(create);
  auto again = server.cli({"orgs", "members", "remove", "default", "erin"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("erin is not a member of organization default"), std::string::npos)
      << again.err;
  ASSERT_EQ(server.cli({"orgs", "members", "add", "default", "erin"}).exit_code, 0);
  EXPECT_EQ(erin.get("/api/v1/templates")->size(), 1u);
}

TEST(AccountHygiene, TheBootstrapTokenIsRotatedAwayAndItsFileRemoved) {
  TestServer server;
  const fs::path file = server.data_dir() / "admin.token";
  ASSERT_TRUE(fs::exists(file));
  auto rotated = server.cli({"tokens", "rotate-bootstrap"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  std::string fresh = rotated.out.substr(0, rotated.out.find('\n'));
  EXPECT_TRUE(fresh.starts_with("berth_")) << rotated.out;
  EXPECT_FALSE(fs::exists(file));
  auto old = server.admin().get("/api/v1/users/me");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message, "invalid API token");
  auto me = server.client(fresh).get("/api/v1/users/me");
  ASSERT_TRUE(me);
  EXPECT_EQ((*me)["username"], "admin");
}

// Finding 11: the data directory was 0755, the database 0644, and admin.token was written
// before it was made private.
TEST(AccountHygiene, TheDataDirectoryAndItsSecretsArePrivate) {
  TestServer server;
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto ws = api.post("/api/v1/workspaces", {{"template", "t"}});
  ASSERT_TRUE(ws);
  wait_settled(api, (*ws)["id"]);
  const fs::path d = server.data_dir();
  EXPECT_EQ(mode_of(d), 0711u) << "others may pass through, never list";
  for (const char* secret : {"berth.db", "berth.db-wal", "berth.db-shm", "admin.token"}) {
    EXPECT_EQ(mode_of(d / secret), 0600u) << secret;
  }
  EXPECT_EQ(mode_of(d / "logs"), 0700u);
  EXPECT_EQ(mode_of(d / "workspaces") & 0077u, 0011u);
  EXPECT_EQ(mode_of(d / "workspaces" / (*ws)["id"].get<std::string>()), 0700u);
}

}  // namespace
}  // namespace berth::testing
