// Spec section 5.5 (agent selection) with Berth's chat flag and "-chat" suffix, and 5.6 (TTL).
#include "berth/chattools/agent_select.hpp"

#include <gtest/gtest.h>

#include "berth/chattools/workspace_ttl.hpp"

namespace berth::chattools {
namespace {

store::WorkspaceAgent agent(std::string name, int order, std::string id = "", bool chat = false) {
  store::WorkspaceAgent a;
  a.name = std::move(name);
  a.display_order = order;
  a.id = id.empty() ? "id-" + a.name : std::move(id);
  a.is_chat = chat;
  return a;
}

std::string pick(std::vector<store::WorkspaceAgent> agents) {
  auto r = select_chat_agent(agents);
  EXPECT_TRUE(r) << r.error().message;
  return r ? r->name : "";
}

TEST(SelectChatAgent, SingleSuffixMatchWins) {
  EXPECT_EQ(pick({agent("alpha", 0), agent("dev-chat", 2), agent("zeta", 1)}), "dev-chat");
  EXPECT_EQ(pick({agent("alpha", 0), agent("Dev-Chat", 2)}), "Dev-Chat") << "case-insensitive";
  EXPECT_EQ(pick({agent("alpha", 0), agent("late-chat", 99)}), "late-chat")
      << "regardless of order";
}

TEST(SelectChatAgent, OtherwiseDisplayOrderThenName) {
  EXPECT_EQ(pick({agent("zeta", 2), agent("bravo", 1), agent("alpha", 1)}), "alpha");
  EXPECT_EQ(pick({agent("Bravo", 0), agent("alpha", 0), agent("charlie", 0)}), "alpha");
  EXPECT_EQ(pick({agent("dev", 0), agent("Dev", 0)}), "Dev") << "byte order on a case-only tie";
  EXPECT_EQ(pick({agent("same", 0, "b-id"), agent("same", 0, "a-id")}), "same");
  auto r = select_chat_agent(std::vector{agent("same", 0, "b-id"), agent("same", 0, "a-id")});
  EXPECT_EQ(r->id, "a-id") << "then the lower id";
  EXPECT_EQ(pick({agent("only", 5)}), "only");
}

TEST(SelectChatAgent, ChatFlagWinsOverTheSuffix) {
  EXPECT_EQ(pick({agent("main", 0, "", true), agent("x-chat", 0)}), "main");
}

TEST(SelectChatAgent, Errors) {
  auto empty = select_chat_agent({});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "no eligible workspace agents found");
  auto two = select_chat_agent(std::vector{agent("b-chat", 0), agent("a-chat", 1)});
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().message,
            "multiple agents match the chat suffix \"-chat\": b-chat, a-chat; only one agent "
            "should use this suffix");
}

TEST(IsChatAgentName, Suffix) {
  for (const char* yes : {"agent-chat", "agent-CHAT", "agent-Chat", "-chat"})
    EXPECT_TRUE(is_chat_agent_name(yes)) << yes;
  for (const char* no : {"my-agent", "chat-agent", "chat"})
    EXPECT_FALSE(is_chat_agent_name(no)) << no;
}

TEST(ParseChatWorkspaceTtl, SpecCases) {
  EXPECT_EQ(parse_chat_workspace_ttl("")->count(), 0);
  EXPECT_EQ(parse_chat_workspace_ttl("2h")->count(), 7'200'000);
  EXPECT_EQ(parse_chat_workspace_ttl("2h30m")->count(), 9'000'000);
  EXPECT_EQ(parse_chat_workspace_ttl("90m")->count(), 5'400'000);
  EXPECT_EQ(parse_chat_workspace_ttl("0s")->count(), 0);
  EXPECT_EQ(parse_chat_workspace_ttl("720h")->count(), 2'592'000'000);
  EXPECT_EQ(parse_chat_workspace_ttl("-1h").error().message, "duration must be non-negative");
  EXPECT_EQ(parse_chat_workspace_ttl("not-a-duration").error().message,
            "invalid duration \"not-a-duration\": expected a number");
}

}  // namespace
}  // namespace berth::chattools
