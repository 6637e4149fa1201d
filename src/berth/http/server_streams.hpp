#pragma once
// The Beast streams under the server as what handlers see without Beast (message.hpp,
// agentconn/message_channel.hpp): a WebSocket as a MessageChannel, the agent upgrade, the
// client's connection as a ByteStream (preview proxy) or an EventStream (SSE), and a watch
// for the client leaving. Included by server.cpp only: a Beast header (20-35 s a file).

#include <sys/socket.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "berth/agentconn/message_channel.hpp"
#include "berth/http/message.hpp"
#include "berth/net/netns.hpp"

namespace berth::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
// One stream type for TCP clients and for agents on the Unix socket.
using Socket = asio::generic::stream_protocol::socket;
using Stream = beast::basic_stream<asio::generic::stream_protocol>;
// The same over TLS (TCP clients of a server started with --tls-cert).
using TlsStream = beast::ssl_stream<Stream>;

// The largest frame an agent may send (file contents and command output are capped below it).
inline constexpr std::size_t kAgentFrameLimit = std::size_t{32} * 1024 * 1024;
// A write that makes no progress for this long ends the connection.
inline constexpr auto kWriteTimeout = std::chrono::seconds(30);

// A WebSocket as a MessageChannel: reads on demand, writes through a queue so that several
// coroutines may send without overlapping writes. S is the stream under it (plain or TLS).
template <class S>
class WebSocketChannel final : public agentconn::MessageChannel {
 public:
  explicit WebSocketChannel(websocket::stream<S> ws) : ws_(std::move(ws)) {
    // An agent on this host (it dialed the Unix socket): the server can reach its workspace's
    // ports in its network namespace (net/netns.hpp).
    auto& socket = beast::get_lowest_layer(ws_).socket();
    boost::system::error_code ec;
    if (socket.local_endpoint(ec).protocol().family() == AF_UNIX && !ec) {
      if (auto pidfd = net::peer_pidfd(socket.native_handle())) peer_ = std::move(*pidfd);
    }
  }

  awaitable<std::optional<agentconn::ChannelMessage>> read() override {
    if (closed_) co_return std::nullopt;
    boost::system::error_code ec;
    buffer_.consume(buffer_.size());
    co_await ws_.async_read(buffer_, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      closed_ = true;
      co_return std::nullopt;
    }
    co_return agentconn::ChannelMessage{beast::buffers_to_string(buffer_.data()), ws_.got_binary()};
  }

  bool send(std::string message) override { return enqueue(std::move(message), false); }
  bool send_binary(std::string message) override { return enqueue(std::move(message), true); }
  int peer_pidfd() const override { return peer_.get(); }

  void close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(Socket::shutdown_both, ec);
  }

  bool enqueue(std::string message, bool binary) {
    if (closed_) return false;
    queue_.push_back({std::move(message), binary});
    if (!writing_) asio::co_spawn(ws_.get_executor(), write_loop(), asio::detached);
    return true;
  }

  // Keeps the channel alive until queued writes are done.
  awaitable<void> drain() {
    while (writing_) {
      asio::steady_timer t(ws_.get_executor(), std::chrono::milliseconds(1));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec_));
    }
  }

 private:
  awaitable<void> write_loop() {
    writing_ = true;
    while (!queue_.empty() && !closed_) {
      boost::system::error_code ec;
      ws_.binary(queue_.front().binary);
      co_await ws_.async_write(asio::buffer(queue_.front().data),
                               asio::redirect_error(use_awaitable, ec));
      queue_.pop_front();
      if (ec) {
        close();
        break;
      }
    }
    queue_.clear();
    writing_ = false;
  }

  websocket::stream<S> ws_;
  net::UniqueFd peer_;
  beast::flat_buffer buffer_;
  std::deque<agentconn::ChannelMessage> queue_;
  bool writing_ = false;
  bool closed_ = false;
  boost::system::error_code ec_;
};

// Owns the channel on behalf of AgentHub::serve and drains it afterwards.
template <class S>
class OwnedChannel final : public agentconn::MessageChannel {
 public:
  explicit OwnedChannel(std::shared_ptr<WebSocketChannel<S>> inner) : inner_(std::move(inner)) {}
  awaitable<std::optional<agentconn::ChannelMessage>> read() override { return inner_->read(); }
  bool send(std::string m) override { return inner_->send(std::move(m)); }
  bool send_binary(std::string m) override { return inner_->send_binary(std::move(m)); }
  void close() override { inner_->close(); }
  int peer_pidfd() const override { return inner_->peer_pidfd(); }

 private:
  std::shared_ptr<WebSocketChannel<S>> inner_;
};

template <class S>
class StreamUpgrader final : public Upgrader {
 public:
  StreamUpgrader(S& stream, bhttp::request<bhttp::string_body>& req) : stream_(stream), req_(req) {}

