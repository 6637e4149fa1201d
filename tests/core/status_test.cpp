#include "berth/core/status.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

using namespace std::chrono_literals;

TEST(JobStatus, DerivedFromTimestamps) {
  EXPECT_EQ(derive_job_status({}), JobStatus::pending);
  EXPECT_EQ(derive_job_status({.started_at = 1}), JobStatus::running);
  EXPECT_EQ(derive_job_status({.started_at = 1, .canceled_at = 2}), JobStatus::canceling);
  EXPECT_EQ(derive_job_status({.started_at = 1, .completed_at = 2}), JobStatus::succeeded);
  EXPECT_EQ(derive_job_status({.started_at = 1, .completed_at = 2, .has_error = true}),
            JobStatus::failed);
  EXPECT_EQ(derive_job_status({.completed_at = 2, .canceled_at = 2}), JobStatus::canceled);
  // An error wins over a cancel.
  EXPECT_EQ(derive_job_status({.completed_at = 2, .canceled_at = 2, .has_error = true}),
            JobStatus::failed);
}

TEST(JobStatus, CancelingIsStillActive) {
  EXPECT_TRUE(job_active(JobStatus::canceling));
  EXPECT_TRUE(job_active(JobStatus::pending));
  EXPECT_FALSE(job_active(JobStatus::canceled));
}

// The examples of spec section 3.4, inactive timeout 30 s, now = 1'000'000.
TEST(AgentStatus, SpecExamples) {
  const UnixMillis now = 1'000'000;
  AgentConnectionTimes t{.created_at = now - 60'000};
  t.first_connected_at = now - 45'000;
  t.last_connected_at = now - 5'000;
  EXPECT_EQ(derive_agent_status(t, now, 30s), AgentStatus::connected);

  t.first_connected_at = now - 120'000;
  t.last_connected_at = now - 60'000;
  EXPECT_EQ(derive_agent_status(t, now, 30s), AgentStatus::disconnected);

  AgentConnectionTimes never{.created_at = now - 2'000, .connection_timeout = 1s};
  EXPECT_EQ(derive_agent_status(never, now, 30s), AgentStatus::timeout);
  AgentConnectionTimes fresh{.created_at = now, .connection_timeout = 60s};
  EXPECT_EQ(derive_agent_status(fresh, now, 30s), AgentStatus::connecting);
  AgentConnectionTimes no_timeout{.created_at = 0};
  EXPECT_EQ(derive_agent_status(no_timeout, now, 30s), AgentStatus::connecting);
}

TEST(AgentStatus, DisconnectAfterLastConnectIsDisconnected) {
  const UnixMillis now = 1'000'000;
  AgentConnectionTimes t{.created_at = 0,
                         .first_connected_at = 10,
                         .last_connected_at = now - 10,
                         .disconnected_at = now - 5};
  EXPECT_EQ(derive_agent_status(t, now, 30s), AgentStatus::disconnected);
  t.last_connected_at = now - 1;  // reconnected
  EXPECT_EQ(derive_agent_status(t, now, 30s), AgentStatus::connected);
}

TEST(Lifecycle, WireNamesRoundTrip) {
  for (auto s :
       {AgentLifecycle::created, AgentLifecycle::starting, AgentLifecycle::ready,
        AgentLifecycle::start_error, AgentLifecycle::start_timeout, AgentLifecycle::shutting_down,
        AgentLifecycle::off, AgentLifecycle::shutdown_error, AgentLifecycle::shutdown_timeout}) {
    EXPECT_EQ(parse_lifecycle(to_string(s)), s);
  }
  EXPECT_EQ(parse_lifecycle("bogus"), std::nullopt);
  EXPECT_TRUE(lifecycle_start_finished(AgentLifecycle::start_timeout));
  EXPECT_FALSE(lifecycle_start_finished(AgentLifecycle::starting));
}

}  // namespace
}  // namespace berth
