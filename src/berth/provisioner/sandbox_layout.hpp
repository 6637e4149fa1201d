#pragma once
// Where the files sandboxes see live on the host. A sandbox runs as another user than the
// server (on a root server, a host uid per workspace), and bubblewrap binds by path: that user
// must be able to pass through every directory above a workspace, the agent socket and the
// agent's executable. The data directory is the place when its parents allow it; a data
// directory under /root (0700) does not, and then a directory in /var/tmp takes its place.

#include <filesystem>
#include <string>

#include "berth/core/result.hpp"

namespace berth::provisioner {

struct SandboxLayout {
  std::filesystem::path root;        // the data directory, or the fallback
  std::filesystem::path workspaces;  // root/workspaces (0711): one directory per workspace
  std::filesystem::path run;         // root/run (0711): agent.sock and bin/
  std::filesystem::path egress;      // root/egress (0711): one proxy directory per workspace
  // The executables agents run, published into run/bin (a hard link, else a copy) so that
  // sandboxes can reach them wherever the build or install lives. `agent_binary` is ""
  // when there is no berth-agent; agents then run `berth agent`.
  std::filesystem::path agent_binary;
  std::filesystem::path berth_binary;
  std::string warning;  // set when the fallback is used: the server logs it
};

// Creates the layout for `data_dir` (which exists), publishing the executables.
Result<SandboxLayout> prepare_sandbox_layout(const std::filesystem::path& data_dir,
                                             const std::filesystem::path& berth_binary,
                                             const std::filesystem::path& agent_binary);

// The first directory above `path` (inclusive of none of it) that users other than its owner
// cannot pass through; "" when there is none.
std::filesystem::path first_closed_ancestor(const std::filesystem::path& path);

}  // namespace berth::provisioner
