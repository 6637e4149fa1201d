// The chat workspace tools over /mcp against the real server and real agents: spec section 5
// scenarios that apply to Berth, and Berth's reference choices (binding in the creating
// transaction, event-driven waits, call budget, progress, cancellation, replaced workspaces).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kShell = "name: shell\nagents:\n  - name: main\n";

std::string template_id(const json& pushed) { return pushed["id"]; }

json content(const json& call_result) { return call_result["structuredContent"]; }

class ChatTools : public ::testing::Test {
 protected:
  TestServer server_;
};

TEST_F(ChatTools, CreateThenTheSameWorkspaceAgain) {
  auto tid = template_id(server_.push_template(kShell));
  McpClient mcp(server_, server_.admin_token());
  auto first = mcp.call("create_workspace", {{"template_id", tid}});
  EXPECT_FALSE(first.contains("isError")) << first.dump();
  auto r = content(first);
  EXPECT_EQ(r["created"], true);
  EXPECT_TRUE(std::regex_match(r["workspace_name"].get<std::string>(),
                               std::regex("admin/shell-[0-9a-f]{4}")))
      << r.dump();
  EXPECT_TRUE(r.contains("build_id"));
  EXPECT_FALSE(r.contains("agent_status")) << "the agent is ready: " << r.dump();
  EXPECT_FALSE(r.contains("status")) << r.dump();
  // The text block carries the same JSON, for clients that read only text.
  EXPECT_EQ(json::parse(first["content"][0]["text"].get<std::string>()), r);

  auto again = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(again["created"], false);
  EXPECT_EQ(again["status"], "already_exists");
  EXPECT_EQ(again["message"], "workspace is already running and recently connected");
  EXPECT_EQ(again["workspace_name"], r["workspace_name"]) << "owner/name on every path";

  auto api = server_.admin();
  auto list = api.get("/api/v1/workspaces");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(ChatTools, NameTtlAndPreset) {
  auto pushed = server_.push_template(R"(name: sized
parameters:
  - {name: size, type: number, default: "1"}
  - {name: region, default: eu}
presets:
  - {name: big, parameters: {size: "8"}}
agents:
  - name: main
)");
  auto tid = template_id(pushed);
  ASSERT_EQ(server_.cli({"config", "set", "agents_workspace_ttl", "2h"}).exit_code, 0);
  McpClient reader(server_, server_.admin_token());
  auto presets = content(reader.call("read_template", {{"template_id", tid}}))["presets"];
  ASSERT_EQ(presets.size(), 1u);
  std::string preset_id = presets[0]["id"];

  McpClient a(server_, server_.admin_token());
  auto created = content(a.call("create_workspace", {{"template_id", tid},
                                                     {"name", "fun-dashboard"},
                                                     {"preset_id", preset_id},
                                                     {"parameters", {{"region", "us"}}}}));
  ASSERT_EQ(created["workspace_name"], "admin/fun-dashboard") << created.dump();
  auto api = server_.admin();
  auto ws = api.get("/api/v1/workspaces/" + cli::path_segment("admin/fun-dashboard"));
  ASSERT_TRUE(ws) << ws.error().message;
  EXPECT_EQ((*ws)["ttl_ms"], 7200000) << "from agents_workspace_ttl";
  auto params = (*ws)["latest_build"]["parameters"];
  EXPECT_EQ(params["size"], "8") << "from the preset";
  EXPECT_EQ(params["region"], "us") << "given with the preset";

  // Another chat asking for the same name gets one retry with a generated suffix.
  McpClient b(server_, server_.admin_token());
  auto second =
      content(b.call("create_workspace", {{"template_id", tid}, {"name", "fun-dashboard"}}));
  EXPECT_TRUE(std::regex_match(second["workspace_name"].get<std::string>(),
                               std::regex("admin/fun-dashboard-[0-9a-f]{4}")))
      << second.dump();
  // An invalid name is replaced by a generated one.
  McpClient c(server_, server_.admin_token());
  auto invalid = content(c.call("create_workspace", {{"template_id", tid}, {"name", "My Space!"}}));
  EXPECT_TRUE(std::regex_match(invalid["workspace_name"].get<std::string>(),
                               std::regex("admin/myspace-[0-9a-f]{4}")))
      << invalid.dump();
}

TEST_F(ChatTools, InputErrorsAreTextErrorsAndCreateNothing) {
  auto tid = template_id(server_.push_template(kShell));
  auto hidden = template_id(
      server_.push_template("name: hidden\nagents_allowed: false\nagents:\n  - name: main\n"));
  auto external = template_id(
      server_.push_template("name: ext\nagents:\n  - name: main\n    external: true\n"));
  McpClient mcp(server_, server_.admin_token());
  auto error_of = [&](const json& args) {
    auto r = mcp.call("create_workspace", args);
    EXPECT_EQ(r.value("isError", false), true) << r.dump();
    return content(r).value("error", "");
  };
  EXPECT_EQ(error_of(json::object()), "template_id is required; use list_templates to find one");
  EXPECT_EQ(error_of({{"template_id", "  "}}),
            "template_id is required; use list_templates to find one");
  EXPECT_EQ(error_of({{"template_id", "nope"}}),
            "invalid template_id: invalid UUID length: 4; pass the id of a template from "
            "list_templates");
  EXPECT_EQ(error_of({{"template_id", 7}}),
            "template_id must be a string; pass it as a JSON string");
  EXPECT_EQ(error_of({{"template_id", tid}, {"preset_id", "not-a-uuid"}}),
            "invalid preset_id: invalid UUID length: 10; pass a preset id from read_template, or "
            "leave preset_id out");
  EXPECT_EQ(error_of({{"template_id", hidden}}),
            "template not available for chat workspaces; use list_templates to find allowed "
            "templates");
  EXPECT_EQ(error_of({{"template_id", external}}),
            "create_workspace cannot create workspaces from templates with externally managed "
            "agents. Use list_templates to choose a different template, or if the user wants to "
            "use an external workspace, they should create it and start it up fully themselves "
            "first, then attach it to this chat");
  EXPECT_NE(
      error_of({{"template_id", "00000000-0000-0000-0000-000000000000"}}).find("look up template"),
      std::string::npos);
  EXPECT_NE(error_of({{"template_id", tid}, {"parameters", {{"size", json::array()}}}})
                .find("parameters must be an object"),
            std::string::npos);
  // A parameter the template does not have: the API's error, kept whole (responder shape).
  auto unknown = mcp.call("create_workspace", {{"template_id", tid}, {"parameters", {{"x", "1"}}}});
  EXPECT_EQ(unknown["isError"], true);
  EXPECT_TRUE(content(unknown).contains("validations")) << unknown.dump();

  auto api = server_.admin();
  EXPECT_TRUE(api.get("/api/v1/workspaces")->empty());
  // Start, stop and wait need a workspace first.
  EXPECT_EQ(content(mcp.call("start_workspace"))["error"],
            "this chat has no workspace; call create_workspace first");
  EXPECT_EQ(content(mcp.call("stop_workspace"))["error"],
            "this chat has no workspace; call create_workspace first");
  EXPECT_EQ(content(mcp.call("wait_for_workspace"))["error"],
            "this chat has no workspace; call create_workspace first");
}

TEST_F(ChatTools, CrossOrganizationTemplateIsRefused) {
  auto api = server_.admin();
  ASSERT_TRUE(api.post("/api/v1/organizations", json{{"name", "other"}}));
  auto other = api.post("/api/v1/templates",
                        json{{"organization", "other"}, {"files", {{"template.yaml", kShell}}}});
  ASSERT_TRUE(other) << other.error().message;
  McpClient mcp(server_, server_.admin_token());
  auto r = mcp.call("create_workspace", {{"template_id", (*other)["id"]}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_NE(content(r)["error"].get<std::string>().find("organization"), std::string::npos);
}

TEST_F(ChatTools, BuildFailureKeepsTheBuildIdAndTheNextCreateReplacesIt) {
  auto broken = server_.push_template(R"(name: flaky
parameters:
  - {name: fail, default: "yes", mutable: true}
agents:
  - name: main
scripts:
  start: |
    if [ "$BERTH_PARAM_FAIL" = yes ]; then echo "fatal: disk full" >&2; exit 1; fi
)");
  auto tid = template_id(broken);
  McpClient mcp(server_, server_.admin_token());
  auto failed = mcp.call("create_workspace", {{"template_id", tid}});
  EXPECT_EQ(failed["isError"], true) << "reference choice 6";
  auto f = content(failed);
  EXPECT_EQ(f["error"],
            "workspace build failed: start script exited with status 1: fatal: disk full");
  EXPECT_TRUE(f.contains("build_id"));
  EXPECT_FALSE(f.contains("error_code")) << "only quota failures carry one";

  // The chat's workspace is dead: a new one replaces it; the old one is stopped (never deleted).
  auto replaced = content(
      mcp.call("create_workspace", {{"template_id", tid}, {"parameters", {{"fail", "no"}}}}));
  EXPECT_EQ(replaced["created"], true) << replaced.dump();
  EXPECT_NE(replaced["workspace_name"], f.value("workspace_name", "x"));
  ASSERT_TRUE(replaced.contains("replaced_workspace")) << replaced.dump();
  EXPECT_EQ(replaced["replaced_workspace"]["reason"], "its last start build failed");
  EXPECT_EQ(replaced["replaced_workspace"]["stopped"], true);
  auto api = server_.admin();
  EXPECT_EQ(api.get("/api/v1/workspaces")->size(), 2u) << "the replaced workspace is kept";
}

TEST_F(ChatTools, StartupScriptFailureAndSelectionError) {
  auto bad = template_id(server_.push_template(R"(name: badstart
agents:
  - name: main
    startup_script: exit 3
)"));
  McpClient a(server_, server_.admin_token());
  auto r = content(a.call("create_workspace", {{"template_id", bad}}));
  EXPECT_EQ(r["created"], true);
  EXPECT_EQ(r["startup_scripts"], "startup_scripts_failed") << r.dump();
  EXPECT_EQ(r["lifecycle_state"], "start_error");

  auto two = template_id(server_.push_template(R"(name: twochat
agents:
  - name: alpha-chat
  - name: beta-chat
)"));
  McpClient b(server_, server_.admin_token());
  auto s = content(b.call("create_workspace", {{"template_id", two}}));
  EXPECT_EQ(s["created"], true);
  EXPECT_EQ(s["agent_status"], "selection_error");
  EXPECT_NE(s["agent_error"].get<std::string>().find("multiple agents match the chat suffix"),
            std::string::npos)
      << s.dump();
}

TEST_F(ChatTools, StopStartAndStoppedWorkspace) {
  auto tid = template_id(server_.push_template(kShell));
  McpClient mcp(server_, server_.admin_token());
  auto created = content(mcp.call("create_workspace", {{"template_id", tid}}));
  auto running = content(mcp.call("start_workspace"));
  EXPECT_EQ(running["started"], true);
  EXPECT_EQ(running["no_build"], true) << running.dump();
  EXPECT_FALSE(running.contains("build_id"));

  auto stopped = content(mcp.call("stop_workspace"));
  EXPECT_EQ(stopped["stopped"], true) << stopped.dump();
  EXPECT_TRUE(stopped.contains("build_id"));
  EXPECT_EQ(stopped["workspace_name"], created["workspace_name"]);
  auto again = content(mcp.call("stop_workspace"));
  EXPECT_EQ(again["no_build"], true);

  auto create = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(create["created"], false);
  EXPECT_EQ(create["status"], "stopped");
  EXPECT_NE(create["message"].get<std::string>().find("start_workspace"), std::string::npos);

  auto started = content(mcp.call("start_workspace"));
  EXPECT_EQ(started["started"], true) << started.dump();
  EXPECT_TRUE(started.contains("build_id"));
  EXPECT_FALSE(started.contains("no_build"));
  EXPECT_FALSE(started.contains("agent_status")) << started.dump();

  // Scenario 55: a deleted workspace cannot be started; create makes a new one.
  auto api = server_.admin();
  auto ws = api.get("/api/v1/workspaces");
  ASSERT_TRUE(ws && ws->size() == 1u);
  std::string id = (*ws)[0]["id"];
  ASSERT_TRUE(api.del("/api/v1/workspaces/" + id));
  ASSERT_TRUE(api.get("/api/v1/workspaces/" + id + "/wait?timeout=20s"));
  EXPECT_EQ(
      content(mcp.call("start_workspace"))["error"],
      fmt::format("workspace {}/{} was deleted; call create_workspace to make a new one",
                  (*ws)[0]["owner_name"].get<std::string>(), (*ws)[0]["name"].get<std::string>()));
  auto fresh = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(fresh["created"], true) << fresh.dump();
  EXPECT_FALSE(fresh.contains("replaced_workspace")) << "a deleted workspace is not replaced";
}

TEST(ChatToolsBudget, InProgressThenWaitForWorkspace) {
  TestServer server({.tool_wait_budget = "300ms"});
  auto tid = template_id(server.push_template(R"(name: slow
agents:
  - name: main
    startup_script: sleep 1.5
)"));
  McpClient mcp(server, server.admin_token());
  auto r = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(r["created"], true);
  EXPECT_EQ(r["status"], "in_progress") << r.dump();
  // Usually the scripts are running when the 300 ms run out; on a loaded machine (ASan, other
  // jobs) the agent may not have connected yet.
  EXPECT_TRUE(r["phase"] == "running_startup_scripts" || r["phase"] == "connecting_agent")
      << r.dump();
  EXPECT_NE(r["next_step"].get<std::string>().find("wait_for_workspace"), std::string::npos);
  EXPECT_TRUE(r.contains("build_id"));
  // Calling create again does not make a second workspace; it answers the same way.
  auto again = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(again["created"], false);
  auto done = wait_until_done(mcp);
  EXPECT_EQ(done["status"], "ready") << done.dump();
  EXPECT_EQ(done["workspace_name"], r["workspace_name"]);
}

// Scenario 26: a second create while the chat's build runs waits for that build, and its
// failure is "existing workspace build failed" with that build's id.
TEST(ChatToolsBudget, ExistingBuildFailureIsReportedWithItsBuildId) {
  TestServer server({.tool_wait_budget = "1s"});
  auto tid = template_id(server.push_template(R"(name: slowfail
agents:
  - name: main
scripts:
  start: |
    sleep 1.5
    echo "fatal: out of memory" >&2
    exit 1
)"));
  McpClient mcp(server, server.admin_token());
  auto first = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(first["status"], "in_progress") << first.dump();
  EXPECT_EQ(first["phase"], "building");
  // Each call waits at most the 1 s budget; on a loaded machine (ASan beside other tests) the
  // sandbox's start may take long enough that one more wait is needed before the failure.
  auto second = mcp.call("create_workspace", {{"template_id", tid}});
  for (int i = 0; i < 5 && content(second).value("status", "") == "in_progress"; ++i) {
    EXPECT_EQ(content(second)["build_id"], first["build_id"]);
    second = mcp.call("create_workspace", {{"template_id", tid}});
  }
  EXPECT_EQ(second["isError"], true) << second.dump();
  auto r = content(second);
  EXPECT_EQ(r["error"],
            "existing workspace build failed: start script exited with status 1: fatal: out of "
            "memory");
  EXPECT_EQ(r["build_id"], first["build_id"]);
  auto api = server.admin();
  EXPECT_EQ(api.get("/api/v1/workspaces")->size(), 1u) << "no second workspace while it built";
}

TEST_F(ChatTools, ProgressStreamsPhasesAndInstructions) {
  auto tid = template_id(server_.push_template(R"(name: guided
agents:
  - name: main
    startup_script: |
      printf '# Rules\nRun make test before committing.\n' > AGENTS.md
scripts:
  start: |
    echo "fetching toolchain"
)"));
  McpClient mcp(server_, server_.admin_token());
  auto streamed = mcp.call_streaming("create_workspace", {{"template_id", tid}});
  EXPECT_EQ(streamed.content_type, "text/event-stream");
  std::vector<std::string> messages;
  int last = 0;
  for (const auto& n : streamed.notifications) {
    EXPECT_EQ(n["method"], "notifications/progress");
    EXPECT_EQ(n["params"]["progressToken"], "t");
    EXPECT_GT(n["params"]["progress"].get<int>(), last) << "progress only increases";
    last = n["params"]["progress"];
    messages.push_back(n["params"]["message"]);
  }
  std::string all;
  for (const auto& m : messages) all += m + "\n";
  for (auto phase :
       {"queued", "building", "connecting_agent", "running_startup_scripts", "ready"}) {
    EXPECT_NE(all.find(phase), std::string::npos) << phase << " missing from:\n" << all;
  }
  ASSERT_TRUE(streamed.response.contains("result")) << streamed.response.dump();
  auto r = streamed.response["result"]["structuredContent"];
  EXPECT_EQ(r["instructions"], "# Rules\nRun make test before committing.\n") << r.dump();
  EXPECT_FALSE(r.contains("instructions_truncated"));

  // The chat's binding now names the ready agent (upstream's second OnChatUpdated moment).
  auto api = server_.admin();
  auto chats = api.get("/api/v1/chats");
  ASSERT_TRUE(chats);
  bool bound = false;
  for (const auto& c : *chats) bound |= !c["agent_id"].is_null();
  EXPECT_TRUE(bound) << chats->dump();
}

TEST_F(ChatTools, LongInstructionsAreTruncatedAt8KiB) {
  auto tid = template_id(server_.push_template(R"(name: chatty
agents:
  - name: main
    startup_script: |
      head -c 9000 /dev/zero | tr '\0' 'x' > AGENTS.md
)"));
  McpClient mcp(server_, server_.admin_token());
  auto r = content(mcp.call("create_workspace", {{"template_id", tid}}));
  EXPECT_EQ(r["instructions"].get<std::string>().size(), 8192u);
  EXPECT_EQ(r["instructions_truncated"], true);
}

TEST(ChatToolsCancel, CancelledEndsTheWaitNotTheBuild) {
  TestServer server;
  auto tid = template_id(server.push_template(R"(name: slowbuild
agents:
  - name: main
scripts:
  start: sleep 2
)"));
  McpClient mcp(server, server.admin_token());
  McpClient::Streamed streamed;
  auto started = std::chrono::steady_clock::now();
  std::thread call([&] {
    streamed = mcp.call_streaming("create_workspace", {{"template_id", tid}}, 41);
  });
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(mcp.notify("notifications/cancelled", {{"requestId", 41}, {"reason", "user"}}), 202);
  call.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1800ms) << "the wait ended early";
  EXPECT_EQ(streamed.response["error"]["code"], -32800) << streamed.response.dump();
  // The build went on.
  auto done = wait_until_done(mcp);
  EXPECT_EQ(done["status"], "ready") << done.dump();
}

// Reference choice 2: twenty concurrent creates in one chat, from two sessions on the same
// chat key, make exactly one workspace.
TEST_F(ChatTools, ConcurrentCreatesInOneChatMakeOneWorkspace) {
  auto tid = template_id(server_.push_template(kShell));
  McpClient a(server_, server_.admin_token(), "shared");
  McpClient b(server_, server_.admin_token(), "shared");
  std::vector<std::thread> threads;
  std::vector<json> results(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      McpClient& client = i % 2 ? a : b;
      results[i] = client.call_raw("create_workspace", {{"template_id", tid}}, 1000 + i);
    });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  std::set<std::string> names;
  for (const auto& r : results) {
    auto c = r["result"]["structuredContent"];
    EXPECT_FALSE(r["result"].value("isError", false)) << r.dump();
    if (c.value("created", false)) ++created;
    names.insert(c.value("workspace_name", ""));
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(names.size(), 1u);
  auto api = server_.admin();
  EXPECT_EQ(api.get("/api/v1/workspaces")->size(), 1u);
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

// GET /api/v1/chats/{id}/watch: the binding as it changes (bound when the build starts, again
// when the agent is ready) and the bound build's log lines.
TEST(ChatWatch, StreamsBindingChangesAndBuildLogs) {
  TestServer server;
  auto tid = server
                 .push_template(R"(name: chatty
agents:
  - name: main
scripts:
  start: |
    echo "compiling the world"
)")["id"]
                 .get<std::string>();
  auto api = server.admin();
  auto chat = api.post("/api/v1/chats", {{"key", "watched"}});
  ASSERT_TRUE(chat) << chat.error().message;
  std::string chat_id = (*chat)["id"];

  std::vector<std::pair<std::string, json>> seen;
  std::thread watcher([&] {
    auto client = server.admin();
    auto s = client.stream("/api/v1/chats/" + chat_id + "/watch",
                           [&](const std::string& event, const std::string& data) {
                             seen.emplace_back(event, json::parse(data));
                             return !(event == "chat" && !seen.back().second["agent_id"].is_null());
                           });
    EXPECT_TRUE(s) << s.error().message;
  });
  std::this_thread::sleep_for(200ms);
  McpClient mcp(server, server.admin_token(), "watched");
  auto r = mcp.call("create_workspace", {{"template_id", tid}})["structuredContent"];
  watcher.join();

  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen.front().first, "chat");
  EXPECT_TRUE(seen.front().second["workspace_id"].is_null()) << "unbound at first";
  std::vector<json> chats;
  bool logged = false;
  for (const auto& [event, data] : seen) {
    if (event == "chat") chats.push_back(data);
    if (event == "log" && data["output"] == "compiling the world") {
      logged = true;
      EXPECT_EQ(data["build_id"], r["build_id"]);
    }
  }
  EXPECT_TRUE(logged) << "the bound build's log line";
  ASSERT_GE(chats.size(), 3u);
  EXPECT_EQ(chats[1]["build_id"], r["build_id"]) << "bound when the build starts";
  EXPECT_TRUE(chats[1]["agent_id"].is_null());
  EXPECT_FALSE(chats.back()["agent_id"].is_null()) << "and again when the agent is ready";

  // Someone else's chat is not found.
  auto other = server.client(server.create_member("mallory"));
  auto denied = other.exchange("GET", "/api/v1/chats/" + chat_id + "/watch", {}, "");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 404);
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

// Issue 4, part 1: execute, read_file, write_file and edit_file on the chat's workspace.
TEST(WorkspaceTools, RunCommandsAndEditFiles) {
  TestServer server;
  auto tid =
      server.push_template("name: shell\nagents:\n  - name: main\n")["id"].get<std::string>();
  McpClient mcp(server, server.admin_token());
  auto error_of = [&](const std::string& tool, const json& args) {
    auto r = mcp.call(tool, args);
    EXPECT_EQ(r.value("isError", false), true) << r.dump();
    return r["structuredContent"].value("error", "");
  };
  EXPECT_EQ(error_of("execute", {{"command", "true"}}),
            "this chat has no workspace; call create_workspace first");
  EXPECT_EQ(error_of("read_file", {{"path", "x"}}),
            "this chat has no workspace; call create_workspace first");
  mcp.call("create_workspace", {{"template_id", tid}});

  auto run = mcp.call("execute", {{"command", "echo out; echo err >&2; exit 3"}});
  EXPECT_FALSE(run.contains("isError")) << "a failing command is a result, not a tool error";
  auto r = run["structuredContent"];
  EXPECT_EQ(r["exit_code"], 3);
  EXPECT_NE(r["output"].get<std::string>().find("out"), std::string::npos);
  EXPECT_NE(r["output"].get<std::string>().find("err"), std::string::npos) << "combined output";
  EXPECT_EQ(r["truncated"], false);
  EXPECT_TRUE(r.contains("duration_ms"));
  auto slow = mcp.call("execute", {{"command", "sleep 5"}, {"timeout_seconds", 1}});
  EXPECT_EQ(slow["structuredContent"]["timed_out"], true) << slow.dump();
  EXPECT_EQ(error_of("execute", {{"command", "true"}, {"timeout_seconds", 601}}),
            "timeout_seconds must be a whole number from 1 to 600; pass one, or leave it out "
            "for 60");
  EXPECT_EQ(error_of("execute", json::object()),
            "command is required; pass the shell command line to run");

  auto wrote = mcp.call("write_file", {{"path", "src/app/main.txt"},
                                       {"content", "alpha\nbeta\nalpha\n"}})["structuredContent"];
  EXPECT_EQ(wrote["bytes_written"], 17) << "parent directories are created";
  auto read = mcp.call("read_file", {{"path", "src/app/main.txt"}, {"offset", 1}, {"limit", 1}});
  EXPECT_EQ(read["structuredContent"]["content"], "beta\n");
  EXPECT_EQ(read["structuredContent"]["total_lines"], 3);

  EXPECT_NE(error_of("edit_file",
                     {{"path", "src/app/main.txt"}, {"old_text", "alpha"}, {"new_text", "gamma"}})
                .find("old_text appears 2 times"),
            std::string::npos);
  EXPECT_NE(error_of("edit_file",
                     {{"path", "src/app/main.txt"}, {"old_text", "delta"}, {"new_text", "x"}})
                .find("old_text was not found"),
            std::string::npos);
  auto edited = mcp.call("edit_file", {{"path", "src/app/main.txt"},
                                       {"old_text", "beta"},
                                       {"new_text", "BETA"}})["structuredContent"];
  EXPECT_EQ(edited["replacements"], 1);
  auto all = mcp.call("edit_file", {{"path", "src/app/main.txt"},
                                    {"old_text", "alpha"},
                                    {"new_text", "a"},
                                    {"replace_all", true}})["structuredContent"];
  EXPECT_EQ(all["replacements"], 2);
  auto cat = mcp.call("execute", {{"command", "cat src/app/main.txt"}})["structuredContent"];
  EXPECT_EQ(cat["output"], "a\nBETA\na\n");

  EXPECT_NE(error_of("read_file", {{"path", "nope.txt"}}).find("nope.txt does not exist"),
            std::string::npos);
  mcp.call("execute", {{"command", "head -c 100 /dev/zero > zeros.bin"}});
  EXPECT_NE(error_of("read_file", {{"path", "zeros.bin"}}).find("is a binary file"),
            std::string::npos);
  EXPECT_EQ(error_of("read_file", {{"path", "x"}, {"offset", -1}}),
            "offset must be a whole number >= 0; pass one, or leave it out");
  EXPECT_EQ(error_of("write_file", {{"path", "x"}}),
            "content is required (a string); pass content as a string");

  // With a progress token, the output streams as progress while the command runs.
  auto streamed = mcp.call_streaming(
      "execute", {{"command", "for i in 1 2 3; do echo line $i; sleep 0.3; done"}}, 77);
  std::string progress;
  for (const auto& n : streamed.notifications)
    progress += n["params"]["message"].get<std::string>() + "|";
  EXPECT_NE(progress.find("output: line 1"), std::string::npos) << progress;
  EXPECT_NE(progress.find("line 2"), std::string::npos) << progress;
  EXPECT_EQ(streamed.response["result"]["structuredContent"]["output"], "line 1\nline 2\nline 3\n");

  // Background commands: started at once, read while they run, ended by a signal.
  auto bg = mcp.call("execute", {{"command",
                                  "for i in 1 2 3; do echo tick $i; sleep 0.1; done; "
                                  "sleep 30"},
                                 {"background", true}})["structuredContent"];
  std::string pid = bg.value("process_id", "");
  ASSERT_FALSE(pid.empty()) << bg.dump();
  json out;
  for (int i = 0; i < 50; ++i) {
    out = mcp.call("process_output", {{"process_id", pid}})["structuredContent"];
    if (out["output"].get<std::string>().find("tick 3") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(out["output"], "tick 1\ntick 2\ntick 3\n");
  EXPECT_EQ(out["running"], true);
  EXPECT_FALSE(out.contains("exit_code"));
  auto sig = mcp.call("process_signal", {{"process_id", pid}})["structuredContent"];
  EXPECT_EQ(sig["signaled"], true);
  for (int i = 0; i < 50 && out["running"] == true; ++i) {
    std::this_thread::sleep_for(50ms);
    out = mcp.call("process_output", {{"process_id", pid}})["structuredContent"];
  }
  EXPECT_EQ(out["running"], false);
  EXPECT_EQ(out["exit_code"], 128 + 15) << "ended by SIGTERM";
  EXPECT_NE(error_of("process_output", {{"process_id", "p99"}}).find("no background process"),
            std::string::npos);
  EXPECT_NE(
      error_of("process_signal", {{"process_id", pid}, {"signal", "STOP"}}).find("unknown signal"),
      std::string::npos);

  mcp.call("stop_workspace");
  EXPECT_NE(error_of("execute", {{"command", "true"}}).find("call start_workspace first"),
            std::string::npos);
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

// Issue 4, part 6: a user attaches an existing workspace to a chat; with an external agent the
// tools give the spec's guidance until the user connects it.
TEST(WorkspaceTools, AttachedWorkspacesIncludingExternalOnes) {
  TestServer server({.tool_wait_budget = "1s"});
  server.push_template("name: ext\nagents:\n  - name: main\n    external: true\n");
  server.push_template("name: shell\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto chat = api.post("/api/v1/chats", {{"key", "attached"}});
  ASSERT_TRUE(chat);
  const std::string chat_id = (*chat)["id"];
  auto ext = api.post("/api/v1/workspaces", {{"template", "ext"}, {"name", "mybox"}});
  ASSERT_TRUE(ext) << ext.error().message;
  // Built, but its agent waits for the user (no wait for "ready" here).
  poll_workspace(api, (*ext)["id"],
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "succeeded"; });

  auto missing = api.exchange("POST", "/api/v1/chats/" + chat_id + "/workspace",
                              {{"Content-Type", "application/json"}}, R"({"workspace": "nope"})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;
  auto bound = api.post("/api/v1/chats/" + chat_id + "/workspace", {{"workspace", "mybox"}});
  ASSERT_TRUE(bound) << bound.error().message;
  EXPECT_EQ((*bound)["workspace_id"], (*ext)["id"]);

  McpClient mcp(server, server.admin_token(), "attached");
  auto r = mcp.call("execute", {{"command", "true"}});
  EXPECT_EQ(r["isError"], true);
  EXPECT_EQ(r["structuredContent"]["error"],
            "workspace uses an externally managed agent that has not connected yet. The user "
            "needs to start the workspace externally and make sure the external agent is "
            "connected, then try again");
  // create_workspace returns the attached workspace rather than making another (its agent is
  // still connecting, so the call answers in_progress once its budget is spent).
  auto created =
      mcp.call("create_workspace", {{"template_id", api.get("/api/v1/templates")->at(1)["id"]}});
  EXPECT_EQ(created["structuredContent"]["created"], false) << created.dump();
  EXPECT_EQ(created["structuredContent"]["phase"], "connecting_agent") << created.dump();

  // A workspace of the chat's owner with its own agent works at once.
  auto shell = api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "box2"}});
  ASSERT_TRUE(shell);
  ASSERT_TRUE(
      api.get("/api/v1/workspaces/" + (*shell)["id"].get<std::string>() + "/wait?timeout=20s"));
  ASSERT_TRUE(api.post("/api/v1/chats/" + chat_id + "/workspace", {{"workspace", "box2"}}));
  auto ok = mcp.call("execute", {{"command", "echo attached"}})["structuredContent"];
  EXPECT_EQ(ok["output"], "attached\n") << ok.dump();

  auto no_field = api.exchange("POST", "/api/v1/chats/" + chat_id + "/workspace",
                               {{"Content-Type", "application/json"}}, "{}");
  ASSERT_TRUE(no_field);
  EXPECT_EQ(no_field->status, 400);
  EXPECT_NE(no_field->body.find("workspace is required"), std::string::npos) << no_field->body;
  ASSERT_TRUE(api.post("/api/v1/organizations", json{{"name", "elsewhere"}}));
  auto far_chat = api.post("/api/v1/chats", {{"key", "far"}, {"organization", "elsewhere"}});
  ASSERT_TRUE(far_chat) << far_chat.error().message;
  auto far =
      api.exchange("POST", "/api/v1/chats/" + (*far_chat)["id"].get<std::string>() + "/workspace",
                   {{"Content-Type", "application/json"}}, R"({"workspace": "box2"})");
  ASSERT_TRUE(far);
  EXPECT_EQ(far->status, 400);
  EXPECT_NE(far->body.find("is in another organization than this chat"), std::string::npos)
      << far->body;

  // Someone else cannot attach to this chat, nor attach this user's workspace to theirs.
  auto other = server.client(server.create_member("mallory"));
  auto denied =
      other.exchange("POST", "/api/v1/chats/" + chat_id + "/workspace",
                     {{"Content-Type", "application/json"}}, R"({"workspace": "admin/box2"})");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 404);
}

}  // namespace
}  // namespace berth::testing
