// create_workspace: the chat's workspace, created from a template or the one it already has
// (spec section 3.1, with reference choices 2, 4, 5, 8 and 9).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/chattools/arguments.hpp"
#include "berth/chattools/chat_workspace.hpp"
#include "berth/chattools/existing_workspace.hpp"
#include "berth/chattools/refusals.hpp"
#include "berth/chattools/result_keys.hpp"
#include "berth/chattools/schemas.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/chattools/workspace_ttl.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/names.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kDescription =
    "Create a new workspace from a template only when workspace-backed file inspection, "
    "command execution or editing is needed, or when the user explicitly asks for a "
    "workspace. Do not use this as a default first step. Needs a template_id from "
    "list_templates (follow its next_step before calling). name is optional and generated "
    "when omitted; parameters and preset_id come from read_template. Idempotent: if this chat "
    "already has a building or running workspace, that one is returned. When the result has "
    "status \"in_progress\", call wait_for_workspace.";
constexpr const char* kOtherOrganization =
    "template belongs to a different organization than this chat; use list_templates to find "
    "templates in the correct organization";
constexpr const char* kExternal =
    "create_workspace cannot create workspaces from templates with externally managed agents. "
    "Use list_templates to choose a different template, or if the user wants to use an "
    "external workspace, they should create it and start it up fully themselves first, then "
    "attach it to this chat";
constexpr const char* kBusyChat =
    "this chat's workspace changed several times while creating one; call create_workspace "
    "again";
// Upstream's "look up template: <err>" for a template that is not there, with the next step.
constexpr const char* kTemplateLookup = "look up template: {}; use list_templates to find one";
constexpr const char* kStoppedMessage = "workspace is stopped; use start_workspace to start it";
}  // namespace msg

namespace {

constexpr std::string_view kTtlSetting = "agents_workspace_ttl";
constexpr int kBindingAttempts = 4;

bool name_conflict(const Error& e) {
  if (e.code != ErrorCode::already_exists) return false;
  for (const auto& v : e.validations) {
    if (v.field == "name") return true;
  }
  return false;
}

bool binding_changed(const Error& e) {
  return e.code == ErrorCode::failed_precondition && e.message == "chat binding changed";
}

class CreateWorkspace {
 public:
  CreateWorkspace(const WorkspaceToolsOptions& o, ToolContext& ctx)
      : o_(o), ctx_(ctx), waiter_(o, ctx) {}

  boost::asio::awaitable<ToolResult> run(const json& args);

 private:
  boost::asio::awaitable<ToolResult> existing(const ChatState& state,
                                              const ExistingDecision& decision);
  boost::asio::awaitable<ToolResult> existing_build(const workspaces::WorkspaceView& v);
  std::optional<std::int64_t> chat_ttl_ms();

