#pragma once
// A minimal MCP client over Streamable HTTP for integration tests: one session on /mcp (or
// /mcp?chat=KEY), tool calls answered as JSON or, with a progress token, as an SSE stream.

#include <string>
#include <vector>

#include "tests/integration/harness.hpp"

namespace berth::testing {

class McpClient {
 public:
  McpClient(const TestServer& server, std::string token, std::string chat_key = "");

  // tools/call; returns the CallToolResult (fails the test on a JSON-RPC error).
  json call(const std::string& tool, const json& arguments = json::object());
  // The whole JSON-RPC response of tools/call (for error responses).
  json call_raw(const std::string& tool, const json& arguments, int id);

  // tools/call with a progress token: the SSE stream's notifications and the response.
  struct Streamed {
    std::vector<json> notifications;
    json response;
    std::string content_type;
  };
  Streamed call_streaming(const std::string& tool, const json& arguments, int id = 99);

  // Sends a notification (e.g. notifications/cancelled); returns the HTTP status.
  int notify(const std::string& method, const json& params);

  const std::string& session_id() const { return session_; }
  // Sent with every later message (e.g. X-Request-Id).
  void set_header(const std::string& name, const std::string& value) { extra_[name] = value; }
  // Sends the session's next messages to another server (a replica on the same database), as
  // a load balancer may.
  void use_server(const TestServer& server) { url_ = server.url(); }

 private:
  HttpReply post(const json& message, bool stream) const;

  std::string url_;
  std::string token_;
  std::string path_;
  std::string session_;
  std::map<std::string, std::string> extra_;
  int next_id_ = 1;
};

// Waits until wait_for_workspace reports the workspace done (not in_progress).
json wait_until_done(McpClient& mcp, int max_calls = 20);

}  // namespace berth::testing
