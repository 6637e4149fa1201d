// libFuzzer target: a frame from an agent (code in a workspace controls its agent's
// connection). Invariant: decoding never throws or crashes, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "berth/agentconn/agent_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = berth::agentconn::decode_agent_message(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (m && m->kind == berth::agentconn::AgentMessage::Kind::response) (void)m->reply.dump();
  return 0;
}
