#pragma once
// The agent through which the chat's workspace tools (execute, read_file, write_file,
// edit_file) act: the chat's agent in its workspace's current build, connected. When there is
// none, the error says why and which tool to call first.

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "berth/chattools/workspace_wait.hpp"

namespace berth::chattools {

struct ChatAgent {
  store::Workspace workspace;
  store::WorkspaceAgent agent;
};

// failed_precondition with a message for the model, e.g. "this chat has no workspace; call
// create_workspace first" or "agent main of alice/dev is not connected; ...".
Result<ChatAgent> chat_agent(const WorkspaceToolsOptions& o, const ToolContext& ctx);

// True when the request reached the agent but its answer never came back (the agent
// disconnected or did not answer in time): it may have acted.
bool answer_lost(const Error& e);
// The result for a request that changes things whose answer was lost: the error, that its
// outcome is unknown (structured "outcome": "unknown"), and `what_to_check` before retrying.
ToolResult outcome_unknown(const Error& e, std::string_view what_to_check);

// Sends `method` to the agent; its refusals (a missing file, text not found) come back as
// errors with the agent's message.
// `on_output` receives an exec's output as it comes (with params "stream": true).
boost::asio::awaitable<Result<json>> call_agent(const WorkspaceToolsOptions& o,
                                                const ChatAgent& target, std::string method,
                                                json params, std::chrono::milliseconds timeout,
                                                std::function<void(std::string)> on_output = {});

}  // namespace berth::chattools
