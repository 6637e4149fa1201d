// GET /api/v1/workspaces: pages, filters and X-Total-Count, on a real server.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

HttpReply list(const TestServer& server, const std::string& query, const std::string& token = "") {
  return http_request(
      server.url(), "GET", "/api/v1/workspaces" + query,
      {{"Authorization", "Bearer " + (token.empty() ? server.admin_token() : token)}});
}

std::vector<std::string> names(const HttpReply& r) {
  std::vector<std::string> out;
  for (const auto& w : r.json_body()) out.push_back(w.value("full_name", ""));
  return out;
}

TEST(WorkspaceList, PagesAndFiltersWithATotal) {
  TestServer server;
  server.push_template("name: a\nisolation: sandbox\nagents:\n  - name: main\n");
  server.push_template("name: b\nisolation: sandbox\nagents:\n  - name: main\n");
  auto api = server.admin();
  std::vector<std::string> ids;
  for (const char* n : {"w1", "w2", "w3", "w4"}) {
    auto w = api.post("/api/v1/workspaces",
                      {{"template", n == std::string("w4") ? "b" : "a"}, {"name", n}});
    ASSERT_TRUE(w);
    ids.push_back(w->value("id", ""));
  }
  std::string bob = server.create_member("bob");
  ASSERT_TRUE(server.client(bob).post("/api/v1/workspaces", {{"template", "a"}, {"name", "mine"}}));
  for (const auto& id : ids) wait_settled(api, id);
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + ids[1] + "/stop", json::object()));
  EXPECT_EQ(wait_settled(api, ids[1])["readiness"]["phase"], "stopped");

  auto all = list(server, "");
  EXPECT_EQ(names(all),
            (std::vector<std::string>{"admin/w1", "admin/w2", "admin/w3", "admin/w4", "bob/mine"}));
  EXPECT_EQ(all.headers["x-total-count"], "5");
  auto page = list(server, "?limit=2&offset=1");
  EXPECT_EQ(names(page), (std::vector<std::string>{"admin/w2", "admin/w3"}));
  EXPECT_EQ(page.headers["x-total-count"], "5");
  EXPECT_EQ(names(list(server, "?limit=2&offset=4")), (std::vector<std::string>{"bob/mine"}));
  EXPECT_TRUE(names(list(server, "?limit=2&offset=9")).empty());
  EXPECT_EQ(names(list(server, "?status=stopped")), (std::vector<std::string>{"admin/w2"}));
  auto running = list(server, "?status=running&limit=1");
  EXPECT_EQ(running.headers["x-total-count"], "4");
  EXPECT_EQ(names(list(server, "?template=b")), (std::vector<std::string>{"admin/w4"}));
  EXPECT_EQ(names(list(server, "?owner=bob")), (std::vector<std::string>{"bob/mine"}));
  EXPECT_EQ(names(list(server, "?q=MINE")), (std::vector<std::string>{"bob/mine"}));
  // A member sees only their own, whatever they ask for.
  EXPECT_EQ(names(list(server, "?owner=admin", bob)), std::vector<std::string>{});
  EXPECT_EQ(list(server, "", bob).headers["x-total-count"], "1");
  // Bad pages and statuses say what to send instead.
  auto zero = list(server, "?limit=0");
  EXPECT_EQ(zero.status, 400);
  EXPECT_EQ(zero.json_body()["message"], "invalid limit \"0\"");
  EXPECT_EQ(zero.json_body()["detail"], "use a whole number from 1 to 500");
  auto status = list(server, "?status=asleep");
  EXPECT_EQ(status.status, 400);
  EXPECT_EQ(status.json_body()["message"], "invalid status \"asleep\"");
  EXPECT_EQ(list(server, "?offset=-1").status, 400);
}

}  // namespace
}  // namespace berth::testing
