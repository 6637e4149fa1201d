#pragma once
// Coordinator: everything a provisioner asks of the Berth server while it runs builds: jobs to
// claim, the build log, the agent rows a start creates, quota admission, and completion. Two
// implementations:
//   - LocalCoordinator (local_coordinator.hpp): inside `berth server`, the store and the event
//     bus directly (the embedded provisioner, and the server's side of the daemon API);
//   - RemoteCoordinator (remote_coordinator.hpp): inside `berth provisioner`, the server's
//     provisioner API over HTTP(S), authenticated by a provisioner key.
// So a daemon on another host runs the very same build code as the embedded provisioner.
//
// Job-scoped calls name the job they belong to; the server side checks that the calling
// provisioner holds that job (a daemon can only touch the builds it claimed).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "berth/core/result.hpp"
#include "berth/store/model.hpp"
#include "berth/store/store.hpp"

namespace berth::provisioner {

// The job a call is about: the ids a local store uses directly, and the job id the server's
// API checks the others against.
struct JobRef {
  std::string job_id;
  std::string build_id;
  std::string workspace_id;
};

class Coordinator {
 public:
  template <class T>
  using Async = boost::asio::awaitable<T>;

  virtual ~Coordinator() = default;

  // Inserts or replaces this host's row.
  virtual Async<Status> register_host(store::ProvisionerHost host) = 0;
  // Marks the host seen and its running jobs alive; not_found when its row is gone (removed,
  // or a later process registered the same host).
  virtual Async<Status> heartbeat(std::string provisioner_id, std::string worker_id,
                                  bool jobs_running) = 0;
  // Claims the next job this provisioner may run, waiting up to `wait` for one to appear.
  virtual Async<Result<std::optional<store::AcquiredJob>>> acquire(
      store::JobClaim claim, std::chrono::milliseconds wait) = 0;
  virtual Async<Status> append_logs(JobRef job, std::vector<store::NewLogLine> lines) = 0;
  // The job's outcome (error and code nullopt on success); failed_precondition when it was
  // already completed (e.g. failed by the reaper).
  virtual Async<Status> complete(JobRef job, std::optional<std::string> error,
                                 std::optional<std::string> error_code) = 0;
  // Quota admission of a start build costing `daily_cost` a day (Store::admit_build_cost).
  virtual Async<Result<store::Store::QuotaDecision>> admit_cost(JobRef job,
                                                                std::int64_t daily_cost) = 0;
  // The workspace's sandbox number (its sandbox uid on a root host).
  virtual Async<Result<std::int64_t>> sandbox_number(JobRef job) = 0;
  // The agent rows of a start build (with their token hashes).
  virtual Async<Result<std::vector<store::WorkspaceAgent>>> insert_agents(
      JobRef job, std::vector<store::NewAgent> agents) = 0;
  virtual Async<Status> set_agent_pid(JobRef job, std::string agent_id, std::optional<int> pid) = 0;
  // The agents of the workspace's latest start build (a stop or delete ends them).
  virtual Async<Result<std::vector<store::WorkspaceAgent>>> previous_agents(JobRef job) = 0;
  // An agent was ended by a stop: lifecycle off (unless it already shut down), pid cleared.
  virtual Async<Status> agent_stopped(JobRef job, std::string agent_id) = 0;

  // What reopening a workspace's egress proxy after a restart needs: the template spec (JSON)
  // of its latest start and its sandbox number. not_found when it never started, or does not
  // live on `provisioner_id`.
  struct WorkspaceEgress {
    std::string template_spec;
    std::int64_t sandbox_number = 0;
  };
  virtual Async<Result<WorkspaceEgress>> workspace_egress(std::string provisioner_id,
                                                          std::string workspace_id) = 0;
};

}  // namespace berth::provisioner
