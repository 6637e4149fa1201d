#pragma once
// The sessions of MCP clients on /mcp (Streamable HTTP, revision 2025-11-25). A session is
// minted by `initialize`, named by the Mcp-Session-Id header, and belongs to one API token.
// Sessions live in the database, so every replica on it answers every session; what only the
// replica running a call can hold (the calls in flight, for cancellation) stays in memory here.
// Used on the server's executor only.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "berth/core/result.hpp"
#include "berth/mcp/mcp_server.hpp"
#include "berth/store/store.hpp"

namespace berth::http {

struct McpHttpSession {
  std::string id;
  mcp::Session protocol;
  std::string token_id;         // the API token that opened it: only that token may use it
  std::string chat_id;          // the chat this session works for
  std::string organization_id;  // that chat's organization
  std::chrono::steady_clock::time_point last_used;  // on this replica
  store::McpSessionRecord stored;                   // the row as last read or written
};

class McpSessions {
 public:
  // At most this many sessions per token: a new one ends the token's least recently used,
  // unless that one was used within kInUse (then the new one is refused: 429).
  static constexpr std::size_t kMaxPerToken = 64;
  static constexpr std::chrono::milliseconds kInUse{60'000};
  // A session's last use is written at most this often (every request reads the row anyway).
  static constexpr std::chrono::milliseconds kTouchInterval{10'000};

  explicit McpSessions(store::Store& store) : store_(store) {}

  // Records a session of token `token_id` working for `chat`; returns its id (32 hex
  // characters), or resource_exhausted when the token's sessions are all in use.
  Result<std::string> create(const std::string& token_id, const store::Chat& chat);
  // The session, if it exists and was opened by `token_id` (on any replica): null otherwise.
  // Shared: a call in flight keeps its session alive even if the client ends it meanwhile.
  Result<std::shared_ptr<McpHttpSession>> find(const std::string& id, const std::string& token_id);
  // Writes what the protocol learnt (initialize, notifications/initialized) when it changed,
  // and the session's use (a long call keeps its session in use).
  Status save(McpHttpSession& session);
  // Ends the session and cancels its calls in flight on this replica.
  Result<bool> remove(const std::string& id, const std::string& token_id);
  // Ends sessions unused for `idle` (a client that comes back gets 404 and starts a new
  // session, keeping its chat with ?chat=KEY) and forgets idle ones held in memory here.
  // Returns how many ended.
  std::size_t expire_idle(std::chrono::milliseconds idle);
  // Sessions held in memory on this replica.
  std::size_t cached() const { return cache_.size(); }

 private:
  store::Store& store_;
  std::map<std::string, std::shared_ptr<McpHttpSession>> cache_;
};

}  // namespace berth::http
