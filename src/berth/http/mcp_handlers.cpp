// /mcp: MCP over Streamable HTTP, both eras. POST carries one JSON-RPC message; requests are
// answered with application/json, except a tools/call that asks for progress from a client
// that accepts text/event-stream: that one is answered with an SSE stream carrying its
// notifications/progress and then its response. Notifications and client responses get 202.
//
// 2025-11-25: initialize opens a session (Mcp-Session-Id), bound to a chat. GET (a
// server-initiated stream) is not offered (405); DELETE ends the session.
//
// 2026-07-28 (a request whose params._meta names its protocol version): no session. The
// MCP-Protocol-Version, Mcp-Method and, for tools/call, Mcp-Name headers must match the body
// (400, -32020); an unsupported version gets 400, -32022; an unknown method 404, -32601.
// The chat is named by the URL: /mcp?chat=KEY is the caller's chat of that key, and without a
// key each token has one chat of its own. Closing a call's stream cancels the call.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/mcp_sessions.hpp"
#include "berth/http/router.hpp"
#include "berth/http/sse_outbox.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;

namespace msg {
constexpr const char* kMissingSession =
    "Bad Request: Mcp-Session-Id header is required; send initialize first";
constexpr const char* kUnknownSession = "Session not found; send initialize to start a new session";
constexpr const char* kNoStream = "This server does not offer a server-initiated SSE stream";
constexpr const char* kHeaderMismatch =
    "Header mismatch: the {} header is \"{}\" but the request says \"{}\"; send the header "
    "with the value of the body";
}  // namespace msg

