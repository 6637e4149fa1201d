#pragma once
// The egress proxy: a sandbox's only way out. Each sandboxed workspace gets a Unix socket of
// its own (DIR/proxy.sock, bound into its sandboxes at /run/egress), on which this proxy
// speaks HTTP proxy: CONNECT host:port for TLS and everything else, absolute-form requests for
// plain http. Per request it checks the host name against the template's policy, resolves
// it, refuses every address egress never reaches (egress/policy.hpp: loopback, private,
// link-local and metadata ranges, the host's own addresses), connects, and relays bytes.
// A refusal is an HTTP error whose status line and body name the policy. Inside the sandbox,
// `berth-agent egress-forward` (agent/egress_forward.hpp) makes the socket 127.0.0.1:3128.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "berth/core/result.hpp"
#include "berth/egress/policy.hpp"

namespace berth::egress {

inline constexpr std::string_view kProxySocketName = "proxy.sock";

struct ProxyOptions {
  // Ranges the proxy may reach although they are private (an internal package mirror, or a
  // test server): `berth server --egress-allow-net`. The name check still applies.
  std::vector<Cidr> allowed_nets;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds resolve_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // A tunnel with no bytes either way for this long is closed.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(15)};
  int max_connections_per_workspace = 256;
};

// What one workspace's proxy has done since it was opened.
struct ProxyCounters {
  std::uint64_t allowed = 0;
  std::uint64_t refused = 0;
  std::uint64_t bytes_out = 0;  // workspace -> destinations
  std::uint64_t bytes_in = 0;   // destinations -> workspace
};

// The proxies of one provisioner's workspaces. Runs on one executor; not thread-safe.
class EgressProxies {
 public:
  EgressProxies(boost::asio::any_io_executor executor, ProxyOptions options);
  ~EgressProxies();
  EgressProxies(const EgressProxies&) = delete;
  EgressProxies& operator=(const EgressProxies&) = delete;

  // Listens on `dir`/proxy.sock for a workspace (creating `dir`, 0700, owned by `owner_uid`
  // when given), replacing an earlier listener of the workspace and its policy.
  // `template_name` appears in refusals.
  Status open(const std::string& workspace_id, const std::string& template_name,
              const std::filesystem::path& dir, Policy policy, std::optional<unsigned> owner_uid);

  // Stops listening, closes the workspace's connections, and removes its directory.
  void close(const std::string& workspace_id);

  std::optional<ProxyCounters> counters(const std::string& workspace_id) const;

  // The message of the 403 a refused request gets (exposed for tests and docs).
  static std::string refusal_text(const std::string& target, const std::string& template_name,
                                  const Policy& policy);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace berth::egress
