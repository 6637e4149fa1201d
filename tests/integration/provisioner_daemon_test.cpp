// `berth provisioner` daemons: each with its own data directory standing in for a host, talking
// to a server over real HTTP with a real provisioner key. A daemon builds workspaces with the
// same isolation as the embedded provisioner (its sandboxes' agents reach the server through
// the daemon's agent socket), a daemon killed mid-build has its job failed within the hung-job
// timeout and the next build runs on the other daemon, and tags decide which daemon takes a
// job. Runs on both stores.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kShell = "name: shell\nagents:\n  - name: main\n";

// A server that builds nothing itself and fails builds not heard from for 3 s.
ServerFlags daemon_server(bool unisolated = false) {
  ServerFlags f;
  f.allow_unisolated = unisolated;
  f.extra_args = {"--provisioners", "0", "--hung-job-timeout", "3s"};
  return f;
}

std::string make_key(TestServer& server, const std::string& name, const json& tags = {}) {
  json body{{"name", name}};
  if (!tags.is_null()) body["tags"] = tags;
  auto key = server.admin().post("/api/v1/provisioner-keys", body);
  EXPECT_TRUE(key) << (key ? "" : key.error().message);
  return key ? (*key)["key"].get<std::string>() : "";
}

struct Daemon {
  int pid = -1;
  fs::path dir;
  std::string id() const { return read_file(dir / "provisioner.id").substr(0, 36); }
};

// Starts a daemon of `server` with data in its data_dir()/NAME (so the test's end kills what
// it started) and waits until `lister` (default: the server) lists it.
Daemon start_daemon(TestServer& server, const std::string& name, const std::string& key,
                    std::vector<std::string> more = {}, const TestServer* lister = nullptr) {
  Daemon d;
  d.dir = server.data_dir() / name;
  std::vector<std::string> args = {"--url", server.url(),  "provisioner",  "--key",
                                   key,     "--data-dir",  d.dir.string(), "--name",
                                   name,    "--heartbeat", "500ms"};
  args.insert(args.end(), more.begin(), more.end());
  d.pid = server.spawn_berth(args, d.dir);
  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    auto hosts = (lister ? lister : &server)->admin().get("/api/v1/provisioners");
    if (hosts && hosts->dump().find("\"name\":\"" + name + "\"") != std::string::npos) return d;
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "daemon " << name << " never registered: " << read_file(d.dir / "berth.log")
                << read_file(d.dir / "berth.out");
  return d;
}

std::string create(cli::ApiClient& api, const std::string& tmpl, const std::string& name) {
  auto created = api.post("/api/v1/workspaces", {{"template", tmpl}, {"name", name}});
  EXPECT_TRUE(created) << (created ? "" : created.error().message);
  return created ? (*created)["id"].get<std::string>() : "";
}

TEST(ProvisionerDaemons, ASandboxedWorkspaceBuiltByADaemonIsReachedThroughTheServer) {
  TestServer server(daemon_server());
  server.push_template(kShell);
  Daemon d = start_daemon(server, "host-a", make_key(server, "fleet"));
  auto api = server.admin();
  const std::string id = create(api, "shell", "remote");
  auto ws = wait_settled(api, id);
  ASSERT_EQ(ws["status"], "running") << ws.dump(2);
  EXPECT_EQ(ws["provisioner_id"], d.id());
  EXPECT_TRUE(fs::exists(d.dir / "workspaces" / id)) << "its files are on the daemon's host";
  // The agent dialled the daemon's socket; the server holds its connection and reaches it.
  const std::string agent = ws["agents"][0]["id"];
  auto ran = api.post("/api/v1/agents/" + agent + "/exec", {{"command", "echo from-$((6*7))"}});
  ASSERT_TRUE(ran) << ran.error().message;
  EXPECT_NE(ran->dump().find("from-42"), std::string::npos) << ran->dump();
  // The build log streamed from the daemon.
  auto log = server.cli({"workspaces", "logs", "remote"}, server.admin_token());
  EXPECT_NE(log.out.find("started agent main"), std::string::npos) << log.out << log.err;
  // Stop and start run on the same host, which ends and restarts the agent there.
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/stop", json::object()));
  EXPECT_EQ(wait_settled(api, id)["status"], "stopped");
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/start", json::object()));
  EXPECT_EQ(wait_settled(api, id)["status"], "running");
}

