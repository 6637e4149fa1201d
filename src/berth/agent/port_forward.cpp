#include "berth/agent/port_forward.hpp"

#include <algorithm>
#include <deque>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "berth/core/port_tunnel.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace tunnel = port_tunnel;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

struct PortForwarder::Stream {
  Stream(const asio::any_io_executor& ex, std::uint32_t id)
      : id(id), socket(ex), read_wake(ex), write_wake(ex) {}
  std::uint32_t id;
  tcp::socket socket;
  asio::steady_timer read_wake;   // the reader waits here for credit
  asio::steady_timer write_wake;  // the writer waits here for data
  std::deque<tunnel::Chunk> to_socket;
  std::size_t queued = 0;                     // bytes in to_socket
  std::size_t send_window = tunnel::kWindow;  // bytes we may send the server
  bool opened = false;
  bool server_eof = false;   // the server sends no more
  bool socket_eof = false;   // the socket sent all it will
  bool flushed_eof = false;  // server_eof passed on to the socket
  bool over = false;
};

namespace {

// Sends `reason` to the server unless the stream already ended; idempotent.
void finish(PortForwarder::Stream& s, const std::function<void(std::string)>& send,
            std::string_view reason) {
  if (s.over) return;
  s.over = true;
  send(tunnel::encode_close(s.id, reason));
  boost::system::error_code ec;
  s.socket.close(ec);
  s.read_wake.cancel();
  s.write_wake.cancel();
}

awaitable<void> wait_on(asio::steady_timer& t) {
  t.expires_at(asio::steady_timer::time_point::max());
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

// Socket -> server, within the window the server grants.
awaitable<void> pump_out(std::shared_ptr<PortForwarder::Stream> s,
                         std::function<void(std::string)> send) {
  while (!s->over) {
    if (s->send_window == 0) {
      co_await wait_on(s->read_wake);
      continue;
    }
    boost::system::error_code ec;
    co_await s->socket.async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
    if (s->over) co_return;
    // Read into the frame itself, after room for its header, so the bytes are not copied
    // again; sized to what is there, so a frame holds no more memory than its bytes.
    std::size_t ready = ec ? 0 : s->socket.available(ec);
    std::size_t want =
        std::clamp<std::size_t>(ready, 1, std::min(tunnel::kMaxData, s->send_window));
    std::string frame(tunnel::kHeaderSize + want, '\0');
    std::size_t n = s->socket.read_some(asio::buffer(frame.data() + tunnel::kHeaderSize, want), ec);
    if (ec == asio::error::would_block) continue;  // readiness without bytes after all
    if (n > 0) {
      s->send_window -= n;
      frame.resize(tunnel::kHeaderSize + n);
      tunnel::stamp_data_header(frame, s->id);
      send(std::move(frame));
    }
    if (ec == asio::error::eof) {
      s->socket_eof = true;
      send(tunnel::encode_eof(s->id));
      if (s->flushed_eof) finish(*s, send, "done");
      co_return;
    }
    if (ec) {
      finish(*s, send, fmt::format("reading from the port failed: {}", ec.message()));
      co_return;
    }
  }
}

// Server -> socket; credit goes back as bytes are written.
awaitable<void> pump_in(std::shared_ptr<PortForwarder::Stream> s,
                        std::function<void(std::string)> send) {
  while (!s->over) {
    if (s->to_socket.empty()) {
      if (s->server_eof) {
        boost::system::error_code ec;
        s->socket.shutdown(tcp::socket::shutdown_send, ec);
        s->flushed_eof = true;
        if (s->socket_eof) finish(*s, send, "done");
        co_return;
      }
      co_await wait_on(s->write_wake);
      continue;
    }
    tunnel::Chunk chunk = std::move(s->to_socket.front());
    s->to_socket.pop_front();
    s->queued -= chunk.size();
    boost::system::error_code ec;
    co_await asio::async_write(s->socket, asio::buffer(chunk.bytes()),
                               asio::redirect_error(use_awaitable, ec));
    if (s->over) co_return;
    if (ec) {
      finish(*s, send, fmt::format("writing to the port failed: {}", ec.message()));
      co_return;
    }
    send(tunnel::encode_credit(s->id, static_cast<std::uint32_t>(chunk.size())));
  }
}

awaitable<void> dial(std::shared_ptr<PortForwarder::Stream> s, std::uint16_t port,
                     std::function<void(std::string)> send) {
  boost::system::error_code ec;
  for (const auto& address : {asio::ip::address(asio::ip::address_v4::loopback()),
                              asio::ip::address(asio::ip::address_v6::loopback())}) {
    s->socket.close(ec);
    tcp::endpoint endpoint(address, port);
    co_await s->socket.async_connect(endpoint, asio::redirect_error(use_awaitable, ec));
    if (s->over) co_return;
    if (!ec) break;
  }
  if (ec) {
    finish(*s, send,
           ec == asio::error::connection_refused
               ? fmt::format("nothing listens on port {} in the workspace", port)
               : fmt::format("connecting to port {} failed: {}", port, ec.message()));
    co_return;
  }
  s->socket.set_option(tcp::no_delay(true), ec);
  s->socket.non_blocking(true, ec);  // pump_out's reads after a readiness wait never block
  s->opened = true;
  send(tunnel::encode_opened(s->id));
  auto ex = s->socket.get_executor();
  asio::co_spawn(ex, pump_out(s, send), asio::detached);
  asio::co_spawn(ex, pump_in(s, send), asio::detached);
}

}  // namespace

PortForwarder::PortForwarder(asio::any_io_executor executor, std::function<void(std::string)> send)
    : executor_(std::move(executor)), send_(std::move(send)) {}

PortForwarder::~PortForwarder() { reset(); }

void PortForwarder::handle(std::string bytes) {
  auto frame = tunnel::decode(bytes);
  if (!frame) {
    spdlog::warn("tunnel frame ignored: {}", frame.error().message);
    return;
  }
  std::erase_if(streams_, [](const auto& entry) { return entry.second->over; });
  auto it = streams_.find(frame->stream);
  if (frame->op == tunnel::Op::open) {
    if (it != streams_.end() || streams_.size() >= tunnel::kMaxStreams) {
      send_(tunnel::encode_close(frame->stream, "too many connections to the workspace"));
      return;
    }
    auto s = std::make_shared<Stream>(executor_, frame->stream);
    streams_[frame->stream] = s;
    asio::co_spawn(executor_, dial(s, frame->port, send_), asio::detached);
    return;
  }
  if (it == streams_.end()) return;
  auto& s = *it->second;
  switch (frame->op) {
    case tunnel::Op::data:
      if (s.queued + frame->payload.size() > tunnel::kWindow) {
        finish(s, send_, "the server sent past its window");
        return;
      }
      s.queued += frame->payload.size();
      s.to_socket.push_back(tunnel::Chunk{std::move(bytes), tunnel::kHeaderSize});
      s.write_wake.cancel();
      break;
    case tunnel::Op::eof:
      s.server_eof = true;
      s.write_wake.cancel();
      break;
    case tunnel::Op::credit:
      s.send_window = std::min(tunnel::kWindow, s.send_window + frame->credit);
      s.read_wake.cancel();
      break;
    case tunnel::Op::close: {
      s.over = true;  // the server ended it: nothing goes back
      boost::system::error_code ec;
      s.socket.close(ec);
      s.read_wake.cancel();
      s.write_wake.cancel();
      streams_.erase(it);
      break;
    }
    default:
      break;
  }
}

void PortForwarder::reset() {
  for (auto& [id, s] : streams_) {
    s->over = true;
    boost::system::error_code ec;
    s->socket.close(ec);
    s->read_wake.cancel();
    s->write_wake.cancel();
  }
  streams_.clear();
}

}  // namespace berth::agent
