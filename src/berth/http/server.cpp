// The only Beast translation unit of the server: HTTP/1.1 parsing and writing, SSE framing,
// and the WebSocket channel for agents. Everything it serves comes from the route tables.
#include "berth/http/server.hpp"
#include "berth/http/preview_proxy.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>

#include "berth/core/ids.hpp"
#include "berth/core/logging.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/metrics_handlers.hpp"
#include "berth/http/router.hpp"
#include "berth/http/server_streams.hpp"
#include "berth/http/web_session.hpp"
#include "berth/mcp/mcp_server.hpp"
#include "berth/net/scoped_executor.hpp"
#include "berth/net/tls.hpp"

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using detail::Socket;
using detail::Stream;
using detail::TlsStream;

namespace {

constexpr auto kReadTimeout = std::chrono::seconds(120);
// A client has this long to send a request's headers (and they may be this large).
constexpr auto kHeaderTimeout = std::chrono::seconds(30);
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
using detail::kWriteTimeout;
using detail::OwnedChannel;
using detail::PeerWatch;
using detail::SocketByteStream;
using detail::SocketEventStream;
using detail::StreamUpgrader;
using detail::WebSocketChannel;

// A refusal in the shape the caller reads: JSON-RPC on /mcp, the REST error elsewhere.
Response refusal(const Request& req, int status, const Error& error) {
  Response r = error_response(error);
  if (req.path == "/mcp" || req.path.starts_with("/mcp/")) {
    r.body = dump_json(
        mcp::McpServer::error_response(nullptr, mcp::rpc::kInvalidRequest, error.message));
  }
  r.status = status;
  return r;
}

std::string reason(int status) {
  return std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
}

}  // namespace

struct HttpServer::Impl {
  Impl(App& a, tcp::acceptor acc) : app(a), acceptor(std::move(acc)) {}
  ~Impl() {
    for (int fd : reserve_fds) ::close(fd);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  App& app;
  tcp::acceptor acceptor;
  // Agents in sandboxes have no network: they reach the server through this socket, which
  // serves the agent connection and nothing else.
  std::optional<local::acceptor> agent_acceptor;
  std::vector<Route> routes;
  std::vector<Route> agent_routes;
  bool stopped = false;
  std::size_t connections = 0;  // open now, both listeners
  // Descriptors held back for the moment the process runs out (accept_loop): released, they
  // let it log, shed a waiting connection and go on until the pause ends.
  std::vector<int> reserve_fds = open_reserve();

  static std::vector<int> open_reserve() {
    std::vector<int> fds;
    for (int i = 0; i < 4; ++i) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd >= 0) fds.push_back(fd);
    }
    return fds;
  }
  std::unordered_map<std::string, std::size_t> connections_by_client;

  template <class Acceptor>
  awaitable<void> accept_loop(Acceptor& acceptor, bool agents_only);
  awaitable<void> serve_connection(Socket socket, bool agents_only);
  // The HTTP/1.1 request loop on one connection, plain or TLS.
  template <class S>
  awaitable<void> serve_http(S& stream, bool agents_only);
  // Set by enable_tls: TCP clients must speak TLS.
  net::TlsContext tls;
  awaitable<Response> dispatch(Request& req, Upgrader* upgrader, bool agents_only);
  awaitable<Response> dispatch_route(Request& req, Upgrader* upgrader, bool agents_only);
};

// Every request is counted by route and status, and timed to its answer's head.
// Each request runs on an executor that keeps its request id set (X-Request-Id when the client
// sent a well-formed one, else a new one), so every line logged on its behalf carries it.
awaitable<Response> HttpServer::Impl::dispatch(Request& req, Upgrader* upgrader, bool agents_only) {
  const auto started = std::chrono::steady_clock::now();
  req.request_id = req.header("x-request-id");
  if (!valid_request_id(req.request_id)) req.request_id = new_request_id();
  net::ScopedExecutor scoped(co_await asio::this_coro::executor,
                             std::make_shared<const std::string>(req.request_id));
  Response r =
      co_await asio::co_spawn(scoped, dispatch_route(req, upgrader, agents_only), use_awaitable);
  r.headers.emplace_back("X-Request-Id", req.request_id);
  const auto took = std::chrono::steady_clock::now() - started;
  record_request(req, r.status, took);
  spdlog::debug("request method={} path={} status={} ms={:.3f} request_id={}", req.method,
                req.route.empty() ? std::string("(unmatched)") : req.route, r.status,
                std::chrono::duration<double, std::milli>(took).count(), req.request_id);
  co_return r;
}

