#pragma once
// The route table: method + path pattern ("/api/v1/workspaces/{id}") -> handler.

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "berth/http/app.hpp"
#include "berth/http/message.hpp"
#include "berth/workspaces/authz.hpp"

namespace berth::http {

// What a handler gets: the app, the request, and the authenticated caller (if the route
// requires one).
struct Context {
  App& app;
  Request& request;
  std::optional<workspaces::Actor> actor;

  const workspaces::Actor& caller() const { return *actor; }
};

// user: a valid API token; a read-only one only for GET. user_any_method: a valid token for
// any method, the handler keeping read-only tokens to reads itself (/mcp: tools/call).
enum class Auth { none, user, user_any_method };

using Handler = boost::asio::awaitable<Response> (*)(Context&);
using UpgradeHandler = boost::asio::awaitable<Response> (*)(Context&, Upgrader&);

struct Route {
  std::string_view method;
  std::string_view pattern;
  Auth auth = Auth::user;
  Handler handler = nullptr;
  UpgradeHandler upgrade = nullptr;  // WebSocket routes
};

struct Match {
  const Route* route = nullptr;
  bool path_matched = false;  // some route had this path (so a miss is 405, not 404)
};

// Finds the route for method + path and fills `params` from its {placeholders}.
Match match_route(std::span<const Route> routes, std::string_view method, std::string_view path,
                  std::map<std::string, std::string>& params);

// Every route of the server (rest_handlers.cpp, rest_admin_handlers.cpp, mcp_handlers.cpp,
// chat_watch.cpp, replica_handlers.cpp, provisioner_handlers.cpp, metrics_handlers.cpp,
// openapi.cpp).
std::span<const Route> workspace_routes();
std::span<const Route> admin_routes();
std::span<const Route> account_routes();
std::span<const Route> mcp_routes();
std::span<const Route> chat_watch_routes();
std::span<const Route> replica_routes();
std::span<const Route> provisioner_routes();
std::span<const Route> metrics_routes();
std::span<const Route> openapi_routes();
std::span<const Route> session_routes();
std::span<const Route> dashboard_routes();
std::span<const Route> port_routes();
// Every route table above, in the order the server matches them.
std::vector<std::span<const Route>> all_routes();

}  // namespace berth::http