  awaitable<std::unique_ptr<agentconn::MessageChannel>> accept() override {
    websocket::stream<S> ws(std::move(stream_));
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.read_message_max(kAgentFrameLimit);  // a larger frame ends the connection
    ws.auto_fragment(false);                // port tunnel frames go out whole
    boost::system::error_code ec;
    co_await ws.async_accept(req_, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return nullptr;
    accepted_ = true;
    channel_ = std::make_shared<WebSocketChannel<S>>(std::move(ws));
    co_return std::make_unique<OwnedChannel<S>>(channel_);
  }

  bool accepted() const { return accepted_; }
  std::shared_ptr<WebSocketChannel<S>> channel() const { return channel_; }

 private:
  S& stream_;
  bhttp::request<bhttp::string_body>& req_;
  bool accepted_ = false;
  std::shared_ptr<WebSocketChannel<S>> channel_;
};

// The client's connection handed to a response that takes it over (the preview proxy): the
// bytes read past the request come first.
template <class S>
class SocketByteStream final : public ByteStream {
 public:
  SocketByteStream(S& stream, beast::flat_buffer& buffer) : stream_(stream), buffer_(buffer) {}

  awaitable<std::string> read_some() override {
    if (buffer_.size() > 0) {
      std::string out = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      co_return out;
    }
    std::string out(std::size_t{64} * 1024, '\0');
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).expires_never();
    std::size_t n = co_await stream_.async_read_some(asio::buffer(out),
                                                     asio::redirect_error(use_awaitable, ec));
    out.resize(ec ? 0 : n);
    co_return out;
  }

  awaitable<bool> write(std::string_view bytes) override {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
    co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(use_awaitable, ec));
    beast::get_lowest_layer(stream_).expires_never();
    co_return !ec;
  }

  int splice_target() override {
    if constexpr (std::is_same_v<S, Stream>) {
      auto& socket = stream_.socket();
      boost::system::error_code ec;
      socket.non_blocking(true, ec);
      return ec ? -1 : socket.native_handle();
    }
    return -1;
  }

  awaitable<bool> wait_writable() override {
    using namespace asio::experimental::awaitable_operators;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    asio::steady_timer timeout(socket.get_executor(), kWriteTimeout);
    boost::system::error_code ec;
    boost::system::error_code timer_ec;
    auto done =
        co_await (socket.async_wait(Socket::wait_write, asio::redirect_error(use_awaitable, ec)) ||
                  timeout.async_wait(asio::redirect_error(use_awaitable, timer_ec)));
    co_return done.index() == 0 && !ec;
  }

 private:
  S& stream_;
  beast::flat_buffer& buffer_;
};

// Finds out, without reading or writing, that the client closed its side of the connection:
// waits for the socket to turn readable (not reading: under TLS that is the TLS layer's
// business) and peeks. End of stream or an error means it closed; anything else it sent (a
// pipelined request, a TLS close_notify) is not judged, and the watch ends. Stopping cancels
// the socket's pending operations, so stop only when nothing else waits on it.
template <class S>
class PeerWatch {
 public:
  explicit PeerWatch(S& stream) : stream_(stream) {}
  ~PeerWatch() { stop(); }
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

  // Calls `f` once, on the socket's executor, when the client closes; a second call replaces
  // the first's `f`.
  void start(std::function<void()> f) {
    const bool started = state_ != nullptr;
    if (!started) state_ = std::make_shared<State>();
    state_->on_closed = std::move(f);
    if (started) return;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.async_wait(Socket::wait_read, [state = state_, &socket](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || !state->on_closed) return;
      char byte;
      const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (ec || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        auto f = std::move(state->on_closed);
        state->on_closed = nullptr;
        f();
      }
    });
  }
  void stop() {
    if (!state_) return;
    state_->on_closed = nullptr;
    state_.reset();
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).socket().cancel(ignored);
  }

 private:
  struct State {
    std::function<void()> on_closed;
  };
  S& stream_;
  std::shared_ptr<State> state_;
};

// SSE over a plain socket: the head was written with Connection: close, so the body is the
// raw event stream until we close.
template <class S>
class SocketEventStream final : public EventStream {
 public:
  explicit SocketEventStream(S& stream) : stream_(stream), watch_(stream) {}
  awaitable<bool> send(std::string_view event, std::string_view data) override {
    co_return co_await write(fmt::format("event: {}\ndata: {}\n\n", event, data));
  }
  awaitable<bool> comment(std::string_view text) override {
    co_return co_await write(fmt::format(": {}\n\n", text));
  }
  void on_peer_closed(std::function<void()> f) override { watch_.start(std::move(f)); }

 private:
  awaitable<bool> write(std::string frame) {
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
    co_await asio::async_write(stream_, asio::buffer(frame),
                               asio::redirect_error(use_awaitable, ec));
    co_return !ec;
  }

  S& stream_;
  PeerWatch<S> watch_;
};

}  // namespace berth::http::detail
