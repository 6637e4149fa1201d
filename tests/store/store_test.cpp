#include "berth/store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/store/migrations.hpp"
#include "berth/store/pg/pg_database.hpp"
#include "tests/store/store_fixture.hpp"
#include "tests/support/pg_test_database.hpp"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

TEST_P(SqliteStoreTest, MigrationsAreAppliedOnceAndSurviveReopen) {
  const int latest = embedded_migrations().back().version;
  EXPECT_GE(latest, 4);
  EXPECT_EQ(store_->schema_version_for_testing(), latest);
  reopen();
  EXPECT_EQ(store_->schema_version_for_testing(), latest);
  EXPECT_TRUE(store_->organization_by_name("default"));
}

TEST_P(SqliteStoreTest, DuplicateNamesAreAlreadyExists) {
  auto org = store_->create_organization("default", "");
  ASSERT_FALSE(org);
  EXPECT_EQ(org.error().code, ErrorCode::already_exists);
  EXPECT_EQ(org.error().message, "organization \"default\" already exists");
  auto user = store_->create_user("alice", "", false, false);
  EXPECT_EQ(user.error().message, "user \"alice\" already exists");
}

TEST_P(SqliteStoreTest, TokensAreCheckedByHashAndExpiry) {
  ASSERT_TRUE(
      store_->create_api_token(user_.id, "cli", "tok1", sha256_hex("secret"), std::nullopt, {}));
  auto u = store_->user_for_token("tok1", sha256_hex("secret"), now_ms());
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user.username, "alice");
  EXPECT_EQ(u->scope.organization_id, std::nullopt);
  EXPECT_FALSE(u->scope.read_only);
  auto wrong = store_->user_for_token("tok1", sha256_hex("guess"), now_ms());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::unauthenticated);
  ASSERT_TRUE(store_->create_api_token(user_.id, "old", "tok2", sha256_hex("s"), now_ms() - 1, {}));
  EXPECT_EQ(store_->user_for_token("tok2", sha256_hex("s"), now_ms()).error().message,
            "API token expired");
  ASSERT_TRUE(store_->create_api_token(user_.id, "narrow", "tok3", sha256_hex("n"), std::nullopt,
                                       {.organization_id = org_.id, .read_only = true}));
  auto narrow = store_->user_for_token("tok3", sha256_hex("n"), now_ms());
  ASSERT_TRUE(narrow);
  EXPECT_EQ(narrow->scope.organization_id, org_.id);
  EXPECT_TRUE(narrow->scope.read_only);
}

TEST_P(SqliteStoreTest, PushingAgainAddsAVersionAndActivatesIt) {
  NewTemplateVersion v{.organization_id = org_.id,
                       .name = "shell",
                       .description = "v2",
                       .isolation = "sandbox",
                       .source = "x",
                       .spec = "{}",
                       .created_by = user_.id};
  auto pushed = store_->push_template_version(v);
  ASSERT_TRUE(pushed);
  EXPECT_FALSE(pushed->created);
  EXPECT_EQ(pushed->tmpl.id, tmpl_.id);
  EXPECT_EQ(pushed->version.number, 2);
  EXPECT_EQ(pushed->tmpl.active_version_id, pushed->version.id);
  EXPECT_EQ(pushed->tmpl.isolation, "sandbox");
}

TEST_P(SqliteStoreTest, CreateWorkspaceWritesWorkspaceBuildAndPendingJob) {
  auto c = create("dev");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workspace.owner_name, "alice");
  EXPECT_EQ(c->build.build_number, 1);
  EXPECT_EQ(c->job.status(), JobStatus::pending);
  auto latest = store_->latest_build(c->workspace.id);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->build.id, c->build.id);
  auto dup = create("dev");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::already_exists);
  EXPECT_EQ(dup.error().message, "a workspace named \"dev\" already exists");
}

TEST_P(SqliteStoreTest, OnlyOneBuildInProgress) {
  auto c = create("dev");
  ASSERT_TRUE(c);
  auto second =
      store_->create_build(c->workspace.id, {.template_version_id = tmpl_.active_version_id,
                                             .transition = Transition::stop,
                                             .initiator_id = user_.id});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::failed_precondition);
  ASSERT_TRUE(store_->complete_job(c->job.id, std::nullopt, std::nullopt, now_ms()));
  auto third =
      store_->create_build(c->workspace.id, {.template_version_id = tmpl_.active_version_id,
                                             .transition = Transition::stop,
                                             .initiator_id = user_.id});
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(third->build.build_number, 2);
}

