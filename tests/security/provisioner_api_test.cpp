// The provisioner daemons' API (POST /api/v1/provisioner/call) changes builds, agents and
// quotas, so it is replayed here as an attacker would: without a key, with a user's token, with
// a key acting as another key's daemon or as a server's embedded provisioner, on jobs it never
// claimed, on agents of other workspaces, and with junk. And a daemon's agent socket, which
// sandboxes reach, carries the agent endpoint only. The server answers throughout.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

constexpr const char* kPath = "/api/v1/provisioner/call";

HttpReply call(const TestServer& server, const std::string& key, const std::string& body) {
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
  if (!key.empty()) headers["Authorization"] = "Bearer " + key;
  return http_request(server.url(), "POST", kPath, headers, body);
}

HttpReply call(const TestServer& server, const std::string& key, const std::string& id,
               const std::string& method, const json& params = json::object()) {
  return call(server, key,
              json{{"provisioner_id", id}, {"method", method}, {"params", params}}.dump());
}

std::string make_key(TestServer& server, const std::string& name) {
  auto key = server.admin().post("/api/v1/provisioner-keys", {{"name", name}});
  EXPECT_TRUE(key) << (key ? "" : key.error().message);
  return key ? (*key)["key"].get<std::string>() : "";
}

const std::string kDaemon = "11111111-2222-3333-4444-555555555555";

