// Logs are bounded and read in pages (finding 8 of the hardening issue): an agent stored
// 345 MB of log frames in 5 s, and reading them took 1.27 GB of the server's memory.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"
#include "tests/security/raw_agent.hpp"

namespace berth::testing {
namespace {

constexpr std::size_t kCap = 4 * 1024 * 1024;
const std::string kMarker =
    "log truncated: this log reached its limit of 4194304 bytes; later output was dropped";

std::size_t bytes_of(const json& lines) {
  std::size_t n = 0;
  for (const auto& l : lines) n += l["output"].get<std::string>().size() + 1;
  return n;
}

TEST(LogCaps, ABuildLogStopsAtItsCapWithAMarker) {
  TestServer server;
  server.push_template(R"(name: loud
agents:
  - name: main
scripts:
  start: head -c 6000000 /dev/zero | tr '\0' a | fold -w 100
)");
  auto api = server.admin();
  auto ws = api.post("/api/v1/workspaces", {{"template", "loud"}});
  ASSERT_TRUE(ws);
  auto settled = wait_settled(api, (*ws)["id"], 60s);
  ASSERT_EQ(settled["readiness"]["phase"], "ready") << settled.dump();
  const std::string build = settled["latest_build"]["id"];
  auto logs = api.get("/api/v1/builds/" + build + "/logs");
  ASSERT_TRUE(logs);
  EXPECT_LE(bytes_of(*logs), kCap + kMarker.size() + 1);
  bool marked = false;
  for (const auto& l : *logs) marked = marked || l["output"] == kMarker;
  EXPECT_TRUE(marked);
  // Read in pages.
  auto page = api.get("/api/v1/builds/" + build + "/logs?limit=10");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->size(), 10u);
  auto next = api.get("/api/v1/builds/" + build + "/logs?after=" +
                      std::to_string((*page)[9]["seq"].get<std::int64_t>()) + "&limit=1");
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0]["seq"], (*page)[9]["seq"].get<std::int64_t>() + 1);
  auto bad = api.get("/api/v1/builds/" + build + "/logs?limit=lots");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid limit \"lots\"");
}

TEST(LogCaps, AnAgentFloodingLogFramesIsCapped) {
  TestServer server;
  server.push_template("name: ext\nagents:\n  - name: main\n    external: true\n");
  auto api = server.admin();
  auto ws = api.post("/api/v1/workspaces", {{"template", "ext"}});
  ASSERT_TRUE(ws);
  const std::string ws_id = (*ws)["id"];
  poll_workspace(api, ws_id,
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });
  auto minted = api.post("/api/v1/workspaces/" + ws_id + "/agent-token", json::object());
  ASSERT_TRUE(minted);

  const std::string token = (*minted)["token"];
  RawAgent sock(server.url(), token);
  json frame = {{"type", "log"}, {"lines", json::array()}};
  for (int i = 0; i < 1000; ++i) frame["lines"].push_back(std::string(100, 'x'));
  const std::string text = frame.dump();
  for (int i = 0; i < 120; ++i) sock.send(text);  // 12 MB of log lines
  sock.send(std::string(R"({"type":"lifecycle","state":"ready"})"));
  poll_workspace(api, ws_id,
                 [](const json& w) { return w["agents"][0]["lifecycle_state"] == "ready"; });
  const std::string agent = (*minted)["agent_id"];
  auto logs = api.get("/api/v1/agents/" + agent + "/logs");
  ASSERT_TRUE(logs);
  EXPECT_LE(bytes_of(*logs), kCap + kMarker.size() + 1);
  EXPECT_EQ(logs->back()["output"], kMarker);
  EXPECT_LT(std::filesystem::file_size(server.data_dir() / "berth.db") +
                std::filesystem::file_size(server.data_dir() / "berth.db-wal"),
            3 * kCap);
  auto page = api.get("/api/v1/agents/" + agent + "/logs?limit=5");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->size(), 5u);
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
}

}  // namespace
}  // namespace berth::testing
