// Prebuilt workspaces against the real server and agents: the reconciler keeps a preset's
// pool ready, a create with that preset claims one (exactly once under a race) and tells its
// agent the new owner, and failing prebuilds back off and stop at the failure limit.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

constexpr const char* kWarm = R"(name: warm
parameters:
  - {name: size, type: string, default: small}
presets:
  - {name: fast, parameters: {size: large}, prebuilds: 1}
agents:
  - name: main
    startup_script: echo "warmed $BERTH_PARAM_SIZE" > warm.txt
)";

json content(const json& call_result) { return call_result["structuredContent"]; }

// The template's prebuild pool of its first preset once `pred` holds.
json wait_for_pool(cli::ApiClient& api, const std::string& tmpl,
                   const std::function<bool(const json&)>& pred,
                   std::chrono::seconds timeout = 30s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  json last;
  while (std::chrono::steady_clock::now() < until) {
    auto t = api.get("/api/v1/templates/" + tmpl);
    if (t && !(*t)["prebuilds"].empty()) {
      last = (*t)["prebuilds"][0];
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "prebuild pool never reached the state; last: " << last.dump();
  return last;
}

bool one_ready(const json& pool) { return pool["ready"] == 1; }

std::string preset_id(McpClient& mcp, const std::string& tid) {
  auto t = content(mcp.call("read_template", {{"template_id", tid}}));
  EXPECT_EQ(t["presets"][0]["desired_prebuild_instances"], 1) << t.dump();
  return t["presets"][0]["id"];
}

TEST(Prebuilds, ACreateWithThePresetClaimsAReadyWorkspaceAndThePoolRefills) {
  TestServer server;
  const std::string tid = server.push_template(kWarm)["id"];
  auto api = server.admin();
  auto pool = wait_for_pool(api, "warm", one_ready);
  EXPECT_EQ(pool["state"], "ok");
  auto all = api.get("/api/v1/workspaces");
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0]["owner_name"], "prebuilds");
  const std::string prebuilt_id = (*all)[0]["id"];

  McpClient mcp(server, server.admin_token(), "warm-chat");
  auto claimed = content(
      mcp.call("create_workspace", {{"template_id", tid}, {"preset_id", preset_id(mcp, tid)}}));
  EXPECT_EQ(claimed["prebuild_claimed"], true) << claimed.dump();
  EXPECT_EQ(claimed["created"], true);
  EXPECT_FALSE(claimed.contains("status")) << "ready at once: " << claimed.dump();
  const std::string name = claimed["workspace_name"];  // admin/warm-xxxx
  auto ws = api.get("/api/v1/workspaces/" + prebuilt_id);
  ASSERT_TRUE(ws);
  EXPECT_EQ((*ws)["full_name"], name) << "the prebuilt workspace itself was handed over";
  EXPECT_TRUE((*ws)["prebuild_preset_id"].is_null());
  // Its agent knows its new owner and name; the startup script ran at prebuild time.
  auto ran = content(mcp.call(
      "execute", {{"command", "cat warm.txt; echo $BERTH_WORKSPACE_OWNER/$BERTH_WORKSPACE_NAME"}}));
  EXPECT_EQ(ran["output"], "warmed large\n" + name + "\n") << ran.dump();

  // The reconciler builds a replacement.
  wait_for_pool(api, "warm", [&](const json& p) { return p["ready"] == 1; });
  EXPECT_EQ(api.get("/api/v1/workspaces")->size(), 2u);

  // Different parameters than the preset's: a fresh build, the prebuild stays in the pool.
  auto own =
      api.post("/api/v1/workspaces",
               {{"template", "warm"}, {"preset", "fast"}, {"parameters", {{"size", "small"}}}});
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ((*own)["prebuild_claimed"], false);
  EXPECT_EQ(api.get("/api/v1/templates/warm")->at("prebuilds")[0]["ready"], 1);
  // The same preset through the API claims the pool's workspace.
  auto rest = api.post("/api/v1/workspaces", {{"template", "warm"}, {"preset", "fast"}});
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ((*rest)["prebuild_claimed"], true);
  EXPECT_EQ((*rest)["status"], "running");
}

