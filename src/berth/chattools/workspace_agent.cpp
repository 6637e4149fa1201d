#include "berth/chattools/workspace_agent.hpp"

#include <fmt/format.h>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/chattools/agent_select.hpp"
#include "berth/chattools/chat_workspace.hpp"
#include "berth/chattools/refusals.hpp"

namespace berth::chattools {

namespace {

Error refuse(std::string message) { return Error::failed_precondition(std::move(message)); }

}  // namespace

Result<ChatAgent> chat_agent(const WorkspaceToolsOptions& o, const ToolContext& ctx) {
  auto state = load_chat_state(o, ctx);
  if (!state) return state.error();
  if (!state->bound) return refuse(refusal::kNoWorkspace);
  const auto& v = *state->bound;
  const std::string name = full_name(v.workspace);
  if (v.workspace.deleted) {
    return refuse(fmt::format(fmt::runtime(refusal::kWorkspaceDeleted), name));
  }
  if (state->build_error) return refuse(*state->build_error);
  switch (v.latest.job.status()) {
    case JobStatus::pending:
    case JobStatus::running:
    case JobStatus::canceling:
      return refuse(fmt::format(
          "workspace {} is still building; call wait_for_workspace, then try again", name));
    case JobStatus::failed:
    case JobStatus::canceled:
      return refuse(fmt::format(
          "the last build of workspace {} failed; call start_workspace to try again, or "
          "create_workspace to replace it",
          name));
    case JobStatus::succeeded:
      break;
  }
  if (v.latest.build.transition != Transition::start) {
    return refuse(fmt::format("workspace {} is stopped; call start_workspace first", name));
  }
  if (v.agents.empty()) {
    return refuse(fmt::format(
        "workspace {} has no agent; call create_workspace with a template that has one", name));
  }
  std::optional<store::WorkspaceAgent> agent;
  for (const auto& a : v.agents) {
    if (state->chat.agent_id && a.id == *state->chat.agent_id) agent = a;
  }
  if (!agent) {
    auto selected = select_chat_agent(v.agents);
    if (!selected) return refuse(selected.error().message);
    agent = *selected;
  }
  if (!o.agents->connected(agent->id) && agent->external) {
    // The spec's guidance: only the user can bring an external agent back.
    return refuse(agent->first_connected_at
                      ? "workspace uses an externally managed agent that is currently offline. "
                        "The user needs to reconnect the external agent on its host, then try "
                        "again"
                      : "workspace uses an externally managed agent that has not connected yet. "
                        "The user needs to start the workspace externally and make sure the "
                        "external agent is connected, then try again");
  }
  if (!o.agents->connected(agent->id)) {
    return refuse(
        fmt::format("agent {} of workspace {} is not connected; call start_workspace to start the "
                    "workspace, or wait_for_workspace if it is still starting",
                    agent->name, name));
  }
  return ChatAgent{v.workspace, std::move(*agent)};
}

bool answer_lost(const Error& e) {
  return e.code == ErrorCode::deadline_exceeded || e.detail == agentconn::kAnswerLost;
}

ToolResult outcome_unknown(const Error& e, std::string_view what_to_check) {
  ToolResult r = ToolResult::text_error(
      fmt::format("{}; the outcome is unknown: {}", e.message, what_to_check));
  r.structured["outcome"] = "unknown";
  return r;
}

boost::asio::awaitable<Result<json>> call_agent(const WorkspaceToolsOptions& o,
                                                const ChatAgent& target, std::string method,
                                                json params, std::chrono::milliseconds timeout,
                                                std::function<void(std::string)> on_output) {
  std::string agent_id = target.agent.id;
  co_return co_await o.agents->call(std::move(agent_id), std::move(method), std::move(params),
                                    timeout, std::move(on_output));
}

}  // namespace berth::chattools
