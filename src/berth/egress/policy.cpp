#include "berth/egress/policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

#include <fmt/format.h>

namespace berth::egress {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// A DNS name: labels of 1-63 letters, digits, '-' and '_' (not at a label's ends for '-'),
// 253 characters in all. `why` says what is wrong.
bool valid_host_name(std::string_view name, std::string* why) {
  if (name.empty() || name.size() > 253) {
    if (why) *why = "must be a host name of 1 to 253 characters";
    return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63) {
      if (why) *why = "has an empty label or one longer than 63 characters";
      return false;
    }
    if (label.front() == '-' || label.back() == '-') {
      if (why) *why = "has a label that starts or ends with '-'";
      return false;
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) {
        if (why) *why = "may hold only letters, digits, '-', '_' and dots";
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

struct Range {
  std::string_view cidr;
  std::string_view name;
};

// Special-purpose IPv4 ranges (IANA registry), none of which egress may reach.
constexpr Range kV4Reserved[] = {
    {"0.0.0.0/8", "\"this network\" (0.0.0.0/8)"},
    {"10.0.0.0/8", "private network (RFC 1918)"},
    {"100.64.0.0/10", "shared address space (carrier-grade NAT)"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local (cloud metadata)"},
    {"172.16.0.0/12", "private network (RFC 1918)"},
    {"192.0.0.0/24", "IETF protocol assignments"},
    {"192.0.2.0/24", "documentation (TEST-NET-1)"},
    {"192.88.99.0/24", "6to4 relay anycast"},
    {"192.168.0.0/16", "private network (RFC 1918)"},
    {"198.18.0.0/15", "benchmarking"},
    {"198.51.100.0/24", "documentation (TEST-NET-2)"},
    {"203.0.113.0/24", "documentation (TEST-NET-3)"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved (and broadcast)"},
};

// Inside 2000::/3 (global unicast), the ranges that are not reachable destinations.
constexpr Range kV6Reserved[] = {
    {"2001:db8::/32", "documentation"},
    {"2001::/23", "IETF protocol assignments (Teredo and others)"},
};

Address v4_address(const std::uint8_t* four) {
  Address a;
  a.v4 = true;
  a.bytes[10] = a.bytes[11] = 0xff;
  std::memcpy(a.bytes.data() + 12, four, 4);
  return a;
}

// IPv6 ranges checked by name in reserved_range().
constexpr std::string_view kV6Special[] = {"::1/128",   "::/128",   "fc00::/7",
                                           "fe80::/10", "ff00::/8", "2000::/3"};

// Whether `a` is in `cidr`, one of the range texts above, each parsed once (the proxy asks
// for every address of every request).
bool in_range(const Address& a, std::string_view cidr) {
  static const std::map<std::string_view, Cidr> parsed = [] {
    std::map<std::string_view, Cidr> m;
    auto add = [&](std::string_view text) { m.emplace(text, *Cidr::parse(text)); };
    for (const auto& r : kV4Reserved) add(r.cidr);
    for (const auto& r : kV6Reserved) add(r.cidr);
    for (auto text : kV6Special) add(text);
    return m;
  }();
  return parsed.at(cidr).contains(a);
}

}  // namespace

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::none:
      return "none";
    case Mode::internet:
      return "internet";
    case Mode::allowlist:
      return "allowlist";
  }
  return "none";
}

std::optional<Mode> mode_from_string(std::string_view text) {
  for (Mode m : {Mode::none, Mode::internet, Mode::allowlist}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

Result<std::string> normalize_allow_entry(std::string_view entry) {
  std::string e = lowered(entry);
  if (!e.empty() && e.back() == '.') e.pop_back();
  if (e.size() > 2 && e.front() == '[' && e.back() == ']') e = e.substr(1, e.size() - 2);
  if (auto ip = Address::parse(e)) return ip->to_string();
  std::string why;
  if (e.starts_with("*.")) {
    std::string_view base = std::string_view(e).substr(2);
    if (!valid_host_name(base, &why)) {
      return Error::invalid_argument(fmt::format("\"{}\" {}", entry, why));
    }
    if (base.find('.') == std::string_view::npos) {
      return Error::invalid_argument(
          fmt::format("\"{}\" covers a whole top-level domain; name the domains, or use "
                      "egress: internet",
                      entry));
    }
    return e;
  }
  if (e.find('*') != std::string::npos) {
    return Error::invalid_argument(fmt::format(
        "\"{}\" has a '*' that is not a leading \"*.\"; write e.g. *.example.com", entry));
  }
  if (e.find(':') != std::string::npos || e.find('/') != std::string::npos) {
    return Error::invalid_argument(fmt::format(
        "\"{}\" is not a host name: write the name alone, without a scheme, port or path", entry));
  }
  if (!valid_host_name(e, &why))
    return Error::invalid_argument(fmt::format("\"{}\" {}", entry, why));
  return e;
}

std::string describe(const Policy& policy) {
  if (policy.mode != Mode::allowlist) return std::string(to_string(policy.mode));
  std::string out = "allowlist (";
  for (std::size_t i = 0; i < policy.allow.size(); ++i) {
    if (i) out += ", ";
    out += policy.allow[i];
  }
  return out + ")";
}

bool host_allowed(const Policy& policy, std::string_view host) {
  switch (policy.mode) {
    case Mode::none:
      return false;
    case Mode::internet:
      return true;
    case Mode::allowlist:
      break;
  }
  std::string h = lowered(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return false;
  if (auto ip = Address::parse(h)) {
    std::string text = ip->to_string();
    return std::find(policy.allow.begin(), policy.allow.end(), text) != policy.allow.end();
  }
  for (const auto& entry : policy.allow) {
    if (entry.starts_with("*.")) {
      std::string_view suffix = std::string_view(entry).substr(1);  // ".example.com"
      if (h.size() > suffix.size() && h.ends_with(suffix)) return true;
    } else if (entry == h) {
      return true;
    }
  }
  return false;
}

Result<Target> parse_authority(std::string_view authority, std::uint16_t default_port) {
  auto bad = [&](std::string_view why) {
    return Error::invalid_argument(
        fmt::format("\"{}\" is not a host and port: {}", authority.substr(0, 300), why));
  };
  if (authority.empty()) return bad("it is empty");
  if (authority.find('@') != std::string_view::npos) return bad("it carries user information");
  Target t;
  std::string_view host, port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address lacks its ']'");
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("something follows the IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return bad("the port is empty");
    }
    auto ip = Address::parse(host);
    if (!ip || ip->v4) return bad("the address in brackets is not IPv6");
    t.host = ip->to_string();
    t.is_ip = true;
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':') != colon) return bad("an IPv6 address must be in brackets");
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("the port is empty");
    } else {
      host = authority;
    }
    std::string h = lowered(host);
    if (!h.empty() && h.back() == '.') h.pop_back();
    if (auto ip = Address::parse(h); ip && ip->v4) {
      t.host = ip->to_string();
      t.is_ip = true;
    } else {
      std::string why;
      if (!valid_host_name(h, &why)) return bad("the host " + why);
      t.host = std::move(h);
    }
  }
  if (port.empty()) {
    if (default_port == 0) return bad("a port is required");
    t.port = default_port;
  } else {
    auto p = parse_port(port);
    if (!p) return bad("the port must be a number from 1 to 65535");
    t.port = *p;
  }
  return t;
}

Result<AbsoluteUrl> parse_absolute_url(std::string_view url) {
  if (starts_with_ci(url, "https://")) {
    return Error::invalid_argument(
        "https URLs go through CONNECT: set HTTPS_PROXY (Berth sets it in every workspace)");
  }
  if (!starts_with_ci(url, "http://")) {
    return Error::invalid_argument(
        fmt::format("\"{}\" is not an absolute http URL; a proxy request names its destination",
                    url.substr(0, 300)));
  }
  std::string_view rest = url.substr(7);
  std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  auto target = parse_authority(authority, 80);
  if (!target) return target.error();
  AbsoluteUrl out{std::move(*target), "/"};
  if (end != std::string_view::npos) {
    std::string_view path = rest.substr(end);
    if (auto hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
    if (path.empty()) {
      out.origin_form = "/";
    } else if (path.front() == '?') {
      out.origin_form = "/" + std::string(path);
    } else {
      out.origin_form = std::string(path);
    }
  }
  return out;
}

std::optional<Address> Address::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::uint8_t raw[16];
  if (::inet_pton(AF_INET, buf, raw) == 1) return v4_address(raw);
  if (::inet_pton(AF_INET6, buf, raw) == 1) {
    Address a;
    std::memcpy(a.bytes.data(), raw, 16);
    return a;
  }
  return std::nullopt;
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4) {
    ::inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto bad = [&] {
    return Error::invalid_argument(
        fmt::format("\"{}\" is not an address range; write e.g. 10.1.0.0/16 or fd00::/8", text));
  };
  auto slash = text.find('/');
  auto address = Address::parse(text.substr(0, slash));
  if (!address) return bad();
  Cidr c{*address, address->v4 ? 32 : 128};
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (bits.empty() || ec != std::errc{} || end != bits.data() + bits.size() || prefix < 0 ||
        prefix > c.prefix) {
      return bad();
    }
    c.prefix = prefix;
  }
  // Clear the host bits, so that 10.1.2.3/16 means 10.1.0.0/16.
  int total = c.base.v4 ? c.prefix + 96 : c.prefix;
  for (int bit = total; bit < 128; ++bit) {
    c.base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return c;
}

bool Cidr::contains(const Address& address) const {
  if (address.v4 != base.v4) return false;
  int total = base.v4 ? prefix + 96 : prefix;
  for (int bit = 0; bit < total; ++bit) {
    std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((address.bytes[bit / 8] & mask) != (base.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const { return fmt::format("{}/{}", base.to_string(), prefix); }

std::optional<std::string_view> reserved_range(const Address& address) {
  if (address.v4) {
    for (const auto& r : kV4Reserved) {
      if (in_range(address, r.cidr)) return r.name;
    }
    return std::nullopt;
  }
  const auto& b = address.bytes;
  // IPv4 carried in IPv6 is judged as the IPv4 address it reaches.
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b.data(), kMapped, 12) == 0 || std::memcmp(b.data(), kNat64, 12) == 0) {
    return reserved_range(v4_address(b.data() + 12));
  }
  if (b[0] == 0x20 && b[1] == 0x02) return reserved_range(v4_address(b.data() + 2));  // 6to4
  if (in_range(address, "::1/128")) return "loopback";
  if (in_range(address, "::/128")) return "unspecified";
  if (in_range(address, "fc00::/7")) return "private network (unique local)";
  if (in_range(address, "fe80::/10")) return "link-local";
  if (in_range(address, "ff00::/8")) return "multicast";
  if (!in_range(address, "2000::/3")) return "reserved (not global unicast)";
  for (const auto& r : kV6Reserved) {
    if (in_range(address, r.cidr)) return r.name;
  }
  return std::nullopt;
}

}  // namespace berth::egress
