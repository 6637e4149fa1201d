#pragma once
// One claimed job run to its end: the steps of its transition (start: quota, workspace
// directory and sandbox uid, control groups, egress proxy, start script, agent rows and
// agents; stop and delete: end the agents, stop script, clean up), its build log, and its
// completion through the coordinator, failed with a text and a code or succeeded. The same
// code runs inside `berth server` and in a `berth provisioner` daemon.

#include <filesystem>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "berth/egress/proxy.hpp"
#include "berth/provisioner/coordinator.hpp"
#include "berth/provisioner/provisioner.hpp"

namespace berth::provisioner {

// What a job runs with, owned by its Provisioner (which outlives its jobs).
struct JobEnvironment {
  boost::asio::any_io_executor executor;
  Coordinator* coordinator = nullptr;
  const ProvisionerOptions* options = nullptr;
  egress::EgressProxies* egress = nullptr;
  std::filesystem::path workspace_dir;  // this job's workspace, on this host
};

boost::asio::awaitable<void> run_build(JobEnvironment env, store::AcquiredJob job);

}  // namespace berth::provisioner