TEST(ProvisionerDaemons, ADaemonKilledMidBuildFailsItsJobAndTheNextBuildRunsOnTheOther) {
  TestServer server(daemon_server(/*unisolated=*/true));
  const fs::path slow = server.data_dir() / "slow";
  std::ofstream(slow) << "1";
  server.push_template(fmt::format(
      "name: gated\nisolation: process\nagents:\n  - name: main\nscripts:\n  start: |\n    "
      "echo building on $(basename $(dirname $(dirname $BERTH_WORKSPACE_DIR)))\n    "
      "while [ -e {} ]; do sleep 0.1; done\n",
      slow.string()));
  const std::string key = make_key(server, "fleet");
  Daemon a = start_daemon(server, "host-a", key, {"--allow-unisolated"});
  auto api = server.admin();
  const std::string id = create(api, "gated", "survivor");
  // Host a has the build (it is the only daemon); then b joins and a dies.
  poll_workspace(api, id,
                 [](const json& w) { return w["latest_build"]["job"]["status"] == "running"; });
  Daemon b = start_daemon(server, "host-b", key, {"--allow-unisolated"});
  ::kill(a.pid, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  auto failed = poll_workspace(
      api, id, [](const json& w) { return w["latest_build"]["job"]["status"] == "failed"; }, 20s);
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_EQ(failed["latest_build"]["job"]["error_code"], "PROVISIONER_LOST") << failed.dump(2);
  EXPECT_NE(failed["latest_build"]["job"]["error"].get<std::string>().find("went away"),
            std::string::npos);
  EXPECT_LT(took, 10s) << "the hung-job timeout is 3s";
  // The first start failed, so the workspace lives nowhere yet: the next start runs on b.
  fs::remove(slow);
  ASSERT_TRUE(api.post("/api/v1/workspaces/" + id + "/start", json::object()));
  auto ws = wait_settled(api, id);
  EXPECT_EQ(ws["status"], "running") << ws.dump(2);
  EXPECT_EQ(ws["provisioner_id"], b.id());
  auto log = server.cli({"workspaces", "logs", "survivor"}, server.admin_token());
  EXPECT_NE(log.out.find("building on host-b"), std::string::npos) << log.out;
}

TEST(ProvisionerDaemons, ADaemonNeverTakesAJobItsTagsDoNotMatch) {
  TestServer server(daemon_server());
  server.push_template("name: gpu\nprovisioner_tags:\n  gpu: a100\nagents:\n  - name: main\n");
  server.push_template("name: mars\nprovisioner_tags:\n  zone: mars\nagents:\n  - name: main\n");
  server.push_template(kShell);
  Daemon gpu = start_daemon(server, "gpu-host", make_key(server, "gpus", {{"gpu", "a100"}}));
  Daemon plain = start_daemon(server, "plain-host", make_key(server, "plain"));
  auto api = server.admin();
  const std::string mars = create(api, "mars", "nowhere");
  const std::string tagged = create(api, "gpu", "trainer");
  const std::string untagged = create(api, "shell", "ordinary");
  EXPECT_EQ(wait_settled(api, tagged)["provisioner_id"], gpu.id());
  EXPECT_EQ(wait_settled(api, untagged)["provisioner_id"], plain.id())
      << "an untagged job goes to an untagged provisioner only";
  // No host offers zone=mars: the job waits, untouched, however long.
  std::this_thread::sleep_for(1500ms);
  auto waiting = api.get("/api/v1/workspaces/" + mars);
  ASSERT_TRUE(waiting);
  EXPECT_EQ((*waiting)["latest_build"]["job"]["status"], "pending") << waiting->dump(2);
  // A daemon of a tagged key cannot offer other tags.
  auto refused =
      server.cli({"provisioner", "--key", make_key(server, "fixed", {{"gpu", "h100"}}), "--tags",
                  "zone=mars", "--data-dir", (server.data_dir() / "liar").string()},
                 server.admin_token());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("this provisioner key's daemons offer gpu=h100; --tags zone=mars is "
                             "not allowed"),
            std::string::npos)
      << refused.err;
  // A key without tags lets its daemon say: zone=mars now has a host.
  Daemon martian =
      start_daemon(server, "mars-host", make_key(server, "martians"), {"--tags", "zone=mars"});
  EXPECT_EQ(wait_settled(api, mars)["provisioner_id"], martian.id());
}

