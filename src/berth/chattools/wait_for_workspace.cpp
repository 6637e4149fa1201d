// wait_for_workspace: keep waiting for the chat's workspace after a call that answered
// "in_progress" (reference choice 9). Idempotent; changes nothing; returns the same keys as
// create_workspace.
#include <fmt/format.h>

#include "berth/chattools/chat_workspace.hpp"
#include "berth/chattools/result_keys.hpp"
#include "berth/chattools/schemas.hpp"
#include "berth/chattools/tools.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kDescription =
    "Wait for this chat's workspace to finish building and for its agent to be ready. Use it "
    "when create_workspace, start_workspace or stop_workspace answered status "
    "\"in_progress\"; it picks up the same wait and returns the same keys. It never creates, "
    "starts or stops anything. Calling it again is safe.";
constexpr const char* kFailedNextStep =
    "Call create_workspace to replace the workspace, or start_workspace to try the build again.";
}  // namespace msg

namespace {

boost::asio::awaitable<ToolResult> wait(const WorkspaceToolsOptions& o, ToolContext& ctx) {
  CallWaiter waiter(o, ctx);
  auto state = load_chat_state(o, ctx);
  if (!state) co_return ToolResult::from_error(state.error());
  if (auto why = unbound_error(*state)) co_return ToolResult::text_error(*why);
  const auto& ws = state->bound->workspace;
  auto latest = state->bound->latest;
  const std::string build_id = latest.build.id;
  json result = {{key::kWorkspaceName, full_name(ws)}, {key::kBuildId, build_id}};
  const BuildAction action =
      latest.build.transition == Transition::start ? BuildAction::start : BuildAction::create;

  BuildWait waited = co_await waiter.build(ws.id, build_id);
  if (waited.outcome == BuildWait::Outcome::unfinished) {
    mark_in_progress(result, waited.phase);
    co_return ToolResult::success(std::move(result));
  }
  if (waited.outcome == BuildWait::Outcome::failed) {
    ToolResult failed = failed_build_result(
        o, ws, action, {"workspace build failed: " + waited.error, waited.error_code, build_id});
    failed.structured[key::kWorkspaceName] = full_name(ws);
    failed.structured[key::kNextStep] = msg::kFailedNextStep;
    co_return failed;
  }
  switch (waited.build.build.transition) {
    case Transition::stop:
      result[key::kStatus] = "stopped";
      result[key::kMessage] = "workspace is stopped; use start_workspace to start it";
      co_return ToolResult::success(std::move(result));
    case Transition::delete_:
      co_return ToolResult::text_error(
          "workspace was deleted; use create_workspace to make a new one");
    case Transition::start:
      break;
  }
  auto unfinished = co_await wait_for_chat_agent(o, ctx, waiter, ws.id, {}, result);
  if (unfinished) {
    mark_in_progress(result, *unfinished);
  } else {
    const bool ready = !result.contains(key::kStartupScripts) &&
                       result.value(key::kAgentStatus, "") != "not_ready" &&
                       result.value(key::kAgentStatus, "") != "selection_error";
    result[key::kStatus] = ready ? "ready" : "not_ready";
  }
  co_return ToolResult::success(std::move(result));
}

}  // namespace

Tool make_wait_for_workspace_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "wait_for_workspace";
  t.title = "Wait for the chat's workspace";
  t.description = msg::kDescription;
  t.annotations = {.read_only = true, .destructive = false, .idempotent = true};
  t.input_schema = {
      {"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
  t.output_schema = workspace_result_schema();
  t.handler = [o = std::move(o)](ToolContext& ctx, json) -> boost::asio::awaitable<ToolResult> {
    co_return co_await wait(o, ctx);
  };
  return t;
}

}  // namespace berth::chattools
