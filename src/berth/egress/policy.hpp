#pragma once
// What a sandboxed workspace may reach outside itself. A sandbox has no route out; its only
// way is the egress proxy of its server (egress/proxy.hpp), which asks this file two things:
// does the template's policy allow this host name, and is this address one that egress never
// reaches (loopback, private networks, link-local and cloud metadata, the host's own
// addresses). Pure logic: no sockets, no name resolution.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/result.hpp"

namespace berth::egress {

enum class Mode {
  none,       // nothing leaves the workspace
  internet,   // any public address
  allowlist,  // only the listed host names (and for "*.name" entries, their subdomains)
};

std::string_view to_string(Mode mode);
std::optional<Mode> mode_from_string(std::string_view text);

struct Policy {
  Mode mode = Mode::none;
  // Normalised entries (normalize_allow_entry): lower-case names, "*.name" wildcards, or
  // IP literals, which match only themselves.
  std::vector<std::string> allow;

  bool operator==(const Policy&) const = default;
};

// Checks and normalises one allow-list entry: a host name ("github.com"), a wildcard for its
// subdomains ("*.github.com", which does not match github.com itself), or an IP address.
// The error says what is wrong with the entry.
Result<std::string> normalize_allow_entry(std::string_view entry);

// How the policy reads in messages: `none`, `internet`, `allowlist (github.com, *.npmjs.org)`.
std::string describe(const Policy& policy);

// Whether `host` (a name or an IP literal, any case, without brackets) passes the policy's
// name check. Addresses are checked separately (reserved_range), whatever the mode.
bool host_allowed(const Policy& policy, std::string_view host);

// A proxy request's destination: the authority of CONNECT ("host:port", "[v6]:port") or of
// an absolute-form URL.
struct Target {
  std::string host;  // lower-case; an IPv6 literal without its brackets
  std::uint16_t port = 0;
  bool is_ip = false;
};
// `default_port` is used when the authority has none (0: a port is required).
Result<Target> parse_authority(std::string_view authority, std::uint16_t default_port);

// An absolute-form request target ("http://host[:port]/path?q"), as a client sends it to a
// proxy: the destination and the origin-form target ("/path?q") to send on. Only http: a
// client wanting TLS uses CONNECT.
struct AbsoluteUrl {
  Target target;
  std::string origin_form;
};
Result<AbsoluteUrl> parse_absolute_url(std::string_view url);

// An IPv4 or IPv6 address in network byte order; IPv4 is kept as ::ffff:a.b.c.d.
struct Address {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;

  static std::optional<Address> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const Address&) const = default;
};

struct Cidr {
  Address base;
  int prefix = 0;  // in bits of the address's own family

  // "10.1.0.0/16", "fd00::/8", or one address (a /32 or /128).
  static Result<Cidr> parse(std::string_view text);
  bool contains(const Address& address) const;
  std::string to_string() const;
};

// Why egress must never reach `address`: the name of its special-purpose range ("loopback",
// "private network (RFC 1918)", "link-local (cloud metadata)", ...), or nullopt for a public
// unicast address. IPv4 inside IPv6 (mapped, NAT64, 6to4) is judged by its IPv4 address.
std::optional<std::string_view> reserved_range(const Address& address);

}  // namespace berth::egress
