#pragma once
// Memory, process and CPU limits for one sandboxed workspace through control groups, where
// the host lets the server make them: cgroup v1 (memory, pids, cpu), each workspace's groups
// below the server's own ("berth-<workspace id>"). Every process of the workspace joins them
// before exec (proc::Confinement::cgroup_procs) and stays in them; limits count the whole
// workspace. Where the server cannot make groups (not root, cgroup v2 without delegation),
// workspaces get rlimits only, and the build log says so.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/result.hpp"

namespace berth::provisioner {

struct CgroupLimits {
  std::int64_t memory_bytes = 0;
  std::int64_t processes = 0;
  double cpus = 0;
};

// Creates (or updates) the workspace's groups and returns the cgroup.procs files its
// processes join. failed_precondition, saying why, when this host gives no groups.
Result<std::vector<std::string>> create_workspace_cgroups(std::string_view workspace_id,
                                                          const CgroupLimits& limits);

// Ends the workspace's groups: kills what is left in them and removes them. Quiet when there
// are none.
void remove_workspace_cgroups(std::string_view workspace_id);

// How many times the workspace's processes were killed for memory (v1 memory.oom_control's
// oom_kill); 0 without groups.
std::int64_t workspace_oom_kills(std::string_view workspace_id);

}  // namespace berth::provisioner
