#pragma once
// What an agent sent, decoded from one WebSocket text frame without trusting any of it:
// invalid JSON, nesting past the limit, wrong types and unknown types all decode to a
// refusal or to `unknown`, never to an exception. The hub acts only on decoded messages;
// the fuzz target fuzz_agent_message drives this function.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"
#include "berth/core/status.hpp"

namespace berth::agentconn {

struct AgentMessage {
  enum class Kind { hello, lifecycle, log, heartbeat, output, response, unknown };
  Kind kind = Kind::unknown;
  std::optional<AgentLifecycle> state;  // hello, lifecycle (nullopt: not a known state)
  std::vector<std::string> lines;       // log: the string lines (others are skipped)
  std::uint64_t id = 0;                 // output, response: the request's id
  std::string data;                     // output
  nlohmann::json reply;                 // response: the whole message
};

// invalid_argument (with the reason) for frames that are not a JSON object within the limits.
Result<AgentMessage> decode_agent_message(std::string_view text);

}  // namespace berth::agentconn