TEST(ProvisionerApi, OnlyAKeysOwnDaemonActsAndOnlyOnItsOwnJobs) {
  ServerFlags flags;
  flags.extra_args = {"--provisioners", "0"};
  TestServer server(flags);
  server.push_template("name: shell\nagents:\n  - name: main\n");
  const std::string k1 = make_key(server, "one");
  const std::string k2 = make_key(server, "two");

  // No key, a user's token, the admin's, a guess: refused alike.
  const std::string member = server.create_member("mallory");
  for (const std::string& bearer :
       {std::string(), member, server.admin_token(), std::string("bpk_0123456789abcdef_guess")}) {
    auto r = call(server, bearer, kDaemon, "heartbeat");
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.json_body()["message"], "missing or invalid provisioner key") << r.body;
  }
  // Junk from a key holder: clear errors.
  const std::string needs =
      "a provisioner call needs provisioner_id and method (strings) and params (an object)";
  for (const std::string& body : {std::string("not json"), std::string("[]"),
                                  std::string(R"({"provisioner_id":1,"method":"x"})")}) {
    auto r = call(server, k1, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_EQ(call(server, k1, R"({"provisioner_id":"a","method":"x"})").json_body()["message"],
            "provisioner a is not registered");
  auto bad_params = call(server, k1, R"({"provisioner_id":"a","method":"x","params":[]})");
  EXPECT_EQ(bad_params.json_body()["message"], "params must be an object") << bad_params.body;

  // k1 registers its daemon; k2 may neither act as it nor take over its id.
  auto reg = call(server, k1, kDaemon, "register", {{"name", "d1"}, {"worker_id", kDaemon + "/1"}});
  ASSERT_EQ(reg.status, 200) << reg.body;
  EXPECT_EQ(call(server, k1, kDaemon, "register", {{"name", "d1"}, {"worker_id", "other/1"}})
                .json_body()["message"],
            "worker_id must be \"<provisioner_id>/<process>\"");
  for (const char* method : {"register", "heartbeat", "acquire"}) {
    auto r = call(server, k2, kDaemon, method,
                  {{"name", "x"}, {"worker_id", kDaemon + "/2"}, {"build_timeout_ms", 60000}});
    EXPECT_EQ(r.status, 403) << method << ": " << r.body;
    EXPECT_NE(r.body.find("belongs to another key or to a server"), std::string::npos) << r.body;
  }
  EXPECT_EQ(call(server, k1, kDaemon, "no_such").json_body()["message"],
            "unknown provisioner method \"no_such\"");

  // A workspace whose build k1's daemon claims, and one it never sees.
  auto api = server.admin();
  auto mine = api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "mine"}});
  ASSERT_TRUE(mine);
  auto acquired = call(server, k1, kDaemon, "acquire", {{"build_timeout_ms", 60000}});
  ASSERT_EQ(acquired.status, 200) << acquired.body;
  json job = acquired.json_body()["result"]["job"];
  ASSERT_TRUE(job.is_object()) << acquired.body;
  const json ref = {{"job_id", job["job"]["id"]},
                    {"build_id", job["build"]["id"]},
                    {"workspace_id", job["workspace"]["id"]}};
  auto other = api.post("/api/v1/workspaces", {{"template", "shell"}, {"name", "other"}});
  ASSERT_TRUE(other);
  const std::string other_job = (*other)["latest_build"]["job"]["id"];
  const std::string other_build = (*other)["latest_build"]["id"];

  // k2's daemon (registered) cannot touch k1's job; k1's cannot touch a job it did not claim,
  // nor dress its own job up with another workspace's build.
  const std::string d2 = "99999999-2222-3333-4444-555555555555";
  ASSERT_EQ(call(server, k2, d2, "register", {{"name", "d2"}, {"worker_id", d2 + "/1"}}).status,
            200);
  auto stolen = call(server, k2, d2, "complete", {{"job", ref}});
  EXPECT_EQ(stolen.status, 403) << stolen.body;
  EXPECT_EQ(stolen.json_body()["message"],
            "job " + ref["job_id"].get<std::string>() + " is not held by this provisioner");
  auto unclaimed = call(
      server, k1, kDaemon, "complete",
      {{"job",
        {{"job_id", other_job}, {"build_id", other_build}, {"workspace_id", (*other)["id"]}}}});
  EXPECT_EQ(unclaimed.status, 403) << unclaimed.body;
  json dressed = ref;
  dressed["build_id"] = other_build;
  auto mixed = call(server, k1, kDaemon, "sandbox_number", {{"job", dressed}});
  EXPECT_EQ(mixed.status, 403) << mixed.body;
  EXPECT_EQ(mixed.json_body()["message"],
            "build " + other_build + " is not held by this provisioner");

  // Junk in a held job's calls.
  auto bad_hash = call(server, k1, kDaemon, "insert_agents",
                       {{"job", ref},
                        {"agents", json::array({{{"name", "main"},
                                                 {"display_order", 0},
                                                 {"is_chat", true},
                                                 {"external", false},
                                                 {"directory", ""},
                                                 {"startup_script", ""},
                                                 {"startup_script_timeout_ms", 0},
                                                 {"connection_timeout_s", 120},
                                                 {"env", "{}"},
                                                 {"auth_token_hash", "short"}}})}});
  EXPECT_EQ(bad_hash.json_body()["message"], "auth_token_hash must be a SHA-256 in hex");
  // A float where a whole number belongs (converting it would be undefined behaviour).
  json huge = json::parse(R"([{"name":"main","display_order":0,"is_chat":true,"external":false,
      "directory":"","startup_script":"","startup_script_timeout_ms":3.3e53,
      "connection_timeout_s":120,"env":"{}","auth_token_hash":"x"}])");
  auto floated = call(server, k1, kDaemon, "insert_agents", {{"job", ref}, {"agents", huge}});
  EXPECT_EQ(floated.status, 400) << floated.body;
  EXPECT_NE(floated.body.find("startup_script_timeout_ms must be a whole number"),
            std::string::npos)
      << floated.body;
  auto not_agents = call(server, k1, kDaemon, "insert_agents", {{"job", ref}, {"agents", 5}});
  EXPECT_EQ(not_agents.json_body()["message"], "agents must be an array") << not_agents.body;
  auto malformed = call(server, k1, kDaemon, "append_logs",
                        {{"job", ref}, {"lines", json::array({{{"stage", 1}}})}});
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  json many = json::array();
  for (int i = 0; i < 10'001; ++i)
    many.push_back({{"stage", "s"}, {"level", "info"}, {"output", ""}});
  auto flood = call(server, k1, kDaemon, "append_logs", {{"job", ref}, {"lines", many}});
  EXPECT_EQ(flood.json_body()["message"], "at most 10000 log lines per call") << flood.body;
  auto no_agent =
      call(server, k1, kDaemon, "set_agent_pid", {{"job", ref}, {"agent_id", "nope"}, {"pid", 1}});
  EXPECT_EQ(no_agent.status, 403) << no_agent.body;
  auto egress = call(server, k1, kDaemon, "workspace_egress", {{"workspace_id", (*other)["id"]}});
  EXPECT_EQ(egress.status, 404) << egress.body;

  // Its own job: it completes once, with its error; the second time is refused.
  auto done = call(server, k1, kDaemon, "complete",
                   {{"job", ref}, {"error", "a hostile daemon gave up"}, {"error_code", "X"}});
  EXPECT_EQ(done.status, 200) << done.body;
  auto again = call(server, k1, kDaemon, "complete", {{"job", ref}});
  EXPECT_EQ(again.status, 409) << again.body;
  auto ws = api.get("/api/v1/workspaces/" + ref["workspace_id"].get<std::string>());
  ASSERT_TRUE(ws);
  EXPECT_EQ((*ws)["latest_build"]["job"]["error"], "a hostile daemon gave up");

  // A deleted key stops working at once; the server still answers everyone else.
  ASSERT_TRUE(api.del("/api/v1/provisioner-keys/one"));
  EXPECT_EQ(call(server, k1, kDaemon, "heartbeat").status, 401);
  EXPECT_TRUE(api.get("/api/v1/workspaces"));
}

