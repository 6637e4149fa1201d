#pragma once
// Memory, process and CPU limits for one sandboxed workspace through control groups, where
// the host lets the server make them, each workspace's group below the server's own
// ("berth-<workspace id>"):
//   - cgroup v1 (a root server): a group in each of the memory, pids and cpu hierarchies;
//   - cgroup v2 (unified), where the server's group offers memory, pids and cpu and the
//     server may write to it (root, or systemd's Delegate=yes for a dedicated user): the
//     server first moves its own processes into a leaf ("berth-server"), since a v2 group
//     with processes cannot enable controllers for its children, then enables them.
// Every process of the workspace joins its groups before exec (proc::Confinement::
// cgroup_procs) and stays in them; limits count the whole workspace. Where the server cannot
// make groups, workspaces get rlimits only, and the build log says why.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/core/result.hpp"

namespace berth::provisioner {

struct CgroupLimits {
  std::int64_t memory_bytes = 0;
  std::int64_t processes = 0;
  double cpus = 0;
};

// The v2 limit files of a workspace's group and their contents.
std::vector<std::pair<std::string, std::string>> cgroup_v2_limit_files(const CgroupLimits& limits);

// The server's path in the unified (v2) hierarchy from /proc/self/cgroup's text ("0::/path"),
// or "" when it has none.
std::string unified_cgroup_path(std::string_view proc_self_cgroup);

// Makes `group` (the server's v2 group) a parent of workspace groups: checks that it offers
// memory, pids and cpu, moves the processes in it into group/berth-server (unless `group` is
// the hierarchy's root, which may hold processes), and enables the controllers for children.
// failed_precondition says what is missing.
Status prepare_cgroup_v2_parent(const std::filesystem::path& group, bool is_root);

// Creates (or updates) the workspace's groups and returns the cgroup.procs files its
// processes join. failed_precondition, saying why, when this host gives no groups.
Result<std::vector<std::string>> create_workspace_cgroups(std::string_view workspace_id,
                                                          const CgroupLimits& limits);

// "v1" or "v2": the hierarchy workspaces' groups are made in; "" when there are none.
std::string_view cgroup_version();

// Ends the workspace's groups: kills what is left in them and removes them. Quiet when there
// are none.
void remove_workspace_cgroups(std::string_view workspace_id);

// How many times the workspace's processes were killed for memory (oom_kill of v1
// memory.oom_control or v2 memory.events); 0 without groups.
std::int64_t workspace_oom_kills(std::string_view workspace_id);

}  // namespace berth::provisioner
