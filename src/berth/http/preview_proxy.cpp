#include "berth/http/preview_proxy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "berth/chattools/agent_select.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/http/preview_head.hpp"
#include "berth/http/preview_url.hpp"
#include "berth/http/web_session.hpp"

namespace berth::http {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr auto kGrantLifetime = std::chrono::hours(12);
constexpr const char* kNoPreview = "no exposed port at this URL";
constexpr const char* kNoPreviewHint =
    "expose the port first (the expose_port tool, or `berth workspaces ports expose`); a "
    "workspace's URLs end when it is deleted";

Response text_response(int status, std::string message, std::string hint) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = hint.empty() ? message + "\n" : fmt::format("{}\n{}\n", message, hint);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

bool loopback_or_tls(const App& app, const Request& req) {
  return app.options.tls || is_loopback_name(host_name(req.header("host")));
}

// The Set-Cookie value of a new grant for `port`, valid for kGrantLifetime from `now`.
std::string grant_cookie(const App& app, const Request& req, const PreviewTarget& t,
                         const store::ExposedPort& port, UnixMillis now) {
  const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(kGrantLifetime).count();
  const std::string value = sign_grant(
      port.token_hash, port.workspace_id, port.port,
      now + std::chrono::duration_cast<std::chrono::milliseconds>(kGrantLifetime).count());
  if (t.subdomain) {
    return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}", kPreviewCookie, value,
                       max_age, app.options.tls ? "; Secure" : "");
  }
  // The path form's page runs sandboxed (an opaque origin): its own requests are cross-site
  // to the browser, which sends them only SameSite=None cookies, and those only Secure (on
  // HTTPS, or on loopback where browsers allow it).
  return fmt::format("{}={}; Path={}/; Max-Age={}; HttpOnly; {}", kPreviewCookie, value, t.prefix,
                     max_age, loopback_or_tls(app, req) ? "SameSite=None; Secure" : "SameSite=Lax");
}

// The workspace a preview URL names. Names may hold capitals, but a host name's case is lost
// in the browser (and URLs get typed): `owner` and `name` come lower-cased and match a name
// that differs only in case, when exactly one does (the store finds it: no listing). not_found
// otherwise.
Result<store::Workspace> preview_workspace(store::Store& store, const std::string& owner,
                                           const std::string& name) {
  auto user = store.user_by_username(owner);
  if (!user && user.error().code == ErrorCode::not_found) {
    auto users = store.users_by_username_ignoring_case(owner);
    if (!users) return users.error();
    if (users->size() != 1)
      return Error::not_found(kNoPreview, kNoPreviewHint);  // none, or ambiguous
    user = std::move(users->front());
  }
  if (!user) return user.error();
  auto ws = store.workspace_by_name(user->id, name);
  if (ws || ws.error().code != ErrorCode::not_found) return ws;
  auto matches = store.workspaces_by_name_ignoring_case(user->id, name);
  if (!matches) return matches.error();
  if (matches->size() != 1) return Error::not_found(kNoPreview, kNoPreviewHint);
  return std::move(matches->front());
}

