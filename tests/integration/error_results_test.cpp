// Every error result of every chat tool names the next step (issue 12, item 5), walked over
// /mcp against the real server and a real agent.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

// Issue 12, item 5: every error result of every tool, reached as a model would reach it,
// names the next step: a tool to call or an action to take.
TEST(ErrorResults, EveryRefusalOfEveryToolNamesTheNextStep) {
  TestServer server;
  const std::string tid = server.push_template("name: shell\nagents:\n  - name: main\n")["id"];
  const std::string hidden =
      server.push_template("name: hidden\nagents_allowed: false\nagents:\n  - name: main\n")["id"];
  const std::regex next_step(
      "\\b(list_templates|read_template|create_workspace|start_workspace|stop_workspace|"
      "wait_for_workspace|execute|process_output|process_signal|read_file|write_file|edit_file|"
      "expose_port|"
      "call|use|pass|check|ask|try again|read|include|set|give|leave|inspect)\\b",
      std::regex::icase);
  std::vector<std::string> missing;
  int checked = 0;
  auto expect_refusal = [&](McpClient& mcp, const std::string& tool, const json& args) {
    auto r = mcp.call(tool, args);
    const std::string error = r["structuredContent"].value("error", "");
    EXPECT_EQ(r.value("isError", false), true) << tool << " " << args.dump() << ": " << r.dump();
    EXPECT_FALSE(error.empty()) << tool << " " << args.dump();
    ++checked;
    if (std::getenv("BERTH_TEST_VERBOSE")) fmt::print("{} {}\n  {}\n", tool, args.dump(), error);
    if (!std::regex_search(error, next_step)) missing.push_back(tool + ": " + error);
  };

  // A chat without a workspace.
  McpClient empty(server, server.admin_token());
  const std::string unknown_uuid = "00000000-0000-4000-8000-000000000000";
  for (const auto& args : {json{{"query", 5}}, json{{"page", "x"}}}) {
    expect_refusal(empty, "list_templates", args);
  }
  for (const auto& args : {json::object(), json{{"template_id", "abc"}}, json{{"template_id", 7}},
                           json{{"template_id", unknown_uuid}}, json{{"template_id", hidden}}}) {
    expect_refusal(empty, "read_template", args);
  }
  for (const auto& args :
       {json::object(), json{{"template_id", "nope"}}, json{{"template_id", unknown_uuid}},
        json{{"template_id", hidden}}, json{{"template_id", tid}, {"preset_id", "x"}},
        json{{"template_id", tid}, {"parameters", 5}}, json{{"template_id", tid}, {"name", 5}}}) {
    expect_refusal(empty, "create_workspace", args);
  }
  for (const char* tool : {"start_workspace", "stop_workspace", "wait_for_workspace"}) {
    expect_refusal(empty, tool, json::object());
  }
  expect_refusal(empty, "execute", {{"command", "true"}});
  expect_refusal(empty, "read_file", {{"path", "x"}});
  expect_refusal(empty, "write_file", {{"path", "x"}, {"content", "y"}});
  expect_refusal(empty, "edit_file", {{"path", "x"}, {"old_text", "a"}, {"new_text", "b"}});
  expect_refusal(empty, "process_output", {{"process_id", "p"}});
  expect_refusal(empty, "process_signal", {{"process_id", "p"}});
  expect_refusal(empty, "expose_port", {{"port", 8080}});

  // A chat with a running workspace.
  McpClient mcp(server, server.admin_token());
  ASSERT_FALSE(mcp.call("create_workspace", {{"template_id", tid}}).contains("isError"));
  mcp.call("execute", {{"command", "printf 'a\\0b' > bin.dat; echo hi > f.txt; mkdir -p d"}});
  for (const auto& args :
       {json::object(), json{{"command", 5}}, json{{"command", "true"}, {"timeout_seconds", 0}},
        json{{"command", "true"}, {"background", "yes"}},
        json{{"command", "true"}, {"workdir", 3}}}) {
    expect_refusal(mcp, "execute", args);
  }
  for (const auto& args :
       {json::object(), json{{"path", "nope.txt"}}, json{{"path", "d"}}, json{{"path", "bin.dat"}},
        json{{"path", "f.txt"}, {"offset", -1}}, json{{"path", ""}}}) {
    expect_refusal(mcp, "read_file", args);
  }
  for (const auto& args :
       {json{{"path", "x"}}, json{{"content", "a"}}, json{{"path", "d"}, {"content", "a"}}}) {
    expect_refusal(mcp, "write_file", args);
  }
  for (const auto& args :
       {json{{"path", "nope"}, {"old_text", "a"}, {"new_text", "b"}},
        json{{"path", "f.txt"}, {"old_text", "zzz"}, {"new_text", "b"}},
        json{{"path", "f.txt"}, {"old_text", ""}, {"new_text", "b"}},
        json{{"path", "f.txt"}, {"old_text", "hi"}, {"new_text", "b"}, {"replace_all", "x"}},
        json{{"path", "bin.dat"}, {"old_text", "a"}, {"new_text", "b"}}}) {
    expect_refusal(mcp, "edit_file", args);
  }
  for (const auto& args : {json::object(), json{{"port", "8080"}}, json{{"port", 0}},
                           json{{"port", 65536}}, json{{"port", 80}, {"public", "yes"}}}) {
    expect_refusal(mcp, "expose_port", args);
  }
  for (const char* tool : {"process_output", "process_signal"}) {
    expect_refusal(mcp, tool, json::object());
    expect_refusal(mcp, tool, {{"process_id", "nope"}});
  }

  // A read-only token.
  auto made = server.cli({"--json", "tokens", "create", "--read-only"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  McpClient read_only(server, json::parse(made.out)["token"].get<std::string>());
  expect_refusal(read_only, "create_workspace", {{"template_id", tid}});

  // The workspace stopped.
  ASSERT_FALSE(mcp.call("stop_workspace").contains("isError"));
  expect_refusal(mcp, "execute", {{"command", "true"}});
  expect_refusal(mcp, "read_file", {{"path", "f.txt"}});

  EXPECT_GE(checked, 45) << "the walk reached every path";
  EXPECT_TRUE(missing.empty()) << "error results without a next step:\n"
                               << fmt::format("{}", fmt::join(missing, "\n"));
}

}  // namespace
}  // namespace berth::testing
