#include "berth/http/mcp_sessions.hpp"

#include <spdlog/spdlog.h>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"

namespace berth::http {

namespace {

using nlohmann::json;

// The database row of what the protocol part of a session holds.
store::McpSessionRecord record_of(const McpHttpSession& s) {
  store::McpSessionRecord r;
  r.id = s.id;
  r.token_id = s.token_id;
  r.chat_id = s.chat_id;
  r.organization_id = s.organization_id;
  r.protocol_version = s.protocol.protocol_version;
  r.client_info = dump_json(s.protocol.client_info);
  r.initialized = s.protocol.initialized;
  return r;
}

// Memory entries unused for this long are dropped (the row stays; the next request reloads).
constexpr auto kForgetAfter = std::chrono::minutes(2);

}  // namespace

Result<std::string> McpSessions::create(const std::string& token_id, const store::Chat& chat) {
  store::McpSessionRecord r;
  r.id = random_hex(16);
  r.token_id = token_id;
  r.chat_id = chat.id;
  r.organization_id = chat.organization_id;
  r.created_at = r.last_used_at = now_ms();
  if (auto s = store_.create_mcp_session(r, kMaxPerToken, r.created_at - kInUse.count()); !s) {
    return s.error();
  }
  return r.id;
}

Result<std::shared_ptr<McpHttpSession>> McpSessions::find(const std::string& id,
                                                          const std::string& token_id) {
  auto row = store_.mcp_session(id);
  if (!row) {
    if (row.error().code != ErrorCode::not_found) return row.error();
    // Ended on another replica (or expired): its calls here end too.
    if (auto it = cache_.find(id); it != cache_.end() && it->second->token_id == token_id) {
      for (auto& [request, control] : it->second->protocol.in_flight) control->cancel();
      cache_.erase(it);
    }
    return std::shared_ptr<McpHttpSession>();
  }
  if (row->token_id != token_id) return std::shared_ptr<McpHttpSession>();
  auto& entry = cache_[id];
  if (!entry) {
    entry = std::make_shared<McpHttpSession>();
    entry->id = id;
    entry->token_id = row->token_id;
    entry->chat_id = row->chat_id;
    entry->organization_id = row->organization_id;
  }
  // The row is the truth: another replica may have seen notifications/initialized.
  entry->protocol.protocol_version = row->protocol_version;
  entry->protocol.initialized = row->initialized;
  json info = json::parse(row->client_info, nullptr, false);
  entry->protocol.client_info = info.is_object() ? std::move(info) : json::object();
  entry->last_used = std::chrono::steady_clock::now();
  entry->stored = *row;
  const UnixMillis now = now_ms();
  if (now - row->last_used_at >= kTouchInterval.count()) {
    if (auto s = store_.touch_mcp_session(id, now); !s) {
      spdlog::warn("MCP session use not recorded session={} error={}", id, s.error().message);
    } else {
      entry->stored.last_used_at = now;
    }
  }
  return entry;
}

// Compares with the row find() read (no second read): writes what the request changed, or
// else the last use when it is older than kTouchInterval (a long call ends long after find).
Status McpSessions::save(McpHttpSession& session) {
  store::McpSessionRecord next = record_of(session);
  const store::McpSessionRecord& was = session.stored;
  const UnixMillis now = now_ms();
  if (was.protocol_version == next.protocol_version && was.client_info == next.client_info &&
      was.initialized == next.initialized) {
    if (now - was.last_used_at < kTouchInterval.count()) return {};
    if (auto s = store_.touch_mcp_session(session.id, now); !s) return s;
    session.stored.last_used_at = now;
    return {};
  }
  next.created_at = was.created_at;
  next.last_used_at = now;
  if (auto s = store_.update_mcp_session(next); !s) return s;
  session.stored = next;
  return {};
}

Result<bool> McpSessions::remove(const std::string& id, const std::string& token_id) {
  auto removed = store_.delete_mcp_session(id, token_id);
  if (!removed) return removed;
  if (auto it = cache_.find(id); it != cache_.end() && it->second->token_id == token_id) {
    for (auto& [request, control] : it->second->protocol.in_flight) control->cancel();
    cache_.erase(it);
  }
  return removed;
}

std::size_t McpSessions::expire_idle(std::chrono::milliseconds idle) {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(cache_, [&](const auto& entry) {
    const auto& s = *entry.second;
    return s.protocol.in_flight.empty() &&
           now - s.last_used > std::min<std::chrono::milliseconds>(idle, kForgetAfter);
  });
  auto ended = store_.expire_mcp_sessions(now_ms() - idle.count());
  if (!ended) {
    spdlog::warn("idle MCP sessions not ended error={}", ended.error().message);
    return 0;
  }
  return static_cast<std::size_t>(*ended);
}

}  // namespace berth::http
