#include "berth/chattools/existing_workspace.hpp"

#include <fmt/format.h>

#include "berth/chattools/agent_select.hpp"

namespace berth::chattools {

ExistingDecision decide_existing(const std::optional<workspaces::WorkspaceView>& bound,
                                 UnixMillis now, std::chrono::milliseconds inactive_timeout) {
  if (!bound) return {ExistingAction::create, std::nullopt, false, "the chat has no workspace"};
  if (bound->workspace.deleted) {
    return {ExistingAction::create, std::nullopt, false, "the chat's workspace was deleted"};
  }
  const auto& latest = bound->latest;
  if (latest.build.id.empty()) {
    return {ExistingAction::create, std::nullopt, false, "its latest build could not be read"};
  }
  switch (latest.job.status()) {
    case JobStatus::pending:
    case JobStatus::running:
    case JobStatus::canceling:  // still in progress (reference choice 4)
      return {ExistingAction::wait_for_build, std::nullopt, false, "a build is in progress"};
    case JobStatus::failed:
    case JobStatus::canceled:
      return {ExistingAction::create, std::nullopt, true,
              fmt::format("its last {} build {}", to_string(latest.build.transition),
                          latest.job.status() == JobStatus::failed ? "failed" : "was canceled")};
    case JobStatus::succeeded:
      break;
  }
  if (latest.build.transition == Transition::stop) {
    return {ExistingAction::stopped, std::nullopt, false, "the workspace is stopped"};
  }
  if (bound->agents.empty()) {
    return {ExistingAction::create, std::nullopt, true, "it has no agents"};
  }
  auto selected = select_chat_agent(bound->agents);
  store::WorkspaceAgent agent = selected ? *selected : bound->agents.front();
  switch (agent.status(now, inactive_timeout)) {
    case AgentStatus::connected:
      return {ExistingAction::running, agent, false, "the agent is connected"};
    case AgentStatus::connecting:
      return {ExistingAction::agent_connecting, agent, false, "the agent is still connecting"};
    case AgentStatus::disconnected:
      return {ExistingAction::create, std::nullopt, true,
              fmt::format("its agent {} disconnected", agent.name)};
    case AgentStatus::timeout:
      return {ExistingAction::create, std::nullopt, true,
              fmt::format("its agent {} never connected", agent.name)};
  }
  return {ExistingAction::create, std::nullopt, true, "unknown agent status"};
}

}  // namespace berth::chattools
