// Egress (the network half of "a workspace is a boundary"): code in a sandbox reaches only
// what its template's sandbox.egress allows, through its server's egress proxy, and never the
// host's loopback, private or link-local addresses. Commands run through the chat tools, as
// a member's model would run them; a target HTTP server on 127.0.0.2 stands in for the
// internet (the server is told it may reach that one address with --egress-allow-net).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "tests/integration/mcp_client.hpp"

namespace berth::testing {
namespace {

namespace fs = std::filesystem;

json content(const json& call_result) { return call_result["structuredContent"]; }

// An HTTP/1.0 server on 127.0.0.2 that answers every request with a fixed body and remembers
// the request heads it got.
class TargetServer {
 public:
  TargetServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000002);  // 127.0.0.2
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 64);
    thread_ = std::thread([this] { serve(); });
  }
  ~TargetServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.2:" + std::to_string(port_) + path;
  }
  std::vector<std::string> heads() {
    std::lock_guard lock(mu_);
    return heads_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, n);
      }
      {
        std::lock_guard lock(mu_);
        heads_.push_back(head);
      }
      const std::string reply =
          "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from the target\n";
      (void)!::write(c, reply.data(), reply.size());
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> heads_;
};

// A member's ready workspace of a template with `egress` as its sandbox.egress.
struct EgressWorkspace {
  EgressWorkspace(TestServer& s, const std::string& template_name, const std::string& egress,
                  const std::string& user)
      : server(s), token(s.create_member(user)), mcp(s, token, user) {
    std::string yaml = "name: " + template_name + "\n" +
                       (egress.empty() ? "" : "sandbox:\n  egress: " + egress + "\n") +
                       "agents:\n  - name: main\n    chat: true\n";
    auto pushed = s.push_template(yaml);
    mcp.call("create_workspace", {{"template_id", pushed["id"]}, {"name", user + "-ws"}});
    auto done = wait_until_done(mcp);
    EXPECT_EQ(done["status"], "ready") << done.dump();
    auto ws = s.admin().get("/api/v1/workspaces/" + user + "%2F" + user + "-ws");
    EXPECT_TRUE(ws);
    if (ws) id = (*ws)["id"];
  }
  // The command's output (stdout and stderr).
  std::string run(const std::string& command) {
    auto r = content(mcp.call("execute", {{"command", command + " 2>&1"}, {"timeout_ms", 20000}}));
    return r["output"].is_string() ? r["output"].get<std::string>() : r.dump();
  }
  fs::path egress_dir() const { return server.data_dir() / "egress" / id; }

  TestServer& server;
  std::string token;
  McpClient mcp;
  std::string id;
};

ServerFlags egress_flags() {
  ServerFlags f;
  f.extra_args = {"--egress-allow-net", "127.0.0.2/32"};
  return f;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Egress, NoneIsTheDefaultAndItsRefusalNamesThePolicy) {
  TargetServer target;
  TestServer server(egress_flags());
  EgressWorkspace ws(server, "closed", "", "mallory");
  std::string out = ws.run("curl -sS -m 10 " + target.url("/secret"));
  EXPECT_TRUE(contains(out, "berth egress: 127.0.0.2:" + std::to_string(target.port()) +
                                " refused: the egress policy of template \"closed\" is none, so "
                                "this workspace reaches no network; a template admin can set "
                                "sandbox.egress to internet or to a list of host names"))
      << out;
  // Around the proxy there is no route at all.
  out = ws.run("curl -sS -m 5 --noproxy '*' " + target.url() + "; echo rc=$?");
  EXPECT_TRUE(contains(out, "rc=7")) << out;
  EXPECT_TRUE(target.heads().empty());
  EXPECT_TRUE(server.admin().get("/healthz"));
}