// The request as the app gets it: the target under the prefix, the server's cookies and the
// preview token gone, Connection: close (one request per tunnel), the body with its length.
std::string app_request(const Request& req, const PreviewTarget& t, bool upgrade) {
  std::string target = t.target;
  if (auto q = target.find('?'); q != std::string::npos) {
    std::string query = strip_token_param(std::string_view(target).substr(q + 1));
    target = target.substr(0, q) + (query.empty() ? "" : "?" + query);
  }
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", req.method, target);
  for (const auto& [name, value] : req.headers) {
    if (name == "cookie") {
      std::string kept = strip_server_cookies(value);
      if (!kept.empty()) out += fmt::format("Cookie: {}\r\n", kept);
      continue;
    }
    if (name == kPreviewTokenHeader || name == "content-length" || name == "transfer-encoding" ||
        name == "x-forwarded-for" || name == "x-forwarded-host" || name == "x-forwarded-proto" ||
        name == "x-forwarded-prefix" || name == "proxy-connection" || name == "keep-alive") {
      continue;
    }
    if (name == "connection" && !upgrade) continue;
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (!upgrade) out += "Connection: close\r\n";
  out += fmt::format("X-Forwarded-Host: {}\r\n", req.header("host"));
  if (!t.subdomain) out += fmt::format("X-Forwarded-Prefix: {}\r\n", t.prefix);
  if (!req.body.empty() || (req.method != "GET" && req.method != "HEAD")) {
    out += fmt::format("Content-Length: {}\r\n", req.body.size());
  }
  out += "\r\n";
  out += req.body;
  return out;
}

// The app's end of a preview connection, through the agent's tunnel.
class TunnelEnd {
 public:
  explicit TunnelEnd(std::shared_ptr<agentconn::PortStream> stream) : stream_(std::move(stream)) {}

  // The app's next bytes, valid until the next read; "" once it finished sending, nullopt once
  // the connection is over.
  awaitable<std::optional<std::string_view>> read() {
    auto chunk = co_await stream_->read();
    if (!chunk) co_return std::nullopt;
    current_ = std::move(*chunk);
    co_return current_.bytes();
  }
  awaitable<bool> write(std::string_view bytes) { return stream_->write(bytes); }
  void shutdown_write() { stream_->shutdown_write(); }
  void close(std::string_view reason) { stream_->close(reason); }
  std::string reason() const { return stream_->reason(); }

 private:
  std::shared_ptr<agentconn::PortStream> stream_;
  port_tunnel::Chunk current_;
};

// The app's end of a preview connection, a socket the server made in the workspace's network
// namespace (AgentHub::dial_port).
class SocketEnd {
 public:
  explicit SocketEnd(agentconn::AgentHub::DirectPort port)
      : socket_(std::move(port.socket)), lease_(std::move(port.lease)) {}

  awaitable<std::optional<std::string_view>> read() {
    if (buffer_.empty()) buffer_.resize(kReadSize);
    boost::system::error_code ec;
    std::size_t n = co_await socket_.async_read_some(asio::buffer(buffer_),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) co_return std::string_view();
    if (ec) {
      reason_ = ec.message();
      co_return std::nullopt;
    }
    co_return std::string_view(buffer_.data(), n);
  }
  awaitable<bool> write(std::string_view bytes) {
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) reason_ = ec.message();
    co_return !ec;
  }
  void shutdown_write() {
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }
  void close(std::string_view /*reason*/) {
    boost::system::error_code ec;
    socket_.close(ec);
  }
  std::string reason() const { return reason_; }

  // For splice_down: the socket (the server's own, never shared with the workspace, so its
  // non-blocking mode holds) and a wait for bytes.
  int native_handle() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    return socket_.native_handle();
  }
  awaitable<bool> wait_readable() {
    boost::system::error_code ec;
    co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

 private:
  static constexpr std::size_t kReadSize = std::size_t{256} * 1024;
  asio::ip::tcp::socket socket_;
  std::shared_ptr<void> lease_;
  std::string buffer_;
  std::string reason_;
};

// Both ends of a pipe, closed with it.
struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;
    read_end = fds[0];
    write_end = fds[1];
    ::fcntl(write_end, F_SETPIPE_SZ, static_cast<int>(kSpliceSize));  // else 64 KiB
  }
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    if (write_end >= 0) ::close(write_end);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  static constexpr std::size_t kSpliceSize = std::size_t{1024} * 1024;
};

// The app -> the client in the kernel: splice(2) from the app's socket into a pipe and from
// the pipe into the client's, the bytes never copied into the server. Until the app ends.
awaitable<void> splice_down(std::shared_ptr<SocketEnd> from, ByteStream& to, int to_fd,
                            const Pipe& pipe) {
  const int from_fd = from->native_handle();
  while (true) {
    // The pipe is empty here, so EAGAIN means the socket has nothing yet.
    ssize_t n = ::splice(from_fd, nullptr, pipe.write_end, nullptr, Pipe::kSpliceSize,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!co_await from->wait_readable()) co_return;
      continue;
    }
    if (n <= 0) co_return;  // the app finished sending, or its connection failed
    while (n > 0) {
      ssize_t m = ::splice(pipe.read_end, nullptr, to_fd, nullptr, static_cast<std::size_t>(n),
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno == EAGAIN) {
        if (!co_await to.wait_writable()) co_return;
        continue;
      }
      if (m <= 0) co_return;  // the client went away
      n -= m;
    }
  }
}