TEST(ProvisionerApi, NoKeyMayPoseAsAServersEmbeddedProvisioner) {
  TestServer server;  // with its embedded provisioner
  const std::string embedded = read_file(server.data_dir() / "provisioner.id").substr(0, 36);
  const std::string key = make_key(server, "fleet");
  auto r = call(server, key, embedded, "register",
                {{"name", "impostor"}, {"worker_id", embedded + "/x"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json_body()["message"],
            "provisioner " + embedded + " belongs to another key or to a server");
  EXPECT_EQ(call(server, key, embedded, "acquire", {{"build_timeout_ms", 60000}}).status, 403);
}

// What a sandbox could send down a daemon's agent socket: anything but the agent endpoint is
// answered there, never carried to the server.
TEST(ProvisionerApi, ADaemonsAgentSocketCarriesTheAgentEndpointOnly) {
  ServerFlags flags;
  flags.extra_args = {"--provisioners", "0"};
  TestServer server(flags);
  const std::string key = make_key(server, "fleet");
  const auto dir = server.data_dir() / "daemon";
  server.spawn_berth(
      {"--url", server.url(), "provisioner", "--key", key, "--data-dir", dir.string()}, dir);
  const auto sock = dir / "run" / "agent.sock";
  for (int i = 0; i < 200 && !std::filesystem::exists(sock); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(std::filesystem::exists(sock)) << read_file(dir / "berth.log");
  auto ask = [&](const std::string& request) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
  };
  const std::string bearer = "Authorization: Bearer " + server.admin_token() + "\r\n";
  for (const std::string& request :
       {"GET /api/v1/workspaces HTTP/1.1\r\nHost: x\r\n" + bearer + "\r\n",
        std::string(
            "POST /api/v1/provisioner/call HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"),
        std::string("GET /api/v1/agent/connect HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    auto answer = ask(request);
    EXPECT_NE(answer.find("404"), std::string::npos) << answer;
    EXPECT_NE(answer.find("this socket carries workspace agents to the Berth server only"),
              std::string::npos)
        << answer;
  }
  // Garbage and a header flood end the connection; the daemon keeps serving.
  (void)ask("\x16\x03\x01 not http at all\r\n\r\n");
  (void)ask("GET / HTTP/1.1\r\nX: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_NE(ask("GET /x HTTP/1.1\r\nHost: x\r\n\r\n").find("404"), std::string::npos);
  EXPECT_TRUE(server.admin().get("/api/v1/workspaces"));
}

}  // namespace
}  // namespace berth::testing