TEST(Egress, AnAllowlistLetsItsHostsThroughAndRefusesTheRest) {
  TargetServer target;
  TestServer server(egress_flags());
  EgressWorkspace ws(server, "listed", "[127.0.0.2, example.com]", "mallory");
  // The model can read what the workspace may reach before it plans an install.
  auto listed = content(ws.mcp.call("list_templates"));
  std::string template_id;
  for (const auto& t : listed["templates"]) {
    if (t["name"] == "listed") template_id = t["id"];
  }
  auto read = content(ws.mcp.call("read_template", {{"template_id", template_id}}));
  EXPECT_EQ(read["template"]["network"],
            "only 127.0.0.2, example.com: HTTP and HTTPS through the workspace's proxy "
            "(HTTP_PROXY is set); other hosts are refused")
      << read.dump();
  // Plain http (absolute-form through the proxy) and a CONNECT tunnel (-p) both arrive.
  std::string out = ws.run("curl -sS -m 10 " + target.url("/a?b=1"));
  EXPECT_TRUE(contains(out, "hello from the target")) << out;
  out = ws.run("curl -sS -m 10 -p " + target.url("/tunnel"));
  EXPECT_TRUE(contains(out, "hello from the target")) << out;
  auto heads = target.heads();
  ASSERT_EQ(heads.size(), 2u);
  // The request went on in origin form, for this one request, without proxy headers.
  EXPECT_TRUE(heads[0].starts_with("GET /a?b=1 HTTP/1.1\r\n")) << heads[0];
  EXPECT_TRUE(contains(heads[0], "Connection: close\r\n")) << heads[0];
  EXPECT_FALSE(contains(heads[0], "Proxy-")) << heads[0];
  EXPECT_TRUE(heads[1].starts_with("GET /tunnel HTTP/1.1\r\n")) << heads[1];

  out = ws.run("curl -sS -m 10 http://evil.example/");
  EXPECT_TRUE(contains(out,
                       "berth egress: evil.example:80 refused: the egress policy of "
                       "template \"listed\" is allowlist (127.0.0.2, example.com); a "
                       "template admin can add the host to sandbox.egress"))
      << out;
  out = ws.run("curl -sS -m 10 -v https://evil.example/");
  EXPECT_TRUE(contains(out,
                       "< HTTP/1.1 403 Forbidden by Berth egress policy allowlist of "
                       "template listed"))
      << out;
  EXPECT_TRUE(contains(out, "CONNECT tunnel failed, response 403")) << out;
  EXPECT_EQ(target.heads().size(), 2u);
  EXPECT_TRUE(server.admin().get("/healthz"));
}

// The proxy resolves names and checks every address, whatever the policy lets through by name.
TEST(Egress, InternetNeverReachesTheHostOrPrivateAddresses) {
  TestServer server;  // no --egress-allow-net: 127.0.0.2 is loopback like the rest
  EgressWorkspace ws(server, "open", "internet", "mallory");
  const std::string port = server.url().substr(server.url().rfind(':') + 1);
  struct Case {
    std::string url;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"http://127.0.0.1:" + port + "/healthz",
       "127.0.0.1:" + port + " refused: 127.0.0.1 (loopback)"},
      {"http://localhost:" + port + "/healthz", "localhost:" + port + " refused: it resolves to"},
      {"http://169.254.169.254/latest/meta-data/",
       "169.254.169.254:80 refused: 169.254.169.254 (link-local (cloud metadata))"},
      {"http://10.0.0.1/", "10.0.0.1:80 refused: 10.0.0.1 (private network (RFC 1918))"},
      {"http://[::1]:" + port + "/healthz", "[::1]:" + port + " refused: ::1 (loopback)"},
      {"http://[::ffff:127.0.0.1]:" + port + "/", "refused: ::ffff:127.0.0.1 (loopback)"},
      {"http://2130706433:" + port + "/", "refused"},  // 127.0.0.1 as one number
  };
  // The host's own addresses, whatever range they are in.
  ifaddrs* list = nullptr;
  ASSERT_EQ(::getifaddrs(&list), 0);
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    if (std::string(text).starts_with("127.")) continue;
    cases.push_back({"http://" + std::string(text) + ":" + port + "/healthz", "refused"});
  }
  ::freeifaddrs(list);
  for (const auto& c : cases) {
    // -x: through the proxy even for names NO_PROXY lists.
    std::string out =
        ws.run("curl -sS -m 10 --noproxy '' -x http://127.0.0.1:3128 '" + c.url + "'; echo rc=$?");
    EXPECT_TRUE(contains(out, c.expect)) << c.url << ": " << out;
    EXPECT_TRUE(contains(out,
                         "workspaces never reach loopback, private or link-local "
                         "addresses, nor the server's host") ||
                contains(out, "Bad Request"))
        << c.url << ": " << out;
    EXPECT_FALSE(contains(out, "\"status\"")) << "the server answered: " << out;
  }
  EXPECT_TRUE(server.admin().get("/healthz"));
}