awaitable<Response> HttpServer::Impl::dispatch_route(Request& req, Upgrader* upgrader,
                                                     bool agents_only) {
  if (!agents_only) {
    // Preview URLs have their own Host and Origin rules (their pages are other origins).
    if (auto preview = co_await serve_preview(app, req)) co_return std::move(*preview);
    // DNS rebinding and cross-site requests: checked before anything else, REST included.
    if (auto why = app.options.hosts.refusal(req.header("host"), req.header("origin"))) {
      co_return refusal(req, 403,
                        Error::permission_denied(*why,
                                                 "use a host name the server allows "
                                                 "(its operator sets --allowed-hosts)"));
    }
  }
  Match m = match_route(agents_only ? agent_routes : routes, req.method, req.path, req.params);
  if (!m.route && agents_only) {
    co_return error_response(Error::not_found(
        fmt::format("no such endpoint: {} {}", req.method, req.path),
        "this socket serves workspace agents only; use the server's HTTP address"));
  }
  if (!m.route) {
    if (m.path_matched) {
      Response r = error_response(Error::invalid_argument(
          fmt::format("method {} is not allowed on {}", req.method, req.path), "see docs/api.md"));
      r.status = 405;
      co_return r;
    }
    co_return error_response(
        Error::not_found(fmt::format("no such endpoint: {} {}", req.method, req.path),
                         "see docs/api.md for the REST API"));
  }
  req.route = m.route->pattern;
  Context ctx{app, req, std::nullopt};
  if (m.route->auth != Auth::none) {
    // A bearer token, else the dashboard's session cookie (web_session.hpp).
    std::string token = req.bearer_token();
    if (token.empty()) {
      if (auto cookie = cookie_value(req.header("cookie"), kSessionCookie);
          cookie && !cookie->empty()) {
        token = *cookie;
        req.session_cookie = std::move(*cookie);
      }
    }
    auto actor = app.admin.authenticate(token);
    if (!actor) co_return error_response(actor.error());
    if (!req.session_cookie.empty() && req.method != "GET" && req.method != "HEAD" &&
        // Compared as hashes, so the time taken says nothing about the expected value.
        sha256_hex(req.header(kCsrfHeader)) != sha256_hex(csrf_token_for(req.session_cookie))) {
      co_return error_response(Error::permission_denied(
          "missing or wrong X-CSRF-Token",
          "a dashboard request that changes something sends the X-CSRF-Token its sign-in gave "
          "(GET /api/v1/sessions/current shows it again)"));
    }
    if (actor->scope.read_only && m.route->auth == Auth::user && req.method != "GET" &&
        req.method != "HEAD") {
      co_return error_response(Error::permission_denied(
          fmt::format("this token is read-only; {} {} changes things", req.method, req.path),
          "use a token created without --read-only"));
    }
    ctx.actor = std::move(*actor);
  }
  try {
    if (m.route->upgrade) {
      if (!upgrader) {
        co_return error_response(Error::invalid_argument("this endpoint needs a WebSocket upgrade",
                                                         "connect with `berth agent`"));
      }
      co_return co_await m.route->upgrade(ctx, *upgrader);
    }
    co_return co_await m.route->handler(ctx);
  } catch (const std::exception& e) {
    spdlog::error("handler failed method={} path={} error={}", req.method, req.path, e.what());
    co_return error_response(Error::internal("internal error", "the server log has the details"));
  }
}

awaitable<void> HttpServer::Impl::serve_connection(Socket socket, bool agents_only) {
  Stream stream(std::move(socket));
  if (agents_only) {
    co_await serve_http(stream, agents_only);
    co_return;
  }
  boost::system::error_code ec;
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (!tls) {
    co_await serve_http(stream, agents_only);
    co_return;
  }
  TlsStream secure(std::move(stream), *tls);
  beast::get_lowest_layer(secure).expires_after(kHeaderTimeout);
  co_await secure.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) {
    // A client that speaks plain HTTP to a TLS port, or distrusts our certificate: its
    // connection ends here; nothing is logged per connection (scanners would fill the log).
    co_return;
  }
  co_await serve_http(secure, agents_only);
}

