#pragma once
// How each isolation kind runs a script or an agent: `sandbox` through the bubblewrap launch
// of sandbox.hpp, `process` and `script` as host commands in the workspace directory (only
// on a server started with --allow-unisolated).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/proc/process.hpp"
#include "berth/provisioner/sandbox.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::provisioner {

struct CommandContext {
  templates::Isolation isolation = templates::Isolation::sandbox;
  std::filesystem::path workspace_dir;     // on the host
  std::string subdirectory;                // relative to the workspace dir ("" = the dir itself)
  std::string hostname;                    // sandbox host name (the workspace name)
  std::filesystem::path berth_binary;      // on the host
  std::filesystem::path agent_binary;      // on the host; "" = run `berth agent`
  std::filesystem::path agent_socket_dir;  // on the host: the server's agent socket directory
  // On the host: the workspace's egress proxy directory ("" = no egress). Sandboxed commands
  // then run behind `egress-forward` (agent/egress_forward.hpp).
  std::filesystem::path egress_dir;
  std::optional<unsigned> host_uid;  // a sandbox's own host uid (root servers)
  SandboxLimits limits;
};

// A command ready to spawn. For a sandbox it owns the descriptors the launch passes.
struct WrappedCommand {
  std::vector<std::string> argv;
  std::string cwd;
  std::optional<PreparedSandbox> sandbox;

  // Spawn options for this command with `env`; a sandbox adds its confinement.
  proc::SpawnOptions spawn_options(proc::Environment env) const;
};
Result<WrappedCommand> wrap_command(const CommandContext& ctx, std::vector<std::string> command);

// The command that starts an agent, as seen by the wrapped command: `berth-agent` when it is
// installed next to `berth` (it starts faster), else `berth agent`.
std::vector<std::string> agent_command(const CommandContext& ctx);

// Variables that point a sandbox's HTTP clients at its egress relay.
void add_egress_env(proc::Environment& env);

// What an agent dials: the server's URL, or inside a sandbox its Unix socket.
std::string agent_url(const CommandContext& ctx, const std::string& server_url);

}  // namespace berth::provisioner
