#pragma once
// Agent calls across replicas: an agent holds one connection, to the replica it dialled. A
// call that lands on another replica goes through AgentRelay to that replica, which makes it
// on its connection. The transport (http/relay_client, Beast) implements this interface so
// the hub stays free of HTTP.

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"
#include "berth/store/model.hpp"

namespace berth::agentconn {

// The detail of a call's error when the request went to the agent but its answer did not come
// back (the agent disconnected, or a relay's connection closed, mid-call): what it did is not
// known. Tools that change things say so, and what to check before trying again.
inline constexpr const char* kAnswerLost =
    "the request reached the agent, but its answer was lost; what it did is not known";

class AgentRelay {
 public:
  virtual ~AgentRelay() = default;
  // Calls `method` on agent `agent_id`, connected to `replica`. The same results as
  // AgentHub::call, plus unavailable when the replica cannot be reached.
  virtual boost::asio::awaitable<Result<nlohmann::json>> call(
      store::Replica replica, std::string agent_id, std::string method, nlohmann::json params,
      std::chrono::milliseconds timeout, std::function<void(std::string)> on_output) = 0;
};

}  // namespace berth::agentconn
