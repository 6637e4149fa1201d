#include "berth/chattools/agent_select.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "berth/chattools/arguments.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kNoAgents = "no eligible workspace agents found";
}  // namespace msg

namespace {

Error ambiguous(const std::vector<store::WorkspaceAgent>& matches, std::string_view what) {
  std::string names;
  for (const auto& a : matches) names += (names.empty() ? "" : ", ") + a.name;
  return Error::failed_precondition(
      fmt::format("multiple agents match {}: {}; only one agent "
                  "should use this suffix",
                  what, names));
}

}  // namespace

bool is_chat_agent_name(std::string_view name) {
  return name.size() >= kChatAgentSuffix.size() &&
         lower(name.substr(name.size() - kChatAgentSuffix.size())) == kChatAgentSuffix;
}

Result<store::WorkspaceAgent> select_chat_agent(std::span<const store::WorkspaceAgent> agents) {
  if (agents.empty()) return Error::failed_precondition(msg::kNoAgents);
  std::vector<store::WorkspaceAgent> sorted(agents.begin(), agents.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.display_order != b.display_order) return a.display_order < b.display_order;
    auto la = lower(a.name), lb = lower(b.name);
    if (la != lb) return la < lb;
    if (a.name != b.name) return a.name < b.name;
    return a.id < b.id;
  });
  std::vector<store::WorkspaceAgent> flagged, suffixed;
  for (const auto& a : sorted) {
    if (a.is_chat) flagged.push_back(a);
    if (is_chat_agent_name(a.name)) suffixed.push_back(a);
  }
  if (flagged.size() == 1) return flagged.front();
  if (flagged.size() > 1) return ambiguous(flagged, "chat: true");
  if (suffixed.size() == 1) return suffixed.front();
  if (suffixed.size() > 1)
    return ambiguous(suffixed, fmt::format("the chat suffix \"{}\"", kChatAgentSuffix));
  return sorted.front();
}

}  // namespace berth::chattools