// Each workspace sees only its own proxy, and it goes with the workspace.
TEST(Egress, AWorkspaceSeesOnlyItsOwnProxyWhichEndsWithIt) {
  TargetServer target;
  TestServer server(egress_flags());
  EgressWorkspace open(server, "open", "[127.0.0.2]", "alice");
  EgressWorkspace closed(server, "closed", "none", "mallory");
  ASSERT_TRUE(fs::exists(open.egress_dir() / "proxy.sock"));
  std::string out =
      closed.run("ls -a /run/egress; ls /run/berth; ls " + server.data_dir().string() + "/egress");
  EXPECT_TRUE(contains(out, "proxy.sock")) << out;
  EXPECT_FALSE(contains(out, open.id)) << out;
  EXPECT_TRUE(contains(out, "No such file or directory")) << out;
  out = closed.run("curl -sS -m 10 " + target.url());
  EXPECT_TRUE(contains(out, "is none")) << out;
  EXPECT_TRUE(target.heads().empty());
  struct stat st {};
  ASSERT_EQ(::stat(open.egress_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  if (::geteuid() == 0) {
    EXPECT_GE(st.st_uid, 200000u);  // the sandbox's own host uid
  }

  // After a restart of the server the proxy listens again; after stop it is gone.
  server.restart();
  McpClient again(server, open.token, "alice");          // a new MCP session for the same chat
  EXPECT_EQ(wait_until_done(again)["status"], "ready");  // the agent reconnects
  auto ran = content(again.call(
      "execute", {{"command", "curl -sS -m 10 " + target.url("/back")}, {"timeout_ms", 20000}}));
  EXPECT_TRUE(contains(ran.dump(), "hello from the target")) << ran.dump();
  content(again.call("stop_workspace", json::object()));
  auto done = wait_until_done(again);
  EXPECT_FALSE(fs::exists(open.egress_dir())) << done.dump();
}

// Hostile bytes on the proxy socket, as code in the workspace could send them (the test, as
// root or as the sandbox's user, connects to the socket's host side directly).
TEST(Egress, HostileProxyRequestsGetClearErrorsAndTheServerStaysUp) {
  TestServer server(egress_flags());
  EgressWorkspace ws(server, "listed", "[127.0.0.2]", "mallory");
  const fs::path socket = ws.egress_dir() / "proxy.sock";
  auto exchange = [&](const std::string& request) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << socket;
    (void)!::write(fd, request.data(), request.size());
    std::string reply;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, n);
    ::close(fd);
    return reply;
  };
  std::string r = exchange("GARBAGE\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400 Bad Request")) << r;
  EXPECT_TRUE(contains(r, "berth egress: not an HTTP proxy request")) << r;
  r = exchange("CONNECT user@127.0.0.2:80 HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(contains(r,
                       "\"user@127.0.0.2:80\" is not a host and port: it carries user "
                       "information"))
      << r;
  r = exchange("GET /relative HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(contains(r, "is not an absolute http URL")) << r;
  r = exchange("GET http://127.0.0.2/ HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431")) << r.substr(0, 200);
  r = exchange("CONNECT 127.0.0.1:" + server.url().substr(server.url().rfind(':') + 1) +
               " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(contains(r, "403")) << r;  // the name passes only for 127.0.0.2
  // Connections past the workspace's cap are answered and closed; the first ones stay served.
  std::vector<int> held;
  for (int i = 0; i < 256; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    held.push_back(fd);
  }
  r = exchange("CONNECT 127.0.0.2:1 HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 503 Too many egress connections")) << r;
  EXPECT_TRUE(contains(r,
                       "this workspace has 256 connections open through its egress proxy, the "
                       "most it may; close some and retry"))
      << r;
  for (int fd : held) ::close(fd);
  EXPECT_TRUE(server.admin().get("/healthz"));
}

}  // namespace
}  // namespace berth::testing
