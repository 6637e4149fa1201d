// /metrics: scraped after real work, read as Prometheus text by a parser of our own (values)
// and by Prometheus's own `promtool check metrics` (the format and its naming rules).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

// `name{labels} value` lines, keyed by everything before the value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

HttpReply scrape(const TestServer& server, const std::string& token) {
  return http_request(server.url(), "GET", "/metrics", {{"Authorization", "Bearer " + token}});
}

void expect_promtool_accepts(const TestServer& server, const std::string& text) {
  ASSERT_TRUE(fs::exists(BERTH_PROMTOOL))
      << BERTH_PROMTOOL << " is missing: scripts/install-deps.sh unpacks it from Debian's "
      << "prometheus package";
  fs::path file = server.data_dir() / "metrics.txt";
  std::ofstream(file) << text;
  fs::path report = server.data_dir() / "promtool.txt";
  std::string cmd = std::string(BERTH_PROMTOOL) + " check metrics < " + file.string() + " > " +
                    report.string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << read_file(report);
  EXPECT_EQ(read_file(report), "") << "promtool's lint findings";
}

TEST(Metrics, OnlySiteAdminsReadThem) {
  TestServer server;
  auto anonymous = http_request(server.url(), "GET", "/metrics", {});
  EXPECT_EQ(anonymous.status, 401);
  auto member = scrape(server, server.create_member("alice"));
  EXPECT_EQ(member.status, 403);
  EXPECT_NE(member.body.find("read /metrics"), std::string::npos) << member.body;
  auto admin = scrape(server, server.admin_token());
  EXPECT_EQ(admin.status, 200);
  EXPECT_EQ(admin.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
}

TEST(Metrics, CountWhatTheServerDid) {
  TestServer server;
  server.push_template(R"(name: shell
isolation: sandbox
agents:
  - name: main
    startup_script: echo started
)");
  server.push_template(R"(name: broken
isolation: sandbox
agents:
  - name: main
scripts:
  start: exit 3
)");
  auto api = server.admin();
  auto ok = api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "good"}});
  auto bad = api.post("/api/v1/workspaces", {{"template", "broken"}, {"name", "bad"}});
  ASSERT_TRUE(ok && bad);
  EXPECT_EQ(wait_settled(api, ok->value("id", ""))["readiness"]["phase"], "ready");
  EXPECT_EQ(wait_settled(api, bad->value("id", ""))["readiness"]["phase"], "build_failed");
  McpClient mcp(server, server.admin_token());
  mcp.call("list_templates");
  mcp.call("read_template", {{"template_id", "nope"}});  // an error result the model reads

  auto reply = scrape(server, server.admin_token());
  ASSERT_EQ(reply.status, 200);
  auto m = samples(reply.body);
  EXPECT_EQ(m["berth_workspaces{status=\"running\"}"], 1);
  EXPECT_EQ(m["berth_workspaces{status=\"failed\"}"], 1);
  EXPECT_EQ(m["berth_workspaces{status=\"stopped\"}"], 0);
  EXPECT_EQ(m["berth_builds_started_total{transition=\"start\"}"], 2);
  EXPECT_EQ(m["berth_builds_completed_total{transition=\"start\",status=\"succeeded\"}"], 1);
  EXPECT_EQ(m["berth_builds_completed_total{transition=\"start\",status=\"failed\"}"], 1);
  EXPECT_EQ(m["berth_builds_failed_total{transition=\"start\",code=\"SCRIPT_FAILED\"}"], 1)
      << reply.body;
  EXPECT_EQ(m["berth_build_duration_seconds_count{transition=\"start\",status=\"succeeded\"}"], 1);
  EXPECT_EQ(m["berth_create_to_ready_seconds_count"], 1);
  EXPECT_GT(m["berth_create_to_ready_seconds_sum"], 0);
  EXPECT_EQ(m["berth_agent_connections"], 1);
  EXPECT_EQ(m["berth_tool_calls_total{tool=\"list_templates\",outcome=\"ok\"}"], 1);
  EXPECT_EQ(m["berth_tool_calls_total{tool=\"read_template\",outcome=\"error\"}"], 1);
  EXPECT_EQ(m["berth_tool_call_duration_seconds_count{tool=\"list_templates\"}"], 1);
  EXPECT_EQ(m["berth_tool_call_duration_seconds_bucket{tool=\"list_templates\",le=\"+Inf\"}"], 1);
  EXPECT_EQ(m["berth_mcp_sessions"], 1);
  EXPECT_EQ(
      m["berth_http_requests_total{method=\"POST\",route=\"/api/v1/workspaces\",code=\"201\"}"], 2);
  EXPECT_GT(m["berth_store_commit_seconds_count{driver=\"" +
              std::string(postgres_store() ? "postgres" : "sqlite") + "\"}"],
            0);
  EXPECT_GT(m["process_resident_memory_bytes"], 1e6);
  // A path nobody routes is one series, whatever the client sends.
  http_request(server.url(), "GET", "/no/such/" + std::string(40, 'x'), {});
  auto again = samples(scrape(server, server.admin_token()).body);
  EXPECT_EQ(again["berth_http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"}"], 1);
  expect_promtool_accepts(server, reply.body);
}

TEST(Metrics, PrebuildPoolsAndQuotaRefusals) {
  TestServer server;
  server.push_template(R"(name: pooled
isolation: sandbox
daily_cost: 5
presets:
  - {name: warm, prebuilds: 2}
agents:
  - name: main
)");
  auto api = server.admin();
  // Both prebuilds become ready.
  std::map<std::string, double> m;
  for (int i = 0; i < 200; ++i) {
    m = samples(scrape(server, server.admin_token()).body);
    if (m["berth_prebuilds{template=\"pooled\",preset=\"warm\",state=\"ready\"}"] == 2) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(m["berth_prebuilds_desired{template=\"pooled\",preset=\"warm\"}"], 2);
  EXPECT_EQ(m["berth_prebuilds{template=\"pooled\",preset=\"warm\",state=\"ready\"}"], 2);
  // A member with no budget left is refused at the build.
  std::string member = server.create_member("bob");
  ASSERT_TRUE(api.put("/api/v1/organizations/default/quota", {{"budget", 0}, {"user", "bob"}}));
  auto bob = server.client(member);
  auto w = bob.post("/api/v1/workspaces", {{"template", "pooled"}, {"name", "over"}});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(wait_settled(bob, w->value("id", ""))["latest_build"]["job"]["error_code"],
            "INSUFFICIENT_QUOTA");
  m = samples(scrape(server, server.admin_token()).body);
  EXPECT_EQ(m["berth_quota_refusals_total{kind=\"build\"}"], 1);
  EXPECT_EQ(m["berth_builds_failed_total{transition=\"start\",code=\"INSUFFICIENT_QUOTA\"}"], 1);
}

}  // namespace
}  // namespace berth::testing