TEST(ProvisionerDaemons, BadKeysAndFlagsSayWhatIsWrong) {
  TestServer server(daemon_server());
  auto no_key = server.cli({"provisioner", "--data-dir", (server.data_dir() / "x").string()});
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_NE(no_key.err.find("a provisioner daemon needs a key"), std::string::npos) << no_key.err;
  auto wrong = server.cli(
      {"provisioner", "--key", "bpk_0000_1111", "--data-dir", (server.data_dir() / "y").string()});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("missing or invalid provisioner key"), std::string::npos) << wrong.err;
  auto tags = server.cli({"provisioner", "--key", "bpk_0000_1111", "--tags", "gpu"});
  EXPECT_EQ(tags.exit_code, 1);
  EXPECT_NE(tags.err.find("invalid --tags: tag \"gpu\" has no value"), std::string::npos)
      << tags.err;
  // Keys are for site admins; names are checked.
  const std::string member = server.create_member("bob");
  auto denied = server.cli({"provisioner-keys", "create", "mine"}, member);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("create provisioner keys"), std::string::npos) << denied.err;
  auto twice = server.cli({"provisioner-keys", "create", "fleet"}, server.admin_token());
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  twice = server.cli({"provisioner-keys", "create", "fleet"}, server.admin_token());
  EXPECT_NE(twice.err.find("a provisioner key named \"fleet\" already exists"), std::string::npos)
      << twice.err;
  auto deleted = server.cli({"provisioner-keys", "delete", "fleet"}, server.admin_token());
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  auto gone = server.cli({"provisioner-keys", "delete", "fleet"}, server.admin_token());
  EXPECT_NE(gone.err.find("no provisioner key named \"fleet\""), std::string::npos) << gone.err;
}

// The deployment of docs/scaling.md in small: three replicas that build nothing, on one
// PostgreSQL database, and two daemons, each talking to a different replica. Chats spread over
// the replicas all get workspaces, built by both daemons, and every replica reaches every agent.
TEST(ProvisionerDaemons, ThreeReplicasAndTwoDaemonsServeChatsTogether) {
  if (!postgres_store()) GTEST_SKIP() << "replicas share a PostgreSQL database";
  TestServer a(daemon_server());
  ServerFlags replica = daemon_server();
  replica.database_url = a.database_url();
  TestServer b(replica);
  TestServer c(replica);
  const std::string tid = a.push_template(kShell)["id"];
  const std::string key = make_key(a, "fleet");
  Daemon d1 = start_daemon(b, "host-1", key, {}, &a);
  Daemon d2 = start_daemon(c, "host-2", key, {}, &a);
  const TestServer* servers[] = {&a, &b, &c};
  constexpr int kChats = 12;
  std::vector<json> results(kChats);
  std::vector<std::thread> threads;
  for (int i = 0; i < kChats; ++i) {
    threads.emplace_back([&, i] {
      McpClient mcp(*servers[i % 3], a.admin_token(), "chat-" + std::to_string(i));
      results[i] = mcp.call("create_workspace", {{"template_id", tid}})["structuredContent"];
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_EQ(r.value("created", false), true) << r.dump();
    EXPECT_FALSE(r.contains("status")) << "ready when answered: " << r.dump();
  }
  auto list = a.admin().get("/api/v1/workspaces");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), static_cast<std::size_t>(kChats));
  std::map<std::string, int> per_host;
  for (const auto& w : *list) ++per_host[w.value("provisioner_id", std::string("none"))];
  EXPECT_EQ(per_host.size(), 2u) << list->dump();
  EXPECT_GT(per_host[d1.id()], 0);
  EXPECT_GT(per_host[d2.id()], 0);
  for (int i = 0; i < kChats; ++i) {
    McpClient mcp(*servers[(i + 1) % 3], a.admin_token(), "chat-" + std::to_string(i));
    auto ran = mcp.call("execute", {{"command", "echo ok-" + std::to_string(i)}});
    EXPECT_NE(ran.dump().find("ok-" + std::to_string(i)), std::string::npos) << ran.dump();
  }
}

}  // namespace
}  // namespace berth::testing
