// TLS (scale-out issue): a server started with --tls-cert/--tls-key speaks HTTPS only, and its
// clients verify it: the CLI (with --ca-file for a private CA), and agents that dial it over
// the network (BERTH_CA_FILE, passed to them by the provisioner). A client that does not trust
// the certificate is refused, and so is a client that speaks plain HTTP to the TLS port; the
// server keeps answering.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>

#include <chrono>
#include <thread>

#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

// What a plain-HTTP client gets from the TLS port: the bytes it reads before the server
// closes (never an HTTP answer).
std::string plain_http_to(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  asio::ip::tcp::resolver resolver(io);
  asio::connect(socket, resolver.resolve(std::string(u->host()), std::string(u->port())));
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(request), ec);
  std::string got(4096, '\0');
  std::size_t n = asio::read(socket, asio::buffer(got), ec);
  got.resize(n);
  return got;
}

TEST(Tls, ClientsVerifyTheServerAndAWrongCertificateIsRefused) {
  const fs::path dir = fs::temp_directory_path() / ("berth-tls-" + std::to_string(::getpid()));
  const TestCertificates certs = make_test_certificates(dir);
  ServerFlags flags;
  flags.allow_unisolated = true;
  flags.extra_args = {"--tls-cert", certs.cert.string(), "--tls-key", certs.key.string()};
  flags.extra_env = {"BERTH_CA_FILE=" + certs.ca.string()};
  ::setenv("BERTH_CA_FILE", certs.ca.c_str(), 1);  // this test's own API client
  TestServer server(flags);
  ASSERT_TRUE(server.url().starts_with("https://127.0.0.1:")) << server.url();

  // The CLI with the CA: works.
  auto ok = server.cli({"--ca-file", certs.ca.string(), "templates", "list"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // Without it (the test CA is in no system store), and with an unrelated CA: refused, saying
  // what to do.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"templates", "list"},
        std::vector<std::string>{"--ca-file", certs.other_ca.string(), "templates", "list"}}) {
    auto refused = server.cli(args);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("TLS with the Berth server at " + server.url() + " failed"),
              std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("certificate verify failed"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("--ca-file"), std::string::npos) << refused.err;
  }
  // A CA file that is not one.
  auto junk = server.cli({"--ca-file", certs.key.string(), "templates", "list"});
  EXPECT_NE(junk.exit_code, 0);
  EXPECT_NE(junk.err.find("cannot load the CA file " + certs.key.string()), std::string::npos)
      << junk.err;

  // Plain HTTP to the TLS port gets no HTTP answer.
  EXPECT_EQ(plain_http_to(server.url()).find("HTTP/1.1"), std::string::npos);

  // An agent that dials the server over the network verifies it too: a process-isolated
  // workspace (its agent gets BERTH_CA_FILE from the provisioner) becomes ready.
  server.push_template("name: proc\nisolation: process\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "proc"}});
  ASSERT_TRUE(created) << created.error().message;
  auto ws = wait_settled(api, (*created)["id"]);
  EXPECT_EQ(ws["readiness"]["phase"], "ready") << ws.dump();
  auto health = api.get("/healthz");
  EXPECT_TRUE(health) << "the server still answers";
  ::unsetenv("BERTH_CA_FILE");
  std::error_code ec;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir, ec);
}