namespace {

Response rpc_response(int status, const json& body) {
  return Response::json(status, dump_json(body));
}

Response rpc_error(int status, int code, std::string message) {
  return rpc_response(status, mcp::McpServer::error_response(nullptr, code, std::move(message)));
}

bool accepts_event_stream(const Request& r) {
  return r.header("accept").find("text/event-stream") != std::string::npos;
}

// Cancels the session's call with JSON-RPC id `key` (dumped) if it still runs: its client went
// away. Ends the call's wait, never a build.
void cancel_call(McpHttpSession& session, const std::string& key) {
  auto it = session.protocol.in_flight.find(key);
  if (it != session.protocol.in_flight.end()) it->second->cancel();
}

// Cancels the session's call `message` (a request) if the client closes its connection before
// the answer is written: a call answered as plain JSON has no stream to watch.
void cancel_when_client_leaves(const Request& request,
                               const std::shared_ptr<McpHttpSession>& session,
                               const json& message) {
  if (!request.on_client_closed || !message.is_object() || !message.contains("id") ||
      message.value("method", json()) != "tools/call") {
    return;
  }
  request.on_client_closed([session, key = message["id"].dump()] { cancel_call(*session, key); });
}

// Runs the call and queues its notifications and response. Free functions, not lambda
// coroutines: their parameters live in the coroutine frame (GCC 12 mishandles captures).
awaitable<void> run_call(App& app, std::shared_ptr<McpHttpSession> session, json message,
                         chattools::ToolContext context, std::shared_ptr<SseOutbox<json>> outbox,
                         bool modern) {
  // The sink is a named local: GCC 12 destroys a temporary std::function inside a co_await
  // expression twice, which released `outbox` one time too many.
  mcp::NotificationSink sink = [outbox](json notification) {
    outbox->push(std::move(notification));
  };
  // One co_await per statement: GCC 12 mishandles co_await inside a conditional expression.
  std::optional<json> response;
  if (modern) {
    response = co_await app.mcp->handle_modern(std::move(message), session->protocol,
                                               std::move(context), std::move(sink));
  } else {
    response = co_await app.mcp->handle(std::move(message), session->protocol, std::move(context),
                                        std::move(sink));
  }
  if (response) outbox->push(std::move(*response));
  outbox->finish();
}

// Writes the queued messages as SSE events until the response has gone out.
awaitable<void> stream_call(App& app, std::shared_ptr<McpHttpSession> session, json message,
                            chattools::ToolContext context, EventStream& events, bool modern) {
  auto outbox = std::make_shared<SseOutbox<json>>(app.executor);
  const std::string key = message["id"].dump();
  boost::asio::co_spawn(
      app.executor, run_call(app, session, std::move(message), std::move(context), outbox, modern),
      boost::asio::detached);
  // A client that closes the stream cancels the call at once, not at the next write: a
  // 2026-07-28 client re-sends a call whose stream broke, and the re-sent call must find the
  // first one cut off (mcp/retries.hpp).
  events.on_peer_closed([session, key] { cancel_call(*session, key); });
  while (true) {
    while (!outbox->queue.empty()) {
      json next = std::move(outbox->queue.front());
      outbox->queue.pop_front();
      std::string data = dump_json(next);
      bool sent = co_await events.send("message", data);
      if (!sent) {
        // The client went away: end the wait (never the build).
        cancel_call(*session, key);
        co_return;
      }
    }
    if (outbox->done) co_return;
    // A quiet stream gets a keep-alive comment now and then: proxies keep it open, and a
    // client that went away is found out (the write fails), which cancels the call.
    const bool woke = co_await outbox->wait(app.options.sse_keepalive);
    if (!woke) {
      const bool alive = co_await events.comment("keep-alive");
      if (!alive) {
        cancel_call(*session, key);
        co_return;
      }
    }
  }
}

Response sse_call(Context& c, const std::shared_ptr<McpHttpSession>& session, const json& message,
                  const chattools::ToolContext& context, const std::string& session_id,
                  bool modern = false) {
  Response r;
  if (!session_id.empty()) r.headers.emplace_back("Mcp-Session-Id", session_id);
  r.headers.emplace_back("X-Accel-Buffering", "no");
  App& app = c.app;
  r.stream = [&app, session, message, context, modern](EventStream& events) {
    return stream_call(app, session, message, context, events, modern);
  };
  return r;
}

// The Mcp-Name header's value: plain, or "=?base64?...?=" for names that are not plain ASCII.
std::string header_name_value(const std::string& raw) {
  constexpr std::string_view kStart = "=?base64?", kEnd = "?=";
  if (raw.size() < kStart.size() + kEnd.size() || !raw.starts_with(kStart) ||
      !raw.ends_with(kEnd)) {
    return raw;
  }
  std::string_view b64(raw.data() + kStart.size(), raw.size() - kStart.size() - kEnd.size());
  auto decoded = base64_decode(b64);
  return decoded ? *decoded : raw;
}

// The 2026-07-28 header checks: what a header says must be what the body says.
std::optional<std::string> header_mismatch(const Request& r, const json& message,
                                           const std::string& version) {
  auto check = [&](const char* name, const std::string& want) -> std::optional<std::string> {
    std::string got = r.header(name);
    if (std::string_view(name) == "mcp-name") got = header_name_value(got);
    if (got == want) return std::nullopt;
    static const std::map<std::string_view, const char*> kSpelling = {
        {"mcp-protocol-version", "MCP-Protocol-Version"},
        {"mcp-method", "Mcp-Method"},
        {"mcp-name", "Mcp-Name"}};
    return fmt::format(fmt::runtime(msg::kHeaderMismatch), kSpelling.at(name),
                       valid_utf8(got.substr(0, 100)), valid_utf8(want.substr(0, 100)));
  };
  if (auto m = check("mcp-protocol-version", version)) return m;
  const json method_field = message.value("method", json());
  const std::string method = method_field.is_string() ? method_field.get<std::string>() : "";
  if (auto m = check("mcp-method", method)) return m;
  // Mcp-Name carries the tool of a tools/call and the task of a tasks/ request.
  const char* named = method == "tools/call"         ? "name"
                      : method.starts_with("tasks/") ? "taskId"
                                                     : nullptr;
  if (named) {
    const json params = message.value("params", json::object());
    const json name = params.is_object() ? params.value(named, json()) : json();
    if (name.is_string()) {
      if (auto m = check("mcp-name", name.get<std::string>())) return m;
    }
  }
  return std::nullopt;
}

// True for a 2026-07-28 message: its params._meta names a version, it is server/discover, or
// its MCP-Protocol-Version header names a version that has no sessions.
bool is_modern(const Request& r, const json& message) {
  if (mcp::McpServer::envelope_version(message)) return true;
  if (message.is_object() && message.value("method", json()) == "server/discover") return true;
  const std::string header = r.header("mcp-protocol-version");
  if (header.empty()) return false;
  for (const auto& v : mcp::McpServer::supported_versions()) {
    if (v == header) return v == mcp::kModernProtocolVersion;
  }
  // An unknown version with no session: answered as 2026-07-28 does (-32022), not as a
  // session-less legacy request.
  return r.header("mcp-session-id").empty();
}

awaitable<Response> modern_post(Context& c, json message) {
  const json id = message.is_object() && message.contains("id") ? message["id"] : json();
  const bool is_request = message.is_object() && message.contains("id");
  const std::string version =
      mcp::McpServer::envelope_version(message).value_or(c.request.header("mcp-protocol-version"));
  if (is_request && version != mcp::kModernProtocolVersion) {
    const std::string shown = valid_utf8(version.substr(0, 100));
    co_return rpc_response(
        400, mcp::McpServer::error_response(
                 id, mcp::rpc::kUnsupportedProtocolVersion,
                 fmt::format("Unsupported protocol version: \"{}\"", shown),
                 {{"supported", mcp::McpServer::supported_versions()}, {"requested", shown}}));
  }
  if (is_request) {
    if (auto mismatch = header_mismatch(c.request, message, version)) {
      co_return rpc_response(
          400, mcp::McpServer::error_response(id, mcp::rpc::kHeaderMismatch, std::move(*mismatch)));
    }
  }
  // A chat only for calls: listing and discovery change nothing.
  auto session = std::make_shared<McpHttpSession>();
  chattools::ToolContext context{.actor = c.caller()};
  if (is_request && message.value("method", json()) == "tools/call") {
    const std::string key = c.request.query_param("chat").value_or("token-" + c.caller().token_id);
    auto chat = c.app.chats->open(c.caller(), key, "", "");
    if (!chat) {
      const Error& e = chat.error();
      co_return rpc_response(
          status_for(e.code),
          mcp::McpServer::error_response(
              id, mcp::rpc::kInvalidParams,
              e.detail.empty() ? e.message : fmt::format("{}; {}", e.message, e.detail)));
    }
    context.organization_id = chat->organization_id;
    context.chat_id = chat->id;
    // Every call is streamed when the client takes a stream: closing it is how a 2026-07-28
    // client cancels, and a stream's keep-alives find out a client that went away.
    if (accepts_event_stream(c.request)) co_return sse_call(c, session, message, context, "", true);
  }
  cancel_when_client_leaves(c.request, session, message);
  auto response =
      co_await c.app.mcp->handle_modern(std::move(message), session->protocol, std::move(context));
  if (!response) co_return Response::json(202, "");
  const int status = mcp::McpServer::is_unknown_method(*response) ? 404 : 200;
  Response r = rpc_response(status, *response);
  r.headers.emplace_back("Cache-Control", "no-cache");
  co_return r;
}

awaitable<Response> mcp_post(Context& c) {
  json message;
  if (auto refused = parse_untrusted_json(c.request.body, message); refused != JsonRefusal::none) {
    co_return rpc_response(400,
                           mcp::McpServer::parse_error(json_refusal_message(refused, "the body")));
  }
  if (is_modern(c.request, message)) co_return co_await modern_post(c, std::move(message));
  const bool is_initialize = message.is_object() && message.value("method", json()) == "initialize";
  std::string session_id = c.request.header("mcp-session-id");
  std::shared_ptr<McpHttpSession> session;
  if (is_initialize) {
    // A session of its own gets a new chat; ?chat=KEY is the caller's chat of that key, so a
    // client that reconnects keeps its workspace.
    std::optional<std::string> key = c.request.query_param("chat");
    auto chat = c.app.chats->open(c.caller(), key, "", "");
    if (!chat) co_return error_response(chat.error());
    auto created = c.app.mcp_sessions->create(c.caller().token_id, *chat);
    if (!created && created.error().code == ErrorCode::resource_exhausted) {
      co_return rpc_error(429, mcp::rpc::kInvalidRequest,
                          created.error().message + "; " + created.error().detail);
    }
    if (!created) co_return error_response(created.error());
    session_id = *created;
  } else if (session_id.empty()) {
    co_return rpc_error(400, mcp::rpc::kInvalidRequest, msg::kMissingSession);
  }
  {
    auto found = c.app.mcp_sessions->find(session_id, c.caller().token_id);
    if (!found) co_return error_response(found.error());
    session = std::move(*found);
  }
  if (!session) co_return rpc_error(404, mcp::rpc::kInvalidRequest, msg::kUnknownSession);
  chattools::ToolContext context{.actor = c.caller(),
                                 .organization_id = session->organization_id,
                                 .chat_id = session->chat_id};
  if (mcp::McpServer::wants_progress(message) && accepts_event_stream(c.request) &&
      message.contains("id")) {
    co_return sse_call(c, session, message, context, session_id);
  }
  cancel_when_client_leaves(c.request, session, message);
  auto response =
      co_await c.app.mcp->handle(std::move(message), session->protocol, std::move(context));
  // initialize and notifications/initialized change what the session remembers; any replica
  // may answer its next request.
  if (auto saved = c.app.mcp_sessions->save(*session); !saved) {
    co_return error_response(saved.error());
  }
  if (!response) {
    Response accepted = Response::json(202, "");
    accepted.headers.emplace_back("Mcp-Session-Id", session_id);
    co_return accepted;
  }
  Response r = rpc_response(200, *response);
  r.headers.emplace_back("Mcp-Session-Id", session_id);
  r.headers.emplace_back("Cache-Control", "no-cache");
  co_return r;
}

awaitable<Response> mcp_get(Context& c) {
  Response r = rpc_error(405, mcp::rpc::kInvalidRequest, msg::kNoStream);
  const bool modern = c.request.header("mcp-protocol-version") == mcp::kModernProtocolVersion;
  r.headers.emplace_back("Allow", modern ? "POST" : "POST, DELETE");
  co_return r;
}

awaitable<Response> mcp_delete(Context& c) {
  if (c.request.header("mcp-protocol-version") == mcp::kModernProtocolVersion) {
    Response r = rpc_error(405, mcp::rpc::kInvalidRequest,
                           "2026-07-28 has no sessions to end; send POST requests only");
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  std::string id = c.request.header("mcp-session-id");
  if (id.empty()) co_return rpc_error(400, mcp::rpc::kInvalidRequest, msg::kMissingSession);
  auto removed = c.app.mcp_sessions->remove(id, c.caller().token_id);
  if (!removed) co_return error_response(removed.error());
  if (!*removed) co_return rpc_error(404, mcp::rpc::kInvalidRequest, msg::kUnknownSession);
  co_return Response::json(200, "{}");
}

constexpr Route kRoutes[] = {
    {"POST", "/mcp", Auth::user_any_method, &mcp_post},
    {"GET", "/mcp", Auth::user, &mcp_get},
    {"DELETE", "/mcp", Auth::user_any_method, &mcp_delete},
};

}  // namespace

std::span<const Route> mcp_routes() { return kRoutes; }

}  // namespace berth::http
