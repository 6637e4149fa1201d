#pragma once
// Steps the workspace tools (create, start, stop, wait) share: loading the chat and its
// workspace, writing the chat's binding, and waiting for the chat's agent.

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "berth/chattools/failure_results.hpp"
#include "berth/chattools/workspace_wait.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::chattools {

// "owner/name" (reference choice 5).
std::string full_name(const store::Workspace& ws);

// The chat and, when it is bound to one, its workspace (deleted ones included). Errors are
// worded for the model: "load chat: ..." / "load workspace: ...".
struct ChatState {
  store::Chat chat;
  std::optional<workspaces::WorkspaceView> bound;
  // Set when the bound workspace's latest build could not be read ("get latest build: ...");
  // `bound` then has the workspace only and counts as unusable.
  std::optional<std::string> build_error;
};

// The text errors start, stop and wait give when the chat has no usable workspace.
std::optional<std::string> unbound_error(const ChatState& state);
// build_failure_result with, for a quota failure, the owner's credits and budget in the
// workspace's organization (left out when no quota is set or they cannot be read).
ToolResult failed_build_result(const WorkspaceToolsOptions& o, const store::Workspace& ws,
                               BuildAction action, const BuildFailure& failure);
Result<ChatState> load_chat_state(const WorkspaceToolsOptions& o, const ToolContext& ctx);

// Writes the chat's binding and tells watchers. A failure is logged, never fatal (as upstream).
void publish_binding(const WorkspaceToolsOptions& o, const std::string& chat_id,
                     const std::string& workspace_id, const std::string& build_id,
                     std::optional<std::string> agent_id = std::nullopt);

enum class OnSelectionError {
  report,       // agent_status "selection_error" and no wait (create, start)
  first_agent,  // wait for the first agent instead (an existing workspace, as upstream)
};

struct AgentStep {
  bool dial = true;  // wait for the agent to be reachable before its scripts
  OnSelectionError on_selection_error = OnSelectionError::report;
  bool no_agent_key = true;  // zero agents: add agent_status "no_agent"
};

// Waits for `agent` (reachable unless !dial, then its startup scripts) and merges the agent
// keys into `result`. When it is ready, adds AGENTS.md as instructions and binds the agent to
// the chat. Returns the phase the wait stopped in if the call ran out of budget.
boost::asio::awaitable<std::optional<WaitPhase>> wait_for_agent(const WorkspaceToolsOptions& o,
                                                                const ToolContext& ctx,
                                                                CallWaiter& waiter,
                                                                const store::WorkspaceAgent& agent,
                                                                bool dial, json& result);

// Reads the agents of the workspace's latest build, selects the chat's agent, waits for it and
// merges agent_status / agent_error / startup_scripts / lifecycle_state into `result` (see
// wait_for_agent). Returns the phase the wait stopped in if the call ran out of budget (the
// caller marks in_progress).
boost::asio::awaitable<std::optional<WaitPhase>> wait_for_chat_agent(
    const WorkspaceToolsOptions& o, const ToolContext& ctx, CallWaiter& waiter,
    const std::string& workspace_id, AgentStep step, json& result);

}  // namespace berth::chattools