TEST(Prebuilds, TwoChatsRacingForTheLastOneClaimItOnce) {
  TestServer server;
  const std::string tid = server.push_template(kWarm)["id"];
  auto api = server.admin();
  wait_for_pool(api, "warm", one_ready);
  McpClient a(server, server.admin_token(), "chat-a");
  McpClient b(server, server.admin_token(), "chat-b");
  const std::string preset = preset_id(a, tid);
  json ra, rb;
  std::thread ta([&] {
    ra = content(a.call("create_workspace", {{"template_id", tid}, {"preset_id", preset}}));
  });
  std::thread tb([&] {
    rb = content(b.call("create_workspace", {{"template_id", tid}, {"preset_id", preset}}));
  });
  ta.join();
  tb.join();
  const int claims =
      (ra.value("prebuild_claimed", false) ? 1 : 0) + (rb.value("prebuild_claimed", false) ? 1 : 0);
  EXPECT_EQ(claims, 1) << ra.dump() << "\n" << rb.dump();
  EXPECT_EQ(ra["created"], true);
  EXPECT_EQ(rb["created"], true);
  EXPECT_NE(ra["workspace_name"], rb["workspace_name"]);
  // The one without the prebuild got a fresh build that becomes ready too.
  McpClient& fresh = ra.value("prebuild_claimed", false) ? b : a;
  EXPECT_EQ(wait_until_done(fresh)["status"], "ready");
}

TEST(Prebuilds, FailingPrebuildsBackOffAndStopAtTheLimit) {
  TestServer server;  // --prebuild-backoff 200ms, failure limit 3
  server.push_template(R"(name: broken
presets:
  - {name: p, prebuilds: 2}
agents:
  - name: main
scripts:
  start: exit 3
)");
  auto api = server.admin();
  auto pool = wait_for_pool(api, "broken", [](const json& p) { return p["state"] == "stopped"; });
  EXPECT_EQ(pool["consecutive_failures"], 3);
  EXPECT_NE(pool["last_error"].get<std::string>().find("start script exited with status 3"),
            std::string::npos)
      << pool.dump();
  // No endless loop: two builds at first, then one probe after the backoff, then nothing.
  std::this_thread::sleep_for(1500ms);
  auto log = read_file(server.data_dir() / "server.out");  // the server logs to stdout
  int builds = 0;
  for (auto at = log.find("prebuild building"); at != std::string::npos;
       at = log.find("prebuild building", at + 1)) {
    ++builds;
  }
  EXPECT_EQ(builds, 3) << log;
  EXPECT_NE(log.find("prebuilds stopped"), std::string::npos);

  // A fixed version starts over.
  server.push_template(R"(name: broken
presets:
  - {name: p, prebuilds: 2}
agents:
  - name: main
)");
  auto healed = wait_for_pool(api, "broken", [](const json& p) { return p["ready"] == 2; });
  EXPECT_EQ(healed["state"], "ok");
  EXPECT_EQ(healed["consecutive_failures"], 0);
}

TEST(Prebuilds, APrebuildWhoseAgentNeverGetsReadyCountsAsFailed) {
  TestServer server;
  server.push_template(R"(name: sulky
presets:
  - {name: p, prebuilds: 1}
agents:
  - name: main
    startup_script: exit 1
)");
  auto api = server.admin();
  auto pool = wait_for_pool(api, "sulky", [](const json& p) { return p["state"] == "stopped"; });
  EXPECT_EQ(pool["consecutive_failures"], 3);
  EXPECT_EQ(pool["ready"], 0);
  EXPECT_NE(pool["last_error"].get<std::string>().find("startup script failed"), std::string::npos)
      << pool.dump();
}

}  // namespace
}  // namespace berth::testing
