#include "berth/provisioner/backends.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>

namespace berth::provisioner {

namespace fs = std::filesystem;

namespace {

// Merged-/usr systems (Debian 12) have /lib etc. as symlinks into /usr; others are real dirs.
void bind_system_dir(std::vector<std::string>& argv, const std::string& dir) {
  std::error_code ec;
  if (fs::is_symlink(dir, ec)) {
    argv.insert(argv.end(), {"--symlink", fs::read_symlink(dir, ec).string(), dir});
  } else if (fs::exists(dir, ec)) {
    argv.insert(argv.end(), {"--ro-bind", dir, dir});
  }
}

}  // namespace

WrappedCommand wrap_command(const CommandContext& ctx, std::vector<std::string> command) {
  fs::path host_dir =
      ctx.subdirectory.empty() ? ctx.workspace_dir : ctx.workspace_dir / ctx.subdirectory;
  if (ctx.isolation != templates::Isolation::sandbox) {
    return {std::move(command), host_dir.string()};
  }
  std::string inside = std::string(kSandboxHome);
  if (!ctx.subdirectory.empty()) inside += "/" + ctx.subdirectory;
  std::vector<std::string> argv = {"bwrap",     "--ro-bind", "/usr", "/usr",
                                   "--ro-bind", "/etc",      "/etc"};
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"})
    bind_system_dir(argv, d);
  argv.insert(argv.end(), {"--proc",
                           "/proc",
                           "--dev",
                           "/dev",
                           "--tmpfs",
                           "/tmp",
                           "--bind",
                           ctx.workspace_dir.string(),
                           std::string(kSandboxHome),
                           "--ro-bind",
                           ctx.berth_binary.string(),
                           std::string(kSandboxBerth),
                           "--chdir",
                           inside,
                           "--setenv",
                           "HOME",
                           std::string(kSandboxHome),
                           "--unshare-pid",
                           "--unshare-ipc",
                           "--unshare-uts",
                           "--hostname",
                           ctx.hostname.empty() ? "berth" : ctx.hostname});
  if (!ctx.agent_binary.empty()) {
    argv.insert(argv.end(), {"--ro-bind", ctx.agent_binary.string(), std::string(kSandboxAgent)});
  }
  if (!ctx.sandbox_network) argv.push_back("--unshare-net");
  argv.push_back("--");
  for (auto& c : command) argv.push_back(std::move(c));
  return {std::move(argv), ctx.workspace_dir.string()};
}

std::vector<std::string> agent_command(const CommandContext& ctx) {
  bool sandboxed = ctx.isolation == templates::Isolation::sandbox;
  if (!ctx.agent_binary.empty()) {
    return {sandboxed ? std::string(kSandboxAgent) : ctx.agent_binary.string()};
  }
  return {sandboxed ? std::string(kSandboxBerth) : ctx.berth_binary.string(), "agent"};
}

bool sandbox_available() {
  static const bool available = [] {
    return std::system(
               "bwrap --ro-bind / / --unshare-pid --die-with-parent true >/dev/null 2>&1") == 0;
  }();
  return available;
}

}  // namespace berth::provisioner