// The app -> the client, until the app ends.
template <class End>
awaitable<void> pump_down(std::shared_ptr<End> from, ByteStream& to) {
  if constexpr (std::is_same_v<End, SocketEnd>) {
    // Else (TLS, or no descriptor left for a pipe) the bytes are copied.
    if (const int fd = to.splice_target(); fd >= 0) {
      Pipe pipe;
      if (pipe.read_end >= 0) {
        co_await splice_down(from, to, fd, pipe);
        co_return;
      }
    }
  }
  while (true) {
    auto bytes = co_await from->read();
    if (!bytes || bytes->empty()) co_return;
    if (!co_await to.write(*bytes)) co_return;
  }
}

// The client -> the app. Once the client finished sending, the app's answer may still be
// coming: this waits until pump_down ends (which cancels it).
template <class End>
awaitable<void> pump_up(ByteStream& from, std::shared_ptr<End> to) {
  while (true) {
    std::string chunk = co_await from.read_some();
    if (chunk.empty()) break;
    if (!co_await to->write(chunk)) co_return;
  }
  to->shutdown_write();
  asio::steady_timer forever(co_await asio::this_coro::executor,
                             asio::steady_timer::time_point::max());
  boost::system::error_code ec;
  co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// The app's answer -> the client, then both ways until either side ends.
template <class End>
awaitable<void> carry(std::shared_ptr<End> app, ByteStream& client, HeadRewrite rewrite) {
  using namespace asio::experimental::awaitable_operators;
  std::string head;
  std::optional<std::size_t> end;
  while (!(end = response_head_end(head))) {
    auto bytes = co_await app->read();
    if (!bytes || bytes->empty() || head.size() > kMaxResponseHead) break;
    head += *bytes;
  }
  if (!end) {
    std::string why = head.size() > kMaxResponseHead
                          ? "its answer's head is larger than 64 KiB"
                          : (app->reason().empty() ? "it closed the connection without an answer"
                                                   : app->reason());
    co_await client.write(fmt::format(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: "
        "close\r\n\r\nthe app on this port did not answer: {}\n",
        why));
    app->close("no answer");
    co_return;
  }
  auto rewritten = rewrite_response_head(std::string_view(head).substr(0, *end), rewrite);
  if (!rewritten) {
    co_await client.write(fmt::format(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: "
        "close\r\n\r\n{}\n",
        rewritten.error().message));
    app->close("bad answer");
    co_return;
  }
  if (!co_await client.write(*rewritten) ||
      (head.size() > *end && !co_await client.write(std::string_view(head).substr(*end)))) {
    app->close("the client went away");
    co_return;
  }
  co_await (pump_down(app, client) || pump_up(client, app));
  app->close("done");
}

// The answer that hands the client's connection to `app` once the request went to it.
template <class End>
Response carried_by(std::shared_ptr<End> app, bool upgrade, HeadRewrite rewrite) {
  Response r;
  r.status = upgrade ? 101 : 200;
  r.takeover = [app, rewrite](ByteStream& client) { return carry(app, client, rewrite); };
  return r;
}

}  // namespace