// A preview over TLS: the server cannot splice the app's bytes into a TLS connection, so they
// take the copying path. A sandboxed app's 4 MiB answer (bytes 0..250 repeating, so a lost,
// doubled or reordered piece shows) arrives whole, and the server still answers.
TEST(Tls, APreviewOverTlsCarriesALargeAnswerWhole) {
  const fs::path dir = fs::temp_directory_path() / ("berth-tls-p-" + std::to_string(::getpid()));
  const TestCertificates certs = make_test_certificates(dir);
  ServerFlags flags;
  flags.extra_args = {"--tls-cert", certs.cert.string(), "--tls-key", certs.key.string()};
  ::setenv("BERTH_CA_FILE", certs.ca.c_str(), 1);  // this test's own API client
  TestServer server(flags);
  server.push_template("name: web\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto created = api.post("/api/v1/workspaces", {{"template", "web"}});
  ASSERT_TRUE(created) << created.error().message;
  auto ws = wait_settled(api, (*created)["id"]);
  ASSERT_EQ(ws["readiness"]["phase"], "ready") << ws.dump();
  const std::string agent = ws["agents"][0].value("id", "");
  constexpr std::size_t kSize = std::size_t{4} * 1024 * 1024;
  auto started = api.post(
      "/api/v1/agents/" + agent + "/exec",
      {{"command", fmt::format("exec node -e \"const b = Buffer.alloc({}); for (let i = 0; i < "
                               "b.length; i++) b[i] = i % 251; require('http').createServer((q, "
                               "s) => s.end(b)).listen(8000, '127.0.0.1')\"",
                               kSize)},
       {"background", true}});
  ASSERT_TRUE(started) << started.error().message;
  auto exposed = api.put(fmt::format("/api/v1/workspaces/{}/ports/8000", ws.value("id", "")),
                         {{"public", true}});
  ASSERT_TRUE(exposed) << exposed.error().message;
  const std::string path = fmt::format("/@admin/{}/ports/8000/", ws.value("name", ""));
  Result<cli::ApiClient::Reply> got = Error::internal("not fetched");
  for (int i = 0; i < 100; ++i) {  // until node listens
    got = api.exchange("GET", path, {}, "");
    if (got && got->status != 502) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->status, 200) << got->body.substr(0, 200);
  ASSERT_EQ(got->body.size(), kSize);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < kSize; ++i) {
    if (static_cast<unsigned char>(got->body[i]) != i % 251) ++wrong;
  }
  EXPECT_EQ(wrong, 0U);
  EXPECT_TRUE(api.get("/healthz")) << "the server still answers";
  ::unsetenv("BERTH_CA_FILE");
  std::error_code ec;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir, ec);
}

// A provisioner daemon on another host verifies the server as any client does: with the CA it
// registers, and its sandboxed agent (which has no network) reaches the server through the
// daemon's agent socket over TLS; with the wrong CA it refuses to start, saying why.
TEST(Tls, ADaemonVerifiesTheServerAndCarriesItsAgentsOverTls) {
  const fs::path dir = fs::temp_directory_path() / ("berth-tls-d-" + std::to_string(::getpid()));
  const TestCertificates certs = make_test_certificates(dir);
  ServerFlags flags;
  flags.extra_args = {"--tls-cert",       certs.cert.string(), "--tls-key",
                      certs.key.string(), "--provisioners",    "0"};
  ::setenv("BERTH_CA_FILE", certs.ca.c_str(), 1);  // this test's own API client
  TestServer server(flags);
  server.push_template("name: shell\nagents:\n  - name: main\n");
  auto api = server.admin();
  auto key = api.post("/api/v1/provisioner-keys", {{"name", "fleet"}});
  ASSERT_TRUE(key) << key.error().message;
  const std::string secret = (*key)["key"];

  ::unsetenv("BERTH_CA_FILE");  // the daemons below get a CA only from --ca-file
  auto wrong = server.cli({"--ca-file", certs.other_ca.string(), "provisioner", "--key", secret,
                           "--data-dir", (server.data_dir() / "wrong").string()});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("certificate verify failed"), std::string::npos) << wrong.err;

  const fs::path host = server.data_dir() / "host";
  server.spawn_berth({"--url", server.url(), "--ca-file", certs.ca.string(), "provisioner", "--key",
                      secret, "--data-dir", host.string()},
                     host);
  ::setenv("BERTH_CA_FILE", certs.ca.c_str(), 1);
  auto created = api.post("/api/v1/workspaces", {{"template", "shell"}});
  ASSERT_TRUE(created) << created.error().message;
  auto ws = wait_settled(api, (*created)["id"]);
  EXPECT_EQ(ws["readiness"]["phase"], "ready") << ws.dump() << read_file(host / "berth.log");
  ::unsetenv("BERTH_CA_FILE");
  std::error_code ec;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir, ec);
}

TEST(Tls, AServerRefusesToStartWithABadCertificateOrKey) {
  const fs::path dir = fs::temp_directory_path() / ("berth-tls-bad-" + std::to_string(::getpid()));
  const TestCertificates certs = make_test_certificates(dir);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert", certs.cert.string()}, "--tls-cert and --tls-key go together"},
      {{"--tls-cert", (dir / "missing.pem").string(), "--tls-key", certs.key.string()},
       "cannot load the TLS certificate " + (dir / "missing.pem").string()},
      {{"--tls-cert", certs.cert.string(), "--tls-key", (dir / "other.key").string()},
       "does not belong to the certificate"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {
        BERTH_BINARY, "server", "--data-dir", (dir / "data").string(), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::string cmd;
    for (const auto& a : argv) cmd += "'" + a + "' ";
    cmd += "2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    EXPECT_NE(::pclose(p), 0) << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << out;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace berth::testing
