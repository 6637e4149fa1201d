// The CLI as people use it: build commands wait by default, `start` right after `stop` works,
// --output json|yaml|table, `berth login`, shell completion. Real server, real agents.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include <yaml-cpp/yaml.h>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kShell = R"(name: shell
isolation: sandbox
agents:
  - name: main
    startup_script: echo started
scripts:
  start: echo building
)";

json workspace(TestServer& server, const std::string& name) {
  auto api = server.admin();
  auto w = api.get("/api/v1/workspaces/" + name);
  EXPECT_TRUE(w) << (w ? "" : w.error().message);
  return w ? *w : json();
}

TEST(Cli, StopAndStartWaitForTheirBuildsByDefault) {
  TestServer server;
  server.push_template(kShell);
  ASSERT_EQ(server.cli({"workspaces", "create", "--template", "shell", "--name", "demo", "--wait"})
                .exit_code,
            0);
  // The README's line, verbatim in spirit: no flags on stop.
  auto stop = server.cli({"workspaces", "stop", "demo"});
  ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_NE(stop.out.find("admin/demo  stopped"), std::string::npos) << stop.out;
  EXPECT_EQ(workspace(server, "demo")["latest_build"]["job"]["status"], "succeeded");
  auto start = server.cli({"workspaces", "start", "demo"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  json ws = workspace(server, "demo");
  EXPECT_EQ(ws["latest_build"]["transition"], "start");
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "ready");
}

TEST(Cli, StartRightAfterStopNoWaitWaitsForTheStopFirst) {
  TestServer server;
  // A stop that takes a while, so `start` surely finds it running: under ASan on a loaded
  // machine two CLI runs have taken 2 s (a 1 s stop had ended before `start` looked).
  server.push_template(std::string(kShell) + "  stop: sleep 5\n");
  ASSERT_EQ(server.cli({"workspaces", "create", "--template", "shell", "--name", "demo", "--wait"})
                .exit_code,
            0);
  auto stop = server.cli({"workspaces", "stop", "demo", "--no-wait"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_NE(stop.out.find("stop build 2 queued for admin/demo"), std::string::npos) << stop.out;
  auto start = server.cli({"workspaces", "start", "demo"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  EXPECT_NE(start.err.find("waiting for stop build 2 of admin/demo to finish first"),
            std::string::npos)
      << start.err;
  json ws = workspace(server, "demo");
  EXPECT_EQ(ws["latest_build"]["build_number"], 3);
  EXPECT_EQ(ws["latest_build"]["transition"], "start");
  EXPECT_EQ(ws["agents"][0]["lifecycle_state"], "ready");
  // Asking for the build that is already running waits for it rather than failing.
  ASSERT_EQ(server.cli({"workspaces", "stop", "demo", "--no-wait"}).exit_code, 0);
  auto again = server.cli({"workspaces", "stop", "demo"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(workspace(server, "demo")["latest_build"]["build_number"], 4);
  // A stopped workspace refuses another stop, as before, saying what to do.
  auto twice = server.cli({"workspaces", "stop", "demo"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("workspace demo is already stopped"), std::string::npos) << twice.err;
  EXPECT_NE(twice.err.find("berth workspaces start"), std::string::npos) << twice.err;
}

TEST(Cli, RestartStopsThenStarts) {
  TestServer server;
  server.push_template(kShell);
  ASSERT_EQ(server.cli({"workspaces", "create", "--template", "shell", "--name", "demo", "--wait"})
                .exit_code,
            0);
  auto r = server.cli({"workspaces", "restart", "demo", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json ws = json::parse(r.out);
  EXPECT_EQ(ws["readiness"]["phase"], "ready");
  EXPECT_EQ(ws["latest_build"]["build_number"], 3);
  // A stopped workspace restarts with one build.
  ASSERT_EQ(server.cli({"workspaces", "stop", "demo"}).exit_code, 0);
  ASSERT_EQ(server.cli({"workspaces", "restart", "demo"}).exit_code, 0);
  EXPECT_EQ(workspace(server, "demo")["latest_build"]["build_number"], 5);
  auto del = server.cli({"workspaces", "delete", "demo"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("deleted"), std::string::npos) << del.out;
}

TEST(Cli, OutputYamlJsonAndTableSayTheSame) {
  TestServer server;
  server.push_template(kShell);
  auto as_json = server.cli({"templates", "list", "--output", "json"});
  auto as_yaml = server.cli({"templates", "list", "-o", "yaml"});
  auto as_table = server.cli({"templates", "list"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  ASSERT_EQ(as_yaml.exit_code, 0) << as_yaml.err;
  json j = json::parse(as_json.out);
  YAML::Node y = YAML::Load(as_yaml.out);
  ASSERT_TRUE(y.IsSequence()) << as_yaml.out;
  ASSERT_EQ(y.size(), j.size());
  EXPECT_EQ(y[0]["name"].as<std::string>(), j[0]["name"].get<std::string>());
  EXPECT_EQ(y[0]["id"].as<std::string>(), j[0]["id"].get<std::string>());
  EXPECT_NE(as_table.out.find("shell"), std::string::npos);
  EXPECT_EQ(as_table.out.find('{'), std::string::npos) << as_table.out;
  // Errors follow the format too, and a bad format names the choices.
  auto missing = server.cli({"workspaces", "show", "nope", "-o", "yaml"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(YAML::Load(missing.out)["message"]) << missing.out;
  auto bad = server.cli({"templates", "list", "--output", "xml"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("xml not in {table,json,yaml}"), std::string::npos) << bad.err;
}

TEST(Cli, LoginSavesTheServerAndTokenForLaterCommands) {
  TestServer server;
  server.push_template(kShell);
  fs::path config = server.data_dir() / "home" / "berth" / "config.json";
  std::string env_config = "BERTH_CONFIG=" + config.string();
  // A wrong token is refused by the server and nothing is saved.
  auto wrong = server.cli_env({"login", server.url()}, {env_config}, "bth_nope\n");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("error:"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(config));
  // Without a token anywhere, it says where one comes from.
  auto none = server.cli_env({"login", server.url()}, {env_config}, "");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no token to log in with"), std::string::npos) << none.err;
  // The token typed on standard input.
  auto ok = server.cli_env({"login", server.url()}, {env_config}, server.admin_token() + "\n");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("Logged in to " + server.url() + " as admin"), std::string::npos) << ok.out;
  struct stat st {};
  ASSERT_EQ(::stat(config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(config.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Later commands need neither flags nor environment.
  auto list = server.cli_env({"templates", "list"}, {env_config});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("shell"), std::string::npos) << list.out;
  // The saved token never goes to another server.
  auto elsewhere =
      server.cli_env({"templates", "list", "--url", "http://127.0.0.1:1"}, {env_config});
  EXPECT_EQ(elsewhere.exit_code, 1);
  // Logout forgets it.
  auto out = server.cli_env({"logout"}, {env_config});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_FALSE(fs::exists(config));
  auto after = server.cli_env({"templates", "list"}, {env_config});
  EXPECT_EQ(after.exit_code, 1);
}

TEST(Cli, CompletionOffersCommandsFlagsAndFormats) {
  TestServer server;
  auto c = server.cli({"__complete", "workspaces", "st"});
  EXPECT_EQ(c.out, "start\nstop\n");
  auto flags = server.cli({"__complete", "workspaces", "stop", "demo", "--no"});
  EXPECT_EQ(flags.out, "--no-wait\n");
  auto formats = server.cli({"__complete", "templates", "list", "--output", ""});
  EXPECT_EQ(formats.out, "table\njson\nyaml\n");
  // The bash script, sourced in bash, completes through the binary.
  auto script = server.cli({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0);
  fs::path file = server.data_dir() / "berth.bash";
  std::ofstream(file) << script.out;
  fs::path out = server.data_dir() / "completed.txt";
  std::string cmd = "bash -c 'source " + file.string() +
                    "; COMP_WORDS=(" BERTH_BINARY
                    " workspaces re); COMP_CWORD=2; _berth_complete; echo \"${COMPREPLY[@]}\"' > " +
                    out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "restart");
  EXPECT_NE(server.cli({"completion", "fish"}).out.find("complete -c berth"), std::string::npos);
  EXPECT_NE(server.cli({"completion", "zsh"}).out.find("compdef _berth berth"), std::string::npos);
}

// Preview URLs from the CLI: expose (a private link shown once), list, make public, remove.
TEST(Cli, PortsAreExposedListedAndRemoved) {
  TestServer server;
  server.push_template(kShell);
  ASSERT_EQ(server.cli({"workspaces", "create", "--template", "shell", "--name", "demo", "--wait"})
                .exit_code,
            0);
  auto made = server.cli({"workspaces", "ports", "expose", "demo", "8080"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_NE(made.out.find("Port 8080 is private at " + server.url() + "/@admin/demo/ports/8080/"),
            std::string::npos)
      << made.out;
  EXPECT_NE(made.out.find("/@admin/demo/ports/8080/?berth_preview_token="), std::string::npos);
  auto pub = server.cli({"--json", "workspaces", "ports", "expose", "demo", "3000", "--public"});
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_EQ(json::parse(pub.out)["public"], true);
  EXPECT_FALSE(json::parse(pub.out).contains("link"));
  auto list = server.cli({"workspaces", "ports", "list", "demo"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("3000    public   " + server.url() + "/@admin/demo/ports/3000/"),
            std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find("8080    private  "), std::string::npos) << list.out;
  auto bad = server.cli({"workspaces", "ports", "expose", "demo", "70000"});
  EXPECT_NE(bad.exit_code, 0);
  auto gone = server.cli({"workspaces", "ports", "unexpose", "demo", "3000"});
  ASSERT_EQ(gone.exit_code, 0) << gone.err;
  EXPECT_NE(gone.out.find("Port 3000 is no longer exposed"), std::string::npos);
  auto again = server.cli({"workspaces", "ports", "unexpose", "demo", "3000"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("port 3000 of demo is not exposed"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace berth::testing

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

fs::path write_config(const TestServer& server, const std::string& name, const std::string& text) {
  fs::path p = server.data_dir() / name;
  std::ofstream(p) << text;
  return p;
}

TEST(ServerConfig, FlagsBeatTheEnvironmentWhichBeatsTheFile) {
  TestServer server;
  auto file = write_config(server, "berth.conf",
                           "# a comment\n"
                           "listen = \"0.0.0.0:9000\"\n"
                           "build-timeout = 5m\n"
                           "tool-wait-budget = 40s   # trailing comment\n"
                           "allowed-hosts = a.example.com, b.example.com\n"
                           "allow-unisolated = true\n");
  auto r = server.cli_env(
      {"server", "--config", file.string(), "--print-config", "--tool-wait-budget", "20s"},
      {"BERTH_BUILD_TIMEOUT=7m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("listen = \"0.0.0.0:9000\"  # file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("build-timeout = \"7m\"  # environment"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tool-wait-budget = \"20s\"  # flag"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("allowed-hosts = \"a.example.com,b.example.com\"  # file"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("allow-unisolated = \"true\"  # file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hung-job-timeout = \"30s\"  # default"), std::string::npos) << r.out;
  // BERTH_SERVER_CONFIG names the file too.
  auto by_env =
      server.cli_env({"server", "--print-config"}, {"BERTH_SERVER_CONFIG=" + file.string()});
  EXPECT_NE(by_env.out.find("build-timeout = \"5m\"  # file"), std::string::npos) << by_env.out;
}

TEST(ServerConfig, BadFilesSayWhichLineAndStartNothing) {
  TestServer server;
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"listen = x\nlisen = y\n", ":2: unknown setting \"lisen\""},
      {"max-connections = -3\n",
       ":1: max-connections = -3: --max-connections: Value -3 not in "
       "range 1 to 1000000"},
      {"listen = \"127.0.0.1:1\n", ":1: the value of listen has no closing quote"},
      {"build-timeout = 1m\nbuild-timeout = 2m\n",
       ":2: build-timeout is set twice (first on line 1)"},
      {"just words\n", ":1: \"just words\" is not a setting"},
      {"config = other.conf\n", ":1: unknown setting \"config\""},
  };
  for (const auto& c : cases) {
    auto file = write_config(server, "bad.conf", c.text);
    auto r = server.cli_env({"server", "--config", file.string(), "--print-config"}, {});
    EXPECT_EQ(r.exit_code, 1) << c.text;
    EXPECT_NE(r.err.find(file.string() + c.message), std::string::npos) << r.err;
  }
  auto missing = server.cli_env({"server", "--config", "/nonexistent/berth.conf"}, {});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot read config file /nonexistent/berth.conf"), std::string::npos)
      << missing.err;
}

TEST(ServerConfig, TheShippedConfigFileIsValid) {
  TestServer server;
  auto r = server.cli_env(
      {"server", "--config", std::string(BERTH_SOURCE_DIR) + "/dist/berth.conf", "--print-config"},
      {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("data-dir = \"/var/lib/berth\"  # file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no-example-templates = \"true\"  # file"), std::string::npos) << r.out;
}

TEST(ServerConfig, ARunningServerUsesTheFile) {
  TestServer probe;
  auto file = write_config(probe, "berth.conf", "allowed-hosts = berth.example.test\n");
  ServerFlags flags;
  flags.extra_args = {"--config", file.string()};
  TestServer server(flags);
  auto allowed = http_request(server.url(), "GET", "/healthz", {{"Host", "berth.example.test"}});
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  auto other = http_request(server.url(), "GET", "/healthz", {{"Host", "evil.example.test"}});
  EXPECT_EQ(other.status, 403) << other.body;
}

}  // namespace
}  // namespace berth::testing
