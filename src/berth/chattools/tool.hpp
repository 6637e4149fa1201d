#pragma once
// A chat tool: its name, the text the model reads, its argument and result schemas, and the
// handler. Tools never see JSON-RPC or HTTP; the MCP layer (mcp/) serves them.

#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "berth/workspaces/authz.hpp"

namespace berth::chattools {

using nlohmann::json;

// Who is calling and on behalf of which chat. Built by the transport for each call.
struct ToolContext {
  workspaces::Actor actor;
  std::string organization_id;  // the chat's organization
  std::string chat_id;
  // Reports progress to the client; empty when the client asked for none.
  std::function<void(std::string message)> progress;
};

// A tool's answer: always a JSON object. `is_error` marks results the model must treat as a
// failure (reference choice 6: every result with an "error" key, and every text error).
struct ToolResult {
  json structured = json::object();
  bool is_error = false;

  static ToolResult success(json object);
  // A plain failure the model can act on: {"error": message}, is_error.
  static ToolResult text_error(std::string message);
};

struct ToolAnnotations {
  bool read_only = false;
  bool destructive = false;
  bool idempotent = false;
  bool open_world = false;
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;  // says when to use it and when not
  json input_schema;        // JSON Schema of the arguments object
  json output_schema;       // JSON Schema of `structured` (success and failure shapes)
  ToolAnnotations annotations;
  std::function<boost::asio::awaitable<ToolResult>(ToolContext&, json arguments)> handler;
};

}  // namespace berth::chattools
