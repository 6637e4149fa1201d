#pragma once
// The coordinator of a `berth provisioner` daemon: each step is a call to the server's
// POST /api/v1/provisioner/call (http/provisioner_handlers.cpp), authenticated by the daemon's
// provisioner key, over https when the server has TLS. The blocking HTTP client runs on a
// small thread pool of its own, so the daemon's executor (build scripts, agents, the agent
// socket relay) never waits on the network.

#include <memory>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "berth/provisioner/coordinator.hpp"

namespace berth::cli {

class RemoteCoordinator final : public provisioner::Coordinator {
 public:
  // `threads`: calls in flight at once (one of them is the long-polling acquire).
  RemoteCoordinator(std::string server_url, std::string key, std::string provisioner_id,
                    int threads = 8);
  ~RemoteCoordinator() override;

  Async<Status> register_host(store::ProvisionerHost host) override;
  Async<Status> heartbeat(std::string provisioner_id, std::string worker_id,
                          bool jobs_running) override;
  Async<Result<std::optional<store::AcquiredJob>>> acquire(store::JobClaim claim,
                                                           std::chrono::milliseconds wait) override;
  Async<Status> append_logs(provisioner::JobRef job, std::vector<store::NewLogLine> lines) override;
  Async<Status> complete(provisioner::JobRef job, std::optional<std::string> error,
                         std::optional<std::string> error_code) override;
  Async<Result<store::Store::QuotaDecision>> admit_cost(provisioner::JobRef job,
                                                        std::int64_t daily_cost) override;
  Async<Result<std::int64_t>> sandbox_number(provisioner::JobRef job) override;
  Async<Result<std::vector<store::WorkspaceAgent>>> insert_agents(
      provisioner::JobRef job, std::vector<store::NewAgent> agents) override;
  Async<Status> set_agent_pid(provisioner::JobRef job, std::string agent_id,
                              std::optional<int> pid) override;
  Async<Result<std::vector<store::WorkspaceAgent>>> previous_agents(
      provisioner::JobRef job) override;
  Async<Status> agent_stopped(provisioner::JobRef job, std::string agent_id) override;
  Async<Result<WorkspaceEgress>> workspace_egress(std::string provisioner_id,
                                                  std::string workspace_id) override;

  // One call, blocking (on the pool's threads): the "result" of the answer.
  Result<nlohmann::json> call_now(const std::string& method, const nlohmann::json& params) const;

 private:
  Async<Result<nlohmann::json>> call(std::string method, nlohmann::json params);

  std::string url_;
  std::string key_;
  std::string provisioner_id_;
  boost::asio::thread_pool pool_;
};

}  // namespace berth::cli
