#pragma once
// A chat tool: its name, the text the model reads, its argument and result schemas, and the
// handler. Tools never see JSON-RPC or HTTP; the MCP layer (mcp/) serves them.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "berth/events/bus.hpp"
#include "berth/workspaces/authz.hpp"

namespace berth::chattools {

using nlohmann::json;

// One tool call's cancellation. The client cancels (notifications/cancelled, or it went
// away); waits watch the bus topic events::topic::call(id()) and end early. Cancelling never
// cancels a build. Thread-safe.
class CallControl {
 public:
  // `bus` may be null (nothing to wake; the flag still reads as cancelled).
  explicit CallControl(events::EventBus* bus);
  const std::string& id() const { return id_; }
  std::string topic() const { return events::topic::call(id_); }
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  // Runs `f` once, on the thread that cancels, when the call is cancelled. Set before the
  // control is shared.
  void on_cancel(std::function<void()> f) { on_cancel_ = std::move(f); }

 private:
  events::EventBus* bus_;
  std::function<void()> on_cancel_;
  std::string id_;
  std::atomic<bool> cancelled_{false};
};

// Who is calling and on behalf of which chat. Built by the transport for each call.
struct ToolContext {
  workspaces::Actor actor;
  std::string organization_id;  // the chat's organization
  std::string chat_id;
  // Reports progress to the client; empty when the client asked for none.
  std::function<void(std::string message)> progress;
  // Set by the MCP server for every call; tools that wait watch it.
  std::shared_ptr<CallControl> control;
  // How long the call may wait before answering "in_progress", when not the server's default
  // (WaitLimits::call_budget): a call run as an MCP task has no client waiting on a
  // connection, so it waits the phase windows through.
  std::optional<std::chrono::milliseconds> call_budget;

  void report(std::string message) const {
    if (progress) progress(std::move(message));
  }
  bool cancelled() const { return control && control->cancelled(); }
};

// A tool's answer: always a JSON object. `is_error` marks results the model must treat as a
// failure (reference choice 6: every result with an "error" key, and every text error).
struct ToolResult {
  json structured = json::object();
  bool is_error = false;

  static ToolResult success(json object);
  // A plain failure the model can act on: {"error": message}, is_error.
  static ToolResult text_error(std::string message);
  // The same for an Error: its message and its detail (the next step); an internal failure
  // with no detail says to try again. `prefix` goes before the message ("look up
  // template: ").
  static ToolResult from_error(const Error& error, std::string_view prefix = {});
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