awaitable<std::optional<Response>> serve_preview(App& app, Request& req) {
  const std::string host = host_name(req.header("host"));
  const std::string& domain = app.options.preview_domain;
  Result<std::optional<PreviewTarget>> parsed = std::optional<PreviewTarget>{};
  if (!domain.empty() && is_preview_host(host, domain)) {
    parsed = parse_preview_host(host, domain, req.target);
  } else if (req.target.starts_with("/@")) {
    if (auto why = app.options.hosts.refusal(req.header("host"), "")) {
      co_return text_response(403, *why, "use a host name the server allows");
    }
    parsed = parse_preview_path(req.target);
  }
  if (!parsed) co_return text_response(404, parsed.error().message, parsed.error().detail);
  if (!*parsed) co_return std::nullopt;
  PreviewTarget t = std::move(**parsed);
  req.route = t.subdomain ? "preview (subdomain)" : "preview (path)";

  auto ws = preview_workspace(app.store, t.owner, t.workspace);
  if (!ws && ws.error().code != ErrorCode::not_found) co_return error_response(ws.error());
  if (!ws || ws->deleted) co_return text_response(404, kNoPreview, kNoPreviewHint);
  auto exposed = app.store.exposed_port(ws->id, t.port);
  if (!exposed) co_return error_response(exposed.error());
  if (!*exposed) co_return text_response(404, kNoPreview, kNoPreviewHint);
  const store::ExposedPort& port = **exposed;

  if (t.needs_slash) {
    Response r = text_response(308, "moved", "");
    std::string query = req.target.substr(std::min(req.target.size(), req.target.find('?')));
    r.headers.emplace_back("Location", t.prefix + "/" + query);
    co_return r;
  }

  // Who may open it: anyone when public; else the port's token (once, as a query parameter
  // that becomes a cookie, or as a header), a grant cookie from that, or the owner's
  // dashboard session (path form: the session cookie is the server's origin's).
  const UnixMillis now = now_ms();
  // The owner's session opened it: a grant cookie comes with the answer, so the sandboxed
  // page's own requests (which do not carry the session) get in too.
  std::optional<std::string> set_grant;
  if (!port.is_public) {
    std::optional<std::string> token = req.query_param(kPreviewTokenParam);
    if (token) {
      if (sha256_hex(*token) != port.token_hash) {
        co_return text_response(403, "this preview link's token is wrong or was replaced",
                                "ask for a new link: expose the port again");
      }
      std::string path = t.subdomain ? "" : t.prefix;
      auto q = t.target.find('?');
      std::string rest = t.target.substr(0, q);
      std::string query =
          q == std::string::npos ? "" : strip_token_param(std::string_view(t.target).substr(q + 1));
      Response r = text_response(303, "signed in to this preview", "");
      r.headers.emplace_back("Location", path + rest + (query.empty() ? "" : "?" + query));
      r.headers.emplace_back("Set-Cookie", grant_cookie(app, req, t, port, now));
      co_return r;
    }
    bool allowed = false;
    if (auto header = req.header(std::string(kPreviewTokenHeader)); !header.empty()) {
      allowed = sha256_hex(header) == port.token_hash;
    }
    if (!allowed) {
      if (auto grant = cookie_value(req.header("cookie"), kPreviewCookie)) {
        allowed = grant_valid(*grant, port.token_hash, ws->id, t.port, now);
      }
    }
    if (!allowed && !t.subdomain) {
      if (auto session = cookie_value(req.header("cookie"), kSessionCookie)) {
        auto actor = app.admin.authenticate(*session);
        if (actor && actor->user.id == ws->owner_id) {
          allowed = true;
          set_grant = grant_cookie(app, req, t, port, now);
        }
      }
    }
    if (!allowed) {
      co_return text_response(
          401, fmt::format("port {} of {}/{} is private", t.port, ws->owner_name, ws->name),
          "open the link expose_port gave (it carries the port's token), sign in to the "
          "dashboard as the workspace's owner, or make the port public");
    }
  }
  auto build = app.store.latest_build(ws->id);
  if (!build || build->build.transition != Transition::start) {
    co_return text_response(503,
                            fmt::format("workspace {}/{} is not running", ws->owner_name, ws->name),
                            "start it (start_workspace, or `berth workspaces start`)");
  }
  auto agents = app.store.agents_for_build(build->build.id);
  if (!agents) co_return error_response(agents.error());
  auto agent = chattools::select_chat_agent(*agents);
  if (!agent) {
    co_return text_response(503, "the workspace has no agent to reach its ports through", "");
  }
  const bool upgrade = !req.header("upgrade").empty();
  std::string request = app_request(req, t, upgrade);
  HeadRewrite rewrite{
      .sandbox = !t.subdomain,
      .allow_any_origin = !t.subdomain && port.is_public && req.header("origin") == "null",
      .set_cookie = set_grant.value_or("")};
  const auto port_number = static_cast<std::uint16_t>(t.port);
  // An agent on this host: the server dials the port in its workspace's network namespace.
  auto direct = co_await app.agents.dial_port(agent->id, port_number);
  if (!direct) co_return text_response(502, direct.error().message, direct.error().detail);
  if (*direct) {
    auto end = std::make_shared<SocketEnd>(std::move(**direct));
    if (!co_await end->write(request)) {
      co_return text_response(502, "the connection to the port closed", end->reason());
    }
    co_return carried_by(end, upgrade, rewrite);
  }
  // Else through the agent's tunnel. The request goes with the open: the agent holds it
  // until it has dialed.
  auto opened = co_await app.agents.open_port(agent->id, port_number, request);
  if (!opened) {
    co_return text_response(502, opened.error().message, opened.error().detail);
  }
  auto end = std::make_shared<TunnelEnd>(opened->first);
  if (!opened->second) {  // too large to go with the open
    if (!co_await end->write(request)) {
      co_return text_response(502, "the connection to the port closed", end->reason());
    }
  }
  co_return carried_by(end, upgrade, rewrite);
}

}  // namespace berth::http
