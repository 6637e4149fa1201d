#pragma once
// The MCP server core, independent of transport: JSON-RPC 2.0 framing rules, the lifecycle
// (initialize / notifications/initialized / ping), and tools/list + tools/call over a set of
// chat tools. Transports (stdio, Streamable HTTP) hand it one decoded message at a time.
// Two eras: 2025-11-25 with sessions (also answers 2025-06-18 and 2025-03-26 clients), and
// 2026-07-28, stateless: each request names its version, capabilities and client in
// params._meta, server/discover replaces initialize, and every result carries resultType and
// the server's identity in _meta (handle_modern).

#include <chrono>
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
// 2026-07-28: an HTTP header disagrees with the body (or a required one is missing).
inline constexpr int kHeaderMismatch = -32020;
// 2026-07-28: the request needs a client capability it did not declare (the Tasks
// extension, for tasks/get, tasks/update and tasks/cancel).
inline constexpr int kMissingRequiredClientCapability = -32021;
// 2026-07-28: the request's protocol version is not one this server speaks.
inline constexpr int kUnsupportedProtocolVersion = -32022;
}  // namespace rpc

// The newest revision with sessions (initialize answers it when asked for an unknown one).
inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";
// The stateless revision.
inline constexpr std::string_view kModernProtocolVersion = "2026-07-28";

// The _meta keys of 2026-07-28.
namespace meta {
inline constexpr const char* kProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kServerInfo = "io.modelcontextprotocol/serverInfo";
}  // namespace meta

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

class TaskRunner;
class CallRetries;

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
  // A 2026-07-28 request (stateless): no session; `calls` only tracks this request's call so
  // that a transport can cancel it (closing its stream, or notifications/cancelled on stdio).
  // Unsupported versions get -32022 naming the supported ones; a method this era does not
  // have gets -32601 (is_unknown_method tells the transport, which answers HTTP 404).
  boost::asio::awaitable<std::optional<json>> handle_modern(json message, Session& calls,
                                                            chattools::ToolContext context,
                                                            NotificationSink sink = {});
  // The protocol version a message names in params._meta (2026-07-28 era), or nullopt.
  static std::optional<std::string> envelope_version(const json& message);
  // True for an error response that says the method does not exist.
  static bool is_unknown_method(const json& response);
  // Every protocol version this server speaks, newest first.
  static std::vector<std::string> supported_versions();

  // True when `message` is a tools/call request that asks for progress.
  static bool wants_progress(const json& message);

  // The response to a message that could not be parsed as JSON.
  static json parse_error(std::string_view detail);
  static json error_response(const json& id, int code, std::string message, json data = nullptr);

  const std::vector<chattools::Tool>& tools() const { return tools_; }
  // Offers the Tasks extension to 2026-07-28 clients that declare it (null: not offered).
  void set_tasks(TaskRunner* tasks) { tasks_ = tasks; }
  // Makes re-sent calls that are not safe to repeat safe (null: every call runs).
  void set_retries(CallRetries* retries) { retries_ = retries; }

 private:
  json initialize(const json& params, Session& session);
  json discover() const;
  // The error response for a message that is not a well-formed JSON-RPC 2.0 request or
  // notification, or nullopt; a client's response to us is `ignore`d.
  static std::optional<json> malformed(const json& message, bool& ignore);
  // Every tool, or with `only_read_only` (a read-only token) the ones that change nothing.
  json list_tools(bool only_read_only) const;
  // With `as_task`, a tool that runs as a task is answered with a CreateTaskResult.
  boost::asio::awaitable<json> call_tool(const json& id, const json& params, Session& session,
                                         chattools::ToolContext context, NotificationSink sink,
                                         bool as_task = false);
  // tasks/get, tasks/update and tasks/cancel.
  json task_method(const json& id, const std::string& method, const json& params,
                   const chattools::ToolContext& context);
  void cancel(const json& params, Session& session);

  std::vector<chattools::Tool> tools_;
  events::EventBus* bus_;
  TaskRunner* tasks_ = nullptr;
  CallRetries* retries_ = nullptr;
};

// The CallToolResult of a tool result: the JSON object as structuredContent and as a text
// block (for clients that read only text), isError per reference choice 6.
json call_tool_result(const chattools::ToolResult& result);

// Counts a finished tool call (berth_tool_calls_total, berth_tool_call_duration_seconds).
// `outcome`: ok, error (a result with isError), failed (the tool threw), cancelled.
void record_tool_call(const std::string& tool, const char* outcome,
                      std::chrono::steady_clock::duration took);

}  // namespace berth::mcp
