// MCP sessions on /mcp: kept in the database so every replica answers them, owned by one token,
// kept alive by use, ended when idle or deleted (which cancels their calls on this replica).
#include "berth/http/mcp_sessions.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace berth::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class McpSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("berth-mcp-sessions-" + random_hex(6));
    fs::create_directories(dir_);
    auto s = store::SqliteStore::open((dir_ / "berth.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto org = store_->create_organization("default", "Default");
    ASSERT_TRUE(org);
    auto user = store_->create_user("alice", "", false, false);
    ASSERT_TRUE(user);
    for (const char* token : {"token-a", "token-b"}) {
      ASSERT_TRUE(store_->create_api_token(user->id, token, token, "hash", std::nullopt, {}));
    }
    auto chat = store_->create_chat(org->id, user->id, std::nullopt, "");
    ASSERT_TRUE(chat);
    chat_ = *chat;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::shared_ptr<McpHttpSession> find(McpSessions& sessions, const std::string& id,
                                       const std::string& token) {
    auto found = sessions.find(id, token);
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  store::Chat chat_;
};

TEST_F(McpSessionsTest, AnyReplicaAnswersASessionOfItsToken) {
  McpSessions a(*store_), b(*store_);  // two servers on one database
  auto created = a.create("token-a", chat_);
  ASSERT_TRUE(created) << created.error().message;
  const std::string id = *created;
  EXPECT_EQ(id.size(), 32u);
  auto on_b = find(b, id, "token-a");
  ASSERT_TRUE(on_b);
  EXPECT_EQ(on_b->chat_id, chat_.id);
  EXPECT_EQ(on_b->organization_id, chat_.organization_id);
  EXPECT_FALSE(find(b, id, "token-b")) << "another token's session reads as missing";
  EXPECT_FALSE(find(b, "0123456789abcdef0123456789abcdef", "token-a"));

  // What initialize and notifications/initialized taught one replica, the other reads.
  auto on_a = find(a, id, "token-a");
  on_a->protocol.protocol_version = "2025-11-25";
  on_a->protocol.client_info = {{"name", "claude"}};
  on_a->protocol.initialized = true;
  ASSERT_TRUE(a.save(*on_a));
  on_b = find(b, id, "token-a");
  EXPECT_EQ(on_b->protocol.protocol_version, "2025-11-25");
  EXPECT_EQ(on_b->protocol.client_info["name"], "claude");
  EXPECT_TRUE(on_b->protocol.initialized);
}

TEST_F(McpSessionsTest, DeleteEndsItEverywhereAndCancelsCallsInFlight) {
  McpSessions a(*store_), b(*store_);
  const std::string id = a.create("token-a", chat_).value();
  auto control_a = std::make_shared<chattools::CallControl>(nullptr);
  auto control_b = std::make_shared<chattools::CallControl>(nullptr);
  find(a, id, "token-a")->protocol.in_flight["1"] = control_a;
  find(b, id, "token-a")->protocol.in_flight["2"] = control_b;
  EXPECT_FALSE(a.remove(id, "token-b").value());
  EXPECT_FALSE(control_a->cancelled());
  EXPECT_TRUE(a.remove(id, "token-a").value());
  EXPECT_TRUE(control_a->cancelled());
  EXPECT_FALSE(find(b, id, "token-a")) << "ended for every replica";
  EXPECT_TRUE(control_b->cancelled()) << "the other replica's call ends at its next look";
  EXPECT_FALSE(a.remove(id, "token-a").value());
}

TEST_F(McpSessionsTest, IdleSessionsEnd) {
  McpSessions sessions(*store_);
  const std::string id = sessions.create("token-a", chat_).value();
  EXPECT_EQ(sessions.expire_idle(1h), 0u) << "just used";
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(sessions.expire_idle(1ms), 1u);
  EXPECT_FALSE(find(sessions, id, "token-a"));
}

// Finding 13 of the hardening issue: sessions were unlimited per token.
TEST_F(McpSessionsTest, ATokenHasAtMostItsShareOfSessions) {
  McpSessions sessions(*store_);
  // 64 sessions of token-a, last used two to three minutes ago (oldest first).
  const UnixMillis now = now_ms();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < McpSessions::kMaxPerToken; ++i) {
    store::McpSessionRecord r{.id = "old-" + std::to_string(i),
                              .token_id = "token-a",
                              .chat_id = chat_.id,
                              .organization_id = chat_.organization_id,
                              .created_at = now - 180'000 + static_cast<UnixMillis>(i),
                              .last_used_at = now - 180'000 + static_cast<UnixMillis>(i)};
    ASSERT_TRUE(store_->create_mcp_session(r, McpSessions::kMaxPerToken, 0));
    ids.push_back(r.id);
  }
  ASSERT_TRUE(store_->touch_mcp_session(ids[0], now - 120'000));
  // Past the cap, the least recently used session makes room.
  auto extra = sessions.create("token-a", chat_);
  ASSERT_TRUE(extra) << extra.error().message;
  EXPECT_TRUE(find(sessions, ids[0], "token-a")) << "used more recently";
  EXPECT_FALSE(find(sessions, ids[1], "token-a")) << "the least recently used ends";
  EXPECT_TRUE(find(sessions, *extra, "token-a"));
  // Another token is not affected.
  EXPECT_TRUE(sessions.create("token-b", chat_));
  EXPECT_TRUE(find(sessions, ids[2], "token-a"));
}

TEST_F(McpSessionsTest, ANewSessionIsRefusedWhenEveryOneOfTheTokenIsInUse) {
  McpSessions sessions(*store_);
  for (std::size_t i = 0; i < McpSessions::kMaxPerToken; ++i) {
    ASSERT_TRUE(sessions.create("token-a", chat_));
  }
  auto refused = sessions.create("token-a", chat_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::resource_exhausted);
  EXPECT_EQ(refused.error().message, "this token has 64 MCP sessions, all in use");
  EXPECT_EQ(refused.error().detail, "end one (DELETE /mcp), wait a minute, or use another token");
}

}  // namespace
}  // namespace berth::http
