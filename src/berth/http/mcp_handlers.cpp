// /mcp: MCP over Streamable HTTP (2025-11-25). POST carries one JSON-RPC message; requests are
// answered with application/json, notifications and client responses with 202. GET (a
// server-initiated stream) is not offered (405); DELETE ends the session.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "berth/core/ids.hpp"
#include "berth/http/mcp_sessions.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;

namespace msg {
constexpr const char* kMissingSession =
    "Bad Request: Mcp-Session-Id header is required; send initialize first";
constexpr const char* kUnknownSession = "Session not found; send initialize to start a new session";
constexpr const char* kBadOrigin = "Forbidden: Origin is not allowed for this server";
constexpr const char* kBadHost = "Forbidden: Host is not allowed for this server";
constexpr const char* kNoStream = "This server does not offer a server-initiated SSE stream";
}  // namespace msg

std::string McpSessions::create(std::string user_id, const store::Chat& chat) {
  std::string id = random_hex(16);
  // Fields set one by one: GCC 12 at -O3 warns (falsely) about a json member moved through an
  // aggregate initializer.
  McpHttpSession& session = sessions_[id];
  session.user_id = std::move(user_id);
  session.chat_id = chat.id;
  session.organization_id = chat.organization_id;
  return id;
}

McpHttpSession* McpSessions::find(const std::string& id, const std::string& user_id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.user_id != user_id) return nullptr;
  return &it->second;
}

bool McpSessions::remove(const std::string& id, const std::string& user_id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.user_id != user_id) return false;
  sessions_.erase(it);
  return true;
}

namespace {

Response rpc_response(int status, const json& body) { return Response::json(status, body.dump()); }

Response rpc_error(int status, int code, std::string message) {
  return rpc_response(status, mcp::McpServer::error_response(nullptr, code, std::move(message)));
}

std::string host_part(std::string_view authority) {
  if (authority.starts_with("[")) return std::string(authority.substr(0, authority.find(']') + 1));
  return std::string(authority.substr(0, authority.find(':')));
}

bool loopback_host(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.starts_with("127.");
}

// DNS-rebinding protection: a browser page on another origin must not reach a local server.
std::optional<Response> check_origin(const Context& c) {
  std::string host = host_part(c.request.header("host"));
  if (c.app.options.loopback_only && !host.empty() && !loopback_host(host)) {
    return rpc_error(403, mcp::rpc::kInvalidRequest, msg::kBadHost);
  }
  std::string origin = c.request.header("origin");
  if (origin.empty()) return std::nullopt;  // not a browser
  auto scheme = origin.find("://");
  std::string origin_host =
      host_part(scheme == std::string::npos ? origin : origin.substr(scheme + 3));
  bool same = origin_host == host;
  bool local = c.app.options.loopback_only && loopback_host(origin_host);
  if (!same && !local) return rpc_error(403, mcp::rpc::kInvalidRequest, msg::kBadOrigin);
  return std::nullopt;
}

awaitable<Response> mcp_post(Context& c) {
  if (auto denied = check_origin(c)) co_return *denied;
  json message = json::parse(c.request.body, nullptr, false);
  if (message.is_discarded()) {
    co_return rpc_response(400, mcp::McpServer::parse_error("the body is not valid JSON"));
  }
  const bool is_initialize = message.is_object() && message.value("method", json()) == "initialize";
  std::string session_id = c.request.header("mcp-session-id");
  McpHttpSession* session = nullptr;
  if (is_initialize) {
    // A session of its own gets a new chat; ?chat=KEY is the caller's chat of that key, so a
    // client that reconnects keeps its workspace.
    std::optional<std::string> key = c.request.query_param("chat");
    auto chat = c.app.chats->open(c.caller(), key, "", "");
    if (!chat) co_return error_response(chat.error());
    session_id = c.app.mcp_sessions->create(c.caller().user.id, *chat);
    session = c.app.mcp_sessions->find(session_id, c.caller().user.id);
  } else {
    if (session_id.empty())
      co_return rpc_error(400, mcp::rpc::kInvalidRequest, msg::kMissingSession);
    session = c.app.mcp_sessions->find(session_id, c.caller().user.id);
    if (!session) co_return rpc_error(404, mcp::rpc::kInvalidRequest, msg::kUnknownSession);
  }
  chattools::ToolContext context{.actor = c.caller(),
                                 .organization_id = session->organization_id,
                                 .chat_id = session->chat_id};
  auto response =
      co_await c.app.mcp->handle(std::move(message), session->protocol, std::move(context));
  if (!response) {
    Response accepted = Response::json(202, "");
    accepted.headers.emplace_back("Mcp-Session-Id", session_id);
    co_return accepted;
  }
  Response r = rpc_response(200, *response);
  r.headers.emplace_back("Mcp-Session-Id", session_id);
  r.headers.emplace_back("Cache-Control", "no-cache");
  co_return r;
}

awaitable<Response> mcp_get(Context& c) {
  if (auto denied = check_origin(c)) co_return *denied;
  Response r = rpc_error(405, mcp::rpc::kInvalidRequest, msg::kNoStream);
  r.headers.emplace_back("Allow", "POST, DELETE");
  co_return r;
}

awaitable<Response> mcp_delete(Context& c) {
  if (auto denied = check_origin(c)) co_return *denied;
  std::string id = c.request.header("mcp-session-id");
  if (id.empty()) co_return rpc_error(400, mcp::rpc::kInvalidRequest, msg::kMissingSession);
  if (!c.app.mcp_sessions->remove(id, c.caller().user.id)) {
    co_return rpc_error(404, mcp::rpc::kInvalidRequest, msg::kUnknownSession);
  }
  co_return Response::json(200, "{}");
}

constexpr Route kRoutes[] = {
    {"POST", "/mcp", Auth::user, &mcp_post},
    {"GET", "/mcp", Auth::user, &mcp_get},
    {"DELETE", "/mcp", Auth::user, &mcp_delete},
};

}  // namespace

std::span<const Route> mcp_routes() { return kRoutes; }

}  // namespace berth::http
