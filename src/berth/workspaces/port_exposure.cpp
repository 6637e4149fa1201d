#include "berth/workspaces/port_exposure.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "berth/core/ids.hpp"

namespace berth::workspaces {

std::optional<int> valid_port(long long value) {
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<int>(value);
}

std::string preview_url(const PreviewSettings& settings, std::string_view owner,
                        std::string_view workspace, int port) {
  auto url = boost::urls::parse_uri(settings.access_url);
  std::string scheme = url ? std::string(url->scheme()) : "http";
  if (!settings.domain.empty()) {
    std::string port_suffix = url && url->has_port() ? ":" + std::string(url->port()) : "";
    return fmt::format("{}://{}--{}--{}.{}{}/", scheme, port, workspace, owner, settings.domain,
                       port_suffix);
  }
  std::string base = url ? fmt::format("{}://{}", scheme, std::string(url->encoded_authority()))
                         : settings.access_url;
  return fmt::format("{}/@{}/{}/ports/{}/", base, owner, workspace, port);
}

Result<ExposedPortView> PortExposure::expose(const store::Workspace& ws, std::string_view user_id,
                                             int port, bool is_public) {
  if (ws.deleted) {
    return Error::not_found(fmt::format("workspace {} was deleted", ws.name),
                            "create a workspace first");
  }
  if (!valid_port(port)) return Error::invalid_argument(kBadPort);
  const std::string token = random_hex(24);
  const UnixMillis now = now_ms();
  store::ExposedPort row{.workspace_id = ws.id,
                         .port = port,
                         .is_public = is_public,
                         .token_hash = sha256_hex(token),
                         .created_by = std::string(user_id),
                         .created_at = now,
                         .updated_at = now};
  if (auto s = store_.expose_port(row); !s) return s.error();
  auto stored = store_.exposed_port(ws.id, port);
  if (!stored) return stored.error();
  ExposedPortView view;
  view.port = port;
  view.is_public = is_public;
  view.url = preview_url(settings_, ws.owner_name, ws.name, port);
  if (!is_public) view.private_link = view.url + "?berth_preview_token=" + token;
  if (*stored) {
    view.created_at = (*stored)->created_at;
    view.updated_at = (*stored)->updated_at;
  }
  return view;
}

Status PortExposure::unexpose(const store::Workspace& ws, int port) {
  auto removed = store_.unexpose_port(ws.id, port);
  if (!removed) return removed.error();
  if (!*removed) {
    return Error::not_found(fmt::format("port {} of {} is not exposed", port, ws.name),
                            "list the exposed ports with GET .../ports");
  }
  return {};
}

Result<std::vector<ExposedPortView>> PortExposure::list(const store::Workspace& ws) {
  auto rows = store_.exposed_ports(ws.id);
  if (!rows) return rows.error();
  std::vector<ExposedPortView> out;
  for (const auto& r : *rows) {
    out.push_back({.port = r.port,
                   .is_public = r.is_public,
                   .url = preview_url(settings_, ws.owner_name, ws.name, r.port),
                   .private_link = "",
                   .created_at = r.created_at,
                   .updated_at = r.updated_at});
  }
  return out;
}

}  // namespace berth::workspaces
