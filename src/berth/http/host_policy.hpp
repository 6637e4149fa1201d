#pragma once
// Which Host and Origin headers the server answers (DNS rebinding, cross-site requests). Pure:
// the server and /mcp ask it before anything else, and unit tests pin every case.
//
// Allowed Host names: those of the access URL and of --allowed-hosts, and, on a server that
// listens on loopback, the loopback names (localhost, an IPv4 literal in 127.0.0.0/8, [::1]).
// A request from a browser (one with Origin) must come from an allowed host too.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::http {

struct HostPolicy {
  bool loopback_only = true;         // the server listens on a loopback address
  std::vector<std::string> allowed;  // host names (lower case, no port); "*" allows any

  // nullopt when a request with these headers may be served, else the refusal's message.
  std::optional<std::string> refusal(std::string_view host_header,
                                     std::string_view origin_header) const;
  bool allows(std::string_view host) const;
};

// "Host: example.com:7080" -> "example.com"; "[::1]:80" -> "[::1]". Lower case.
std::string host_name(std::string_view authority);
// True for localhost, [::1] and IPv4 literals in 127.0.0.0/8 (four decimal parts, each 0-255).
bool is_loopback_name(std::string_view host);

inline constexpr std::string_view kBadHost = "Forbidden: Host is not allowed for this server";
inline constexpr std::string_view kBadOrigin = "Forbidden: Origin is not allowed for this server";

}  // namespace berth::http
