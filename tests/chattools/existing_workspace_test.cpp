// The existing-workspace decision table of create_workspace (spec section 3.1.3, scenarios
// 22 and 24-32, with reference choices 4 and 8).
#include "berth/chattools/existing_workspace.hpp"

#include <gtest/gtest.h>

#include "berth/chattools/failure_results.hpp"
#include "berth/chattools/tools.hpp"

namespace berth::chattools {
namespace {

using namespace std::chrono_literals;
constexpr UnixMillis kNow = 1'800'000'000'000;

workspaces::WorkspaceView view(Transition t, JobStatus s) {
  workspaces::WorkspaceView v;
  v.workspace.id = "ws";
  v.workspace.name = "existing-workspace";
  v.latest.build.id = "build";
  v.latest.build.transition = t;
  auto& job = v.latest.job;
  job.created_at = kNow - 60'000;
  switch (s) {
    case JobStatus::pending:
      break;
    case JobStatus::running:
      job.started_at = kNow - 50'000;
      break;
    case JobStatus::canceling:
      job.started_at = kNow - 50'000;
      job.canceled_at = kNow - 1'000;
      break;
    case JobStatus::succeeded:
      job.started_at = kNow - 50'000;
      job.completed_at = kNow - 40'000;
      break;
    case JobStatus::failed:
      job.started_at = kNow - 50'000;
      job.completed_at = kNow - 40'000;
      job.error = "script exited 1";
      break;
    case JobStatus::canceled:
      job.started_at = kNow - 50'000;
      job.canceled_at = kNow - 45'000;
      job.completed_at = kNow - 40'000;
      break;
  }
  EXPECT_EQ(job.status(), s);
  return v;
}

store::WorkspaceAgent agent(std::string name, std::optional<UnixMillis> first,
                            std::optional<UnixMillis> last, UnixMillis created = kNow,
                            int timeout_s = 60) {
  store::WorkspaceAgent a;
  a.id = "id-" + name;
  a.name = std::move(name);
  a.created_at = created;
  a.first_connected_at = first;
  a.last_connected_at = last;
  a.connection_timeout_s = timeout_s;
  return a;
}

ExistingDecision decide(const std::optional<workspaces::WorkspaceView>& v) {
  return decide_existing(v, kNow, 30s);
}

TEST(ExistingWorkspace, NoBindingOrDeletedCreatesWithoutReplacing) {
  auto none = decide(std::nullopt);
  EXPECT_EQ(none.action, ExistingAction::create);
  EXPECT_FALSE(none.replace);
  auto deleted = view(Transition::delete_, JobStatus::succeeded);
  deleted.workspace.deleted = true;
  auto d = decide(deleted);
  EXPECT_EQ(d.action, ExistingAction::create);
  EXPECT_FALSE(d.replace) << "a deleted workspace has nothing to stop";
  auto unreadable = view(Transition::start, JobStatus::succeeded);
  unreadable.latest = {};
  EXPECT_EQ(decide(unreadable).action, ExistingAction::create);
}

TEST(ExistingWorkspace, BuildInProgressIsWaitedFor) {
  for (auto s : {JobStatus::pending, JobStatus::running, JobStatus::canceling}) {
    EXPECT_EQ(decide(view(Transition::start, s)).action, ExistingAction::wait_for_build)
        << to_string(s) << ": canceling is in progress too (reference choice 4)";
  }
  EXPECT_EQ(decide(view(Transition::stop, JobStatus::running)).action,
            ExistingAction::wait_for_build);
}

TEST(ExistingWorkspace, FailedOrCanceledBuildIsReplaced) {
  for (auto s : {JobStatus::failed, JobStatus::canceled}) {
    auto d = decide(view(Transition::start, s));
    EXPECT_EQ(d.action, ExistingAction::create);
    EXPECT_TRUE(d.replace);
    EXPECT_NE(d.reason.find("build"), std::string::npos) << d.reason;
  }
}

TEST(ExistingWorkspace, StoppedWorkspaceSaysStartIt) {
  EXPECT_EQ(decide(view(Transition::stop, JobStatus::succeeded)).action, ExistingAction::stopped);
}

TEST(ExistingWorkspace, RunningWorkspaceByAgentStatus) {
  auto v = view(Transition::start, JobStatus::succeeded);
  v.agents = {agent("main", kNow - 45'000, kNow - 5'000)};
  auto connected = decide(v);
  EXPECT_EQ(connected.action, ExistingAction::running);
  ASSERT_TRUE(connected.agent);
  EXPECT_EQ(connected.agent->name, "main");

  v.agents = {agent("main", std::nullopt, std::nullopt, kNow, 60)};
  EXPECT_EQ(decide(v).action, ExistingAction::agent_connecting);

  v.agents = {agent("main", kNow - 120'000, kNow - 60'000)};
  auto disconnected = decide(v);
  EXPECT_EQ(disconnected.action, ExistingAction::create);
  EXPECT_TRUE(disconnected.replace);

  v.agents = {agent("main", std::nullopt, std::nullopt, kNow - 2'000, 1)};
  auto timed_out = decide(v);
  EXPECT_EQ(timed_out.action, ExistingAction::create);
  EXPECT_TRUE(timed_out.replace);

  v.agents = {};
  EXPECT_EQ(decide(v).action, ExistingAction::create) << "no agents: as upstream, create";
}

TEST(ExistingWorkspace, SelectionErrorFallsBackToTheFirstAgent) {
  auto v = view(Transition::start, JobStatus::succeeded);
  v.agents = {agent("beta-chat", kNow - 45'000, kNow - 5'000),
              agent("alpha-chat", kNow - 45'000, kNow - 5'000)};
  auto d = decide(v);
  EXPECT_EQ(d.action, ExistingAction::running);
  ASSERT_TRUE(d.agent);
  EXPECT_EQ(d.agent->name, "beta-chat") << "the first in store order, as upstream";
}

// Spec section 2.3: build failures keep the build id; quota failures get the quota shape.
TEST(FailureResults, BuildFailureAndQuotaShapes) {
  auto plain = build_failure_result(BuildAction::create,
                                    {"workspace build failed: boom", "SCRIPT_FAILED", "b1"});
  EXPECT_TRUE(plain.is_error);
  EXPECT_EQ(plain.structured["error"], "workspace build failed: boom");
  EXPECT_EQ(plain.structured["build_id"], "b1");
  EXPECT_FALSE(plain.structured.contains("error_code"));
  EXPECT_FALSE(plain.structured.contains("quota"));

  auto quota = build_failure_result(
      BuildAction::start,
      {"existing workspace build failed: insufficient quota", "INSUFFICIENT_QUOTA", "b2"},
      QuotaFigures{40, 40});
  EXPECT_EQ(quota.structured["error_code"], "INSUFFICIENT_QUOTA");
  EXPECT_EQ(quota.structured["title"], "Workspace quota reached");
  std::string message = quota.structured["message"];
  for (auto phrase : {"could not start this workspace", "workspace quota is full",
                      "Delete a workspace", "raise your group quota allowance"}) {
    EXPECT_NE(message.find(phrase), std::string::npos) << phrase;
  }
  EXPECT_FALSE(quota.structured.contains("next_steps"));
  EXPECT_EQ(quota.structured["quota"]["credits_consumed"], 40);
  EXPECT_EQ(quota.structured["quota"]["budget"], 40);

  auto no_build = build_failure_result(BuildAction::create, {"workspace build failed", {}, ""});
  EXPECT_FALSE(no_build.structured.contains("build_id"));
}

TEST(FailureResults, ResponderErrorKeepsDetailAndValidations) {
  auto e = Error::invalid_argument("missing required parameter", "region must be set")
               .with_validation("region", "is required");
  ASSERT_TRUE(is_responder_error(e));
  auto r = responder_error_result(e);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.structured["error"], "missing required parameter");
  EXPECT_EQ(r.structured["detail"], "region must be set");
  EXPECT_EQ(r.structured["validations"][0]["field"], "region");
  EXPECT_FALSE(is_responder_error(Error::internal("disk full")));
}

// Spec scenario 1: the model is told when (not) to create a workspace.
TEST(CreateWorkspaceTool, DescriptionSaysWhenToUseIt) {
  auto tool = make_create_workspace_tool({});
  EXPECT_EQ(tool.name, "create_workspace");
  for (auto phrase :
       {"Create a new workspace from a template only when workspace-backed", "user explicitly asks",
        "Do not use this as a default first step", "wait_for_workspace"}) {
    EXPECT_NE(tool.description.find(phrase), std::string::npos) << phrase;
  }
  EXPECT_EQ(tool.input_schema["required"], json::array({"template_id"}));
  EXPECT_TRUE(tool.annotations.idempotent);
  EXPECT_FALSE(tool.annotations.read_only);
  EXPECT_TRUE(make_wait_for_workspace_tool({}).annotations.read_only);
  EXPECT_TRUE(make_stop_workspace_tool({}).annotations.destructive);
}

}  // namespace
}  // namespace berth::chattools
