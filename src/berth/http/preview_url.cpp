#include "berth/http/preview_url.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace berth::http {

namespace {

constexpr const char* kPortHint =
    "a port is written in plain decimal, 1 to 65535, without a sign or leading zeros";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool plain_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-';
  });
}

}  // namespace

std::optional<int> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.front() == '0') return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return std::nullopt;
  return value;
}

Result<std::optional<PreviewTarget>> parse_preview_path(std::string_view raw_target) {
  if (!raw_target.starts_with("/@")) return std::optional<PreviewTarget>{};
  std::string_view path = raw_target.substr(0, raw_target.find('?'));
  std::string_view query =
      path.size() < raw_target.size() ? raw_target.substr(path.size()) : std::string_view();
  // /@owner/workspace/ports/port[/rest]
  std::string_view rest = path.substr(2);
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    auto slash = rest.find('/');
    if (i < 3 && slash == std::string_view::npos) {
      return Error::not_found(fmt::format("no such preview: {}", path),
                              "a preview URL is /@OWNER/WORKSPACE/ports/PORT/");
    }
    parts[i] = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      rest = std::string_view();
    } else {
      rest = rest.substr(i < 3 ? slash + 1 : slash);  // after the port: "/..." stays
    }
  }
  if (!plain_name(parts[0]) || !plain_name(parts[1]) || parts[2] != "ports") {
    return Error::not_found(fmt::format("no such preview: {}", path),
                            "a preview URL is /@OWNER/WORKSPACE/ports/PORT/");
  }
  auto port = parse_port(parts[3]);
  if (!port) {
    return Error::not_found(fmt::format("{:?} is not a port", std::string(parts[3])), kPortHint);
  }
  PreviewTarget t;
  t.owner = lower(parts[0]);
  t.workspace = lower(parts[1]);
  t.port = *port;
  t.prefix = fmt::format("/@{}/{}/ports/{}", parts[0], parts[1], *port);
  t.needs_slash = rest.empty();
  t.target = std::string(rest.empty() ? "/" : rest) + std::string(query);
  return std::optional<PreviewTarget>{std::move(t)};
}

bool is_preview_host(std::string_view host, std::string_view domain) {
  if (domain.empty() || host.size() <= domain.size() + 1) return false;
  if (!host.ends_with(domain) || host[host.size() - domain.size() - 1] != '.') return false;
  std::string_view label = host.substr(0, host.size() - domain.size() - 1);
  return label.find('.') == std::string_view::npos;
}

Result<std::optional<PreviewTarget>> parse_preview_host(std::string_view host,
                                                        std::string_view domain,
                                                        std::string_view raw_target) {
  if (!is_preview_host(host, domain)) return std::optional<PreviewTarget>{};
  std::string_view label = host.substr(0, host.size() - domain.size() - 1);
  // port--workspace--owner; names never hold "--"
  auto first = label.find("--");
  auto second = first == std::string_view::npos ? first : label.find("--", first + 2);
  if (second == std::string_view::npos || label.find("--", second + 2) != std::string_view::npos) {
    return Error::not_found(fmt::format("no such preview: {}", host),
                            fmt::format("a preview host is PORT--WORKSPACE--OWNER.{}", domain));
  }
  std::string_view port_text = label.substr(0, first);
  std::string_view workspace = label.substr(first + 2, second - first - 2);
  std::string_view owner = label.substr(second + 2);
  if (!plain_name(workspace) || !plain_name(owner)) {
    return Error::not_found(fmt::format("no such preview: {}", host),
                            fmt::format("a preview host is PORT--WORKSPACE--OWNER.{}", domain));
  }
  auto port = parse_port(port_text);
  if (!port) {
    return Error::not_found(fmt::format("{:?} is not a port", std::string(port_text)), kPortHint);
  }
  PreviewTarget t;
  t.owner = lower(owner);
  t.workspace = lower(workspace);
  t.port = *port;
  t.subdomain = true;
  t.target = raw_target.empty() || raw_target.front() != '/' ? "/" : std::string(raw_target);
  return std::optional<PreviewTarget>{std::move(t)};
}

}  // namespace berth::http
