#include "berth/provisioner/backends.hpp"

#include <fmt/format.h>

namespace berth::provisioner {

namespace fs = std::filesystem;

proc::SpawnOptions WrappedCommand::spawn_options(proc::Environment env) const {
  proc::SpawnOptions o{.argv = argv, .env = std::move(env), .cwd = cwd};
  if (sandbox) o.confine = sandbox->confine;
  return o;
}

Result<WrappedCommand> wrap_command(const CommandContext& ctx, std::vector<std::string> command) {
  fs::path host_dir =
      ctx.subdirectory.empty() ? ctx.workspace_dir : ctx.workspace_dir / ctx.subdirectory;
  if (ctx.isolation != templates::Isolation::sandbox) {
    return WrappedCommand{std::move(command), host_dir.string(), std::nullopt};
  }
  if (!ctx.egress_dir.empty()) {
    // The relay to the egress proxy starts first, and the command replaces it.
    std::vector<std::string> forward = {agent_command(ctx).front(), "egress-forward",
                                        std::string(kSandboxEgressSocket),
                                        std::to_string(kSandboxEgressPort), "--"};
    command.insert(command.begin(), forward.begin(), forward.end());
  }
  auto prepared = prepare_sandbox({.home = ctx.workspace_dir,
                                   .subdirectory = ctx.subdirectory,
                                   .agent_socket_dir = ctx.agent_socket_dir,
                                   .egress_dir = ctx.egress_dir,
                                   .berth_binary = ctx.berth_binary,
                                   .agent_binary = ctx.agent_binary,
                                   .hostname = ctx.hostname,
                                   .host_uid = ctx.host_uid,
                                   .limits = ctx.limits},
                                  command);
  if (!prepared) return prepared.error();
  WrappedCommand out;
  out.argv = prepared->argv;
  out.cwd = "/";
  out.sandbox.emplace(std::move(*prepared));
  return out;
}

std::vector<std::string> agent_command(const CommandContext& ctx) {
  bool sandboxed = ctx.isolation == templates::Isolation::sandbox;
  if (!ctx.agent_binary.empty()) {
    return {sandboxed ? std::string(kSandboxAgent) : ctx.agent_binary.string()};
  }
  return {sandboxed ? std::string(kSandboxBerth) : ctx.berth_binary.string(), "agent"};
}

void add_egress_env(proc::Environment& env) {
  const std::string proxy = fmt::format("http://127.0.0.1:{}", kSandboxEgressPort);
  for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
    env[name] = proxy;
  }
  for (const char* name : {"NO_PROXY", "no_proxy"}) env[name] = "localhost,127.0.0.1,::1";
}

std::string agent_url(const CommandContext& ctx, const std::string& server_url) {
  if (ctx.isolation == templates::Isolation::sandbox) {
    return "unix:" + std::string(kSandboxAgentSocket);
  }
  return server_url;
}

}  // namespace berth::provisioner