TEST_P(SqliteStoreTest, AcquireClaimsEachJobExactlyOnce) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(create("ws" + std::to_string(i)));
  std::vector<std::string> claimed[4];
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      while (true) {
        auto j = store_->acquire_job({"worker" + std::to_string(w), "host-" + std::to_string(w),
                                      now_ms(), now_ms() + 60'000});
        ASSERT_TRUE(j);
        if (!*j) return;
        claimed[w].push_back((*j)->job.id);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::set<std::string> all;
  for (auto& c : claimed) all.insert(c.begin(), c.end());
  EXPECT_EQ(all.size(), 20u);
  EXPECT_EQ(claimed[0].size() + claimed[1].size() + claimed[2].size() + claimed[3].size(), 20u);
}

TEST_P(SqliteStoreTest, FailedJobKeepsItsErrorAndCode) {
  auto c = create("dev");
  ASSERT_TRUE(c);
  auto j = store_->acquire_job({"w", "host", now_ms(), now_ms() + 1000});
  ASSERT_TRUE(j && *j);
  ASSERT_TRUE(store_->complete_job(c->job.id, "boom", "SCRIPT_FAILED", now_ms()));
  auto job = store_->job_by_id(c->job.id);
  EXPECT_EQ(job->status(), JobStatus::failed);
  EXPECT_EQ(job->error, "boom");
  EXPECT_EQ(job->error_code, "SCRIPT_FAILED");
  EXPECT_EQ(store_->complete_job(c->job.id, std::nullopt, std::nullopt, now_ms()).error().code,
            ErrorCode::failed_precondition);
}

TEST_P(SqliteStoreTest, StaleJobsAreFailedWithAReason) {
  auto a = create("a");
  auto b = create("b");
  ASSERT_TRUE(a && b);
  UnixMillis now = now_ms();
  // Jobs created in the same millisecond are claimed in id order: take the ids from the claims.
  auto past = store_->acquire_job({"embedded:old", "h", now, now - 1});          // past deadline
  auto lost = store_->acquire_job({"embedded:old", "h", now, now + 3'600'000});  // lost worker
  ASSERT_TRUE(past && *past && lost && *lost);
  auto failed = store_->fail_stale_jobs({.now = now,
                                         .heartbeat_stale_before = 0,
                                         .worker_prefix = "embedded:",
                                         .live_worker = "embedded:new"});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->size(), 2u);
  auto ja = store_->job_by_id((**past).job.id);
  auto jb = store_->job_by_id((**lost).job.id);
  EXPECT_EQ(ja->error_code, "DEADLINE_EXCEEDED");
  EXPECT_EQ(jb->error_code, "PROVISIONER_LOST");
  EXPECT_NE(jb->error->find("start the workspace again"), std::string::npos);
}

TEST_P(SqliteStoreTest, AWorkspaceLivesWhereItsFirstStartSucceeded) {
  const UnixMillis t = now_ms();
  for (const char* host : {"host-a", "host-b"}) {
    ASSERT_TRUE(
        store_->register_provisioner({host, host, "embedded", host + std::string("/1"), t, t}));
  }
  auto c = create("dev");
  ASSERT_TRUE(c);
  // A first start that fails leaves the workspace living nowhere: any host may try again.
  auto first = store_->acquire_job({"host-b/1", "host-b", t, t + 60'000});
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE(store_->complete_job(c->job.id, "boom", "SCRIPT_FAILED", t));
  auto retry = store_->create_build(
      c->workspace.id, {.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id});
  ASSERT_TRUE(retry);
  auto second = store_->acquire_job({"host-a/1", "host-a", t, t + 60'000});
  ASSERT_TRUE(second && *second);
  ASSERT_TRUE(store_->complete_job(retry->job.id, std::nullopt, std::nullopt, t));
  auto stop = store_->create_build(c->workspace.id, {.template_version_id = tmpl_.active_version_id,
                                                     .transition = Transition::stop,
                                                     .initiator_id = user_.id});
  ASSERT_TRUE(stop) << stop.error().message;
  auto other = create("other");
  ASSERT_TRUE(other);
  // host-b may not run the stop (the workspace's processes are on host-a): it gets the new
  // workspace's build instead, even though the stop is older.
  auto b = store_->acquire_job({"host-b/1", "host-b", t, t + 60'000});
  ASSERT_TRUE(b && *b);
  EXPECT_EQ((*b)->workspace.id, other->workspace.id);
  EXPECT_FALSE(*store_->acquire_job({"host-b/1", "host-b", t, t + 60'000}));
  auto a = store_->acquire_job({"host-a/1", "host-a", t, t + 60'000});
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->job.id, stop->job.id);
  ASSERT_TRUE(store_->complete_job(stop->job.id, std::nullopt, std::nullopt, t));

  // While host-a is gone, a build of its workspace cannot run anywhere: it fails, saying why.
  auto start = store_->create_build(
      c->workspace.id, {.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id});
  ASSERT_TRUE(start);
  ASSERT_TRUE(store_->provisioner_seen("host-b", t + 100'000));
  auto failed = store_->fail_stale_jobs({.now = t + 100'000, .heartbeat_stale_before = t + 70'000});
  ASSERT_TRUE(failed) << failed.error().message;
  ASSERT_EQ(failed->size(), 2u) << "the start, and host-b's build that stopped heartbeating";
  auto job = store_->job_by_id(start->job.id);
  EXPECT_EQ(job->status(), JobStatus::failed);
  EXPECT_EQ(job->error_code, "PROVISIONER_OFFLINE");
  EXPECT_NE(job->error->find("provisioner host-a, which is offline"), std::string::npos)
      << *job->error;
  EXPECT_EQ(store_->list_provisioners()->size(), 2u);
}

TEST_P(SqliteStoreTest, JobsGoOnlyToProvisionersWhoseTagsMatch) {
  NewTemplateVersion gpu{.organization_id = org_.id,
                         .name = "gpu",
                         .isolation = "sandbox",
                         .source = "name: gpu",
                         .spec = "{}",
                         .provisioner_tags = R"({"gpu":"a100"})",
                         .created_by = user_.id};
  auto pushed = store_->push_template_version(gpu);
  ASSERT_TRUE(pushed) << pushed.error().message;
  auto tagged = store_->create_workspace(
      {.organization_id = org_.id,
       .owner_id = user_.id,
       .template_id = pushed->tmpl.id,
       .name = "trainer"},
      {.template_version_id = pushed->tmpl.active_version_id, .initiator_id = user_.id});
  ASSERT_TRUE(tagged);
  auto plain = create("plain");
  ASSERT_TRUE(plain);
  const UnixMillis t = now_ms();
  const std::string big = R"({"gpu":"a100","zone":"eu"})";
  // Other tags, or none, never take the tagged job; no tags take only the untagged one.
  EXPECT_FALSE(*store_->acquire_job({"h1/1", "h1", t, t + 60'000, R"({"gpu":"h100"})"}));
  auto untagged = store_->acquire_job({"h2/1", "h2", t, t + 60'000, "{}"});
  ASSERT_TRUE(untagged && *untagged);
  EXPECT_EQ((*untagged)->job.id, plain->job.id);
  EXPECT_FALSE(*store_->acquire_job({"h2/1", "h2", t, t + 60'000, "{}"}));
  // A superset of the job's tags takes it.
  auto gpu_job = store_->acquire_job({"h3/1", "h3", t, t + 60'000, big});
  ASSERT_TRUE(gpu_job && *gpu_job);
  EXPECT_EQ((*gpu_job)->job.id, tagged->job.id);
  // A tagged provisioner does not take untagged work.
  auto more = create("more");
  ASSERT_TRUE(more);
  EXPECT_FALSE(*store_->acquire_job({"h3/1", "h3", t, t + 60'000, big}));
}

TEST_P(SqliteStoreTest, ProvisionerKeysHaveUniqueNames) {
  ProvisionerKey k{"key-1", "gpu-fleet", "hash", R"({"gpu":"a100"})", user_.id, 5};
  ASSERT_TRUE(store_->create_provisioner_key(k));
  k.id = "key-2";
  auto dup = store_->create_provisioner_key(k);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "a provisioner key named \"gpu-fleet\" already exists");
  auto back = store_->provisioner_key_by_id("key-1");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->tags, R"({"gpu":"a100"})");
  EXPECT_EQ(store_->list_provisioner_keys()->size(), 1u);
  ASSERT_TRUE(store_->register_provisioner(
      {"d1", "host-d1", "daemon", "d1/1", 1, 1, R"({"gpu":"a100"})", std::string("key-1")}));
  auto host = store_->provisioner_by_id("d1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->key_id, "key-1");
  EXPECT_EQ(host->tags, R"({"gpu":"a100"})");
  ASSERT_TRUE(store_->delete_provisioner_key("gpu-fleet"));
  auto gone = store_->delete_provisioner_key("gpu-fleet");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "no provisioner key named \"gpu-fleet\"");
  EXPECT_FALSE(store_->provisioner_key_by_id("key-1"));
}

TEST_P(SqliteStoreTest, DeleteBuildSoftDeletesTheWorkspace) {
  auto c = create("dev");
  ASSERT_TRUE(store_->complete_job(c->job.id, std::nullopt, std::nullopt, now_ms()));
  auto d = store_->create_build(c->workspace.id, {.template_version_id = tmpl_.active_version_id,
                                                  .transition = Transition::delete_,
                                                  .initiator_id = user_.id});
  ASSERT_TRUE(d);
  ASSERT_TRUE(store_->complete_job(d->job.id, std::nullopt, std::nullopt, now_ms()));
  EXPECT_TRUE(store_->workspace_by_id(c->workspace.id)->deleted);
  EXPECT_TRUE(store_->list_workspaces(std::nullopt)->empty());
  EXPECT_TRUE(create("dev")) << "the name is free again";
}

// Preview URLs lose a name's case: the store finds names that differ only in case, at most
// two (enough to tell one from several), never system users or deleted workspaces.
TEST_P(SqliteStoreTest, NamesAreFoundIgnoringCase) {
  ASSERT_TRUE(store_->create_user("Bob-X", "", false, false));
  ASSERT_TRUE(store_->create_user("svc", "", false, true));  // a system user
  auto bob = store_->users_by_username_ignoring_case("bob-x");
  ASSERT_TRUE(bob) << bob.error().message;
  ASSERT_EQ(bob->size(), 1U);
  EXPECT_EQ(bob->front().username, "Bob-X");
  EXPECT_TRUE(store_->users_by_username_ignoring_case("bob")->empty());
  EXPECT_TRUE(store_->users_by_username_ignoring_case("svc")->empty());
  ASSERT_TRUE(store_->create_user("BOB-x", "", false, false));
  EXPECT_EQ(store_->users_by_username_ignoring_case("bob-x")->size(), 2U);

  auto web = create("Web-App");
  ASSERT_TRUE(web);
  ASSERT_TRUE(create("other"));
  auto found = store_->workspaces_by_name_ignoring_case(user_.id, "web-app");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ(found->front().id, web->workspace.id);
  EXPECT_TRUE(store_->workspaces_by_name_ignoring_case(bob->front().id, "web-app")->empty());
  ASSERT_TRUE(create("WEB-app"));
  EXPECT_EQ(store_->workspaces_by_name_ignoring_case(user_.id, "web-app")->size(), 2U);
  ASSERT_TRUE(store_->complete_job(web->job.id, std::nullopt, std::nullopt, now_ms()));
  auto d = store_->create_build(web->workspace.id, {.template_version_id = tmpl_.active_version_id,
                                                    .transition = Transition::delete_,
                                                    .initiator_id = user_.id});
  ASSERT_TRUE(d);
  ASSERT_TRUE(store_->complete_job(d->job.id, std::nullopt, std::nullopt, now_ms()));
  found = store_->workspaces_by_name_ignoring_case(user_.id, "web-app");
  ASSERT_EQ(found->size(), 1U) << "a deleted workspace is not found";
  EXPECT_EQ(found->front().name, "WEB-app");
}

TEST_P(SqliteStoreTest, DeadlinesFollowTheTtlAndOnlyMoveLaterWithActivity) {
  auto c = store_->create_workspace(
      {.organization_id = org_.id,
       .owner_id = user_.id,
       .template_id = tmpl_.id,
       .name = "dev",
       .ttl_ms = 60'000},
      {.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id});
  ASSERT_TRUE(c);
  const std::string id = c->workspace.id;
  EXPECT_EQ(store_->workspace_by_id(id)->deadline_at, std::nullopt) << "not running yet";
  EXPECT_EQ(*store_->extend_workspace_deadline(id, 1'000), false);
  ASSERT_TRUE(store_->complete_job(c->job.id, std::nullopt, std::nullopt, 10'000));
  EXPECT_EQ(store_->workspace_by_id(id)->deadline_at, 70'000);
  EXPECT_EQ(*store_->next_workspace_deadline(), 70'000);

  EXPECT_TRUE(*store_->extend_workspace_deadline(id, 5'000));  // earlier activity: no change
  EXPECT_EQ(store_->workspace_by_id(id)->deadline_at, 70'000);
  EXPECT_TRUE(*store_->extend_workspace_deadline(id, 30'000));
  EXPECT_EQ(store_->workspace_by_id(id)->deadline_at, 90'000);

  EXPECT_TRUE(store_->stop_expired_workspaces(89'999)->empty());
  auto stops = store_->stop_expired_workspaces(90'000);
  ASSERT_TRUE(stops);
  ASSERT_EQ(stops->size(), 1u);
  EXPECT_EQ((*stops)[0].build.transition, Transition::stop);
  EXPECT_EQ((*stops)[0].build.reason, "autostop");
  EXPECT_EQ((*stops)[0].build.initiator_id, user_.id);
  EXPECT_EQ(store_->latest_build(id)->build.reason, "autostop") << "read back from the row";
  EXPECT_EQ(store_->workspace_by_id(id)->deadline_at, std::nullopt);
  EXPECT_EQ(*store_->next_workspace_deadline(), std::nullopt);
  EXPECT_TRUE(store_->stop_expired_workspaces(200'000)->empty()) << "stopped once";
}

TEST_P(SqliteStoreTest, NoDeadlineWithoutTtlOrAfterAFailedStart) {
  auto plain = create("plain");
  ASSERT_TRUE(store_->complete_job(plain->job.id, std::nullopt, std::nullopt, 10'000));
  EXPECT_EQ(store_->workspace_by_id(plain->workspace.id)->deadline_at, std::nullopt);
  auto failed = store_->create_workspace(
      {.organization_id = org_.id,
       .owner_id = user_.id,
       .template_id = tmpl_.id,
       .name = "broken",
       .ttl_ms = 1'000},
      {.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id});
  ASSERT_TRUE(failed);
  ASSERT_TRUE(store_->complete_job(failed->job.id, "boom", "SCRIPT_FAILED", 10'000));
  EXPECT_EQ(store_->workspace_by_id(failed->workspace.id)->deadline_at, std::nullopt);
  EXPECT_TRUE(store_->stop_expired_workspaces(1'000'000)->empty());
}

TEST_P(SqliteStoreTest, AgentConnectionAndLifecycle) {
  auto c = create("dev");
  auto agents = store_->insert_agents(c->build.id,
                                      {{.name = "main",
                                        .startup_script_timeout_ms = 1000,
                                        .connection_timeout_s = 60,
                                        .auth_token_hash = sha256_hex("t")}},
                                      now_ms());
  ASSERT_TRUE(agents) << agents.error().message;
  const auto id = agents->at(0).id;
  auto byhash = store_->agent_by_token_hash(sha256_hex("t"));
  ASSERT_TRUE(byhash);
  EXPECT_EQ(byhash->id, id);
  EXPECT_EQ(store_->agent_by_token_hash(sha256_hex("x")).error().code, ErrorCode::unauthenticated);

  UnixMillis t = now_ms();
  ASSERT_TRUE(store_->agent_connected(id, t, "r1"));
  EXPECT_EQ(store_->agent_by_id(id)->status(t, std::chrono::seconds(30)), AgentStatus::connected);
  ASSERT_TRUE(store_->agent_disconnected(id, t, "r1"));
  EXPECT_EQ(store_->agent_by_id(id)->status(t, std::chrono::seconds(30)),
            AgentStatus::disconnected);
  ASSERT_TRUE(
      store_->agent_connected(id, t, "r1"));  // same millisecond: still reads as reconnected
  EXPECT_EQ(store_->agent_by_id(id)->status(t + 1, std::chrono::seconds(30)),
            AgentStatus::connected);
  EXPECT_EQ(store_->agent_by_id(id)->replica_id, "r1");
  // The agent reconnected to replica r2 before r1 noticed its old socket close: r1's late
  // disconnect changes nothing.
  ASSERT_TRUE(store_->agent_connected(id, t + 2, "r2"));
  ASSERT_TRUE(store_->agent_disconnected(id, t + 3, "r1"));
  EXPECT_EQ(store_->agent_by_id(id)->replica_id, "r2");
  EXPECT_EQ(store_->agent_by_id(id)->status(t + 4, std::chrono::seconds(30)),
            AgentStatus::connected);

  ASSERT_TRUE(store_->set_agent_lifecycle(id, AgentLifecycle::starting, t));
  ASSERT_TRUE(store_->set_agent_lifecycle(id, AgentLifecycle::ready, t + 5));
  auto a = store_->agent_by_id(id);
  EXPECT_EQ(a->lifecycle_state, AgentLifecycle::ready);
  EXPECT_EQ(a->started_at, t);
  EXPECT_EQ(a->ready_at, t + 5);
}

TEST_P(SqliteStoreTest, LogsAreOrderedAndPaged) {
  auto c = create("dev");
  ASSERT_TRUE(
      store_->append_job_logs(c->job.id, {{"start", "info", "one"}, {"start", "info", "two"}}, 1));
  ASSERT_TRUE(store_->append_job_logs(c->job.id, {{"start", "error", "three"}}, 2));
  auto all = store_->job_logs(c->job.id, 0, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(all->at(2).output, "three");
  EXPECT_EQ(all->at(2).seq, 3);
  auto after = store_->job_logs(c->job.id, 2, 100);
  ASSERT_EQ(after->size(), 1u);
}

TEST_P(SqliteStoreTest, PresetsHaveIdsInTemplateOrder) {
  NewTemplateVersion v{.organization_id = org_.id,
                       .name = "withpresets",
                       .isolation = "process",
                       .source = "x",
                       .spec = "{}",
                       .created_by = user_.id,
                       .presets = {{.name = "zeta", .parameters = R"({"a":"1"})"},
                                   {.name = "alpha", .is_default = true, .desired_instances = 2}}};
  auto pushed = store_->push_template_version(v);
  ASSERT_TRUE(pushed) << pushed.error().message;
  auto presets = store_->presets_for_version(pushed->version.id);
  ASSERT_TRUE(presets);
  ASSERT_EQ(presets->size(), 2u);
  EXPECT_EQ(presets->at(0).name, "zeta");
  EXPECT_EQ(presets->at(0).parameters, R"({"a":"1"})");
  EXPECT_EQ(presets->at(1).name, "alpha");
  EXPECT_TRUE(presets->at(1).is_default);
  EXPECT_EQ(presets->at(1).desired_instances, 2);
  EXPECT_TRUE(looks_like_uuid(presets->at(1).id));
  auto one = store_->preset_by_id(presets->at(1).id);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->name, "alpha");
  EXPECT_EQ(store_->preset_by_id(new_uuid()).error().code, ErrorCode::not_found);
}

TEST_P(SqliteStoreTest, ChatsByKeyAreCreatedOnceAndBindWorkspaces) {
  auto a = store_->chat_for_key(org_.id, user_.id, "support");
  ASSERT_TRUE(a) << a.error().message;
  auto b = store_->chat_for_key(org_.id, user_.id, "support");
  ASSERT_TRUE(b);
  EXPECT_EQ(a->id, b->id);
  EXPECT_FALSE(a->workspace_id.has_value());
  auto other = store_->create_chat(org_.id, user_.id, std::nullopt, "scratch");
  ASSERT_TRUE(other);
  EXPECT_NE(other->id, a->id);
  EXPECT_EQ(store_->list_chats(user_.id)->size(), 2u);

  NewWorkspace ws{
      .organization_id = org_.id, .owner_id = user_.id, .template_id = tmpl_.id, .name = "w1"};
  NewBuild build{.template_version_id = tmpl_.active_version_id, .initiator_id = user_.id};
  auto created = store_->create_workspace_for_chat(a->id, std::nullopt, ws, build);
  ASSERT_TRUE(created) << created.error().message;
  auto bound = store_->chat_by_id(a->id);
  EXPECT_EQ(bound->workspace_id, created->workspace.id);
  EXPECT_EQ(bound->build_id, created->build.id);
  EXPECT_FALSE(bound->agent_id.has_value());

  // A second caller that decided from the old (unbound) state must not create another.
  ws.name = "w2";
  auto late = store_->create_workspace_for_chat(a->id, std::nullopt, ws, build);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().message, "chat binding changed");
  EXPECT_EQ(store_->list_workspaces(std::nullopt)->size(), 1u) << "nothing was created";

  auto cleared = store_->set_chat_binding(a->id, std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(cleared->workspace_id.has_value());
  EXPECT_EQ(store_->chat_by_id(new_uuid()).error().code, ErrorCode::not_found);
}

TEST_P(SqliteStoreTest, SiteConfig) {
  EXPECT_FALSE(store_->config("agents_workspace_ttl")->has_value());
  ASSERT_TRUE(store_->set_config("agents_workspace_ttl", "2h"));
  ASSERT_TRUE(store_->set_config("agents_workspace_ttl", "3h"));
  EXPECT_EQ(store_->config("agents_workspace_ttl")->value(), "3h");
}

INSTANTIATE_TEST_SUITE_P(Drivers, SqliteStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::store
