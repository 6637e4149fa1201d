#include "berth/core/status.hpp"

namespace berth {

std::string_view to_string(Transition t) {
  switch (t) {
    case Transition::start:
      return "start";
    case Transition::stop:
      return "stop";
    case Transition::delete_:
      return "delete";
  }
  return "start";
}

std::optional<Transition> parse_transition(std::string_view s) {
  if (s == "start") return Transition::start;
  if (s == "stop") return Transition::stop;
  if (s == "delete") return Transition::delete_;
  return std::nullopt;
}

std::string_view to_string(JobStatus s) {
  switch (s) {
    case JobStatus::pending:
      return "pending";
    case JobStatus::running:
      return "running";
    case JobStatus::succeeded:
      return "succeeded";
    case JobStatus::canceling:
      return "canceling";
    case JobStatus::canceled:
      return "canceled";
    case JobStatus::failed:
      return "failed";
  }
  return "pending";
}

bool job_active(JobStatus s) {
  return s == JobStatus::pending || s == JobStatus::running || s == JobStatus::canceling;
}

std::string_view workspace_status(Transition transition, JobStatus s) {
  switch (transition) {
    case Transition::start:
      if (s == JobStatus::pending) return "pending";
      if (job_active(s)) return "starting";
      return s == JobStatus::succeeded ? "running" : "failed";
    case Transition::stop:
      if (job_active(s)) return "stopping";
      return s == JobStatus::succeeded ? "stopped" : "failed";
    case Transition::delete_:
      if (job_active(s)) return "deleting";
      return s == JobStatus::succeeded ? "deleted" : "failed";
  }
  return "failed";
}

JobStatus derive_job_status(const JobTimes& t) {
  if (t.completed_at) {
    if (t.has_error) return JobStatus::failed;
    if (t.canceled_at) return JobStatus::canceled;
    return JobStatus::succeeded;
  }
  if (t.canceled_at) return JobStatus::canceling;
  if (!t.started_at) return JobStatus::pending;
  return JobStatus::running;
}

namespace {
constexpr std::pair<AgentLifecycle, std::string_view> kLifecycleNames[] = {
    {AgentLifecycle::created, "created"},
    {AgentLifecycle::starting, "starting"},
    {AgentLifecycle::ready, "ready"},
    {AgentLifecycle::start_error, "start_error"},
    {AgentLifecycle::start_timeout, "start_timeout"},
    {AgentLifecycle::shutting_down, "shutting_down"},
    {AgentLifecycle::off, "off"},
    {AgentLifecycle::shutdown_error, "shutdown_error"},
    {AgentLifecycle::shutdown_timeout, "shutdown_timeout"},
};
}  // namespace

std::string_view to_string(AgentLifecycle s) {
  for (const auto& [value, name] : kLifecycleNames) {
    if (value == s) return name;
  }
  return "created";
}

std::optional<AgentLifecycle> parse_lifecycle(std::string_view s) {
  for (const auto& [value, name] : kLifecycleNames) {
    if (name == s) return value;
  }
  return std::nullopt;
}

bool lifecycle_start_finished(AgentLifecycle s) {
  return s == AgentLifecycle::ready || s == AgentLifecycle::start_error ||
         s == AgentLifecycle::start_timeout;
}

std::string_view to_string(AgentStatus s) {
  switch (s) {
    case AgentStatus::connecting:
      return "connecting";
    case AgentStatus::connected:
      return "connected";
    case AgentStatus::disconnected:
      return "disconnected";
    case AgentStatus::timeout:
      return "timeout";
  }
  return "connecting";
}

AgentStatus derive_agent_status(const AgentConnectionTimes& t, UnixMillis now,
                                std::chrono::milliseconds inactive_timeout) {
  if (!t.first_connected_at) {
    auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.connection_timeout);
    if (timeout_ms.count() > 0 && now - t.created_at > timeout_ms.count()) {
      return AgentStatus::timeout;
    }
    return AgentStatus::connecting;
  }
  // A NULL time compares as the zero instant.
  UnixMillis disconnected = t.disconnected_at.value_or(0);
  UnixMillis last = t.last_connected_at.value_or(0);
  if (!(disconnected < last)) return AgentStatus::disconnected;
  if (now - last > inactive_timeout.count()) return AgentStatus::disconnected;
  if (t.last_connected_at) return AgentStatus::connected;
  return AgentStatus::disconnected;
}

}  // namespace berth
