// MCP sessions on /mcp: owned by one user, kept alive by use and by calls in flight, ended when
// idle or deleted (which cancels their calls).
#include "berth/http/mcp_sessions.hpp"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

using namespace std::chrono_literals;

TEST(McpSessions, BelongToOneUserAndEndWhenIdle) {
  McpSessions sessions;
  store::Chat chat;
  chat.id = "chat-1";
  chat.organization_id = "org-1";
  auto id = sessions.create("alice", chat);
  EXPECT_EQ(id.size(), 32u);
  auto s = sessions.find(id, "alice");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->chat_id, "chat-1");
  EXPECT_FALSE(sessions.find(id, "mallory")) << "another user's session reads as missing";

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
  auto id = sessions.create("alice", store::Chat{});
  auto control = std::make_shared<chattools::CallControl>(nullptr);
  sessions.find(id, "alice")->protocol.in_flight["1"] = control;
  EXPECT_FALSE(sessions.remove(id, "mallory"));
  EXPECT_FALSE(control->cancelled());
  EXPECT_TRUE(sessions.remove(id, "alice"));
  EXPECT_TRUE(control->cancelled());
  EXPECT_EQ(sessions.size(), 0u);
}

}  // namespace
}  // namespace berth::http
