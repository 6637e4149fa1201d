#pragma once
// The coordinator of a provisioner inside `berth server`: the store, then an event on the bus
// for every change waiters care about (commit first, then publish).

#include <boost/asio/any_io_executor.hpp>

#include "berth/events/bus.hpp"
#include "berth/provisioner/coordinator.hpp"

namespace berth::provisioner {

class LocalCoordinator final : public Coordinator {
 public:
  LocalCoordinator(boost::asio::any_io_executor executor, store::Store& store,
                   events::EventBus& bus)
      : executor_(std::move(executor)), store_(store), bus_(bus) {}

  Async<Status> register_host(store::ProvisionerHost host) override;
  Async<Status> heartbeat(std::string provisioner_id, std::string worker_id,
                          bool jobs_running) override;
  Async<Result<std::optional<store::AcquiredJob>>> acquire(store::JobClaim claim,
                                                           std::chrono::milliseconds wait) override;
  Async<Status> append_logs(JobRef job, std::vector<store::NewLogLine> lines) override;
  Async<Status> complete(JobRef job, std::optional<std::string> error,
                         std::optional<std::string> error_code) override;
  Async<Result<store::Store::QuotaDecision>> admit_cost(JobRef job,
                                                        std::int64_t daily_cost) override;
  Async<Result<std::int64_t>> sandbox_number(JobRef job) override;
  Async<Result<std::vector<store::WorkspaceAgent>>> insert_agents(
      JobRef job, std::vector<store::NewAgent> agents) override;
  Async<Status> set_agent_pid(JobRef job, std::string agent_id, std::optional<int> pid) override;
  Async<Result<std::vector<store::WorkspaceAgent>>> previous_agents(JobRef job) override;
  Async<Status> agent_stopped(JobRef job, std::string agent_id) override;
  Async<Result<WorkspaceEgress>> workspace_egress(std::string provisioner_id,
                                                  std::string workspace_id) override;

  // The synchronous steps, for the server's daemon API (which has checked the caller).
  Result<std::optional<store::AcquiredJob>> try_acquire(const store::JobClaim& claim);
  Status append_logs_now(const JobRef& job, const std::vector<store::NewLogLine>& lines);
  Status complete_now(const JobRef& job, std::optional<std::string> error,
                      std::optional<std::string> error_code);
  Result<std::vector<store::WorkspaceAgent>> insert_agents_now(
      const JobRef& job, const std::vector<store::NewAgent>& agents);
  Result<std::vector<store::WorkspaceAgent>> previous_agents_now(const JobRef& job);
  Status agent_stopped_now(const JobRef& job, const std::string& agent_id);
  Result<WorkspaceEgress> workspace_egress_now(const std::string& provisioner_id,
                                               const std::string& workspace_id);

 private:
  boost::asio::any_io_executor executor_;
  store::Store& store_;
  events::EventBus& bus_;
};

}  // namespace berth::provisioner
