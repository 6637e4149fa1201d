#include "berth/http/host_policy.hpp"

#include <algorithm>
#include <cctype>

namespace berth::http {

std::string host_name(std::string_view authority) {
  std::string_view h = authority;
  if (h.starts_with("[")) {
    auto close = h.find(']');
    h = close == std::string_view::npos ? h : h.substr(0, close + 1);
  } else {
    h = h.substr(0, h.find(':'));
  }
  std::string out(h);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_loopback_name(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // An IPv4 literal: exactly four decimal parts, each 0-255 without sign, the first 127.
  int parts = 0;
  std::size_t i = 0;
  int first = -1;
  while (i <= host.size()) {
    std::size_t start = i;
    int value = 0;
    while (i < host.size() && std::isdigit(static_cast<unsigned char>(host[i]))) {
      value = value * 10 + (host[i] - '0');
      if (value > 255 || i - start >= 3) return false;
      ++i;
    }
    if (i == start) return false;
    if (parts == 0) first = value;
    ++parts;
    if (i == host.size()) break;
    if (host[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4 && first == 127;
}

bool HostPolicy::allows(std::string_view host) const {
  if (host.empty()) return false;
  for (const auto& a : allowed) {
    if (a == "*" || a == host) return true;
  }
  return loopback_only && is_loopback_name(host);
}

std::optional<std::string> HostPolicy::refusal(std::string_view host_header,
                                               std::string_view origin_header) const {
  const std::string host = host_name(host_header);
  if (!allows(host)) return std::string(kBadHost);
  if (origin_header.empty()) return std::nullopt;  // not a browser
  auto scheme = origin_header.find("://");
  if (scheme == std::string_view::npos) return std::string(kBadOrigin);  // "null" and the like
  const std::string origin_host = host_name(origin_header.substr(scheme + 3));
  // A browser page must be on this host or on a host named explicitly ("*" is not a name).
  if (origin_host == host) return std::nullopt;
  const bool named = std::find(allowed.begin(), allowed.end(), origin_host) != allowed.end();
  if (!named && !(loopback_only && is_loopback_name(origin_host))) return std::string(kBadOrigin);
  return std::nullopt;
}

}  // namespace berth::http
