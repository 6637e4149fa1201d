// The request channel to agents: exec, read_file and write_file through the server.
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

struct Fixture {
  TestServer server;
  cli::ApiClient api = server.admin();
  std::string agent;
  std::string workspace;
};

void make_ready(Fixture& f) {
  f.server.push_template("name: t\nagents:\n  - name: main\n");
  f.api = f.server.admin();
  auto created = f.api.post("/api/v1/workspaces", {{"template", "t"}});
  ASSERT_TRUE(created);
  f.workspace = created->value("id", "");
  auto ws = wait_settled(f.api, f.workspace);
  ASSERT_EQ(ws["readiness"]["phase"], "ready");
  f.agent = ws["agents"][0].value("id", "");
}

TEST(AgentRpc, ExecRunsInTheWorkspace) {
  Fixture f;
  make_ready(f);
  auto r = f.api.post("/api/v1/agents/" + f.agent + "/exec",
                      {{"command", "echo out; echo err >&2; pwd; exit 4"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["exit_code"], 4);
  std::string out = (*r)["output"];
  EXPECT_NE(out.find("out\n"), std::string::npos);
  EXPECT_NE(out.find("err\n"), std::string::npos);
  EXPECT_NE(out.find("/home/berth\n"), std::string::npos)
      << "runs in the workspace directory (the sandbox's home): " << out;
  EXPECT_FALSE((*r)["truncated"]);

  auto slow = f.api.post("/api/v1/agents/" + f.agent + "/exec",
                         {{"command", "sleep 30"}, {"timeout_ms", 200}});
  ASSERT_TRUE(slow);
  EXPECT_TRUE((*slow)["timed_out"]);

  auto big = f.api.post("/api/v1/agents/" + f.agent + "/exec",
                        {{"command", "head -c 100000 /dev/zero | tr '\\0' x"}});
  ASSERT_TRUE(big);
  EXPECT_TRUE((*big)["truncated"]);
  EXPECT_EQ((*big)["output"].get<std::string>().size(), 32u * 1024);
}

TEST(AgentRpc, WriteThenReadFiles) {
  Fixture f;
  make_ready(f);
  auto w = f.api.post("/api/v1/agents/" + f.agent + "/files/write",
                      {{"path", "src/a/b.txt"}, {"content", "one\ntwo\nthree\n"}});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ((*w)["bytes_written"], 14);
  auto r = f.api.post("/api/v1/agents/" + f.agent + "/files/read",
                      {{"path", "src/a/b.txt"}, {"offset", 1}, {"limit", 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["content"], "two\n");
  EXPECT_EQ((*r)["total_lines"], 3);

  auto missing = f.api.post("/api/v1/agents/" + f.agent + "/files/read", {{"path", "nope.txt"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_EQ(missing.error().message,
            "nope.txt does not exist; check the path (execute `ls` on its directory to see what "
            "is there)");

  ASSERT_TRUE(
      f.api.post("/api/v1/agents/" + f.agent + "/exec", {{"command", "printf 'a\\0b' > bin.dat"}}));
  auto binary = f.api.post("/api/v1/agents/" + f.agent + "/files/read", {{"path", "bin.dat"}});
  ASSERT_FALSE(binary);
  EXPECT_EQ(binary.error().message,
            "bin.dat is a binary file; inspect it with execute instead (for example `file "
            "bin.dat`)");
}

TEST(AgentRpc, StoppedAgentIsUnavailable) {
  Fixture f;
  make_ready(f);
  ASSERT_TRUE(f.api.post("/api/v1/workspaces/" + f.workspace + "/stop", json::object()));
  wait_settled(f.api, f.workspace);
  auto r = f.api.post("/api/v1/agents/" + f.agent + "/exec", {{"command", "true"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("is not connected"), std::string::npos);
}

}  // namespace
}  // namespace berth::testing
