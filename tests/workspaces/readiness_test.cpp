#include "berth/workspaces/readiness.hpp"

#include <gtest/gtest.h>

namespace berth::workspaces {
namespace {

using namespace std::chrono_literals;
constexpr UnixMillis kNow = 10'000'000;

WorkspaceView view(Transition t, store::ProvisionerJob job,
                   std::vector<store::WorkspaceAgent> agents = {}) {
  WorkspaceView v;
  v.latest.build.transition = t;
  v.latest.job = std::move(job);
  v.agents = std::move(agents);
  return v;
}

store::ProvisionerJob job(std::optional<UnixMillis> started, std::optional<UnixMillis> completed,
                          std::optional<std::string> error = std::nullopt) {
  store::ProvisionerJob j;
  j.started_at = started;
  j.completed_at = completed;
  j.error = std::move(error);
  return j;
}

store::WorkspaceAgent agent(std::string name, AgentLifecycle state, bool connected,
                            int timeout_s = 120, UnixMillis created = kNow - 1000) {
  store::WorkspaceAgent a;
  a.name = std::move(name);
  a.lifecycle_state = state;
  a.created_at = created;
  a.connection_timeout_s = timeout_s;
  if (connected) {
    a.first_connected_at = kNow - 500;
    a.last_connected_at = kNow - 100;
  }
  return a;
}

TEST(Assess, JobPhases) {
  EXPECT_EQ(assess(view(Transition::start, job(std::nullopt, std::nullopt)), kNow, 30s).phase,
            Phase::queued);
  EXPECT_EQ(assess(view(Transition::start, job(1, std::nullopt)), kNow, 30s).phase,
            Phase::building);
  auto failed = assess(
      view(Transition::start, job(1, 2, "start script exited with status 1: boom")), kNow, 30s);
  EXPECT_EQ(failed.phase, Phase::build_failed);
  EXPECT_TRUE(failed.settled);
  EXPECT_EQ(failed.message, "start build failed: start script exited with status 1: boom");
  EXPECT_EQ(assess(view(Transition::stop, job(1, 2)), kNow, 30s).phase, Phase::stopped);
  EXPECT_EQ(assess(view(Transition::delete_, job(1, 2)), kNow, 30s).phase, Phase::deleted);
}

TEST(Assess, AgentsDecideTheStartPhase) {
  auto connecting =
      assess(view(Transition::start, job(1, 2), {agent("main", AgentLifecycle::created, false)}),
             kNow, 30s);
  EXPECT_EQ(connecting.phase, Phase::connecting);
  EXPECT_FALSE(connecting.settled);
  EXPECT_EQ(connecting.next_deadline, kNow - 1000 + 120'000 + 1)
      << "wake when the connection timeout expires";

  auto starting =
      assess(view(Transition::start, job(1, 2), {agent("main", AgentLifecycle::starting, true)}),
             kNow, 30s);
  EXPECT_EQ(starting.phase, Phase::starting);

  auto ready = assess(
      view(Transition::start, job(1, 2),
           {agent("main", AgentLifecycle::ready, true), agent("b", AgentLifecycle::ready, true)}),
      kNow, 30s);
  EXPECT_EQ(ready.phase, Phase::ready);
  EXPECT_TRUE(ready.settled);
}

TEST(Assess, FailuresWaitForTheOtherAgentsThenSettle) {
  auto one_pending = assess(view(Transition::start, job(1, 2),
                                 {agent("a", AgentLifecycle::start_error, true),
                                  agent("b", AgentLifecycle::starting, true)}),
                            kNow, 30s);
  EXPECT_FALSE(one_pending.settled);
  auto both = assess(view(Transition::start, job(1, 2),
                          {agent("a", AgentLifecycle::start_error, true),
                           agent("b", AgentLifecycle::start_timeout, true)}),
                     kNow, 30s);
  EXPECT_EQ(both.phase, Phase::agent_failed);
  EXPECT_EQ(both.message, "agent a: startup script failed; agent b: startup script timed out");
}

TEST(Assess, AgentThatNeverConnectedTimesOut) {
  auto r = assess(view(Transition::start, job(1, 2),
                       {agent("main", AgentLifecycle::created, false, 1, kNow - 2000)}),
                  kNow, 30s);
  EXPECT_EQ(r.phase, Phase::agent_failed);
  EXPECT_EQ(r.message, "agent main: did not connect within 1s");
}

}  // namespace
}  // namespace berth::workspaces
