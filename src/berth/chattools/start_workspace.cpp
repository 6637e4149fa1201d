// start_workspace: start the chat's workspace if it is stopped; idempotent when it runs
// (spec section 3.2).
#include <fmt/format.h>

#include "berth/chattools/arguments.hpp"
#include "berth/chattools/chat_workspace.hpp"
#include "berth/chattools/result_keys.hpp"
#include "berth/chattools/schemas.hpp"
#include "berth/chattools/tools.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kDescription =
    "Start this chat's workspace if it is stopped, and wait until its agent is ready. "
    "Idempotent: a running workspace is returned as it is. If the chat has no workspace, use "
    "create_workspace first. Give parameter values (from read_template) only when needed or "
    "when the user asks. When the result has status \"in_progress\", call wait_for_workspace.";
constexpr const char* kBusy =
    "this chat's workspace changed several times while starting it; call start_workspace again";
}  // namespace msg

namespace {

constexpr int kAttempts = 4;

// {"started": true, "workspace_name"} + build_id or no_build + the agent's keys.
boost::asio::awaitable<ToolResult> respond(const WorkspaceToolsOptions& o, const ToolContext& ctx,
                                           CallWaiter& waiter, const store::Workspace& ws,
                                           const std::string& build_id, json extra = {}) {
  json result = {{key::kStarted, true}, {key::kWorkspaceName, full_name(ws)}};
  if (build_id.empty()) {
    result[key::kNoBuild] = true;
  } else {
    result[key::kBuildId] = build_id;
  }
  if (extra.is_object()) result.update(extra);
  auto unfinished = co_await wait_for_chat_agent(o, ctx, waiter, ws.id, {}, result);
  if (unfinished) mark_in_progress(result, *unfinished);
  co_return ToolResult::success(std::move(result));
}

// A start build that is still going: started, not yet ready.
json in_progress(const store::Workspace& ws, const std::string& build_id, WaitPhase phase) {
  json result = {
      {key::kStarted, true}, {key::kWorkspaceName, full_name(ws)}, {key::kBuildId, build_id}};
  mark_in_progress(result, phase);
  return result;
}

boost::asio::awaitable<ToolResult> start(const WorkspaceToolsOptions& o, ToolContext& ctx,
                                         const templates::ParameterValues& parameters) {
  CallWaiter waiter(o, ctx);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto state = load_chat_state(o, ctx);
    if (!state) co_return ToolResult::from_error(state.error());
    if (auto why = unbound_error(*state)) co_return ToolResult::text_error(*why);
    const auto& ws = state->bound->workspace;
    const auto& latest = state->bound->latest;

    switch (latest.job.status()) {
      case JobStatus::pending:
      case JobStatus::running:
      case JobStatus::canceling: {
        publish_binding(o, ctx.chat_id, ws.id, latest.build.id);
        BuildWait waited = co_await waiter.build(ws.id, latest.build.id);
        if (waited.outcome == BuildWait::Outcome::unfinished) {
          json result = in_progress(ws, latest.build.id, waited.phase);
          result[key::kStarted] = latest.build.transition == Transition::start;
          co_return ToolResult::success(std::move(result));
        }
        if (waited.outcome == BuildWait::Outcome::failed) {
          co_return failed_build_result(o, ws, BuildAction::start,
                                        {"waiting for in-progress build: " + waited.error,
                                         waited.error_code, latest.build.id});
        }
        if (latest.build.transition == Transition::start) {
          co_return co_await respond(o, ctx, waiter, ws, latest.build.id);
        }
        continue;  // a stop or delete finished: decide again
      }
      case JobStatus::succeeded:
        if (latest.build.transition == Transition::start) {
          co_return co_await respond(o, ctx, waiter, ws, "");
        }
        break;
      case JobStatus::failed:
      case JobStatus::canceled:
        break;
    }

    auto started = o.workspaces->start(ctx.actor, ws.id, parameters);
    if (!started && started.error().code == ErrorCode::failed_precondition) {
      continue;  // another call started or stopped it first: decide again
    }
    if (!started) {
      if (is_responder_error(started.error())) {
        ToolResult r = responder_error_result(started.error());
        if (!started.error().validations.empty() && !ws.template_id.empty()) {
          r.structured["template_id"] = ws.template_id;
        }
        co_return r;
      }
      co_return ToolResult::from_error(started.error(), "start workspace: ");
    }
    const std::string build_id = started->build.id;
    publish_binding(o, ctx.chat_id, ws.id, build_id);
    BuildWait waited = co_await waiter.build(ws.id, build_id);
    if (waited.outcome == BuildWait::Outcome::unfinished) {
      co_return ToolResult::success(in_progress(ws, build_id, waited.phase));
    }
    if (waited.outcome == BuildWait::Outcome::failed) {
      co_return failed_build_result(
          o, ws, BuildAction::start,
          {"workspace start build failed: " + waited.error, waited.error_code, build_id});
    }
    json extra = json::object();
    const auto& old_version = latest.build.template_version_id;
    const auto& new_version = started->build.template_version_id;
    if (!old_version.empty() && !new_version.empty() && old_version != new_version) {
      extra = {{"updated_to_active_version", true},
               {"update_reason", "template requires active versions"},
               {key::kMessage,
                "Workspace started and was updated to the active template version because the "
                "template requires active versions."}};
    }
    co_return co_await respond(o, ctx, waiter, ws, build_id, std::move(extra));
  }
  co_return ToolResult::text_error(msg::kBusy);
}

}  // namespace

Tool make_start_workspace_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "start_workspace";
  t.title = "Start the chat's workspace";
  t.description = msg::kDescription;
  t.annotations = {.read_only = false, .destructive = false, .idempotent = true};
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"parameters",
         {{"type", "object"},
          {"additionalProperties", {{"type", "string"}}},
          {"description", "Template parameter values by name, from read_template"}}}}},
      {"additionalProperties", false}};
  t.output_schema = workspace_result_schema();
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    auto parameters = parameters_argument(args);
    if (!parameters) co_return ToolResult::from_error(parameters.error());
    co_return co_await start(o, ctx, *parameters);
  };
  return t;
}

}  // namespace berth::chattools
