#include "berth/chattools/chat_workspace.hpp"
#include "berth/chattools/refusals.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "berth/chattools/agent_select.hpp"
#include "berth/chattools/result_keys.hpp"

namespace berth::chattools {

std::string full_name(const store::Workspace& ws) {
  return fmt::format("{}/{}", ws.owner_name, ws.name);
}

Result<ChatState> load_chat_state(const WorkspaceToolsOptions& o, const ToolContext& ctx) {
  auto chat = o.store->chat_by_id(ctx.chat_id);
  if (!chat) return Error::internal("load chat: " + chat.error().message);
  // Every call checks the caller against the chat and its workspace, not only the session's
  // start: a token is limited to its organization, and a workspace to those who may see it.
  if ((chat->owner_id != ctx.actor.user.id && !ctx.actor.user.site_admin) ||
      !ctx.actor.in_scope(chat->organization_id)) {
    return Error::permission_denied("this chat is not in reach of the token making the call",
                                    "open a new MCP session with this token");
  }
  ChatState state{std::move(*chat), std::nullopt, std::nullopt};
  if (!state.chat.workspace_id) return state;
  auto ws = o.store->workspace_by_id(*state.chat.workspace_id);
  if (!ws) return Error::internal("load workspace: " + ws.error().message);
  workspaces::Authorizer authz(*o.store);
  if (auto s = authz.can_access_workspace(ctx.actor, *ws); !s) {
    return Error::permission_denied(
        fmt::format("workspace {} is not in reach of the token making the call", full_name(*ws)),
        "bind the chat to a workspace of yours, or call create_workspace");
  }
  auto view = o.workspaces->view(*ws);
  if (view) {
    state.bound = std::move(*view);
  } else {
    // Unusable, as upstream; create replaces it, the others report the error.
    state.build_error = "get latest build: " + view.error().message;
    state.bound = workspaces::WorkspaceView{std::move(*ws), {}, {}};
  }
  return state;
}

std::optional<std::string> unbound_error(const ChatState& state) {
  if (!state.bound) return std::string(refusal::kNoWorkspace);
  if (state.bound->workspace.deleted) {
    return fmt::format(fmt::runtime(refusal::kWorkspaceDeleted), full_name(state.bound->workspace));
  }
  return state.build_error;
}

void publish_binding(const WorkspaceToolsOptions& o, const std::string& chat_id,
                     const std::string& workspace_id, const std::string& build_id,
                     std::optional<std::string> agent_id) {
  auto updated = o.store->set_chat_binding(
      chat_id, workspace_id, build_id.empty() ? std::nullopt : std::optional(build_id),
      std::move(agent_id));
  if (!updated) {
    spdlog::warn("chat binding not written chat_id={} workspace_id={} error={}", chat_id,
                 workspace_id, updated.error().message);
    return;
  }
  o.bus->publish(events::topic::chat(chat_id));
}

ToolResult failed_build_result(const WorkspaceToolsOptions& o, const store::Workspace& ws,
                               BuildAction action, const BuildFailure& failure) {
  std::optional<QuotaFigures> figures;
  if (failure.error_code == kInsufficientQuota) {
    auto usage = o.store->quota_usage(ws.owner_id, ws.organization_id);
    if (usage && usage->budget) figures = QuotaFigures{usage->credits_consumed, *usage->budget};
  }
  return build_failure_result(action, failure, figures);
}

boost::asio::awaitable<std::optional<WaitPhase>> wait_for_chat_agent(
    const WorkspaceToolsOptions& o, const ToolContext& ctx, CallWaiter& waiter,
    const std::string& workspace_id, AgentStep step, json& result) {
  auto latest = o.store->latest_build(workspace_id);
  if (!latest) co_return std::nullopt;  // a read error adds nothing, as upstream
  auto agents = o.store->agents_for_build(latest->build.id);
  if (!agents) co_return std::nullopt;
  if (agents->empty()) {
    if (step.no_agent_key) result[key::kAgentStatus] = "no_agent";
    waiter.enter("ready", "the workspace has no agents");
    co_return std::nullopt;
  }
  auto selected = select_chat_agent(*agents);
  if (!selected && step.on_selection_error == OnSelectionError::report) {
    result[key::kAgentStatus] = "selection_error";
    result[key::kAgentError] = selected.error().message;
    co_return std::nullopt;
  }
  store::WorkspaceAgent agent = selected ? *selected : agents->front();
  co_return co_await wait_for_agent(o, ctx, waiter, agent, step.dial, result);
}

boost::asio::awaitable<std::optional<WaitPhase>> wait_for_agent(const WorkspaceToolsOptions& o,
                                                                const ToolContext& ctx,
                                                                CallWaiter& waiter,
                                                                const store::WorkspaceAgent& agent,
                                                                bool dial, json& result) {
  AgentWait waited = co_await waiter.agent(agent, dial);
  if (waited.unfinished) co_return waited.unfinished;
  result.update(waited.keys);
  if (waited.ready) {
    bool truncated = false;
    auto text = co_await waiter.instructions(agent.id, truncated);
    if (text) {
      result[key::kInstructions] = *text;
      if (truncated) result[key::kInstructionsTruncated] = true;
    }
    // Upstream's second OnChatUpdated moment: the agent is ready. Berth binds it, unless the
    // chat moved on to another workspace meanwhile or already names it.
    auto chat = o.store->chat_by_id(ctx.chat_id);
    if (chat && chat->workspace_id == agent.workspace_id &&
        (chat->agent_id != agent.id || chat->build_id != agent.build_id)) {
      publish_binding(o, ctx.chat_id, agent.workspace_id, agent.build_id, agent.id);
    }
  }
  co_return std::nullopt;
}

}  // namespace berth::chattools
