#pragma once
// The client side of the relay between replicas (see replica_handlers.cpp): one HTTP
// connection per relayed agent call to the replica holding the agent's connection.

#include <boost/asio/any_io_executor.hpp>

#include "berth/agentconn/agent_relay.hpp"
#include "berth/net/tls.hpp"

namespace berth::http {

class RelayClient final : public agentconn::AgentRelay {
 public:
  explicit RelayClient(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  boost::asio::awaitable<Result<nlohmann::json>> call(
      store::Replica replica, std::string agent_id, std::string method, nlohmann::json params,
      std::chrono::milliseconds timeout, std::function<void(std::string)> on_output) override;

  // How https:// relay URLs are verified (the server's CA file, if any).
  void set_tls(net::TlsContext tls) { tls_ = std::move(tls); }

 private:
  boost::asio::any_io_executor executor_;
  net::TlsContext tls_;
};

}  // namespace berth::http
