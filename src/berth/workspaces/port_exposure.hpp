#pragma once
// Exposed ports: which ports of a workspace answer at a preview URL, who may open them, and
// how their URLs are spelled. The expose_port tool, the REST API and the CLI all come here;
// http/preview_proxy serves the URLs.

#include <optional>
#include <string>
#include <vector>

#include "berth/core/clock.hpp"
#include "berth/core/result.hpp"
#include "berth/store/store.hpp"

namespace berth::workspaces {

struct PreviewSettings {
  std::string access_url;  // the server's URL ("http://127.0.0.1:7080")
  std::string domain;      // --preview-domain; "" for the path form
};

struct ExposedPortView {
  int port = 0;
  bool is_public = false;
  std::string url;  // the preview URL
  // Only when just exposed and private: the URL with the port's token, which opens it in a
  // browser without a session (the token is shown once; exposing again replaces it).
  std::string private_link;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

// The refusal for a port that is not a whole number from 1 to 65535.
inline constexpr const char* kBadPort =
    "port must be a whole number from 1 to 65535; pass the port your server listens on in the "
    "workspace";

// 1-65535, from a JSON-ish value already known to be an integer.
std::optional<int> valid_port(long long value);

// The preview URL of `port` of `owner`/`workspace`.
std::string preview_url(const PreviewSettings& settings, std::string_view owner,
                        std::string_view workspace, int port);

class PortExposure {
 public:
  explicit PortExposure(store::Store& store) : store_(store) {}
  // Set once the server knows its URL, before it serves requests.
  void configure(PreviewSettings settings) { settings_ = std::move(settings); }
  const PreviewSettings& settings() const { return settings_; }

  // Exposes `port` of `ws` (or changes whether it is public), with a new token: earlier
  // private links of the port stop working. `user_id` is who exposed it.
  Result<ExposedPortView> expose(const store::Workspace& ws, std::string_view user_id, int port,
                                 bool is_public);
  // not_found when the port was not exposed.
  Status unexpose(const store::Workspace& ws, int port);
  Result<std::vector<ExposedPortView>> list(const store::Workspace& ws);

 private:
  store::Store& store_;
  PreviewSettings settings_;
};

}  // namespace berth::workspaces
