#include "berth/provisioner/local_coordinator.hpp"

#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/provisioner/build_metrics.hpp"

namespace berth::provisioner {

Coordinator::Async<Status> LocalCoordinator::register_host(store::ProvisionerHost host) {
  co_return store_.register_provisioner(host);
}

Coordinator::Async<Status> LocalCoordinator::heartbeat(std::string provisioner_id,
                                                       std::string worker_id, bool jobs_running) {
  if (auto s = store_.provisioner_seen(provisioner_id, now_ms()); !s) co_return s;
  if (jobs_running) co_return store_.heartbeat_jobs(worker_id, now_ms());
  co_return Status{};
}

Result<std::optional<store::AcquiredJob>> LocalCoordinator::try_acquire(
    const store::JobClaim& claim) {
  auto job = store_.acquire_job(claim);
  if (job && *job) {
    record_build_started(**job, claim.now);
    bus_.publish(events::topic::workspace((*job)->workspace.id));
  }
  return job;
}

Coordinator::Async<Result<std::optional<store::AcquiredJob>>> LocalCoordinator::acquire(
    store::JobClaim claim, std::chrono::milliseconds wait) {
  // Subscribe before looking, so a job queued in between still wakes the wait.
  auto sub = bus_.subscribe(executor_, std::string(events::topic::kJobQueued));
  auto job = try_acquire(claim);
  if (!job || *job || wait.count() <= 0) co_return job;
  co_await sub->wait(wait);
  const UnixMillis budget = claim.deadline_at - claim.now;  // the build timeout
  claim.now = now_ms();
  claim.deadline_at = claim.now + budget;
  co_return try_acquire(claim);
}

Status LocalCoordinator::append_logs_now(const JobRef& job,
                                         const std::vector<store::NewLogLine>& lines) {
  if (auto s = store_.append_job_logs(job.job_id, lines, now_ms()); !s) return s;
  bus_.publish(events::topic::job_logs(job.job_id));
  return {};
}

Coordinator::Async<Status> LocalCoordinator::append_logs(JobRef job,
                                                         std::vector<store::NewLogLine> lines) {
  co_return append_logs_now(job, lines);
}

Status LocalCoordinator::complete_now(const JobRef& job, std::optional<std::string> error,
                                      std::optional<std::string> error_code) {
  const bool failed = error.has_value();
  auto done = store_.complete_job(job.job_id, std::move(error), std::move(error_code), now_ms());
  Status st = done ? Status() : Status(done.error());
  if (done) record_build_finished(*done);
  bus_.publish(events::topic::workspace(job.workspace_id));
  bus_.publish(events::topic::job_logs(job.job_id));
  if (st && !failed) bus_.publish(events::topic::kDeadlines);
  bus_.publish(events::topic::kPrebuilds);  // a prebuild may be ready, or have failed
  return st;
}

Coordinator::Async<Status> LocalCoordinator::complete(JobRef job, std::optional<std::string> error,
                                                      std::optional<std::string> error_code) {
  co_return complete_now(job, std::move(error), std::move(error_code));
}

Coordinator::Async<Result<store::Store::QuotaDecision>> LocalCoordinator::admit_cost(
    JobRef job, std::int64_t daily_cost) {
  co_return store_.admit_build_cost(job.build_id, daily_cost);
}

Coordinator::Async<Result<std::int64_t>> LocalCoordinator::sandbox_number(JobRef job) {
  co_return store_.sandbox_number(job.workspace_id);
}

Result<std::vector<store::WorkspaceAgent>> LocalCoordinator::insert_agents_now(
    const JobRef& job, const std::vector<store::NewAgent>& agents) {
  auto rows = store_.insert_agents(job.build_id, agents, now_ms());
  if (rows) bus_.publish(events::topic::workspace(job.workspace_id));
  return rows;
}

Coordinator::Async<Result<std::vector<store::WorkspaceAgent>>> LocalCoordinator::insert_agents(
    JobRef job, std::vector<store::NewAgent> agents) {
  co_return insert_agents_now(job, agents);
}

Coordinator::Async<Status> LocalCoordinator::set_agent_pid(JobRef, std::string agent_id,
                                                           std::optional<int> pid) {
  co_return store_.set_agent_pid(agent_id, pid);
}

Result<std::vector<store::WorkspaceAgent>> LocalCoordinator::previous_agents_now(
    const JobRef& job) {
  auto prev = store_.latest_start_build(job.workspace_id);
  if (!prev) return prev.error();
  if (!*prev) return std::vector<store::WorkspaceAgent>{};
  return store_.agents_for_build((*prev)->id);
}

Coordinator::Async<Result<std::vector<store::WorkspaceAgent>>> LocalCoordinator::previous_agents(
    JobRef job) {
  co_return previous_agents_now(job);
}

Status LocalCoordinator::agent_stopped_now(const JobRef& job, const std::string& agent_id) {
  auto agent = store_.agent_by_id(agent_id);
  if (!agent) return agent.error();
  if (agent->lifecycle_state != AgentLifecycle::off &&
      agent->lifecycle_state != AgentLifecycle::shutdown_error &&
      agent->lifecycle_state != AgentLifecycle::shutdown_timeout) {
    if (auto s = store_.set_agent_lifecycle(agent_id, AgentLifecycle::off, now_ms()); !s) return s;
  }
  if (agent->pid) {
    if (auto s = store_.set_agent_pid(agent_id, std::nullopt); !s) return s;
  }
  bus_.publish(events::topic::workspace(job.workspace_id));
  return {};
}

Coordinator::Async<Status> LocalCoordinator::agent_stopped(JobRef job, std::string agent_id) {
  co_return agent_stopped_now(job, agent_id);
}

Result<Coordinator::WorkspaceEgress> LocalCoordinator::workspace_egress_now(
    const std::string& provisioner_id, const std::string& workspace_id) {
  auto ws = store_.workspace_by_id(workspace_id);
  if (!ws) return ws.error();
  if (ws->provisioner_id != provisioner_id) {
    return Error::not_found(
        fmt::format("workspace {} does not live on provisioner {}", workspace_id, provisioner_id));
  }
  auto build = store_.latest_start_build(workspace_id);
  if (!build) return build.error();
  if (!*build) return Error::not_found(fmt::format("workspace {} never started", workspace_id));
  auto version = store_.template_version_by_id((*build)->template_version_id);
  if (!version) return version.error();
  auto n = store_.sandbox_number(workspace_id);
  if (!n) return n.error();
  return WorkspaceEgress{version->spec, *n};
}

Coordinator::Async<Result<Coordinator::WorkspaceEgress>> LocalCoordinator::workspace_egress(
    std::string provisioner_id, std::string workspace_id) {
  co_return workspace_egress_now(provisioner_id, workspace_id);
}

}  // namespace berth::provisioner
