#pragma once
// An agent connection driven by hand, as code in a workspace holding its agent's token could:
// it sends whatever frames a test gives it over the real WebSocket endpoint.

#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

#include "berth/core/agent_protocol.hpp"

namespace berth::testing {

class RawAgent {
 public:
  RawAgent(const std::string& server_url, const std::string& token) : sock_(io_) {
    namespace beast = boost::beast;
    auto u = boost::urls::parse_uri(server_url);
    boost::asio::ip::tcp::resolver resolver(io_);
    boost::asio::connect(sock_.next_layer(),
                         resolver.resolve(std::string(u->host()), std::string(u->port())));
    sock_.set_option(
        beast::websocket::stream_base::decorator([token](beast::websocket::request_type& r) {
          r.set(beast::http::field::authorization, "Bearer " + token);
        }));
    sock_.handshake(std::string(u->host()), std::string(agent_protocol::kConnectPath));
  }
  void send(const std::string& frame) { sock_.write(boost::asio::buffer(frame)); }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> sock_;
};

}  // namespace berth::testing
