#pragma once
// The agent's end of port tunnels (core/port_tunnel.hpp): for each stream the server opens it
// dials 127.0.0.1:<port> (then [::1]) in the workspace and pumps bytes both ways, within the
// window the other side grants. Streams end with the agent's connection.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

namespace berth::agent {

class PortForwarder {
 public:
  // `send` queues one binary frame to the server.
  PortForwarder(boost::asio::any_io_executor executor, std::function<void(std::string)> send);
  ~PortForwarder();

  // One binary frame from the server (kept, not copied, when it carries data). Malformed
  // frames are ignored.
  void handle(std::string frame);
  // The connection to the server ended: every stream's socket is closed.
  void reset();

  struct Stream;

 private:
  boost::asio::any_io_executor executor_;
  std::function<void(std::string)> send_;
  std::map<std::uint32_t, std::shared_ptr<Stream>> streams_;
};

}  // namespace berth::agent
