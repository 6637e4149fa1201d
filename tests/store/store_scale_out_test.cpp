// The store where several servers share it (issue 10): one workspace per chat under
// concurrent creates, jobs claimed once across connections, replicas, leases, schedulers
// that never double-act, MCP sessions any replica can serve, and MCP tasks any replica
// answers for and takes over.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "berth/core/clock.hpp"
#include "tests/store/store_fixture.hpp"

namespace berth::store {
namespace {

class StoreScaleOutTest : public SqliteStoreTest {};

TEST_P(StoreScaleOutTest, ConcurrentCreatesForOneChatMakeExactlyOneWorkspace) {
  auto chat = store_->chat_for_key(org_.id, user_.id, "race");
  ASSERT_TRUE(chat);
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      NewWorkspace ws{.organization_id = org_.id,
                      .owner_id = user_.id,
                      .template_id = tmpl_.id,
                      .name = "race-" + std::to_string(i)};
      NewBuild build{.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id};
      if (store_->create_workspace_for_chat(chat->id, std::nullopt, ws, build)) ++created;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(store_->list_workspaces(std::nullopt)->size(), 1u);
}

// Replicas: each store has its own connection to the same database.
TEST_P(StoreScaleOutTest, StoresOnSeparateConnectionsCreateOneWorkspacePerChatAndClaimJobsOnce) {
  auto chat = store_->chat_for_key(org_.id, user_.id, "replicas");
  ASSERT_TRUE(chat);
  std::vector<std::unique_ptr<SqliteStore>> replicas;
  for (int i = 0; i < 4; ++i) {
    auto s = open_store();
    ASSERT_TRUE(s) << s.error().message;
    replicas.push_back(std::move(*s));
  }
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      NewWorkspace ws{.organization_id = org_.id,
                      .owner_id = user_.id,
                      .template_id = tmpl_.id,
                      .name = "replica-" + std::to_string(i)};
      NewBuild build{.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id};
      if (replicas[i % replicas.size()]->create_workspace_for_chat(chat->id, std::nullopt, ws,
                                                                   build)) {
        ++created;
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(store_->list_workspaces(std::nullopt)->size(), 1u);

  for (int i = 0; i < 6; ++i) ASSERT_TRUE(create("job-" + std::to_string(i)));
  std::mutex mu;
  std::vector<std::string> claimed;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      while (true) {
        auto job = replicas[i % replicas.size()]->acquire_job({"worker-" + std::to_string(i),
                                                               "host-" + std::to_string(i),
                                                               now_ms(), now_ms() + 60'000});
        ASSERT_TRUE(job) << job.error().message;
        if (!*job) return;
        std::lock_guard lock(mu);
        claimed.push_back((*job)->job.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end());
  EXPECT_EQ(claimed.size(), 7u);  // the chat's workspace's job and the six
}

TEST_P(StoreScaleOutTest, ReplicasRegisterHeartbeatAndAreRemovedWhenStale) {
  const UnixMillis t = now_ms();
  ASSERT_TRUE(store_->register_replica({"r1", "host-a", "/d", "http://a:1", "s1", t, t}));
  ASSERT_TRUE(store_->register_replica({"r2", "host-b", "/d", "http://b:1", "s2", t + 1, t + 1}));
  ASSERT_TRUE(store_->heartbeat_replica("r2", t + 5000));
  auto r2 = store_->replica_by_id("r2");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->relay_url, "http://b:1");
  EXPECT_EQ(r2->relay_secret, "s2");
  EXPECT_EQ(r2->heartbeat_at, t + 5000);
  EXPECT_EQ(store_->list_replicas()->size(), 2u);
  EXPECT_EQ(store_->remove_stale_replicas(t + 1000).value(), 1);
  EXPECT_EQ(store_->replica_by_id("r1").error().code, ErrorCode::not_found);
  EXPECT_EQ(store_->heartbeat_replica("r1", t + 6000).error().code, ErrorCode::not_found)
      << "a replica removed as dead learns it at its next heartbeat";
  // Registering again replaces the row (a restart under the same id).
  ASSERT_TRUE(
      store_->register_replica({"r2", "host-b", "/d", "http://b:2", "s3", t + 7000, t + 7000}));
  EXPECT_EQ(store_->replica_by_id("r2")->relay_url, "http://b:2");
  // A new server on the same host and data directory replaces the one before it (which held
  // the data directory's lock, so it is gone).
  ASSERT_TRUE(
      store_->register_replica({"r3", "host-b", "/d", "http://b:3", "s4", t + 8000, t + 8000}));
  EXPECT_EQ(store_->replica_by_id("r2").error().code, ErrorCode::not_found);
  ASSERT_TRUE(
      store_->register_replica({"r4", "host-c", "/d", "http://c:3", "s5", t + 8000, t + 8000}));
  EXPECT_EQ(store_->list_replicas()->size(), 2u) << "another host's directory is another replica";
  ASSERT_TRUE(store_->remove_replica("r3"));
  ASSERT_TRUE(store_->remove_replica("r4"));
  EXPECT_TRUE(store_->list_replicas()->empty());
}

TEST_P(StoreScaleOutTest, ALeaseHasOneHolderUntilItExpires) {
  const UnixMillis t = 1'000'000;
  EXPECT_TRUE(store_->acquire_lease("prebuilds", "r1", t, t + 100).value());
  EXPECT_FALSE(store_->acquire_lease("prebuilds", "r2", t + 50, t + 150).value());
  EXPECT_TRUE(store_->acquire_lease("prebuilds", "r1", t + 60, t + 160).value()) << "renewed";
  EXPECT_FALSE(store_->acquire_lease("prebuilds", "r2", t + 150, t + 250).value());
  EXPECT_TRUE(store_->acquire_lease("prebuilds", "r2", t + 161, t + 261).value()) << "expired";
  EXPECT_FALSE(store_->acquire_lease("prebuilds", "r1", t + 170, t + 270).value());
  EXPECT_TRUE(store_->acquire_lease("other", "r1", t + 170, t + 270).value()) << "per name";
  ASSERT_TRUE(store_->release_lease("prebuilds", "r1"));  // not the holder: nothing happens
  EXPECT_FALSE(store_->acquire_lease("prebuilds", "r1", t + 180, t + 280).value());
  ASSERT_TRUE(store_->release_lease("prebuilds", "r2"));
  EXPECT_TRUE(store_->acquire_lease("prebuilds", "r1", t + 190, t + 290).value());
}

TEST_P(StoreScaleOutTest, LeaseContendersOnSeparateConnectionsNeverBothHoldIt) {
  constexpr int kContenders = 4;
  std::vector<std::unique_ptr<SqliteStore>> stores;
  for (int i = 0; i < kContenders; ++i) {
    auto s = open_store();
    ASSERT_TRUE(s) << s.error().message;
    stores.push_back(std::move(*s));
  }
  for (int round = 0; round < 20; ++round) {
    const std::string name = "round-" + std::to_string(round);
    std::atomic<int> holders{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kContenders; ++i) {
      threads.emplace_back([&, i] {
        auto got = stores[i]->acquire_lease(name, "r" + std::to_string(i), 1000, 2000);
        ASSERT_TRUE(got) << got.error().message;
        if (*got) ++holders;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(holders.load(), 1) << name;
  }
}

// The TTL scheduler and the job reaper run on every replica: racing on separate connections,
// each expired workspace gets one stop build and each stale job is failed once.
TEST_P(StoreScaleOutTest, SchedulersOnEveryReplicaNeverDoubleAct) {
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<SqliteStore>> stores;
  for (int i = 0; i < kReplicas; ++i) {
    auto s = open_store();
    ASSERT_TRUE(s) << s.error().message;
    stores.push_back(std::move(*s));
  }
  constexpr int kWorkspaces = 6;
  for (int i = 0; i < kWorkspaces; ++i) {
    auto c = store_->create_workspace(
        {.organization_id = org_.id,
         .owner_id = user_.id,
         .template_id = tmpl_.id,
         .name = "ttl-" + std::to_string(i),
         .ttl_ms = 1},
        {.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id});
    ASSERT_TRUE(c);
    ASSERT_TRUE(store_->acquire_job({"w/1", "h", 1'000, 2'000'000}));
    ASSERT_TRUE(store_->complete_job(c->job.id, std::nullopt, std::nullopt, 1'000));
  }
  // The stop builds are claimed and then hang past their deadline (a lost provisioner).
  std::atomic<int> stops{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      auto made = stores[i]->stop_expired_workspaces(10'000);
      ASSERT_TRUE(made) << made.error().message;
      stops += static_cast<int>(made->size());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stops.load(), kWorkspaces);
  for (int i = 0; i < kWorkspaces; ++i) {
    auto j = store_->acquire_job({"w/1", "h", 10'000, 10'001});
    ASSERT_TRUE(j && *j);
  }
  std::atomic<int> failed{0};
  threads.clear();
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      auto f = stores[i]->fail_stale_jobs({.now = 20'000, .heartbeat_stale_before = 0});
      ASSERT_TRUE(f) << f.error().message;
      failed += static_cast<int>(f->size());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), kWorkspaces) << "each hung stop build failed exactly once";
}

TEST_P(StoreScaleOutTest, McpSessionsKeepTheirFieldsAndEndWithTheirToken) {
  ASSERT_TRUE(store_->create_api_token(user_.id, "t", "tok1", "hash", std::nullopt, {}));
  auto chat = store_->create_chat(org_.id, user_.id, std::nullopt, "");
  ASSERT_TRUE(chat);
  McpSessionRecord m{.id = "s1",
                     .token_id = "tok1",
                     .chat_id = chat->id,
                     .organization_id = org_.id,
                     .created_at = 10,
                     .last_used_at = 10};
  ASSERT_TRUE(store_->create_mcp_session(m, 64, 0));
  m.protocol_version = "2025-11-25";
  m.client_info = R"({"name":"x"})";
  m.initialized = true;
  m.last_used_at = 20;
  ASSERT_TRUE(store_->update_mcp_session(m));
  auto read = store_->mcp_session("s1");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->protocol_version, "2025-11-25");
  EXPECT_EQ(read->client_info, R"({"name":"x"})");
  EXPECT_TRUE(read->initialized);
  EXPECT_EQ(read->last_used_at, 20);
  ASSERT_TRUE(store_->touch_mcp_session("s1", 15));
  EXPECT_EQ(store_->mcp_session("s1")->last_used_at, 20) << "never earlier";
  EXPECT_EQ(store_->expire_mcp_sessions(20).value(), 0);
  EXPECT_FALSE(store_->delete_mcp_session("s1", "other").value());
  ASSERT_TRUE(store_->delete_api_token("tok1"));
  EXPECT_EQ(store_->mcp_session("s1").error().code, ErrorCode::not_found)
      << "a deleted token's sessions end with it";
}

McpTask new_task(std::string id, const User& user, const Chat& chat, std::string runner,
                 UnixMillis t) {
  return McpTask{.id = std::move(id),
                 .user_id = user.id,
                 .token_id = "tok",
                 .chat_id = chat.id,
                 .organization_id = chat.organization_id,
                 .tool = "create_workspace",
                 .arguments = R"({"template_id":"x"})",
                 .status = "working",
                 .status_message = "started",
                 .runner = std::move(runner),
                 .runner_until = t + 30'000,
                 .created_at = t,
                 .updated_at = t,
                 .expires_at = t + 86'400'000};
}

TEST_P(StoreScaleOutTest, McpTasksAreHeldByTheirRunnerAndFencedAgainstOthers) {
  const UnixMillis t = now_ms();
  ASSERT_TRUE(store_->register_replica({"r1", "host-a", "/a", "http://a:1", "s1", t, t}));
  ASSERT_TRUE(store_->register_replica({"r2", "host-b", "/b", "http://b:1", "s2", t, t}));
  auto chat = store_->chat_for_key(org_.id, user_.id, "tasks");
  ASSERT_TRUE(chat);
  ASSERT_TRUE(store_->create_mcp_task(new_task("task1", user_, *chat, "r1", t)));
  auto read = store_->mcp_task("task1");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->status, "working");
  EXPECT_EQ(read->arguments, R"({"template_id":"x"})");
  EXPECT_EQ(read->expires_at, t + 86'400'000);
  EXPECT_EQ(store_->mcp_task("nope").error().code, ErrorCode::not_found);

  // The runner renews with a progress message; a live runner's task is nobody's to take.
  EXPECT_FALSE(store_->renew_mcp_task("task1", "r1", t + 40'000, "building", t + 10).value());
  EXPECT_EQ(store_->mcp_task("task1")->status_message, "building");
  EXPECT_TRUE(store_->claim_orphan_mcp_tasks("r2", t + 20'000, t + 60'000, 16)->empty());
  EXPECT_EQ(store_->renew_mcp_task("task1", "r2", t + 40'000, std::nullopt, t).error().code,
            ErrorCode::failed_precondition)
      << "only the runner renews";

  // A cancel request reaches the runner at its next renewal.
  EXPECT_TRUE(store_->request_mcp_task_cancel("task1", t + 20).value());
  EXPECT_TRUE(store_->renew_mcp_task("task1", "r1", t + 40'000, std::nullopt, t + 30).value());

  // r1's lease runs out: r2 takes the task over, and r1 can no longer write it.
  auto claimed = store_->claim_orphan_mcp_tasks("r2", t + 40'001, t + 70'000, 16);
  ASSERT_TRUE(claimed) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].runner, "r2");
  EXPECT_TRUE((*claimed)[0].cancel_requested);
  EXPECT_EQ(store_->renew_mcp_task("task1", "r1", t + 80'000, std::nullopt, t).error().code,
            ErrorCode::failed_precondition);
  EXPECT_FALSE(store_->finish_mcp_task("task1", "r1", "completed", "m", "{}", t).value());
  EXPECT_TRUE(store_->finish_mcp_task("task1", "r2", "cancelled", "bye", "", t + 50).value());
  read = store_->mcp_task("task1");
  EXPECT_EQ(read->status, "cancelled");
  EXPECT_EQ(read->status_message, "bye");
  EXPECT_FALSE(store_->finish_mcp_task("task1", "r2", "completed", "again", "{}", t).value())
      << "an ended task stays ended";
  EXPECT_FALSE(store_->request_mcp_task_cancel("task1", t).value());

  // A runner that is no longer a replica (a server restarted on its data directory replaced
  // it) loses its tasks at once, lease or not.
  ASSERT_TRUE(store_->create_mcp_task(new_task("task2", user_, *chat, "r1", t)));
  EXPECT_TRUE(store_->claim_orphan_mcp_tasks("r2", t, t + 30'000, 16)->empty());
  ASSERT_TRUE(store_->register_replica({"r3", "host-a", "/a", "http://a:2", "s3", t, t}));
  claimed = store_->claim_orphan_mcp_tasks("r3", t, t + 30'000, 16);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, "task2");
  EXPECT_TRUE(
      store_->finish_mcp_task("task2", "r3", "completed", "done", R"({"content":[]})", t).value());
  EXPECT_EQ(store_->mcp_task("task2")->outcome, R"({"content":[]})");

  EXPECT_EQ(store_->expire_mcp_tasks(t + 86'400'000).value(), 0);
  EXPECT_EQ(store_->expire_mcp_tasks(t + 86'400'001).value(), 2);
  EXPECT_EQ(store_->mcp_task("task2").error().code, ErrorCode::not_found);
}

TEST_P(StoreScaleOutTest, OrphanTasksAreTakenOverByExactlyOneReplica) {
  const UnixMillis t = now_ms();
  auto chat = store_->chat_for_key(org_.id, user_.id, "orphans");
  ASSERT_TRUE(chat);
  constexpr int kTasks = 12;
  for (int i = 0; i < kTasks; ++i) {
    // Their runner "dead" is no replica.
    ASSERT_TRUE(
        store_->create_mcp_task(new_task("o" + std::to_string(i), user_, *chat, "dead", t)));
  }
  std::vector<std::unique_ptr<SqliteStore>> replicas;
  for (int i = 0; i < 4; ++i) {
    auto s = open_store();
    ASSERT_TRUE(s) << s.error().message;
    replicas.push_back(std::move(*s));
    const std::string id = "live-" + std::to_string(i);
    ASSERT_TRUE(store_->register_replica({id, id, "/d", "http://x:1", "s", t, t}));
  }
  std::mutex mu;
  std::vector<std::string> claimed;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        auto got =
            replicas[i]->claim_orphan_mcp_tasks("live-" + std::to_string(i), t, t + 30'000, 4);
        ASSERT_TRUE(got) << got.error().message;
        std::lock_guard lock(mu);
        for (const auto& task : *got) claimed.push_back(task.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end());
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kTasks));
}

TEST_P(StoreScaleOutTest, AnUndeliveredAnswerIsHandedOverOnceAndExpires) {
  const UnixMillis t = now_ms();
  auto chat = store_->chat_for_key(org_.id, user_.id, "retries");
  ASSERT_TRUE(chat);
  EXPECT_FALSE(store_->take_undelivered_call(chat->id, "k", t).value());
  UndeliveredCall call{.id = "u1",
                       .chat_id = chat->id,
                       .call_key = "k",
                       .tool = "execute",
                       .status = "running",
                       .started_at = t,
                       .cut_at = t + 5,
                       .expires_at = t + 600'000};
  ASSERT_TRUE(store_->record_undelivered_call(call));
  auto running = store_->take_undelivered_call(chat->id, "k", t + 10);
  ASSERT_TRUE(running && *running);
  EXPECT_EQ((*running)->status, "running");
  EXPECT_TRUE(store_->take_undelivered_call(chat->id, "k", t + 20).value())
      << "a running call stays";
  EXPECT_FALSE(store_->take_undelivered_call(chat->id, "other", t + 20).value());
  ASSERT_TRUE(store_->finish_undelivered_call("u1", R"({"exit_code":0})", false));
  auto done = store_->take_undelivered_call(chat->id, "k", t + 30);
  ASSERT_TRUE(done && *done);
  EXPECT_EQ((*done)->status, "done");
  EXPECT_EQ((*done)->result, R"({"exit_code":0})");
  EXPECT_FALSE(store_->take_undelivered_call(chat->id, "k", t + 40).value()) << "handed over once";

  call.id = "u2";
  ASSERT_TRUE(store_->record_undelivered_call(call));
  EXPECT_FALSE(store_->take_undelivered_call(chat->id, "k", t + 600'001).value())
      << "expired after its ten minutes";
}

INSTANTIATE_TEST_SUITE_P(Drivers, StoreScaleOutTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::store
