#pragma once
// The MCP Tasks extension (io.modelcontextprotocol/tasks) for 2026-07-28 clients: a tools/call
// of a long-waiting tool is answered at once with a task the client polls (tasks/get) and may
// cancel (tasks/cancel), instead of a stream held open through a ten-minute build.
//
// Durable: the task's row is committed before the client hears of it, so any replica answers
// tasks/get, and so does a server restarted after a crash. The replica running the call holds
// the task by a lease it renews; when that replica dies, another (or the same data directory's
// next server, at once) takes the task over and runs its call again. That is why only calls
// that are safe to repeat run as tasks: create_workspace (the chat keeps one workspace; a
// repeat returns it), start_workspace and wait_for_workspace.
//
// Progress reports become the task's statusMessage (written at most once per tick). A task's
// call waits the phase windows through instead of answering "in_progress" after the usual call
// budget. Cancelling ends the call's wait, never a build, as for any tool call.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "berth/chattools/tool.hpp"
#include "berth/core/result.hpp"
#include "berth/store/store.hpp"

namespace berth::mcp {

using nlohmann::json;

// The extension's identifier, in client and server capabilities.
inline constexpr const char* kTasksExtension = "io.modelcontextprotocol/tasks";

struct TaskOptions {
  store::Store* store = nullptr;
  events::EventBus* bus = nullptr;
  boost::asio::any_io_executor executor;
  std::string runner;  // this replica's id (replicas table)
  // The actor of a token now, for a call taken over after its request is gone.
  std::function<Result<workspaces::Actor>(std::string_view token_id)> actor_for_token;
  std::chrono::milliseconds ttl{std::chrono::hours(24)};             // kept this long
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};  // suggested to clients
  std::chrono::milliseconds lease{std::chrono::seconds(30)};         // a runner's hold
  std::chrono::milliseconds tick{std::chrono::seconds(1)};           // flush, renew, take over
  // A task's call may wait this long in all (the build, agent and startup windows cap it
  // sooner).
  std::chrono::milliseconds call_budget{std::chrono::hours(1)};
};

class TaskRunner {
 public:
  // `tools` are the server's tools (outlive the runner).
  TaskRunner(TaskOptions options, const std::vector<chattools::Tool>& tools);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // The tools whose calls run as tasks when the client declares the extension.
  static bool runs_as_task(std::string_view tool);

  // Commits a task for the call, starts running it, and returns the CreateTaskResult
  // (resultType "task"). `context` names the caller and the chat.
  Result<json> start(const chattools::Tool& tool, json arguments, chattools::ToolContext context);
  // The task as tasks/get answers it. not_found for an unknown task, and for one that is not
  // the caller's (a task's existence does not leak).
  Result<json> get(std::string_view id, const workspaces::Actor& caller);
  // Asks for the task to be cancelled (at once when it runs here, within a tick elsewhere).
  // not_found as get; permission_denied for a read-only token.
  Status cancel(std::string_view id, const workspaces::Actor& caller);

  // Starts the background loop: message flushes, lease renewals, taking over tasks whose
  // runner died, removing expired tasks. Takes over orphans at once.
  void start_background();
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// The Task object of a stored task, as tasks/get answers it (without resultType).
json task_json(const store::McpTask& task, std::chrono::milliseconds poll_interval);

}  // namespace berth::mcp
