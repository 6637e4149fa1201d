#pragma once
// The provisioner: claims pending jobs (atomically, through the store), runs the transition
// of the template's isolation kind (process | sandbox | script), streams script output into
// the build log, and completes the job with an error text and code on failure. Runs inside
// `berth server` (the embedded provisioner) or `berth provisioner` (a daemon on another host),
// talking to the server through a Coordinator (coordinator.hpp).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "berth/core/tags.hpp"
#include "berth/egress/policy.hpp"
#include "berth/events/bus.hpp"
#include "berth/provisioner/coordinator.hpp"
#include "berth/store/store.hpp"

namespace berth::provisioner {

struct ProvisionerOptions {
  std::filesystem::path data_dir;  // workspaces live in data_dir/workspaces/<id>
  // Where workspace directories live (sandbox_layout.hpp); "" = data_dir/workspaces.
  std::filesystem::path workspaces_dir;
  std::string server_url;              // what agents dial, e.g. http://127.0.0.1:7080
  std::filesystem::path berth_binary;  // the `berth` executable (scripts get it as BERTH_BINARY)
  std::filesystem::path agent_binary;  // `berth-agent` if installed; "" = run `berth agent`
  // The directory of the server's agent socket (agent.sock), bound into every sandbox.
  std::filesystem::path agent_socket_dir;
  // Where each sandboxed workspace's egress proxy socket lives (egress/<workspace id>/);
  // "" = sandboxes get no egress proxy (and so no network at all).
  std::filesystem::path egress_dir;
  // Private ranges the egress proxy may reach all the same (--egress-allow-net).
  std::vector<egress::Cidr> egress_allowed_nets;
  // Whether templates with isolation process or script may run (their commands run on this
  // host as the server's user). Without it, their builds fail with UNISOLATED_REFUSED.
  bool allow_unisolated = false;
  // This host (its data directory): stable across restarts. Workspaces whose first build it
  // claimed live here, and only it runs their later builds.
  std::string provisioner_id;
  std::string name;               // shown to operators, e.g. the host name
  std::string kind = "embedded";  // embedded | daemon
  std::string worker_id;          // unique per process: "<provisioner_id>/<uuid>"
  std::string worker_prefix;      // "<provisioner_id>/": other workers' jobs are orphans
  Tags tags;                      // what it offers (daemons: its key's tags)
  // false: run only the stale-job reaper (`berth server --provisioners 0`).
  bool claim_jobs = true;
  int max_concurrent_jobs = 32;
  std::chrono::milliseconds build_timeout{std::chrono::minutes(10)};
  // The provisioner marks its running jobs alive this often; a job not marked for
  // `stale_after` is failed by the reaper (its provisioner went away).
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(5)};
  std::chrono::milliseconds stale_after{std::chrono::seconds(30)};
  // Safety net: look for pending jobs this often even without a job.queued event.
  std::chrono::milliseconds poll_fallback{std::chrono::seconds(5)};
  // Time an agent gets to exit on SIGTERM before SIGKILL.
  std::chrono::milliseconds agent_stop_grace{std::chrono::seconds(5)};
};

class Provisioner {
 public:
  // Inside `berth server`: builds through the store directly, and the stale-job reaper.
  Provisioner(boost::asio::any_io_executor executor, store::Store& store, events::EventBus& bus,
              ProvisionerOptions options);
  // A `berth provisioner` daemon: builds through the server's API; no reaper (servers run it).
  Provisioner(boost::asio::any_io_executor executor, std::shared_ptr<Coordinator> coordinator,
              ProvisionerOptions options);
  ~Provisioner();

  // Starts the job loop, the heartbeat and the reaper as detached coroutines.
  void start();
  // Stops claiming new jobs. Running jobs are left to finish or to the reaper.
  void stop();

  std::filesystem::path workspace_dir(std::string_view workspace_id) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// Fails every running job whose deadline passed or whose provisioner went away, and publishes
// the change. Returns how many jobs it failed.
int reap_stale_jobs(store::Store& store, events::EventBus& bus, const ProvisionerOptions& options);

}  // namespace berth::provisioner
