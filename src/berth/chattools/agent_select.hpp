#pragma once
// Which agent of a workspace the chat tools use (spec section 4.1, reference choice 7):
// an agent marked `chat: true` wins; otherwise the one agent whose name ends in "-chat"
// (case-insensitive); otherwise the first by display order, name, id. Pure.

#include <span>
#include <string_view>

#include "berth/core/result.hpp"
#include "berth/store/model.hpp"

namespace berth::chattools {

inline constexpr std::string_view kChatAgentSuffix = "-chat";

// True when `name` ends in the chat suffix, in any letter case.
bool is_chat_agent_name(std::string_view name);

// Returns failed_precondition "no eligible workspace agents found" for an empty list, and
// for two candidates "multiple agents match the chat suffix "-chat": a, b; only one agent
// should use this suffix" (or the chat-flag equivalent).
Result<store::WorkspaceAgent> select_chat_agent(std::span<const store::WorkspaceAgent> agents);

}  // namespace berth::chattools
