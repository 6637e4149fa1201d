#pragma once
// The MCP server core, independent of transport: JSON-RPC 2.0 framing rules, the lifecycle
// (initialize / notifications/initialized / ping), and tools/list + tools/call over a set of
// chat tools. Transports (stdio, Streamable HTTP) hand it one decoded message at a time.
// Revision 2025-11-25 (also answers clients of 2025-06-18 and 2025-03-26).

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
}  // namespace rpc

inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";

// What one MCP session remembers between messages. Owned by the transport.
struct Session {
  bool initialized = false;
  std::string protocol_version;
  json client_info = json::object();
};

class McpServer {
 public:
  explicit McpServer(std::vector<chattools::Tool> tools);

  // Handles one message (request or notification). Returns the response for a request,
  // nullopt for a notification. Never throws; a failing tool becomes an internal error.
  boost::asio::awaitable<std::optional<json>> handle(json message, Session& session,
                                                     chattools::ToolContext context);

  // The response to a message that could not be parsed as JSON.
  static json parse_error(std::string_view detail);
  static json error_response(const json& id, int code, std::string message, json data = nullptr);

  const std::vector<chattools::Tool>& tools() const { return tools_; }

 private:
  json initialize(const json& params, Session& session);
  json list_tools() const;
  boost::asio::awaitable<json> call_tool(const json& id, const json& params,
                                         chattools::ToolContext context);

  std::vector<chattools::Tool> tools_;
};

// The CallToolResult of a tool result: the JSON object as structuredContent and as a text
// block (for clients that read only text), isError per reference choice 6.
json call_tool_result(const chattools::ToolResult& result);

}  // namespace berth::mcp
