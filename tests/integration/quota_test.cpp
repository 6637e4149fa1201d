// Quotas against the real server: a template's daily cost, budgets per organization and
// member, builds refused with INSUFFICIENT_QUOTA (the spec's quota shape in the chat tools),
// and two builds racing for the last credits.
#include <gtest/gtest.h>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kPaid = "name: paid\ndaily_cost: 6\nagents:\n  - name: main\n";

json content(const json& call_result) { return call_result["structuredContent"]; }

TEST(Quotas, ABuildOverTheBudgetFailsWithTheQuotaShape) {
  TestServer server;
  const std::string tid = server.push_template(kPaid)["id"];
  auto set = server.cli({"quotas", "set", "10"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "every member: 0 of 10 credits a day in use\n");

  McpClient first(server, server.admin_token(), "first");
  auto a = first.call("create_workspace", {{"template_id", tid}});
  ASSERT_FALSE(a.contains("isError")) << a.dump();
  auto api = server.admin();
  auto usage = api.get("/api/v1/organizations/default/quota");
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_EQ(*usage, json({{"credits_consumed", 6}, {"budget", 10}}));

  McpClient second(server, server.admin_token(), "second");
  auto refused = second.call("create_workspace", {{"template_id", tid}});
  EXPECT_EQ(refused["isError"], true) << refused.dump();
  auto r = content(refused);
  EXPECT_EQ(r["error_code"], "INSUFFICIENT_QUOTA") << r.dump();
  EXPECT_EQ(r["title"], "Workspace quota reached");
  EXPECT_NE(r["message"].get<std::string>().find("workspace quota is full"), std::string::npos);
  EXPECT_NE(r["error"].get<std::string>().find("workspace build failed"), std::string::npos);
  EXPECT_EQ(r["quota"], json({{"credits_consumed", 6}, {"budget", 10}})) << r.dump();
  EXPECT_FALSE(r.contains("next_steps"));
  auto build = api.get("/api/v1/builds/" + r["build_id"].get<std::string>() + "/logs");
  ASSERT_TRUE(build);
  EXPECT_NE(build->dump().find("insufficient quota: this workspace costs 6 credits a day, and 6 "
                               "of the owner's budget of 10 are in use"),
            std::string::npos)
      << build->dump();

  // Stopping the first frees its credits; the second chat's next try builds.
  auto stopped = content(first.call("stop_workspace"));
  ASSERT_FALSE(stopped.contains("error")) << stopped.dump();
  EXPECT_EQ(api.get("/api/v1/organizations/default/quota")->at("credits_consumed"), 0);
  auto again = second.call("create_workspace", {{"template_id", tid}});
  EXPECT_FALSE(again.contains("isError")) << again.dump();

  // Now the first cannot start again: start_workspace gives the same shape.
  auto restart = first.call("start_workspace");
  EXPECT_EQ(restart["isError"], true) << restart.dump();
  EXPECT_EQ(content(restart)["error_code"], "INSUFFICIENT_QUOTA") << restart.dump();
  EXPECT_EQ(content(restart)["quota"], json({{"credits_consumed", 6}, {"budget", 10}}));
}

TEST(Quotas, TwoBuildsRacingForTheLastCreditsOneWins) {
  TestServer server;
  server.push_template(kPaid);
  ASSERT_EQ(server.cli({"quotas", "set", "10"}).exit_code, 0);
  auto api = server.admin();
  // Both are queued while the budget is still free; the quota is reached during the builds.
  auto one = api.post("/api/v1/workspaces", {{"template", "paid"}, {"name", "one"}});
  auto two = api.post("/api/v1/workspaces", {{"template", "paid"}, {"name", "two"}});
  ASSERT_TRUE(one && two);
  auto settle = [&](const json& w) {
    auto r = api.get("/api/v1/workspaces/" + w["id"].get<std::string>() + "/wait?timeout=30s");
    return r ? *r : json();
  };
  json results[] = {settle(*one), settle(*two)};
  int running = 0, refused = 0;
  for (const auto& w : results) {
    if (w["status"] == "running") ++running;
    if (w["latest_build"]["job"]["error_code"] == "INSUFFICIENT_QUOTA") ++refused;
  }
  EXPECT_EQ(running, 1) << results[0].dump() << results[1].dump();
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(api.get("/api/v1/organizations/default/quota")->at("credits_consumed"), 6);
}

TEST(Quotas, AdminsSetBudgetsAndMembersSeeTheirOwn) {
  TestServer server;
  server.push_template(kPaid);
  server.push_template("name: free\nagents:\n  - name: main\n");
  const std::string mallory = server.create_member("mallory");

  auto denied = server.cli({"quotas", "set", "5"}, mallory);
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("only organization admins can set quotas"), std::string::npos)
      << denied.err;
  auto not_number = server.cli({"quotas", "set", "lots"});
  EXPECT_NE(not_number.exit_code, 0);
  EXPECT_NE(not_number.err.find("budget \"lots\" is not a whole number"), std::string::npos)
      << not_number.err;
  auto nobody = server.cli({"quotas", "set", "5", "--user", "nobody"});
  EXPECT_NE(nobody.exit_code, 0);
  EXPECT_NE(nobody.err.find("user \"nobody\" not found"), std::string::npos) << nobody.err;
  auto negative =
      server.admin().exchange("PUT", "/api/v1/organizations/default/quota",
                              {{"Content-Type", "application/json"}}, R"({"budget": -1})");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->status, 400);
  EXPECT_NE(negative->body.find("a budget must be between 0 and"), std::string::npos);
  auto missing = server.admin().exchange("PUT", "/api/v1/organizations/default/quota",
                                         {{"Content-Type", "application/json"}}, "{}");
  ASSERT_TRUE(missing);
  EXPECT_NE(missing->body.find("field \\\"budget\\\" is required"), std::string::npos)
      << missing->body;

  // Every member gets 100; mallory her own 0, which wins.
  ASSERT_EQ(server.cli({"quotas", "set", "100"}).exit_code, 0);
  ASSERT_EQ(server.cli({"quotas", "set", "0", "--user", "mallory"}).exit_code, 0);
  auto listed = server.admin().get("/api/v1/organizations/default/quotas");
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["every_member"], 100);
  EXPECT_EQ((*listed)["users"][0]["username"], "mallory");
  EXPECT_EQ((*listed)["users"][0]["budget"], 0);
  auto own = server.cli({"quotas", "show"}, mallory);
  EXPECT_EQ(own.out, "0 of 0 credits a day in use\n") << own.err;
  auto peek = server.cli({"quotas", "show", "--user", "admin"}, mallory);
  EXPECT_NE(peek.exit_code, 0);
  EXPECT_NE(peek.err.find("only organization admins can see other members' quotas"),
            std::string::npos)
      << peek.err;

  auto client = server.client(mallory);
  auto paid = client.post("/api/v1/workspaces", {{"template", "paid"}, {"name", "p"}});
  auto free = client.post("/api/v1/workspaces", {{"template", "free"}, {"name", "f"}});
  ASSERT_TRUE(paid && free);
  auto p = client.get("/api/v1/workspaces/" + (*paid)["id"].get<std::string>() + "/wait");
  auto f = client.get("/api/v1/workspaces/" + (*free)["id"].get<std::string>() + "/wait");
  ASSERT_TRUE(p && f);
  EXPECT_EQ((*p)["latest_build"]["job"]["error_code"], "INSUFFICIENT_QUOTA") << p->dump();
  EXPECT_EQ((*f)["status"], "running") << "a template without a cost needs no budget";

  // Removing her budget falls back to every member's.
  ASSERT_EQ(server.cli({"quotas", "set", "none", "--user", "mallory"}).exit_code, 0);
  EXPECT_EQ(server.cli({"quotas", "show"}, mallory).out, "0 of 100 credits a day in use\n");
}

}  // namespace
}  // namespace berth::testing
