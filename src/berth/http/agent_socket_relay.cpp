#include "berth/http/agent_socket_relay.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "berth/core/agent_protocol.hpp"

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kHeaderTimeout = std::chrono::seconds(10);
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr std::uint32_t kHeaderLimit = 16 * 1024;

// Copies bytes from `from` to `to` until either side ends.
template <class A, class B>
awaitable<void> pump(A& from, B& to) {
  std::array<char, 16384> buf;
  while (true) {
    boost::system::error_code ec;
    std::size_t n =
        co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    co_await asio::async_write(to, asio::buffer(buf.data(), n),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace

struct AgentSocketRelay::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, std::string url, net::TlsContext t)
      : executor(ex), server_url(std::move(url)), tls(std::move(t)), acceptor(ex) {}

  asio::any_io_executor executor;
  std::string server_url;
  net::TlsContext tls;
  local::acceptor acceptor;
  bool stopped = false;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      boost::system::error_code ec;
      local::socket socket(executor);
      co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
    }
  }

  // Answers the agent's socket without going further.
  static awaitable<void> refuse(beast::basic_stream<local>& agent, unsigned status,
                                std::string message) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = nlohmann::json{
        {"message", message},
        {"detail",
         "this socket carries workspace agents to the Berth server "
         "only"}}.dump();
    res.keep_alive(false);
    res.prepare_payload();
    boost::system::error_code ec;
    agent.expires_after(kHeaderTimeout);
    co_await bhttp::async_write(agent, res, asio::redirect_error(use_awaitable, ec));
  }

  awaitable<void> serve(local::socket socket) {
    auto self = shared_from_this();
    beast::basic_stream<local> agent(std::move(socket));
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(kHeaderLimit);
    boost::system::error_code ec;
    agent.expires_after(kHeaderTimeout);
    co_await bhttp::async_read_header(agent, buffer, parser,
                                      asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    auto& req = parser.get();
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != bhttp::verb::get || path != agent_protocol::kConnectPath ||
        !beast::websocket::is_upgrade(req)) {
      co_await refuse(agent, 404,
                      fmt::format("no such endpoint: {} {}", std::string(req.method_string()),
                                  std::string(path)));
      co_return;
    }
    auto url = boost::urls::parse_uri(server_url);
    if (!url) co_return;
    const bool secure = url->scheme() == "https";
    const std::string host = url->host();
    const std::string port = url->has_port() ? std::string(url->port()) : (secure ? "443" : "80");
    beast::tcp_stream upstream(executor);
    upstream.expires_after(kConnectTimeout);
    tcp::resolver resolver(executor);
    auto endpoints =
        co_await resolver.async_resolve(host, port, asio::redirect_error(use_awaitable, ec));
    if (!ec) co_await upstream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      spdlog::warn("agent relay cannot reach the server url={} error={}", server_url, ec.message());
      co_await refuse(agent, 503, fmt::format("cannot reach the Berth server at {}", server_url));
      co_return;
    }
    upstream.socket().set_option(tcp::no_delay(true), ec);
    req.set(bhttp::field::host, std::string(url->encoded_host_and_port()));
    if (!secure) {
      co_await carry(agent, upstream, req, buffer);
      co_return;
    }
    if (!tls) co_return;
    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(upstream), *tls);
    if (!net::verify_host_name(tls_stream.native_handle(), host)) co_return;
    co_await tls_stream.async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(use_awaitable, ec));
    if (ec) {
      spdlog::warn("agent relay TLS with the server failed url={} error={}", server_url,
                   ec.message());
      co_await refuse(agent, 503,
                      fmt::format("TLS with the Berth server at {} failed", server_url));
      co_return;
    }
    co_await carry(agent, tls_stream, req, buffer);
  }

  // Sends the checked upgrade request on, then carries bytes both ways until either side ends.
  template <class Up>
  awaitable<void> carry(beast::basic_stream<local>& agent, Up& upstream,
                        bhttp::request<bhttp::empty_body>& req, beast::flat_buffer& buffer) {
    using namespace asio::experimental::awaitable_operators;
    boost::system::error_code ec;
    bhttp::request_serializer<bhttp::empty_body> sr(req);
    co_await bhttp::async_write_header(upstream, sr, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    if (buffer.size() > 0) {  // frames the agent sent right behind its request
      co_await asio::async_write(upstream, buffer.data(), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      buffer.consume(buffer.size());
    }
    agent.expires_never();
    beast::get_lowest_layer(upstream).expires_never();
    co_await (pump(agent, upstream) || pump(upstream, agent));
  }
};

AgentSocketRelay::AgentSocketRelay(asio::any_io_executor executor, std::string server_url,
                                   net::TlsContext tls)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(server_url), std::move(tls))) {}

AgentSocketRelay::~AgentSocketRelay() { stop(); }

Status AgentSocketRelay::listen(const std::string& path) {
  boost::system::error_code ec;
  ::unlink(path.c_str());
  local::endpoint endpoint(path);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::unavailable(fmt::format("cannot listen on {}: {}", path, ec.message()),
                              "check that the data directory is writable");
  }
  // Sandboxes run as other users; the token authenticates, the socket only carries.
  ::chmod(path.c_str(), 0666);
  asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
  return {};
}

void AgentSocketRelay::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace berth::http
