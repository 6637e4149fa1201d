#pragma once
// The sessions of MCP clients on /mcp (Streamable HTTP, revision 2025-11-25). A session is
// minted by `initialize`, named by the Mcp-Session-Id header, and belongs to one user.
// Used on the server's executor only.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "berth/mcp/mcp_server.hpp"
#include "berth/store/model.hpp"

namespace berth::http {

struct McpHttpSession {
  mcp::Session protocol;
  std::string token_id;         // the API token that opened it: only that token may use it
  std::string chat_id;          // the chat this session works for
  std::string organization_id;  // that chat's organization
  std::chrono::steady_clock::time_point last_used;
};

class McpSessions {
 public:
  // At most this many sessions per token: a new one ends the token's least recently used
  // session that has no call in flight, or is refused when every one has.
  static constexpr std::size_t kMaxPerToken = 64;

  // Creates a session of token `token_id` working for `chat` and returns its id (32 hex
  // characters); nullopt when the token has kMaxPerToken sessions, all busy.
  std::optional<std::string> create(std::string token_id, const store::Chat& chat);
  // The session, if it exists and was opened by `token_id`. Shared: a call in flight keeps
  // its session alive even if the client ends the session meanwhile.
  std::shared_ptr<McpHttpSession> find(const std::string& id, const std::string& token_id);
  // Ends the session and cancels its calls in flight.
  bool remove(const std::string& id, const std::string& token_id);
  // Ends sessions unused for `idle` (none with a call in flight; a client that comes back gets
  // 404 and starts a new session, keeping its chat with ?chat=KEY). Returns how many ended.
  std::size_t expire_idle(std::chrono::steady_clock::time_point now,
                          std::chrono::milliseconds idle);
  std::size_t size() const { return sessions_.size(); }

 private:
  std::map<std::string, std::shared_ptr<McpHttpSession>> sessions_;
};

}  // namespace berth::http