template <class S>
awaitable<void> HttpServer::Impl::serve_http(S& stream, bool agents_only) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  while (true) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    // The body's limit is decided once the headers are in (it depends on the token): Beast
    // checks Content-Length when the headers end, so that check is made below instead.
    parser.body_limit(boost::none);
    lowest.expires_after(kHeaderTimeout);
    boost::system::error_code ec;
    co_await bhttp::async_read_header(stream, buffer, parser,
                                      asio::redirect_error(use_awaitable, ec));
    std::optional<Response> refused;
    if (ec == bhttp::error::header_limit) {
      refused = error_response(Error::invalid_argument(
          fmt::format("request headers are larger than the limit of {} bytes", kHeaderLimit)));
      refused->status = 431;
    } else if (ec) {
      break;
    } else {
      // The body is read only after the token is checked: a client without a valid token
      // gets a small allowance, so anonymous connections cannot hold megabytes each.
      std::size_t limit = app.options.body_limit;
      bool verified = false;
      if (!agents_only) {
        std::string_view auth = parser.get()[bhttp::field::authorization];
        if (auth.starts_with("Bearer ")) {
          std::string_view bearer = auth.substr(7);
          verified = (!app.options.relay_secret.empty() && bearer == app.options.relay_secret) ||
                     app.admin.authenticate(bearer).has_value() ||
                     (bearer.starts_with(workspaces::kProvisionerKeyPrefix) &&
                      app.admin.authenticate_provisioner(bearer).has_value());
        }
      }
      if (!verified) limit = std::min(limit, app.options.unauthenticated_body_limit);
      parser.body_limit(limit);  // chunked bodies, counted as they arrive
      if (auto length = parser.content_length(); length && *length > limit) {
        ec = bhttp::error::body_limit;
      } else if (!parser.is_done()) {
        lowest.expires_after(kReadTimeout);
        co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      }
      if (ec == bhttp::error::body_limit) {
        std::string why = fmt::format("request body is larger than the limit of {} bytes", limit);
        if (!verified) why += " for a request without a valid token";
        Request req;
        req.path = std::string(parser.get().target().substr(0, parser.get().target().find('?')));
        refused = refusal(req, 413, Error::invalid_argument(why));
      } else if (ec) {
        break;
      }
    }
    if (refused) {
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(refused->status), 11};
      res.set(bhttp::field::content_type, refused->content_type);
      res.body() = refused->body;
      res.keep_alive(false);
      res.prepare_payload();
      lowest.expires_after(kWriteTimeout);
      co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      break;
    }
    auto& raw = parser.get();

    Request req;
    req.method = std::string(raw.method_string());
    req.target = std::string(raw.target());
    req.body = std::move(raw.body());
    for (const auto& field : raw) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      req.headers[name] = std::string(field.value());
    }
    auto url = boost::urls::parse_origin_form(raw.target());
    if (!url) {
      req.path = std::string(raw.target());
    } else {
      req.path = std::string(url->encoded_path());  // segments are decoded by the router
      for (auto param : url->params()) req.query[std::string(param.key)] = std::string(param.value);
    }

    if (websocket::is_upgrade(raw)) {
      StreamUpgrader<S> upgrader(stream, raw);
      Response r = co_await dispatch(req, &upgrader, agents_only);
      if (r.takeover) {
        SocketByteStream<S> bytes(stream, buffer);
        co_await r.takeover(bytes);
        break;
      }
      if (upgrader.accepted()) {
        if (auto ch = upgrader.channel()) co_await ch->drain();
        co_return;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), raw.version()};
      res.set(bhttp::field::content_type, r.content_type);
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = r.body;
      res.keep_alive(false);
      res.prepare_payload();
      lowest.expires_after(kWriteTimeout);
      co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      break;
    }

    // A handler may ask to hear of the client leaving while it works (an MCP call answered
    // as plain JSON is cancelled then); only until dispatch returns.
    PeerWatch<S> watch(stream);
    req.on_client_closed = [&watch](std::function<void()> f) { watch.start(std::move(f)); };
    Response r = co_await dispatch(req, nullptr, agents_only);
    req.on_client_closed = nullptr;
    watch.stop();
    if (r.takeover) {
      SocketByteStream<S> bytes(stream, buffer);
      co_await r.takeover(bytes);
      break;
    }
    if (r.stream) {
      std::string head = fmt::format(
          "HTTP/1.1 {} {}\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
          "X-Accel-Buffering: no\r\nConnection: close\r\n",
          r.status, reason(r.status));
      for (const auto& [k, v] : r.headers) head += fmt::format("{}: {}\r\n", k, v);
      head += "\r\n";
      lowest.expires_after(kWriteTimeout);
      co_await asio::async_write(stream, asio::buffer(head),
                                 asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      SocketEventStream<S> events(stream);
      co_await r.stream(events);
      break;
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), raw.version()};
    res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::server, "berth");
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.body() = std::move(r.body);
    res.keep_alive(raw.keep_alive());
    res.prepare_payload();
    lowest.expires_after(kWriteTimeout);
    co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  lowest.socket().shutdown(Socket::shutdown_send, ignored);
}

