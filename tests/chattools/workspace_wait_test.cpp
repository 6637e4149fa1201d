// The waits of the workspace tools (spec 3.1.4 / 3.1.5 and scenarios 3-4, reference choice 9)
// on a real SQLite store, the real event bus and a real agent hub with no agent connected:
// rows are moved the way the provisioner and the hub move them.
#include "berth/chattools/workspace_wait.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/chattools/result_keys.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"
#include "berth/workspaces/admin_service.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::chattools {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;

class WorkspaceWait : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("berth-wait-" + random_hex(6));
    fs::create_directories(dir_);
    auto s = store::SqliteStore::open((dir_ / "berth.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    admin_ = std::make_unique<workspaces::AdminService>(*store_);
    auto actor = admin_->bootstrap(dir_ / "admin.token");
    ASSERT_TRUE(actor);
    actor_ = *actor;
    workspaces_ = std::make_unique<workspaces::WorkspaceService>(*store_, bus_);
    hub_ = std::make_unique<agentconn::AgentHub>(io_.get_executor(), *store_, bus_,
                                                 agentconn::AgentHubOptions{});
    options_ = {.store = store_.get(),
                .workspaces = workspaces_.get(),
                .bus = &bus_,
                .agents = hub_.get(),
                .executor = io_.get_executor()};
  }
  void TearDown() override {
    hub_.reset();
    workspaces_.reset();
    admin_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // A workspace whose build has finished with one agent row, as the provisioner leaves it.
  store::WorkspaceAgent built_workspace(const std::string& agent_yaml) {
    auto pushed = admin_->push_template(
        actor_, "", {{"template.yaml", "name: t" + random_hex(2) + "\nagents:\n" + agent_yaml}});
    EXPECT_TRUE(pushed) << pushed.error().message;
    auto created = workspaces_->create(actor_, {.template_ref = pushed->tmpl.id});
    EXPECT_TRUE(created) << created.error().message;
    build_ = created->latest;
    auto spec = templates::from_json(pushed->version.spec);
    store::NewAgent a{.name = spec->agents[0].name,
                      .external = spec->agents[0].external,
                      .connection_timeout_s = 0,
                      .auth_token_hash = sha256_hex(random_hex(8))};
    auto agents = store_->insert_agents(build_.build.id, {a}, now_ms());
    EXPECT_TRUE(agents) << agents.error().message;
    EXPECT_TRUE(store_->complete_job(build_.job.id, std::nullopt, std::nullopt, now_ms()));
    return agents->front();
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    auto f = asio::co_spawn(io_, std::move(a), asio::use_future);
    io_.restart();
    io_.run();
    return f.get();
  }

  AgentWait wait_agent(const store::WorkspaceAgent& agent, ToolContext& ctx) {
    CallWaiter waiter(options_, ctx);
    return run(waiter.agent(agent, true));
  }

  fs::path dir_;
  asio::io_context io_;
  events::EventBus bus_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<workspaces::AdminService> admin_;
  std::unique_ptr<workspaces::WorkspaceService> workspaces_;
  std::unique_ptr<agentconn::AgentHub> hub_;
  WorkspaceToolsOptions options_;
  workspaces::Actor actor_;
  store::BuildWithJob build_;
};

TEST_F(WorkspaceWait, ExternalAgentThatNeverConnectedGetsTheUserGuidance) {
  auto agent = built_workspace("  - name: main\n    external: true\n");
  options_.limits.agent_connect = 50ms;
  ToolContext ctx{.actor = actor_};
  auto r = wait_agent(agent, ctx);
  EXPECT_FALSE(r.unfinished);
  EXPECT_EQ(r.keys[key::kAgentStatus], "not_ready");
  EXPECT_EQ(r.keys[key::kAgentError],
            "workspace uses an externally managed agent that has not connected yet. The user "
            "needs to start the workspace externally and make sure the external agent is "
            "connected, then try again");
}

TEST_F(WorkspaceWait, ExternalAgentThatWentOfflineGetsTheReconnectGuidance) {
  auto agent = built_workspace("  - name: main\n    external: true\n");
  ASSERT_TRUE(store_->agent_connected(agent.id, now_ms() - 1000, "r1"));
  ASSERT_TRUE(store_->agent_disconnected(agent.id, now_ms() - 500, "r1"));
  options_.limits.agent_connect = 50ms;
  ToolContext ctx{.actor = actor_};
  auto r = wait_agent(agent, ctx);
  EXPECT_EQ(r.keys[key::kAgentError],
            "workspace uses an externally managed agent that is currently offline. The user "
            "needs to reconnect the external agent on its host, then try again");
}

TEST_F(WorkspaceWait, OwnAgentThatNeverConnectsSaysSo) {
  auto agent = built_workspace("  - name: main\n");
  options_.limits.agent_connect = 50ms;
  ToolContext ctx{.actor = actor_};
  auto r = wait_agent(agent, ctx);
  EXPECT_EQ(r.keys[key::kAgentStatus], "not_ready");
  EXPECT_EQ(r.keys[key::kAgentError],
            "agent main has not connected within 50ms of its build finishing");
}

TEST_F(WorkspaceWait, BudgetEndsTheWaitAsUnfinished) {
  auto agent = built_workspace("  - name: main\n");
  options_.limits.call_budget = 30ms;
  std::vector<std::string> progress;
  ToolContext ctx{.actor = actor_, .progress = [&](std::string m) { progress.push_back(m); }};
  auto started = std::chrono::steady_clock::now();
  auto r = wait_agent(agent, ctx);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_TRUE(r.unfinished);
  EXPECT_EQ(*r.unfinished, WaitPhase::connecting_agent);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0], "connecting_agent: waiting for agent main to connect");
  json result = json::object();
  mark_in_progress(result, *r.unfinished);
  EXPECT_EQ(result["status"], "in_progress");
  EXPECT_EQ(result["phase"], "connecting_agent");
}

