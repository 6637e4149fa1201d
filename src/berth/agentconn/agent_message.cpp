#include "berth/agentconn/agent_message.hpp"

#include "berth/core/agent_protocol.hpp"
#include "berth/core/untrusted.hpp"

namespace berth::agentconn {

namespace proto = agent_protocol;
using nlohmann::json;

namespace {

std::string string_or_empty(const json& msg, const char* key) {
  auto it = msg.find(key);
  return it != msg.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::uint64_t id_or_zero(const json& msg) {
  auto it = msg.find("id");
  return it != msg.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace

Result<AgentMessage> decode_agent_message(std::string_view text) {
  json msg;
  if (auto refused = parse_untrusted_json(text, msg); refused != JsonRefusal::none) {
    return Error::invalid_argument(json_refusal_message(refused, "the frame"));
  }
  if (!msg.is_object()) return Error::invalid_argument("the frame is not a JSON object");
  AgentMessage m;
  const std::string type = string_or_empty(msg, "type");
  if (type == proto::kHello || type == proto::kLifecycle) {
    m.kind = type == proto::kHello ? AgentMessage::Kind::hello : AgentMessage::Kind::lifecycle;
    m.state =
        parse_lifecycle(string_or_empty(msg, type == proto::kHello ? "lifecycle_state" : "state"));
  } else if (type == proto::kLog) {
    m.kind = AgentMessage::Kind::log;
    if (auto it = msg.find("lines"); it != msg.end() && it->is_array()) {
      for (const auto& l : *it) {
        if (l.is_string()) m.lines.push_back(l.get<std::string>());
      }
    }
  } else if (type == proto::kHeartbeat) {
    m.kind = AgentMessage::Kind::heartbeat;
  } else if (type == proto::kOutput) {
    m.kind = AgentMessage::Kind::output;
    m.id = id_or_zero(msg);
    m.data = string_or_empty(msg, "data");
  } else if (type == proto::kResponse) {
    m.kind = AgentMessage::Kind::response;
    m.id = id_or_zero(msg);
    m.reply = std::move(msg);
  }
  return m;
}

}  // namespace berth::agentconn
