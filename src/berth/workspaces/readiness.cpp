#include "berth/workspaces/readiness.hpp"

#include <fmt/format.h>

#include "berth/core/duration.hpp"

namespace berth::workspaces {

std::string_view to_string(Phase p) {
  switch (p) {
    case Phase::queued:
      return "queued";
    case Phase::building:
      return "building";
    case Phase::connecting:
      return "connecting";
    case Phase::starting:
      return "starting";
    case Phase::ready:
      return "ready";
    case Phase::build_failed:
      return "build_failed";
    case Phase::agent_failed:
      return "agent_failed";
    case Phase::stopped:
      return "stopped";
    case Phase::deleted:
      return "deleted";
  }
  return "queued";
}

Readiness assess(const WorkspaceView& v, UnixMillis now, std::chrono::milliseconds inactive) {
  const auto& job = v.latest.job;
  const auto transition = v.latest.build.transition;
  switch (job.status()) {
    case JobStatus::pending:
      return {Phase::queued, false, "waiting for a provisioner", std::nullopt};
    case JobStatus::running:
    case JobStatus::canceling:
      return {Phase::building, false, fmt::format("{} build running", to_string(transition)),
              std::nullopt};
    case JobStatus::failed:
    case JobStatus::canceled:
      return {
          Phase::build_failed, true,
          fmt::format("{} build failed: {}", to_string(transition), job.error.value_or("canceled")),
          std::nullopt};
    case JobStatus::succeeded:
      break;
  }
  if (transition == Transition::stop)
    return {Phase::stopped, true, "workspace stopped", std::nullopt};
  if (transition == Transition::delete_)
    return {Phase::deleted, true, "workspace deleted", std::nullopt};

  Readiness r{Phase::ready, true, "every agent is ready", std::nullopt};
  std::string failures;
  bool pending = false, connecting = false;
  for (const auto& a : v.agents) {
    auto status = a.status(now, inactive);
    if (a.lifecycle_state == AgentLifecycle::start_error) {
      failures +=
          fmt::format("{}agent {}: startup script failed", failures.empty() ? "" : "; ", a.name);
    } else if (a.lifecycle_state == AgentLifecycle::start_timeout) {
      failures +=
          fmt::format("{}agent {}: startup script timed out", failures.empty() ? "" : "; ", a.name);
    } else if (status == AgentStatus::timeout) {
      failures +=
          fmt::format("{}agent {}: did not connect within {}", failures.empty() ? "" : "; ", a.name,
                      format_duration(std::chrono::seconds(a.connection_timeout_s)));
    } else if (status == AgentStatus::connecting) {
      pending = connecting = true;
      if (a.connection_timeout_s > 0) {
        UnixMillis deadline = a.created_at + a.connection_timeout_s * 1000LL + 1;
        r.next_deadline = r.next_deadline ? std::min(*r.next_deadline, deadline) : deadline;
      }
    } else if (a.lifecycle_state != AgentLifecycle::ready) {
      pending = true;
    }
  }
  if (pending) {
    r.phase = connecting ? Phase::connecting : Phase::starting;
    r.settled = false;
    r.message = connecting ? "waiting for agents to connect" : "running startup scripts";
    return r;
  }
  if (!failures.empty()) return {Phase::agent_failed, true, failures, std::nullopt};
  return r;
}

boost::asio::awaitable<Result<WaitOutcome>> wait_until_settled(
    boost::asio::any_io_executor executor, WorkspaceService& service, events::EventBus& bus,
    Actor actor, std::string workspace_id, WaitOptions options) {
  using clock = std::chrono::steady_clock;
  // Subscribe before the first read, so no change can slip between them.
  auto sub = bus.subscribe(executor, events::topic::workspace(workspace_id));
  const auto until = clock::now() + options.timeout;
  while (true) {
    auto v = service.get(actor, workspace_id, WorkspaceService::IncludeDeleted::yes);
    if (!v) co_return v.error();
    UnixMillis now = now_ms();
    Readiness r = assess(*v, now, options.inactive_timeout);
    if (r.settled) co_return WaitOutcome{std::move(*v), std::move(r), false};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    if (left.count() <= 0) co_return WaitOutcome{std::move(*v), std::move(r), true};
    auto wait = std::min(options.fallback, left);
    if (r.next_deadline)
      wait = std::min(wait,
                      std::chrono::milliseconds(std::max<std::int64_t>(1, *r.next_deadline - now)));
    co_await sub->wait(wait);
  }
}

}  // namespace berth::workspaces
