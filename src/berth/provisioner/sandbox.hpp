#pragma once
// The `sandbox` isolation: a bubblewrap launch that code in a workspace cannot get out of.
// Its own user namespace (an unprivileged uid inside; on a root server also its own host uid,
// so that it is never host root), no capabilities, no_new_privs, a seccomp filter after
// Docker's default profile, its own pid, network, ipc and uts namespaces, a minimal read-only
// filesystem with a writable home and /tmp, and resource limits. The agent reaches the server
// through a Unix socket bound in read-only; nothing else of the host is reachable.
// ../shared/reference/sandbox.md is the verified recipe this follows.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/proc/process.hpp"

namespace berth::provisioner {

// Where things appear inside a sandbox.
inline constexpr std::string_view kSandboxHome = "/home/berth";
inline constexpr std::string_view kSandboxRun = "/run/berth";  // the agent socket's directory
inline constexpr std::string_view kSandboxAgentSocket = "/run/berth/agent.sock";
inline constexpr std::string_view kSandboxBerth = "/opt/berth/bin/berth";
inline constexpr std::string_view kSandboxAgent = "/opt/berth/bin/berth-agent";
inline constexpr unsigned kSandboxInsideUid = 1000;
// The workspace's egress proxy socket (egress/proxy.hpp) and where code reaches it.
inline constexpr std::string_view kSandboxEgressDir = "/run/egress";
inline constexpr std::string_view kSandboxEgressSocket = "/run/egress/proxy.sock";
inline constexpr unsigned kSandboxEgressPort = 3128;
// oom_score_adj of a sandbox's bwrap and agent (set as root before the uid drop).
inline constexpr int kAgentOomScoreAdj = -800;

// Host uids for workspaces of a root server: kSandboxUidBase + the workspace's number.
inline constexpr unsigned kSandboxUidBase = 200'000;

struct SandboxLimits {
  std::uint64_t max_processes = 1024;  // RLIMIT_NPROC, only with a host uid of its own
  std::uint64_t max_open_files = 16'384;
  std::vector<std::string> cgroup_procs;  // control groups to join (cgroups.hpp), if any
};

struct SandboxLaunch {
  std::filesystem::path home;              // host directory bound writable at kSandboxHome
  std::string subdirectory;                // where the command starts, relative to home
  std::filesystem::path agent_socket_dir;  // host directory bound read-only at kSandboxRun
  std::filesystem::path egress_dir;        // host directory bound read-only at kSandboxEgressDir
  std::filesystem::path berth_binary;
  std::filesystem::path agent_binary;  // "" = none
  std::string hostname;
  // The host uid (and gid) the sandbox runs as. Set on a root server (a uid of the
  // workspace's own); nullopt: the server's own uid, which is then not root.
  std::optional<unsigned> host_uid;
  SandboxLimits limits;
};

// A launch ready to spawn: bwrap's argv (ending in the command) and what the child does
// before exec. Owns the descriptors it passes (filter, /etc files); they close with it.
class PreparedSandbox {
 public:
  PreparedSandbox() = default;
  PreparedSandbox(PreparedSandbox&& other) noexcept;
  PreparedSandbox& operator=(PreparedSandbox&&) = delete;
  ~PreparedSandbox();

  std::vector<std::string> argv;
  proc::Confinement confine;

  // Adds a descriptor the sandboxed command inherits (closed with this object).
  void pass_fd(int fd);
};

Result<PreparedSandbox> prepare_sandbox(const SandboxLaunch& launch,
                                        const std::vector<std::string>& command);

// The seccomp filter as BPF bytes, built once (libseccomp). Fails only if libseccomp does.
Result<std::string> seccomp_filter_bpf();

// Whether sandboxes can be made here: bubblewrap runs and, on a root server, can run as an
// unprivileged uid. Checked once, cached; the error says what is missing.
Status sandbox_support();

// The host uid for workspace number `n` on a root server.
inline unsigned sandbox_host_uid(std::int64_t n) {
  return kSandboxUidBase + static_cast<unsigned>(n);
}

}  // namespace berth::provisioner
