// --log-format json and the request id: one call followed through REST or MCP, the tool and
// the agent, in the server's log and the agent's.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/integration/harness.hpp"
#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;  // the start-up banner is plain text
    json j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << line;
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

std::string agent_log(const TestServer& server) {
  std::string all;
  for (const auto& e : fs::directory_iterator(server.data_dir() / "logs" / "agents"))
    all += read_file(e.path());
  return all;
}

TEST(Logging, JsonLinesCarryTheRequestIdIntoTheToolAndTheAgent) {
  ServerFlags flags;
  flags.extra_args = {"--log-format", "json"};
  TestServer server(flags);
  json tmpl = server.push_template("name: shell\nisolation: sandbox\nagents:\n  - name: main\n");
  McpClient mcp(server, server.admin_token(), "trace-chat");
  mcp.set_header("X-Request-Id", "it-create-1");
  auto created = mcp.call("create_workspace", {{"template_id", tmpl.value("id", "")}});
  ASSERT_FALSE(created.value("isError", false)) << created.dump();
  wait_until_done(mcp);
  mcp.set_header("X-Request-Id", "it-trace-9");
  auto out = mcp.call("execute", {{"command", "echo traced"}});
  ASSERT_FALSE(out.value("isError", false)) << out.dump();

  auto lines = json_lines(server.server_log());
  ASSERT_FALSE(lines.empty());
  bool tool_line = false;
  std::set<std::string> create_lines;  // what was logged for the create call
  for (const auto& l : lines) {
    if (l.value("request_id", "") == "it-create-1") create_lines.insert(l.value("msg", ""));
    EXPECT_TRUE(l.contains("time") && l.contains("level") && l.contains("msg")) << l.dump();
    EXPECT_EQ(l.value("component", ""), "server");
    if (l.value("msg", "") == "tool call done" && l.value("tool", "") == "execute") {
      EXPECT_EQ(l.value("request_id", ""), "it-trace-9") << l.dump();
      tool_line = true;
    }
  }
  EXPECT_TRUE(tool_line) << server.server_log();
  // The create call, then its build on the provisioner, with the same id.
  for (const char* msg : {"workspace created", "tool call done", "build started", "build finished"})
    EXPECT_TRUE(create_lines.contains(msg)) << msg << "\n" << server.server_log();
  std::string agent = agent_log(server);
  EXPECT_NE(agent.find("request done method=exec"), std::string::npos) << agent;
  EXPECT_NE(agent.find("request_id=it-trace-9"), std::string::npos) << agent;
}

TEST(Logging, RestAnswersCarryTheirRequestIdAndForgedOnesAreReplaced) {
  TestServer server;
  auto mine = http_request(
      server.url(), "GET", "/api/v1/templates",
      {{"Authorization", "Bearer " + server.admin_token()}, {"X-Request-Id", "client-7"}});
  EXPECT_EQ(mine.headers["x-request-id"], "client-7");
  auto fresh = http_request(server.url(), "GET", "/healthz", {});
  EXPECT_EQ(fresh.headers["x-request-id"].size(), 16u) << fresh.headers["x-request-id"];
  for (std::string forged : {std::string("a b"), std::string(65, 'x'), std::string("x\"y")}) {
    auto r = http_request(server.url(), "GET", "/healthz", {{"X-Request-Id", forged}});
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers["x-request-id"], forged);
    EXPECT_EQ(r.headers["x-request-id"].size(), 16u);
  }
  // Text logs put the id at the end of each line written for the request.
  server.push_template("name: t\nisolation: sandbox\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto w = http_request(server.url(), "POST", "/api/v1/workspaces",
                        {{"Authorization", "Bearer " + server.admin_token()},
                         {"Content-Type", "application/json"},
                         {"X-Request-Id", "create-1"}},
                        json{{"template", "t"}, {"name", "w"}}.dump());
  ASSERT_EQ(w.status, 201) << w.body;
  wait_settled(api, w.json_body().value("id", ""));
  const std::string log = server.server_log();
  EXPECT_NE(log.find("workspace created"), std::string::npos) << log;
  for (const char* line : {"workspace created", "build started", "build finished"}) {
    auto at = log.find(line);
    ASSERT_NE(at, std::string::npos) << line << "\n" << log;
    auto end = log.find('\n', at);
    EXPECT_NE(log.substr(at, end - at).find("request_id=create-1"), std::string::npos)
        << log.substr(at, end - at);
  }
}

}  // namespace
}  // namespace berth::testing
