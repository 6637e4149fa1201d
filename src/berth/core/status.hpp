#pragma once
// The state machines of builds, jobs and agents (design.md, "State machines"). Enum values
// use their wire spelling. Job and agent connection status are derived from timestamps, never
// stored, so they cannot disagree with the rows they describe.

#include <chrono>
#include <optional>
#include <string_view>

#include "berth/core/clock.hpp"

namespace berth {

enum class Transition { start, stop, delete_ };
std::string_view to_string(Transition t);
std::optional<Transition> parse_transition(std::string_view s);

enum class JobStatus { pending, running, succeeded, canceling, canceled, failed };
std::string_view to_string(JobStatus s);
// pending, running and canceling are still in progress (reference choice 4).
bool job_active(JobStatus s);

// The timestamps a job's status is derived from (spec section 1.4).
struct JobTimes {
  std::optional<UnixMillis> started_at;
  std::optional<UnixMillis> completed_at;
  std::optional<UnixMillis> canceled_at;
  bool has_error = false;
};
JobStatus derive_job_status(const JobTimes& t);

// A workspace's status, from its latest build: pending, starting, running, stopping, stopped,
// deleting, deleted, failed (a failed or canceled build of any transition).
std::string_view workspace_status(Transition transition, JobStatus job);
// Every value workspace_status() returns.
inline constexpr std::string_view kWorkspaceStatuses[] = {
    "pending", "starting", "running", "stopping", "stopped", "deleting", "deleted", "failed"};

enum class AgentLifecycle {
  created,
  starting,
  ready,
  start_error,
  start_timeout,
  shutting_down,
  off,
  shutdown_error,
  shutdown_timeout,
};
std::string_view to_string(AgentLifecycle s);
std::optional<AgentLifecycle> parse_lifecycle(std::string_view s);
// ready, start_error and start_timeout end the start phase.
bool lifecycle_start_finished(AgentLifecycle s);

enum class AgentStatus { connecting, connected, disconnected, timeout };
std::string_view to_string(AgentStatus s);

// The timestamps an agent's connection status is derived from (spec section 3.4).
struct AgentConnectionTimes {
  UnixMillis created_at = 0;
  std::optional<UnixMillis> first_connected_at;
  std::optional<UnixMillis> last_connected_at;
  std::optional<UnixMillis> disconnected_at;
  std::chrono::seconds connection_timeout{0};  // 0 = never times out
};
AgentStatus derive_agent_status(const AgentConnectionTimes& t, UnixMillis now,
                                std::chrono::milliseconds inactive_timeout);

}  // namespace berth
