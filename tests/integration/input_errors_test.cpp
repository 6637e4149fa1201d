// Bad input gets a clear error that says what is wrong and what to do, and loses nothing.
#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>
#include <fstream>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

// Sends raw bytes and returns the raw answer (for requests our client would never send).
std::string raw_http(const std::string& url, const std::string& request) {
  namespace asio = boost::asio;
  auto u = boost::urls::parse_uri(url);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  asio::ip::tcp::resolver r(io);
  asio::connect(s, r.resolve(std::string(u->host()), std::string(u->port())));
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

TEST(InputErrors, MalformedTemplateIsRefusedWithFileLineAndFieldAndNothingIsStored) {
  TestServer server;
  auto api = server.admin();
  auto r =
      api.post("/api/v1/templates",
               {{"files",
                 {{"template.yaml",
                   "name: demo\nagents:\n  - name: main\n    startup_script_timeout: soon\n"}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("template.yaml:4: agents[0].startup_script_timeout"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().detail, "fix template.yaml and push again; nothing was stored");
  ASSERT_EQ(r.error().validations.size(), 1u);
  EXPECT_EQ(r.error().validations[0].field, "template.yaml:4: agents[0].startup_script_timeout");
  EXPECT_TRUE(api.get("/api/v1/templates")->empty());

  auto syntax =
      api.post("/api/v1/templates", {{"files", {{"template.yaml", "name: [unclosed\n"}}}});
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().message.find("not valid YAML"), std::string::npos);

  auto missing = api.post("/api/v1/templates", {{"files", {{"README.md", "hi"}}}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "template.yaml is missing");
  EXPECT_TRUE(api.get("/api/v1/templates")->empty());
}

TEST(InputErrors, CliTemplatePushNamesTheProblem) {
  TestServer server;
  fs::path dir = server.data_dir() / "tpl";
  fs::create_directories(dir);
  std::ofstream(dir / "template.yaml") << "name: demo\nisolation: vm\nagents:\n  - name: main\n";
  auto r = server.cli({"templates", "push", dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: template.yaml:2: isolation: unknown isolation \"vm\"; use process, "
                       "sandbox or script"),
            std::string::npos)
      << r.err;
  auto nodir = server.cli({"templates", "push", "/nonexistent/tpl"});
  EXPECT_EQ(nodir.exit_code, 1);
  EXPECT_NE(nodir.err.find("template directory /nonexistent/tpl does not exist"), std::string::npos)
      << nodir.err;

  std::ofstream(dir / "template.yaml", std::ios::trunc) << "name: demo\nagents:\n  - name: main\n";
  auto ok = server.cli({"templates", "push", dir.string(), "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  json pushed = json::parse(ok.out);
  EXPECT_FALSE(pushed.value("id", "").empty());
  EXPECT_EQ(pushed["version"]["number"], 1);
}

TEST(InputErrors, BadWorkspaceRequests) {
  TestServer server;
  server.push_template(
      "name: t\nparameters:\n  - {name: size, type: number, default: \"1\", validation: {max: "
      "4}}\npresets:\n  - {name: small, parameters: {size: \"1\"}}\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto bad_name = api.post("/api/v1/workspaces", {{"template", "t"}, {"name", "no spaces"}});
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().message,
            "invalid workspace name \"no spaces\": must be alphanumeric with hyphens");
  EXPECT_EQ(bad_name.error().validations[0].field, "name");

  auto bad_param =
      api.post("/api/v1/workspaces",
               {{"template", "t"}, {"parameters", {{"size", "9"}, {"colour", "red"}}}});
  ASSERT_FALSE(bad_param);
  ASSERT_EQ(bad_param.error().validations.size(), 2u);
  EXPECT_EQ(bad_param.error().validations[0].field, "colour");
  EXPECT_EQ(bad_param.error().validations[1].detail, "9 is above the maximum 4");

  auto bad_preset = api.post("/api/v1/workspaces", {{"template", "t"}, {"preset", "huge"}});
  ASSERT_FALSE(bad_preset);
  EXPECT_EQ(bad_preset.error().message, "template t has no preset \"huge\"");
  EXPECT_EQ(bad_preset.error().detail, "available presets: small");

  auto no_template = api.post("/api/v1/workspaces", json::object());
  ASSERT_FALSE(no_template);
  EXPECT_EQ(no_template.error().message, "a template is required");

  auto wrong_type = api.post("/api/v1/workspaces", {{"template", 5}});
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().message, "field \"template\" must be a string");

  ASSERT_TRUE(api.post("/api/v1/workspaces", {{"template", "t"}, {"name", "taken"}}));
  auto dup = api.post("/api/v1/workspaces", {{"template", "t"}, {"name", "taken"}});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "a workspace named \"taken\" already exists");
  EXPECT_EQ(api.get("/api/v1/workspaces")->size(), 1u) << "nothing extra was stored";
}

TEST(InputErrors, MalformedHttp) {
  TestServer server;
  std::string auth = "Authorization: Bearer " + server.admin_token() + "\r\n";
  auto bad_json =
      raw_http(server.url(), "POST /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                                 "Content-Length: 5\r\nConnection: close\r\n\r\n{nope");
  EXPECT_NE(bad_json.find("HTTP/1.1 400"), std::string::npos) << bad_json;
  EXPECT_NE(bad_json.find("request body is not valid JSON"), std::string::npos) << bad_json;

  auto not_object =
      raw_http(server.url(), "POST /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                                 "Content-Length: 2\r\nConnection: close\r\n\r\n[]");
  EXPECT_NE(not_object.find("request body must be a JSON object"), std::string::npos) << not_object;

  auto huge =
      raw_http(server.url(), "POST /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                                 "Content-Length: 99999999\r\nConnection: close\r\n\r\n{}");
  EXPECT_NE(huge.find("HTTP/1.1 413"), std::string::npos) << huge;
  EXPECT_NE(huge.find("larger than the limit"), std::string::npos) << huge;
  auto huge_mcp =
      raw_http(server.url(), "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                                 "Content-Length: 99999999\r\nConnection: close\r\n\r\n{}");
  EXPECT_NE(huge_mcp.find("HTTP/1.1 413"), std::string::npos) << huge_mcp;
  EXPECT_NE(huge_mcp.find("\"code\":-32600"), std::string::npos)
      << "a JSON-RPC error: " << huge_mcp;

  auto unknown = raw_http(
      server.url(), "GET /api/v1/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(unknown.find("HTTP/1.1 404"), std::string::npos) << unknown;
  auto method = raw_http(server.url(), "PATCH /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                           auth + "Connection: close\r\n\r\n");
  EXPECT_NE(method.find("HTTP/1.1 405"), std::string::npos) << method;
  auto unauth =
      raw_http(server.url(),
               "GET /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(unauth.find("HTTP/1.1 401"), std::string::npos) << unauth;
  EXPECT_NE(unauth.find("WWW-Authenticate: Bearer"), std::string::npos) << unauth;
  auto garbage = raw_http(server.url(), "\x01\x02 not http at all\r\n\r\n");
  (void)garbage;  // whatever it answers, the server must still serve the next request:
  EXPECT_TRUE(server.admin().get("/api/v1/workspaces"));
}

TEST(InputErrors, CliArguments) {
  TestServer server;
  server.push_template("name: t\nagents:\n  - name: main\n");
  auto param = server.cli({"workspaces", "create", "--template", "t", "--param", "oops"});
  EXPECT_EQ(param.exit_code, 1);
  EXPECT_NE(param.err.find("--param \"oops\" is not NAME=VALUE"), std::string::npos) << param.err;
  auto ttl = server.cli({"workspaces", "create", "--template", "t", "--ttl", "forever"});
  EXPECT_EQ(ttl.exit_code, 1);
  EXPECT_NE(ttl.err.find("invalid duration \"forever\""), std::string::npos) << ttl.err;
  auto missing = server.cli({"workspaces", "create"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("--template is required"), std::string::npos) << missing.err;
  auto unreachable = server.cli({"--url", "http://127.0.0.1:1", "workspaces", "list"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("cannot reach the Berth server at http://127.0.0.1:1"),
            std::string::npos)
      << unreachable.err;
  // Server and daemon flags that cannot work are refused before anything starts.
  const std::string other_dir = (server.data_dir() / "other").string();
  auto hung = server.cli({"server", "--data-dir", other_dir, "--hung-job-timeout", "500ms"});
  EXPECT_EQ(hung.exit_code, 1);
  EXPECT_NE(hung.err.find("--hung-job-timeout must be at least 1s"), std::string::npos) << hung.err;
  auto two = server.cli({"server", "--data-dir", other_dir, "--provisioners", "2"});
  EXPECT_NE(two.exit_code, 0);
  EXPECT_NE(two.err.find("--provisioners: Value 2 not in range 0 to 1"), std::string::npos)
      << two.err;
  auto beat = server.cli(
      {"provisioner", "--key", "bpk_x_y", "--heartbeat", "10ms", "--data-dir", other_dir});
  EXPECT_EQ(beat.exit_code, 1);
  EXPECT_NE(beat.err.find("--heartbeat must be at least 100ms and --max-jobs at least 1"),
            std::string::npos)
      << beat.err;
  auto json_err = server.cli({"workspaces", "show", "nope", "--json"});
  EXPECT_EQ(json_err.exit_code, 1);
  EXPECT_EQ(json::parse(json_err.out)["message"], "workspace nope not found");
}

TEST(InputErrors, SiteSettings) {
  TestServer server;
  auto low = server.cli({"config", "set", "agents_workspace_ttl", "30s"});
  EXPECT_EQ(low.exit_code, 1);
  EXPECT_NE(low.err.find("Workspace TTL must not be less than 1 minute."), std::string::npos)
      << low.err;
  auto high = server.cli({"config", "set", "agents_workspace_ttl", "800h"});
  EXPECT_NE(high.err.find("Workspace TTL must not exceed 30 days."), std::string::npos) << high.err;
  auto unknown = server.cli({"config", "set", "colour", "blue"});
  EXPECT_NE(unknown.err.find("unknown setting \"colour\""), std::string::npos) << unknown.err;
  auto ok = server.cli({"config", "set", "agents_workspace_ttl", "2h"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto get = server.cli({"config", "get", "agents_workspace_ttl"});
  EXPECT_EQ(get.out, "2h0m0s\n");
}

// Server flags that make no sense stop the server before it starts, saying why.
TEST(InputErrors, ServerWaitFlags) {
  TestServer server;
  auto dir = (server.data_dir() / "other").string();
  auto budget = server.cli({"server", "--data-dir", dir, "--tool-wait-budget", "0s"});
  EXPECT_NE(budget.exit_code, 0);
  EXPECT_NE(budget.err.find("--tool-wait-budget must be positive"), std::string::npos)
      << budget.err;
  auto idle = server.cli({"server", "--data-dir", dir, "--mcp-session-idle", "0s"});
  EXPECT_NE(idle.exit_code, 0);
  EXPECT_NE(idle.err.find("--mcp-session-idle must be positive"), std::string::npos) << idle.err;
  auto keepalive = server.cli({"server", "--data-dir", dir, "--sse-keepalive", "10ms"});
  EXPECT_NE(keepalive.exit_code, 0);
  EXPECT_NE(keepalive.err.find("--sse-keepalive must be at least 100ms"), std::string::npos)
      << keepalive.err;
  auto bad = server.cli({"server", "--data-dir", dir, "--tool-wait-budget", "soon"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("invalid duration"), std::string::npos) << bad.err;
  for (const auto& flags : {std::vector<std::string>{"--prebuild-backoff", "0s"},
                            std::vector<std::string>{"--prebuild-failure-limit", "0"}}) {
    std::vector<std::string> args = {"server", "--data-dir", dir};
    args.insert(args.end(), flags.begin(), flags.end());
    auto prebuild = server.cli(args);
    EXPECT_NE(prebuild.exit_code, 0);
    EXPECT_NE(prebuild.err.find(
                  "--prebuild-backoff must be positive and --prebuild-failure-limit at least 1"),
              std::string::npos)
        << prebuild.err;
  }
}

}  // namespace
}  // namespace berth::testing
