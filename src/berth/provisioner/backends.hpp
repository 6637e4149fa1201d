#pragma once
// How each isolation kind runs: the command line that wraps a script or an agent (plain
// process, bubblewrap sandbox), and the environment they get.

#include <filesystem>
#include <string>
#include <vector>

#include "berth/proc/process.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::provisioner {

// Where the workspace directory appears inside a sandbox.
inline constexpr std::string_view kSandboxHome = "/home/berth";
// Where the berth binaries appear inside a sandbox.
inline constexpr std::string_view kSandboxBerth = "/opt/berth/bin/berth";
inline constexpr std::string_view kSandboxAgent = "/opt/berth/bin/berth-agent";

struct CommandContext {
  templates::Isolation isolation = templates::Isolation::process;
  bool sandbox_network = true;
  std::filesystem::path workspace_dir;  // on the host
  std::string subdirectory;             // relative to the workspace dir ("" = the dir itself)
  std::string hostname;                 // sandbox host name (the workspace name)
  std::filesystem::path berth_binary;   // on the host
  std::filesystem::path agent_binary;   // on the host; "" = run `berth agent`
};

// argv that runs `command` (already split) for this isolation kind, and the directory to start
// it in (the host directory; for a sandbox, where bwrap itself starts).
struct WrappedCommand {
  std::vector<std::string> argv;
  std::string cwd;
};
WrappedCommand wrap_command(const CommandContext& ctx, std::vector<std::string> command);

// The command that starts an agent, as seen by the wrapped command: `berth-agent` when it is
// installed next to `berth` (it starts faster), else `berth agent`.
std::vector<std::string> agent_command(const CommandContext& ctx);

// True when bubblewrap can create a sandbox on this machine (checked once, cached).
bool sandbox_available();

}  // namespace berth::provisioner
