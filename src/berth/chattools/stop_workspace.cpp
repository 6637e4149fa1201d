// stop_workspace: stop the chat's workspace and wait for the stop build (spec section 3.3).
#include <fmt/format.h>

#include "berth/chattools/chat_workspace.hpp"
#include "berth/chattools/result_keys.hpp"
#include "berth/chattools/schemas.hpp"
#include "berth/chattools/tools.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kDescription =
    "Stop this chat's workspace and wait for the stop build. Waits for a build in progress "
    "first; idempotent when already stopped. Use it when the user asks, or when an agent error "
    "says to stop and start the workspace. Stopping ends every process in the workspace; it "
    "does not delete the workspace or its files.";
constexpr const char* kBusy =
    "this chat's workspace changed several times while stopping it; call stop_workspace again";
}  // namespace msg

namespace {

constexpr int kAttempts = 4;

bool terminal(JobStatus s) {
  return s == JobStatus::succeeded || s == JobStatus::failed || s == JobStatus::canceled;
}

json in_progress(const store::Workspace& ws, const std::string& build_id, WaitPhase phase) {
  json result = {
      {key::kStopped, false}, {key::kWorkspaceName, full_name(ws)}, {key::kBuildId, build_id}};
  mark_in_progress(result, phase);
  return result;
}

boost::asio::awaitable<ToolResult> stop(const WorkspaceToolsOptions& o, ToolContext& ctx) {
  CallWaiter waiter(o, ctx);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto state = load_chat_state(o, ctx);
    if (!state) co_return ToolResult::from_error(state.error());
    if (auto why = unbound_error(*state)) co_return ToolResult::text_error(*why);
    auto ws = state->bound->workspace;
    auto latest = state->bound->latest;

    if (!terminal(latest.job.status())) {
      publish_binding(o, ctx.chat_id, ws.id, latest.build.id);
      BuildWait waited = co_await waiter.build(ws.id, latest.build.id);
      if (waited.outcome == BuildWait::Outcome::unfinished) {
        co_return ToolResult::success(in_progress(ws, latest.build.id, waited.phase));
      }
      // Read again: the build that finished decides what stopping means now.
      auto fresh = load_chat_state(o, ctx);
      if (!fresh) co_return ToolResult::from_error(fresh.error());
      if (auto why = unbound_error(*fresh)) co_return ToolResult::text_error(*why);
      if (waited.outcome == BuildWait::Outcome::failed &&
          !terminal(fresh->bound->latest.job.status())) {
        co_return ToolResult::success(
            {{key::kError, "waiting for in-progress build: " + waited.error},
             {key::kBuildId, latest.build.id}});
      }
      ws = fresh->bound->workspace;
      latest = fresh->bound->latest;
    }
    if (latest.job.status() == JobStatus::succeeded &&
        latest.build.transition == Transition::stop) {
      co_return ToolResult::success(
          {{key::kStopped, true}, {key::kWorkspaceName, full_name(ws)}, {key::kNoBuild, true}});
    }

    auto stopped = o.workspaces->stop(ctx.actor, ws.id);
    if (!stopped && stopped.error().code == ErrorCode::failed_precondition) {
      continue;  // another call stopped or started it first: decide again
    }
    if (!stopped) {
      if (is_responder_error(stopped.error())) co_return responder_error_result(stopped.error());
      co_return ToolResult::from_error(stopped.error(), "stop workspace: ");
    }
    const std::string build_id = stopped->build.id;
    publish_binding(o, ctx.chat_id, ws.id, build_id);
    BuildWait waited = co_await waiter.build(ws.id, build_id);
    if (waited.outcome == BuildWait::Outcome::unfinished) {
      co_return ToolResult::success(in_progress(ws, build_id, waited.phase));
    }
    if (waited.outcome == BuildWait::Outcome::failed) {
      co_return ToolResult::success({{key::kError, "workspace stop build failed: " + waited.error},
                                     {key::kBuildId, build_id}});
    }
    waiter.enter("stopped", "the workspace is stopped");
    co_return ToolResult::success(
        {{key::kStopped, true}, {key::kWorkspaceName, full_name(ws)}, {key::kBuildId, build_id}});
  }
  co_return ToolResult::text_error(msg::kBusy);
}

}  // namespace

Tool make_stop_workspace_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "stop_workspace";
  t.title = "Stop the chat's workspace";
  t.description = msg::kDescription;
  t.annotations = {.read_only = false, .destructive = true, .idempotent = true};
  t.input_schema = {
      {"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
  t.output_schema = workspace_result_schema();
  t.handler = [o = std::move(o)](ToolContext& ctx, json) -> boost::asio::awaitable<ToolResult> {
    co_return co_await stop(o, ctx);
  };
  return t;
}

}  // namespace berth::chattools
