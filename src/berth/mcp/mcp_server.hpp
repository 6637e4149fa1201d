#pragma once
// The MCP server core, independent of transport: JSON-RPC 2.0 framing rules, the lifecycle
// (initialize / notifications/initialized / ping), and tools/list + tools/call over a set of
// chat tools. Transports (stdio, Streamable HTTP) hand it one decoded message at a time.
// Revision 2025-11-25 (also answers clients of 2025-06-18 and 2025-03-26).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "berth/chattools/tool.hpp"

namespace berth::mcp {

using nlohmann::json;

// JSON-RPC error codes.
namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// The request was cancelled by the client (as LSP); the client ignores this answer.
inline constexpr int kRequestCancelled = -32800;
}  // namespace rpc

inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";

// What one MCP session remembers between messages. Owned by the transport.
struct Session {
  bool initialized = false;
  std::string protocol_version;
  json client_info = json::object();
  // Tool calls still running, by their JSON-RPC id (dumped), so notifications/cancelled can
  // reach them.
  std::map<std::string, std::shared_ptr<chattools::CallControl>> in_flight;
};

// Where a request's notifications (notifications/progress) go before its response. Empty when
// the transport cannot deliver them (a plain JSON response).
using NotificationSink = std::function<void(json notification)>;

class McpServer {
 public:
  // `bus` wakes the waits of cancelled calls; may be null in tests.
  McpServer(std::vector<chattools::Tool> tools, events::EventBus* bus);

  // Handles one message (request or notification). Returns the response for a request,
  // nullopt for a notification. Never throws; a failing tool becomes an internal error.
  // `session` must stay alive until the returned awaitable completes. A tools/call whose
  // params._meta carries a progressToken sends notifications/progress into `sink`.
  boost::asio::awaitable<std::optional<json>> handle(json message, Session& session,
                                                     chattools::ToolContext context,
                                                     NotificationSink sink = {});
  // True when `message` is a tools/call request that asks for progress.
  static bool wants_progress(const json& message);

  // The response to a message that could not be parsed as JSON.
  static json parse_error(std::string_view detail);
  static json error_response(const json& id, int code, std::string message, json data = nullptr);

  const std::vector<chattools::Tool>& tools() const { return tools_; }

 private:
  json initialize(const json& params, Session& session);
  // Every tool, or with `only_read_only` (a read-only token) the ones that change nothing.
  json list_tools(bool only_read_only) const;
  boost::asio::awaitable<json> call_tool(const json& id, const json& params, Session& session,
                                         chattools::ToolContext context, NotificationSink sink);
  void cancel(const json& params, Session& session);

  std::vector<chattools::Tool> tools_;
  events::EventBus* bus_;
};

// The CallToolResult of a tool result: the JSON object as structuredContent and as a text
// block (for clients that read only text), isError per reference choice 6.
json call_tool_result(const chattools::ToolResult& result);

}  // namespace berth::mcp
