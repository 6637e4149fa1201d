#pragma once
// Preview URLs of exposed ports, pure: what a request's Host and target name, and how a port's
// URL is spelled. Two forms:
//   subdomain  <port>--<workspace>--<owner>.<preview domain>/...   (when --preview-domain is set)
//   path       /@<owner>/<workspace>/ports/<port>/...
// A port is spelled in canonical decimal only (1-65535, no sign, no leading zero): "02280" and
// "+2280" name no port at all, so no spelling reaches a port that was not exposed (Daytona
// #5147).

#include <optional>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth::http {

// 1-65535 in canonical decimal, else nullopt.
std::optional<int> parse_port(std::string_view text);

struct PreviewTarget {
  std::string owner;
  std::string workspace;
  int port = 0;
  bool subdomain = false;
  // Path form: "/@owner/workspace/ports/port" (what the app's paths are under).
  std::string prefix;
  // The target passed to the app: the path after the prefix (at least "/") and the query.
  std::string target;
  // Path form: the request named the port without the slash after it (".../ports/8080"):
  // answered with a redirect, so the app's relative links resolve under the prefix.
  bool needs_slash = false;
};

// Path form. nullopt when `raw_target` (origin-form, with its query) is not under "/@";
// invalid_argument/not_found saying what is wrong when it is but names no port properly.
Result<std::optional<PreviewTarget>> parse_preview_path(std::string_view raw_target);

// Subdomain form. `host` is the Host header's name (lower case, no port); `domain` the preview
// domain ("preview.example.com"). nullopt when the host is not a preview host of that domain.
Result<std::optional<PreviewTarget>> parse_preview_host(std::string_view host,
                                                        std::string_view domain,
                                                        std::string_view raw_target);

// True when `host` is a name under the preview domain (one label deep).
bool is_preview_host(std::string_view host, std::string_view domain);

}  // namespace berth::http
