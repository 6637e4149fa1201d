#include "berth/agentconn/port_stream.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/core/port_tunnel.hpp"

namespace berth::agentconn {

namespace asio = boost::asio;
namespace tunnel = port_tunnel;

PortStream::PortStream(const asio::any_io_executor& executor, MessageChannel* channel,
                       std::uint32_t id)
    : channel_(channel),
      id_(id),
      read_wake_(executor),
      write_wake_(executor),
      send_window_(tunnel::kWindow) {}

PortStream::~PortStream() { close("the stream was dropped"); }

void PortStream::wake_readers() { read_wake_.cancel(); }
void PortStream::wake_writers() { write_wake_.cancel(); }

asio::awaitable<std::optional<tunnel::Chunk>> PortStream::read() {
  while (incoming_.empty() && !peer_eof_ && !over_) {
    read_wake_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await read_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!incoming_.empty()) {
    tunnel::Chunk chunk = std::move(incoming_.front());
    incoming_.pop_front();
    incoming_bytes_ -= chunk.size();
    // Passed on: the agent may send this much more.
    if (!over_ && channel_)
      channel_->send_binary(tunnel::encode_credit(id_, static_cast<std::uint32_t>(chunk.size())));
    co_return chunk;
  }
  if (over_) co_return std::nullopt;
  co_return tunnel::Chunk{};  // the workspace's side finished sending
}

asio::awaitable<bool> PortStream::write(std::string_view bytes) {
  while (!bytes.empty()) {
    while (send_window_ == 0 && !over_) {
      write_wake_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await write_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (over_ || eof_sent_ || !channel_) co_return false;
    std::size_t n = std::min({bytes.size(), send_window_, tunnel::kMaxData});
    if (!channel_->send_binary(tunnel::encode_data(id_, bytes.substr(0, n)))) {
      on_closed("the workspace's agent disconnected", true);
      co_return false;
    }
    send_window_ -= n;
    bytes.remove_prefix(n);
  }
  co_return !over_;
}

void PortStream::shutdown_write() {
  if (over_ || eof_sent_ || !channel_) return;
  eof_sent_ = true;
  channel_->send_binary(tunnel::encode_eof(id_));
}

void PortStream::close(std::string_view reason) {
  if (over_) return;
  over_ = true;
  if (reason_.empty()) reason_ = std::string(reason);
  if (channel_) channel_->send_binary(tunnel::encode_close(id_, reason));
  wake_readers();
  wake_writers();
}

asio::awaitable<bool> PortStream::wait_opened(std::chrono::milliseconds timeout) {
  if (!opened_ && !over_) {
    read_wake_.expires_after(timeout);
    boost::system::error_code ec;
    co_await read_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!opened_ && !over_) {
    close("the workspace's agent did not answer in time");
    reason_ = "the workspace's agent did not open the port in time";
  }
  co_return opened_ && !over_;
}

void PortStream::on_opened() {
  opened_ = true;
  wake_readers();
}

bool PortStream::on_data(tunnel::Chunk bytes) {
  if (over_ || peer_eof_) return true;  // late frames of an ending stream
  if (incoming_bytes_ + bytes.size() > tunnel::kWindow) {
    close("the agent sent past its window");
    return false;
  }
  incoming_bytes_ += bytes.size();
  // Small frames join the last one, so a window's worth of bytes is a few chunks however the
  // agent cuts them (an app writing a byte at a time must not make the server hold two
  // million strings per stream). Large ones are kept whole, never copied.
  if (!incoming_.empty() && bytes.size() < kCoalesceBelow &&
      incoming_.back().size() < kCoalesceBelow) {
    incoming_.back().frame += bytes.bytes();
  } else {
    incoming_.push_back(std::move(bytes));
  }
  wake_readers();
  return true;
}

void PortStream::on_eof() {
  peer_eof_ = true;
  wake_readers();
}

void PortStream::on_credit(std::uint32_t bytes) {
  // Never more than one window outstanding, whatever the agent claims.
  send_window_ = std::min(tunnel::kWindow, send_window_ + bytes);
  wake_writers();
}

void PortStream::on_closed(std::string reason, bool channel_gone) {
  if (channel_gone) channel_ = nullptr;
  if (over_) return;
  over_ = true;
  reason_ = std::move(reason);
  wake_readers();
  wake_writers();
}

}  // namespace berth::agentconn