TEST_F(WorkspaceWait, CancellationWakesTheWaitAtOnce) {
  auto agent = built_workspace("  - name: main\n");
  ToolContext ctx{.actor = actor_, .control = std::make_shared<CallControl>(&bus_)};
  asio::steady_timer later(io_, 50ms);
  later.async_wait([&](auto) { ctx.control->cancel(); });
  auto started = std::chrono::steady_clock::now();
  auto r = wait_agent(agent, ctx);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "woken by the event, not the 5 s "
                                                               "fallback";
  EXPECT_TRUE(r.unfinished);
}

TEST_F(WorkspaceWait, StartupScriptOutcomes) {
  auto agent = built_workspace("  - name: main\n");
  ToolContext ctx{.actor = actor_};
  ASSERT_TRUE(store_->agent_connected(agent.id, now_ms(), "r1"));
  ASSERT_TRUE(store_->set_agent_lifecycle(agent.id, AgentLifecycle::start_error, now_ms()));
  CallWaiter waiter(options_, ctx);
  auto failed = run(waiter.agent(agent, /*dial=*/false));
  EXPECT_EQ(failed.keys[key::kStartupScripts], "startup_scripts_failed");
  EXPECT_EQ(failed.keys[key::kLifecycleState], "start_error");

  auto other = built_workspace("  - name: main\n");
  ASSERT_TRUE(store_->agent_connected(other.id, now_ms(), "r1"));
  ASSERT_TRUE(store_->set_agent_lifecycle(other.id, AgentLifecycle::starting, now_ms()));
  options_.limits.startup_scripts = 50ms;
  CallWaiter slow(options_, ctx);
  auto timed_out = run(slow.agent(other, /*dial=*/false));
  EXPECT_EQ(timed_out.keys[key::kStartupScripts], "startup_scripts_timeout");
}

TEST_F(WorkspaceWait, BuildOutcomes) {
  auto agent = built_workspace("  - name: main\n");
  ToolContext ctx{.actor = actor_};
  CallWaiter waiter(options_, ctx);
  auto done = run(waiter.build(agent.workspace_id, build_.build.id));
  EXPECT_EQ(done.outcome, BuildWait::Outcome::succeeded);

  auto stopped = workspaces_->stop(actor_, agent.workspace_id);
  ASSERT_TRUE(stopped);
  ASSERT_TRUE(store_->complete_job(stopped->job.id, "stop script exited with status 2",
                                   std::string("SCRIPT_FAILED"), now_ms()));
  auto failed = run(waiter.build(agent.workspace_id, stopped->build.id));
  EXPECT_EQ(failed.outcome, BuildWait::Outcome::failed);
  EXPECT_EQ(failed.error, "stop script exited with status 2");
  EXPECT_EQ(failed.error_code, "SCRIPT_FAILED");
}

}  // namespace
}  // namespace berth::chattools
