#pragma once
// A message-oriented, bidirectional connection (a WebSocket underneath). The transport
// implements it; agentconn uses it without seeing Beast.

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

namespace berth::agentconn {

struct ChannelMessage {
  std::string data;
  bool binary = false;  // a binary frame (port tunnels), else text (JSON)
};

// Owned by the connection's coroutine. Not thread-safe; one executor.
class MessageChannel {
 public:
  virtual ~MessageChannel() = default;
  // The next message; nullopt once the peer closed or the connection broke.
  virtual boost::asio::awaitable<std::optional<ChannelMessage>> read() = 0;
  // Queues a text message; text and binary writes are sent in order. Returns false if the
  // channel is closed.
  virtual bool send(std::string message) = 0;
  virtual bool send_binary(std::string message) = 0;
  // Closes the connection (the pending read returns nullopt).
  virtual void close() = 0;
  // A pidfd of the process that connected, when it is on this host (a Unix socket; see
  // net/netns.hpp), owned by the channel; -1 otherwise.
  virtual int peer_pidfd() const { return -1; }
};

}  // namespace berth::agentconn