// Whether an accept error is the process running out of something (descriptors, memory):
// retrying at once would spin, so the loop pauses instead.
bool resource_exhausted(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

template <class Acceptor>
awaitable<void> HttpServer::Impl::accept_loop(Acceptor& acceptor, bool agents_only) {
  asio::steady_timer pause(app.executor);
  auto last_warning = std::chrono::steady_clock::time_point{};
  std::size_t refused_since_warning = 0;
  while (!stopped) {
    boost::system::error_code ec;
    auto accepted = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      const bool exhausted = resource_exhausted(ec);
      // Out of descriptors: give back the reserve, so that logging (and whatever else the
      // process needs for a moment) works, and take the waiting connection and close it:
      // its client learns at once instead of hanging in the backlog.
      if (exhausted && !reserve_fds.empty()) {
        for (int fd : reserve_fds) ::close(fd);
        reserve_fds.clear();
        int shed = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
        if (shed >= 0) ::close(shed);
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_warning > std::chrono::seconds(5)) {
        spdlog::warn("accept failed error={}{}", ec.message(),
                     exhausted ? "; pausing new connections for 100 ms" : "");
        last_warning = now;
      }
      if (exhausted) {
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        if (reserve_fds.empty()) reserve_fds = open_reserve();
      }
      continue;
    }
    auto protocol = accepted.local_endpoint(ec).protocol();
    if (ec) continue;  // the peer is already gone
    std::string client = "agents";
    if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
      client = accepted.remote_endpoint(ec).address().to_string();
      if (ec) continue;
    }
    auto& per_client = connections_by_client[client];
    const std::size_t per_client_cap =
        agents_only ? app.options.max_connections : app.options.max_connections_per_client;
    if (connections >= app.options.max_connections || per_client >= per_client_cap) {
      if (per_client == 0) connections_by_client.erase(client);
      // Closed at once: a client over its share gets nothing to hold on to.
      accepted.close(ec);
      ++refused_since_warning;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_warning > std::chrono::seconds(5)) {
        spdlog::warn("connections refused client={} open={} client_open={} refused={}", client,
                     connections, per_client, refused_since_warning);
        last_warning = now;
        refused_since_warning = 0;
      }
      continue;
    }
    ++connections;
    ++per_client;
    Socket socket(app.executor,
                  asio::generic::stream_protocol(protocol.family(), protocol.protocol()),
                  accepted.release());
    asio::co_spawn(app.executor, serve_connection(std::move(socket), agents_only),
                   [this, client](const std::exception_ptr& e) {
                     --connections;
                     if (auto it = connections_by_client.find(client);
                         it != connections_by_client.end() && --it->second == 0) {
                       connections_by_client.erase(it);
                     }
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::warn("connection ended with error={}", ex.what());
                     }
                   });
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::listen(App& app, const std::string& host,
                                                       std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Error::invalid_argument(fmt::format("invalid listen address \"{}\"", host),
                                   "use an IP address such as 127.0.0.1 or 0.0.0.0");
  }
  tcp::acceptor acceptor(app.executor);
  tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::unavailable(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()),
                              "choose another --listen address or stop what uses it");
  }
  auto impl = std::make_unique<Impl>(app, std::move(acceptor));
  for (auto table : all_routes())
    impl->routes.insert(impl->routes.end(), table.begin(), table.end());
  for (const auto& route : impl->routes) {
    if (route.upgrade) impl->agent_routes.push_back(route);
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

Status HttpServer::enable_tls(const std::string& cert_file, const std::string& key_file) {
  auto ctx = net::server_tls_context(cert_file, key_file);
  if (!ctx) return ctx.error();
  impl_->tls = std::move(*ctx);
  return {};
}

Status HttpServer::listen_agent_socket(const std::string& path) {
  boost::system::error_code ec;
  ::unlink(path.c_str());  // a socket left by an earlier server of this data directory
  local::acceptor acceptor(impl_->app.executor);
  local::endpoint endpoint(path);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::unavailable(fmt::format("cannot listen on {}: {}", path, ec.message()),
                              "check that the data directory is writable");
  }
  // Sandboxes run as other users; the token authenticates, the socket only carries.
  ::chmod(path.c_str(), 0666);
  impl_->agent_acceptor.emplace(std::move(acceptor));
  return {};
}

void HttpServer::start() {
  asio::co_spawn(impl_->app.executor, impl_->accept_loop(impl_->acceptor, false), asio::detached);
  if (impl_->agent_acceptor) {
    asio::co_spawn(impl_->app.executor, impl_->accept_loop(*impl_->agent_acceptor, true),
                   asio::detached);
  }
}

void HttpServer::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  if (impl_->agent_acceptor) impl_->agent_acceptor->close(ec);
}

}  // namespace berth::http
