#pragma once
// A message-oriented, bidirectional connection (a WebSocket underneath). The transport
// implements it; agentconn uses it without seeing Beast.

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

namespace berth::agentconn {

// Owned by the connection's coroutine. Not thread-safe; one executor.
class MessageChannel {
 public:
  virtual ~MessageChannel() = default;
  // The next text message; nullopt once the peer closed or the connection broke.
  virtual boost::asio::awaitable<std::optional<std::string>> read() = 0;
  // Queues a message; writes are sent in order. Returns false if the channel is closed.
  virtual bool send(std::string message) = 0;
  // Closes the connection (the pending read returns nullopt).
  virtual void close() = 0;
};

}  // namespace berth::agentconn
