// /api/v1/workspaces/{id}/ports: a workspace's exposed ports (preview URLs). The same
// operation as the expose_port tool, for the CLI and the dashboard.
#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/preview_url.hpp"
#include "berth/http/request_body.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

json port_json(const workspaces::ExposedPortView& p) {
  json out = {{"port", p.port},
              {"public", p.is_public},
              {"url", p.url},
              {"created_at", format_rfc3339(p.created_at)},
              {"updated_at", format_rfc3339(p.updated_at)}};
  if (!p.private_link.empty()) out["link"] = p.private_link;
  return out;
}

Result<int> port_param(const Context& c) {
  // The same spelling rule as the preview URLs: canonical decimal only.
  auto port = parse_port(c.request.params.at("port"));
  if (!port) {
    return Error::invalid_argument(workspaces::kBadPort).with_validation("port", "1 to 65535");
  }
  return *port;
}

// GET: every exposed port with its URL (private links are shown only when made).
awaitable<Response> list_ports(Context& c) {
  auto v = c.app.workspaces.get(c.caller(), c.request.params.at("id"));
  if (!v) co_return error_response(v.error());
  auto ports = c.app.ports->list(v->workspace);
  if (!ports) co_return error_response(ports.error());
  json out = json::array();
  for (const auto& p : *ports) out.push_back(port_json(p));
  co_return Response::json(200, dump_json(json{{"ports", out}}));
}

// PUT {"public": bool}: exposes the port (again: a new token, earlier links end).
awaitable<Response> expose_port(Context& c) {
  auto port = port_param(c);
  if (!port) co_return error_response(port.error());
  bool is_public = false;
  if (!c.request.body.empty()) {
    auto body = json_body(c.request);
    if (!body) co_return error_response(body.error());
    if (auto p = body->find("public"); p != body->end() && !p->is_null()) {
      if (!p->is_boolean()) {
        co_return error_response(Error::invalid_argument("public must be true or false")
                                     .with_validation("public", "a boolean"));
      }
      is_public = p->get<bool>();
    }
  }
  auto v = c.app.workspaces.get(c.caller(), c.request.params.at("id"));
  if (!v) co_return error_response(v.error());
  auto exposed = c.app.ports->expose(v->workspace, c.caller().user.id, *port, is_public);
  if (!exposed) co_return error_response(exposed.error());
  co_return Response::json(200, dump_json(port_json(*exposed)));
}

awaitable<Response> unexpose_port(Context& c) {
  auto port = port_param(c);
  if (!port) co_return error_response(port.error());
  auto v = c.app.workspaces.get(c.caller(), c.request.params.at("id"));
  if (!v) co_return error_response(v.error());
  if (auto s = c.app.ports->unexpose(v->workspace, *port); !s) co_return error_response(s.error());
  co_return Response{.status = 204, .content_type = "application/json", .body = ""};
}

constexpr Route kRoutes[] = {
    {"GET", "/api/v1/workspaces/{id}/ports", Auth::user, &list_ports},
    {"PUT", "/api/v1/workspaces/{id}/ports/{port}", Auth::user, &expose_port},
    {"DELETE", "/api/v1/workspaces/{id}/ports/{port}", Auth::user, &unexpose_port},
};

}  // namespace

std::span<const Route> port_routes() { return kRoutes; }

}  // namespace berth::http