  const WorkspaceToolsOptions& o_;
  ToolContext& ctx_;
  CallWaiter waiter_;
};

std::optional<std::int64_t> CreateWorkspace::chat_ttl_ms() {
  auto stored = o_.store->config(kTtlSetting);
  if (!stored) {
    spdlog::error("reading {} failed error={}", kTtlSetting, stored.error().message);
    return std::nullopt;
  }
  if (!*stored) return std::nullopt;
  auto ttl = parse_chat_workspace_ttl(**stored);
  if (!ttl) {
    spdlog::warn("ignoring {} error={}", kTtlSetting, ttl.error().message);
    return std::nullopt;
  }
  if (ttl->count() <= 0) return std::nullopt;
  return ttl->count();
}

// A workspace whose build is still running: wait for that build instead of creating another.
boost::asio::awaitable<ToolResult> CreateWorkspace::existing_build(
    const workspaces::WorkspaceView& v) {
  const auto& build = v.latest.build;
  publish_binding(o_, ctx_.chat_id, v.workspace.id, build.id);
  BuildWait waited = co_await waiter_.build(v.workspace.id, build.id);
  json result = {{key::kCreated, false},
                 {key::kWorkspaceName, full_name(v.workspace)},
                 {key::kBuildId, build.id}};
  switch (waited.outcome) {
    case BuildWait::Outcome::unfinished:
      mark_in_progress(result, waited.phase);
      co_return ToolResult::success(std::move(result));
    case BuildWait::Outcome::failed:
      co_return failed_build_result(
          o_, v.workspace,
          build.transition == Transition::start ? BuildAction::start : BuildAction::create,
          {"existing workspace build failed: " + waited.error, waited.error_code, build.id});
    case BuildWait::Outcome::succeeded:
      break;
  }
  if (build.transition == Transition::stop) {
    result[key::kStatus] = "stopped";
    result[key::kMessage] = msg::kStoppedMessage;
    co_return ToolResult::success(std::move(result));
  }
  result[key::kStatus] = "already_exists";
  result[key::kMessage] = "workspace build completed";
  auto unfinished = co_await wait_for_chat_agent(
      o_, ctx_, waiter_, v.workspace.id,
      {.dial = true, .on_selection_error = OnSelectionError::first_agent, .no_agent_key = false},
      result);
  if (unfinished) mark_in_progress(result, *unfinished);
  co_return ToolResult::success(std::move(result));
}

boost::asio::awaitable<ToolResult> CreateWorkspace::existing(const ChatState& state,
                                                             const ExistingDecision& decision) {
  const auto& v = *state.bound;
  if (decision.action == ExistingAction::wait_for_build) co_return co_await existing_build(v);
  json result = {{key::kCreated, false}, {key::kWorkspaceName, full_name(v.workspace)}};
  if (decision.action == ExistingAction::stopped) {
    result[key::kStatus] = "stopped";
    result[key::kMessage] = msg::kStoppedMessage;
    co_return ToolResult::success(std::move(result));
  }
  const bool connected = decision.action == ExistingAction::running;
  result[key::kStatus] = "already_exists";
  result[key::kMessage] = connected ? "workspace is already running and recently connected"
                                    : "workspace exists and the agent is still connecting";
  auto unfinished =
      co_await wait_for_agent(o_, ctx_, waiter_, *decision.agent, /*dial=*/!connected, result);
  if (unfinished) mark_in_progress(result, *unfinished);
  co_return ToolResult::success(std::move(result));
}

boost::asio::awaitable<ToolResult> CreateWorkspace::run(const json& args) {
  auto template_arg = string_argument(args, "template_id");
  if (!template_arg) co_return ToolResult::from_error(template_arg.error());
  if (template_arg->empty()) co_return ToolResult::text_error(refusal::kTemplateIdRequired);
  auto template_id = parse_uuid(*template_arg);
  if (!template_id) {
    co_return ToolResult::text_error(
        fmt::format(fmt::runtime(refusal::kInvalidTemplateId), uuid_error(*template_arg)));
  }
  auto name_arg = string_argument(args, "name");
  if (!name_arg) co_return ToolResult::from_error(name_arg.error());
  auto preset_arg = string_argument(args, "preset_id");
  if (!preset_arg) co_return ToolResult::from_error(preset_arg.error());
  auto parameters = parameters_argument(args);
  if (!parameters) co_return ToolResult::from_error(parameters.error());

  // Decide from the chat's binding, then create bound to exactly that binding; a caller who
  // changed it first makes the create fail, and the next round sees their workspace.
  for (int attempt = 0; attempt < kBindingAttempts; ++attempt) {
    auto state = load_chat_state(o_, ctx_);
    if (!state) co_return ToolResult::from_error(state.error());
    auto decision = decide_existing(state->bound, now_ms(), o_.agents->inactive_timeout());
    if (decision.action != ExistingAction::create) co_return co_await existing(*state, decision);

    auto tmpl = o_.store->template_by_id(*template_id);
    if (!tmpl && tmpl.error().code == ErrorCode::not_found) {
      co_return ToolResult::text_error(
          fmt::format(fmt::runtime(msg::kTemplateLookup), tmpl.error().message));
    }
    if (!tmpl) co_return ToolResult::from_error(tmpl.error(), "look up template: ");
    if (!ctx_.organization_id.empty() && tmpl->organization_id != ctx_.organization_id) {
      co_return ToolResult::text_error(msg::kOtherOrganization);
    }
    if (!tmpl->agents_allowed) co_return ToolResult::text_error(refusal::kTemplateNotAllowed);
    auto version = o_.store->template_version_by_id(tmpl->active_version_id);
    if (!version && version.error().code != ErrorCode::not_found) {
      co_return ToolResult::from_error(version.error(), "look up template version: ");
    }
    if (version && version->has_external_agent) co_return ToolResult::text_error(msg::kExternal);

    workspaces::CreateWorkspaceRequest request;
    request.template_ref = tmpl->id;
    request.ttl_ms = chat_ttl_ms();
    if (!preset_arg->empty()) {
      auto preset_id = parse_uuid(*preset_arg);
      if (!preset_id) {
        co_return ToolResult::text_error(
            fmt::format(fmt::runtime(refusal::kInvalidPresetId), uuid_error(*preset_arg)));
      }
      request.preset_id = *preset_id;
    }
    if (name_arg->empty()) {
      request.name = generated_workspace_name(tmpl->name, default_random_index());
    } else if (!name_valid(*name_arg)) {
      request.name = generated_workspace_name(*name_arg, default_random_index());
    } else {
      request.name = *name_arg;
    }
    request.parameters = *parameters;
    request.chat =
        workspaces::CreateWorkspaceRequest::ChatClaim{ctx_.chat_id, state->chat.workspace_id};

    auto created = o_.workspaces->create(ctx_.actor, request);
    if (!created && name_conflict(created.error())) {
      // One retry with a generated name, as upstream (fun-dashboard -> fun-dashboard-1a2b).
      request.name = generated_workspace_name(request.name, default_random_index());
      created = o_.workspaces->create(ctx_.actor, request);
    }
    if (!created && binding_changed(created.error())) continue;
    if (!created) {
      if (is_responder_error(created.error())) {
        co_return responder_error_result(created.error());
      }
      co_return ToolResult::from_error(created.error());
    }
    const auto& ws = created->workspace;
    const std::string build_id = created->latest.build.id;
    json result = {
        {key::kCreated, true}, {key::kWorkspaceName, full_name(ws)}, {key::kBuildId, build_id}};
    if (created->prebuild_claimed) result[key::kPrebuildClaimed] = true;

    if (decision.replace && state->bound) {
      // Reference choice 8: the dead workspace is stopped, never deleted, and named.
      const auto& old = state->bound->workspace;
      auto stopped = o_.workspaces->stop(ctx_.actor, old.id);
      result[key::kReplacedWorkspace] = {{"workspace_name", full_name(old)},
                                         {"reason", decision.reason},
                                         {"stopped", stopped.has_value()}};
      if (!stopped) {
        spdlog::info("replaced workspace not stopped workspace_id={} reason={}", old.id,
                     stopped.error().message);
      }
    }

    BuildWait waited = co_await waiter_.build(ws.id, build_id);
    if (waited.outcome == BuildWait::Outcome::failed) {
      co_return failed_build_result(
          o_, ws, BuildAction::create,
          {"workspace build failed: " + waited.error, waited.error_code, build_id});
    }
    if (waited.outcome == BuildWait::Outcome::unfinished) {
      mark_in_progress(result, waited.phase);
      co_return ToolResult::success(std::move(result));
    }
    auto unfinished = co_await wait_for_chat_agent(o_, ctx_, waiter_, ws.id, {}, result);
    if (unfinished) mark_in_progress(result, *unfinished);
    co_return ToolResult::success(std::move(result));
  }
  co_return ToolResult::text_error(msg::kBusyChat);
}

}  // namespace

Tool make_create_workspace_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "create_workspace";
  t.title = "Create a workspace";
  t.description = msg::kDescription;
  t.annotations = {.read_only = false, .destructive = false, .idempotent = true};
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"template_id",
         {{"type", "string"}, {"description", "Template id (UUID) from list_templates"}}},
        {"name",
         {{"type", "string"},
          {"description",
           "Workspace name: 1-32 letters, digits and single hyphens. Generated when omitted."}}},
        {"parameters",
         {{"type", "object"},
          {"additionalProperties", {{"type", "string"}}},
          {"description", "Template parameter values by name, from read_template"}}},
        {"preset_id",
         {{"type", "string"}, {"description", "A preset id (UUID) from read_template"}}}}},
      {"required", {"template_id"}},
      {"additionalProperties", false}};
  t.output_schema = workspace_result_schema();
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    CreateWorkspace call(o, ctx);
    co_return co_await call.run(args);
  };
  return t;
}

}  // namespace berth::chattools
