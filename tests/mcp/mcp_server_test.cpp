// The MCP core with the real list_templates / read_template tools on a real SQLite store.
#include "berth/mcp/mcp_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "berth/chattools/tools.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/mcp/tasks.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::mcp {
namespace {

namespace fs = std::filesystem;

class McpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("berth-mcp-" + random_hex(6));
    fs::create_directories(dir_);
    auto s = store::SqliteStore::open((dir_ / "berth.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    admin_ = std::make_unique<workspaces::AdminService>(*store_);
    auto actor = admin_->bootstrap(dir_ / "admin.token");
    ASSERT_TRUE(actor);
    actor_ = *actor;
    auto pushed = admin_->push_template(actor_, "",
                                        {{"template.yaml", R"(name: python-gpu
display_name: Python GPU
description: A machine learning box
parameters:
  - {name: size, type: number, default: "2", description: CPU count, validation: {min: 1, max: 8}}
  - {name: region, options: [eu, us]}
presets:
  - {name: big, description: Lots of CPUs, parameters: {size: "8", region: eu}, prebuilds: 2}
agents:
  - name: main
)"},
                                         {"README.md", "# Python GPU\nUse it for ML."}});
    ASSERT_TRUE(pushed) << pushed.error().message;
    gpu_id_ = pushed->tmpl.id;
    auto hidden = admin_->push_template(
        actor_, "",
        {{"template.yaml", "name: hidden\nagents_allowed: false\nagents:\n  - name: a\n"}});
    ASSERT_TRUE(hidden);
    hidden_id_ = hidden->tmpl.id;
    chattools::TemplateToolsOptions opts{.store = store_.get(), .admin = admin_.get()};
    server_ = std::make_unique<McpServer>(
        std::vector<chattools::Tool>{chattools::make_list_templates_tool(opts),
                                     chattools::make_read_template_tool(opts)},
        &bus_);
  }
  void TearDown() override {
    server_.reset();
    admin_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::optional<json> send(json message) {
    boost::asio::io_context io;
    auto f =
        boost::asio::co_spawn(io, server_->handle(std::move(message), session_, {.actor = actor_}),
                              boost::asio::use_future);
    io.run();
    return f.get();
  }
  std::optional<json> send_modern(json message) {
    boost::asio::io_context io;
    Session calls;
    auto f = boost::asio::co_spawn(
        io, server_->handle_modern(std::move(message), calls, {.actor = actor_}),
        boost::asio::use_future);
    io.run();
    return f.get();
  }
  static json modern(const std::string& method, json params = json::object(),
                     const std::string& version = "2026-07-28") {
    params["_meta"] = {{meta::kProtocolVersion, version},
                       {meta::kClientCapabilities, json::object()},
                       {meta::kClientInfo, {{"name", "t"}, {"version", "1"}}}};
    return {{"jsonrpc", "2.0"}, {"id", 9}, {"method", method}, {"params", params}};
  }
  json call(const std::string& tool, json args) {
    auto r = send({{"jsonrpc", "2.0"},
                   {"id", 7},
                   {"method", "tools/call"},
                   {"params", {{"name", tool}, {"arguments", args}}}});
    EXPECT_TRUE(r && r->contains("result")) << (r ? r->dump() : "no response");
    return r ? (*r)["result"] : json();
  }

  fs::path dir_;
  events::EventBus bus_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<workspaces::AdminService> admin_;
  workspaces::Actor actor_;
  std::unique_ptr<McpServer> server_;
  Session session_;
  std::string gpu_id_, hidden_id_;
};

TEST_F(McpServerTest, InitializeNegotiatesTheProtocolVersion) {
  auto r = send({{"jsonrpc", "2.0"},
                 {"id", 1},
                 {"method", "initialize"},
                 {"params",
                  {{"protocolVersion", "2025-06-18"},
                   {"capabilities", json::object()},
                   {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ((*r)["result"]["serverInfo"]["name"], "berth");
  EXPECT_TRUE((*r)["result"]["capabilities"].contains("tools"));
  auto future = send({{"jsonrpc", "2.0"},
                      {"id", 2},
                      {"method", "initialize"},
                      {"params", {{"protocolVersion", "2099-01-01"}}}});
  EXPECT_EQ((*future)["result"]["protocolVersion"], "2025-11-25");
  EXPECT_FALSE(send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).has_value());
  EXPECT_TRUE(session_.initialized);
  EXPECT_EQ((*send({{"jsonrpc", "2.0"}, {"id", "p"}, {"method", "ping"}}))["result"],
            json::object());
}

TEST_F(McpServerTest, ProtocolErrors) {
  EXPECT_EQ((*send({{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}))["error"]["code"],
            rpc::kInvalidRequest);
  EXPECT_EQ((*send(json::array()))["error"]["code"], rpc::kInvalidRequest);
  EXPECT_EQ((*send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", 5}}))["error"]["code"],
            rpc::kInvalidRequest);
  EXPECT_EQ(
      (*send({{"jsonrpc", "2.0"}, {"id", json::array()}, {"method", "ping"}}))["error"]["code"],
      rpc::kInvalidRequest);
  auto unknown = *send({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "resources/list"}});
  EXPECT_EQ(unknown["error"]["code"], rpc::kMethodNotFound);
  EXPECT_EQ(unknown["id"], 3);
  auto tool = *send(
      {{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/call"}, {"params", {{"name", "nope"}}}});
  EXPECT_EQ(tool["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(tool["error"]["message"], "Unknown tool: nope");
  auto args = *send({{"jsonrpc", "2.0"},
                     {"id", 5},
                     {"method", "tools/call"},
                     {"params", {{"name", "list_templates"}, {"arguments", "x"}}}});
  EXPECT_EQ(args["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(McpServer::parse_error("unexpected end")["error"]["code"], rpc::kParseError);
}

TEST_F(McpServerTest, ToolsListHasSchemasAndHints) {
  auto r = *send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}});
  const auto& tools = r["result"]["tools"];
  ASSERT_EQ(tools.size(), 2u);
  for (const auto& t : tools) {
    EXPECT_EQ(t["inputSchema"]["type"], "object");
    EXPECT_EQ(t["outputSchema"]["type"], "object");
    EXPECT_EQ(t["annotations"]["readOnlyHint"], true);
    EXPECT_EQ(t["annotations"]["idempotentHint"], true);
  }
}

TEST_F(McpServerTest, ListTemplatesOmitsTemplatesChatAgentsMayNotUse) {
  auto r = call("list_templates", json::object());
  EXPECT_FALSE(r.contains("isError"));
  const auto& s = r["structuredContent"];
  ASSERT_EQ(s["templates"].size(), 1u);
  EXPECT_EQ(s["templates"][0]["name"], "python-gpu");
  EXPECT_EQ(s["templates"][0]["id"], gpu_id_);
  EXPECT_EQ(s["total_count"], 1);
  EXPECT_EQ(s["total_pages"], 1);
  EXPECT_EQ(r["content"][0]["type"], "text");
  EXPECT_EQ(json::parse(r["content"][0]["text"].get<std::string>()), s);
  EXPECT_EQ(call("list_templates", {{"query", "machine learning"}})["structuredContent"]["count"],
            1);
  EXPECT_EQ(call("list_templates", {{"query", "python gpu"}})["structuredContent"]["count"], 1);
  EXPECT_EQ(call("list_templates", {{"query", "rust"}})["structuredContent"]["count"], 0);
  auto bad = call("list_templates", {{"page", "two"}});
  EXPECT_EQ(bad["isError"], true);
  EXPECT_EQ(bad["structuredContent"]["error"],
            "page must be a whole number >= 1; pass one, or leave it out");
}

TEST_F(McpServerTest, ReadTemplateShowsParametersPresetsAndReadme) {
  auto r = call("read_template", {{"template_id", gpu_id_}});
  ASSERT_FALSE(r.contains("isError")) << r.dump();
  const auto& s = r["structuredContent"];
  EXPECT_EQ(s["template"]["name"], "python-gpu");
  EXPECT_EQ(s["template"]["readme"], "# Python GPU\nUse it for ML.");
  ASSERT_EQ(s["parameters"].size(), 2u);
  EXPECT_EQ(s["parameters"][0]["name"], "size");
  EXPECT_EQ(s["parameters"][0]["type"], "number");
  EXPECT_EQ(s["parameters"][0]["required"], false);
  EXPECT_EQ(s["parameters"][0]["validation_max"], 8);
  EXPECT_EQ(s["parameters"][1]["required"], true);
  EXPECT_EQ(s["parameters"][1]["options"].size(), 2u);
  EXPECT_TRUE(s.contains("parameters_note"));
  ASSERT_EQ(s["presets"].size(), 1u);
  EXPECT_EQ(s["presets"][0]["name"], "big");
  EXPECT_EQ(s["presets"][0]["desired_prebuild_instances"], 2);
  EXPECT_TRUE(looks_like_uuid(s["presets"][0]["id"].get<std::string>()));
  EXPECT_EQ(s["presets"][0]["parameters"].size(), 2u);

  // Other UUID spellings are accepted.
  std::string braced = "{" + gpu_id_ + "}";
  EXPECT_FALSE(call("read_template", {{"template_id", braced}}).contains("isError"));
}

TEST_F(McpServerTest, ReadTemplateErrors) {
  auto expect_error = [&](json args, const std::string& message) {
    auto r = call("read_template", args);
    EXPECT_EQ(r["isError"], true) << r.dump();
    EXPECT_EQ(r["structuredContent"]["error"], message);
  };
  expect_error(json::object(), "template_id is required; use list_templates to find one");
  expect_error({{"template_id", "  "}}, "template_id is required; use list_templates to find one");
  expect_error({{"template_id", "abc"}},
               "invalid template_id: invalid UUID length: 3; pass the id of a template from "
               "list_templates");
  expect_error({{"template_id", new_uuid()}}, "template not found; use list_templates to find one");
  expect_error(
      {{"template_id", hidden_id_}},
      "template not available for chat workspaces; use list_templates to find allowed templates");
}

TEST_F(McpServerTest, ModernDiscoverNamesEveryVersionAndTheServer) {
  auto r = send_modern(modern("server/discover"));
  ASSERT_TRUE(r && r->contains("result")) << (r ? r->dump() : "");
  const json& result = (*r)["result"];
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["supportedVersions"],
            json::array({"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}));
  EXPECT_TRUE(result["capabilities"].contains("tools"));
  EXPECT_EQ(result["_meta"][meta::kServerInfo]["name"], "berth");
  EXPECT_TRUE(result.contains("ttlMs"));
  EXPECT_TRUE(result.contains("cacheScope"));
}

TEST_F(McpServerTest, ModernResultsCarryResultTypeAndTheServer) {
  auto list = send_modern(modern("tools/list"));
  ASSERT_TRUE(list && list->contains("result"));
  EXPECT_EQ((*list)["result"]["resultType"], "complete");
  EXPECT_EQ((*list)["result"]["cacheScope"], "private");
  auto called = send_modern(modern("tools/call", {{"name", "list_templates"}}));
  ASSERT_TRUE(called && called->contains("result")) << called->dump();
  EXPECT_EQ((*called)["result"]["resultType"], "complete");
  EXPECT_EQ((*called)["result"]["_meta"][meta::kServerInfo]["name"], "berth");
  EXPECT_EQ((*called)["result"]["structuredContent"]["templates"].size(), 1u);
}

TEST_F(McpServerTest, ModernRefusesOtherVersionsMissingEnvelopesAndLegacyMethods) {
  auto old = send_modern(modern("tools/list", json::object(), "2099-01-01"));
  ASSERT_TRUE(old);
  EXPECT_EQ((*old)["error"]["code"], rpc::kUnsupportedProtocolVersion);
  EXPECT_EQ((*old)["error"]["message"], "Unsupported protocol version: 2099-01-01");
  EXPECT_EQ((*old)["error"]["data"]["requested"], "2099-01-01");

  auto bare = send_modern({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}});
  ASSERT_TRUE(bare);
  EXPECT_EQ((*bare)["error"]["code"], rpc::kInvalidParams);
  EXPECT_NE((*bare)["error"]["message"].get<std::string>().find("params._meta"), std::string::npos);

  for (const char* method : {"initialize", "ping", "logging/setLevel"}) {
    auto r = send_modern(modern(method));
    ASSERT_TRUE(r);
    EXPECT_TRUE(McpServer::is_unknown_method(*r)) << method << " " << r->dump();
  }
}

json with_tasks(json message) {
  message["params"]["_meta"][meta::kClientCapabilities]["extensions"][kTasksExtension] =
      json::object();
  return message;
}

TEST_F(McpServerTest, TasksAreOfferedOnlyWithARunnerAndOnlyToDeclaringClients) {
  auto plain = send_modern(modern("server/discover"));
  EXPECT_FALSE((*plain)["result"]["capabilities"].contains("extensions"));
  auto unoffered = send_modern(with_tasks(modern("tasks/get", {{"taskId", "x"}})));
  EXPECT_TRUE(McpServer::is_unknown_method(*unoffered)) << unoffered->dump();

  boost::asio::io_context io;
  TaskRunner tasks(
      {.store = store_.get(), .bus = &bus_, .executor = io.get_executor(), .runner = "r1"},
      server_->tools());
  server_->set_tasks(&tasks);
  auto offered = send_modern(modern("server/discover"));
  EXPECT_EQ((*offered)["result"]["capabilities"]["extensions"],
            json({{kTasksExtension, json::object()}}));

  auto undeclared = send_modern(modern("tasks/get", {{"taskId", "x"}}));
  EXPECT_EQ((*undeclared)["error"]["code"], rpc::kMissingRequiredClientCapability);
  EXPECT_EQ(
      (*undeclared)["error"]["data"],
      json({{"requiredCapabilities", {{"extensions", {{kTasksExtension, json::object()}}}}}}));
  auto unknown = send_modern(with_tasks(modern("tasks/get", {{"taskId", "x"}})));
  EXPECT_EQ((*unknown)["error"]["code"], rpc::kInvalidParams);
  auto no_id = send_modern(with_tasks(modern("tasks/cancel")));
  EXPECT_EQ((*no_id)["error"]["code"], rpc::kInvalidParams);
  // Quick tools answer at once even to a client that takes tasks.
  auto called = send_modern(with_tasks(modern("tools/call", {{"name", "list_templates"}})));
  EXPECT_EQ((*called)["result"]["resultType"], "complete") << called->dump();
  server_->set_tasks(nullptr);
}

TEST_F(McpServerTest, ATaskWhoseRunnerDiedIsRunAgainWithItsTokenAsItStandsNow) {
  const UnixMillis t = now_ms();
  auto chat = store_->chat_for_key(store_->list_organizations()->at(0).id, actor_.user.id, "k");
  ASSERT_TRUE(chat) << chat.error().message;
  auto token = admin_->create_token(actor_, {.name = "tasks"});
  ASSERT_TRUE(token);
  auto orphan = [&](std::string id, std::string token_id) {
    return store::McpTask{.id = std::move(id),
                          .user_id = actor_.user.id,
                          .token_id = std::move(token_id),
                          .chat_id = chat->id,
                          .organization_id = chat->organization_id,
                          .tool = "list_templates",
                          .arguments = "{}",
                          .status = "working",
                          .runner = "gone",  // no such replica
                          .runner_until = t + 60'000,
                          .created_at = t,
                          .updated_at = t,
                          .expires_at = t + 3'600'000};
  };
  ASSERT_TRUE(store_->create_mcp_task(orphan("live", token->row.id)));
  ASSERT_TRUE(store_->create_mcp_task(orphan("revoked", "no-such-token")));

  boost::asio::io_context io;
  TaskRunner tasks(
      {.store = store_.get(),
       .bus = &bus_,
       .executor = io.get_executor(),
       .runner = "r1",
       .actor_for_token = [this](std::string_view id) { return admin_->actor_for_token_id(id); },
       .tick = std::chrono::milliseconds(10)},
      server_->tools());
  tasks.start_background();
  io.run_for(std::chrono::milliseconds(300));
  tasks.stop();

  auto live = tasks.get("live", actor_);
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_EQ((*live)["status"], "completed") << live->dump();
  EXPECT_EQ((*live)["result"]["structuredContent"]["templates"].size(), 1u);
  auto revoked = tasks.get("revoked", actor_);
  ASSERT_TRUE(revoked);
  EXPECT_EQ((*revoked)["status"], "completed");
  EXPECT_EQ((*revoked)["result"]["isError"], true);
  EXPECT_NE((*revoked)["result"]["structuredContent"]["error"].get<std::string>().find(
                "call list_templates again with a valid token"),
            std::string::npos)
      << revoked->dump();

  // Someone else asking about the task hears it does not exist.
  workspaces::Actor other = actor_;
  other.user.id = "someone-else";
  EXPECT_EQ(tasks.get("live", other).error().code, ErrorCode::not_found);
  EXPECT_EQ(tasks.cancel("live", other).error().code, ErrorCode::not_found);
}

TEST(TaskJson, CarriesTheOutcomeOfItsStatus) {
  store::McpTask t{.id = "abc",
                   .status = "failed",
                   .status_message = "tool x failed",
                   .outcome = R"({"code":-32603,"message":"tool x failed"})",
                   .created_at = 0,
                   .updated_at = 1000,
                   .expires_at = 60'000};
  json j = task_json(t, std::chrono::milliseconds(1500));
  EXPECT_EQ(j["taskId"], "abc");
  EXPECT_EQ(j["createdAt"], "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(j["lastUpdatedAt"], "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(j["ttlMs"], 60'000);
  EXPECT_EQ(j["pollIntervalMs"], 1500);
  EXPECT_EQ(j["error"]["code"], -32603);
  EXPECT_FALSE(j.contains("result"));
  t.status = "working";
  t.status_message.clear();
  j = task_json(t, std::chrono::milliseconds(1500));
  EXPECT_FALSE(j.contains("error"));
  EXPECT_FALSE(j.contains("statusMessage"));
  t.status = "completed";
  t.outcome = "not json";
  EXPECT_EQ(task_json(t, std::chrono::milliseconds(1))["result"], json::object());
}

TEST_F(McpServerTest, InitializeWithAProtocolVersionOfTheWrongTypeGetsTheLatest) {
  // Found by fuzz_mcp once it checked that handle() never throws: nlohmann's value() threw on
  // a number where a string was expected.
  auto r = send({{"jsonrpc", "2.0"},
                 {"id", 1},
                 {"method", "initialize"},
                 {"params", {{"protocolVersion", 5}, {"capabilities", json::object()}}}});
  ASSERT_TRUE(r && r->contains("result")) << (r ? r->dump() : "no response");
  EXPECT_EQ((*r)["result"]["protocolVersion"], "2025-11-25");
}

TEST(EnvelopeVersion, ReadFromParamsMetaOnly) {
  EXPECT_EQ(McpServer::envelope_version(
                {{"params", {{"_meta", {{meta::kProtocolVersion, "2026-07-28"}}}}}}),
            "2026-07-28");
  EXPECT_FALSE(McpServer::envelope_version({{"params", {{"protocolVersion", "2026-07-28"}}}}));
  EXPECT_FALSE(McpServer::envelope_version(json::array()));
  EXPECT_FALSE(McpServer::envelope_version({{"params", {{"_meta", 3}}}}));
}

}  // namespace
}  // namespace berth::mcp
