// MCP sessions on /mcp: owned by one user, kept alive by use and by calls in flight, ended when
// idle or deleted (which cancels their calls).
#include "berth/http/mcp_sessions.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(McpSessions, BelongToOneUserAndEndWhenIdle) {
  McpSessions sessions;
  store::Chat chat;
  chat.id = "chat-1";
  chat.organization_id = "org-1";
  auto created = sessions.create("alice", chat);
  ASSERT_TRUE(created);
  const std::string id = *created;
  EXPECT_EQ(id.size(), 32u);
  auto s = sessions.find(id, "alice");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->chat_id, "chat-1");
  EXPECT_FALSE(sessions.find(id, "mallory")) << "another token's session reads as missing";

  const auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(sessions.expire_idle(now, 1h), 0u) << "just used";
  // A call in flight keeps an idle session.
  auto control = std::make_shared<chattools::CallControl>(nullptr);
  s->protocol.in_flight["7"] = control;
  EXPECT_EQ(sessions.expire_idle(now + 2h, 1h), 0u);
  s->protocol.in_flight.clear();
  EXPECT_EQ(sessions.expire_idle(now + 2h, 1h), 1u);
  EXPECT_FALSE(sessions.find(id, "alice"));
}

TEST(McpSessions, DeleteCancelsCallsInFlight) {
  McpSessions sessions;
  const std::string id = sessions.create("alice", store::Chat{}).value();
  auto control = std::make_shared<chattools::CallControl>(nullptr);
  sessions.find(id, "alice")->protocol.in_flight["1"] = control;
  EXPECT_FALSE(sessions.remove(id, "mallory"));
  EXPECT_FALSE(control->cancelled());
  EXPECT_TRUE(sessions.remove(id, "alice"));
  EXPECT_TRUE(control->cancelled());
  EXPECT_EQ(sessions.size(), 0u);
}

// Finding 13 of the hardening issue: sessions were unlimited per token.
TEST(McpSessions, ATokenHasAtMostItsShareOfSessions) {
  McpSessions sessions;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < McpSessions::kMaxPerToken; ++i) {
    ids.push_back(sessions.create("token-a", store::Chat{}).value());
    std::this_thread::sleep_for(1ms);
  }
  // Past the cap, the least recently used idle session makes room.
  sessions.find(ids[0], "token-a");
  auto extra = sessions.create("token-a", store::Chat{});
  ASSERT_TRUE(extra);
  EXPECT_EQ(sessions.size(), McpSessions::kMaxPerToken);
  EXPECT_TRUE(sessions.find(ids[0], "token-a")) << "used recently";
  EXPECT_FALSE(sessions.find(ids[1], "token-a")) << "the least recently used ends";
  // Another token is not affected.
  EXPECT_TRUE(sessions.create("token-b", store::Chat{}));
  // When every session of the token has a call in flight, a new one is refused.
  for (const auto& id : ids) {
    if (auto s = sessions.find(id, "token-a")) {
      s->protocol.in_flight["1"] = std::make_shared<chattools::CallControl>(nullptr);
    }
  }
  sessions.find(*extra, "token-a")->protocol.in_flight["1"] =
      std::make_shared<chattools::CallControl>(nullptr);
  EXPECT_FALSE(sessions.create("token-a", store::Chat{}));
}

}  // namespace
}  // namespace berth::http
