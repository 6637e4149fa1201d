#pragma once
// PortStream: one TCP connection to a port inside a workspace, carried over its agent's
// connection (core/port_tunnel.hpp has the frames). AgentHub opens it; the preview proxy
// reads and writes it without seeing WebSockets. One executor, like the hub.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "berth/agentconn/message_channel.hpp"
#include "berth/core/port_tunnel.hpp"

namespace berth::agentconn {

class PortStream {
 public:
  PortStream(const boost::asio::any_io_executor& executor, MessageChannel* channel,
             std::uint32_t id);
  ~PortStream();
  PortStream(const PortStream&) = delete;
  PortStream& operator=(const PortStream&) = delete;

  // The next bytes from the workspace (in the frame they came in: never copied); an empty
  // chunk once it sent all it will (half close); nullopt once the stream is over (closed by
  // either side, or the agent's connection ended).
  boost::asio::awaitable<std::optional<port_tunnel::Chunk>> read();
  // Sends bytes to the workspace, waiting while the agent's window is full. False once the
  // stream is over.
  boost::asio::awaitable<bool> write(std::string_view bytes);
  // No more bytes to the workspace (its socket's write side is shut down).
  void shutdown_write();
  // Ends the stream at both ends. Idempotent.
  void close(std::string_view reason);
  bool over() const { return over_; }
  // Why it ended, when the other side or the connection ended it.
  const std::string& reason() const { return reason_; }
  std::uint32_t id() const { return id_; }

  // --- For AgentHub: frames from the agent for this stream.
  // Waits for opened (true) or close (false, reason()); false at the deadline.
  boost::asio::awaitable<bool> wait_opened(std::chrono::milliseconds timeout);
  void on_opened();
  // False when the agent sent more than its window (a protocol error: the stream is closed).
  bool on_data(port_tunnel::Chunk bytes);
  void on_eof();
  void on_credit(std::uint32_t bytes);
  // The agent closed the stream, or its connection ended (channel gone).
  void on_closed(std::string reason, bool channel_gone);

 private:
  // Received frames smaller than this are appended to the previous chunk.
  static constexpr std::size_t kCoalesceBelow = std::size_t{64} * 1024;

  void wake_readers();
  void wake_writers();

  MessageChannel* channel_;  // null once the agent's connection ended
  std::uint32_t id_;
  boost::asio::steady_timer read_wake_;
  boost::asio::steady_timer write_wake_;
  std::deque<port_tunnel::Chunk> incoming_;
  std::size_t incoming_bytes_ = 0;  // received, not yet read
  std::size_t send_window_;         // bytes we may still send before more credit
  bool opened_ = false;
  bool peer_eof_ = false;
  bool eof_sent_ = false;
  bool over_ = false;
  std::string reason_;
};

}  // namespace berth::agentconn
