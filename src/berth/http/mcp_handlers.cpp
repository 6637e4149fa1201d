// /mcp: MCP over Streamable HTTP (2025-11-25). POST carries one JSON-RPC message; requests are
// answered with application/json, except a tools/call that asks for progress from a client
// that accepts text/event-stream: that one is answered with an SSE stream carrying its
// notifications/progress and then its response. Notifications and client responses get 202.
// GET (a server-initiated stream) is not offered (405); DELETE ends the session.
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

// Runs the call and queues its notifications and response. Free functions, not lambda
// coroutines: their parameters live in the coroutine frame (GCC 12 mishandles captures).
awaitable<void> run_call(App& app, std::shared_ptr<McpHttpSession> session, json message,
                         chattools::ToolContext context, std::shared_ptr<SseOutbox<json>> outbox) {
  // The sink is a named local: GCC 12 destroys a temporary std::function inside a co_await
  // expression twice, which released `outbox` one time too many.
  mcp::NotificationSink sink = [outbox](json notification) {
    outbox->push(std::move(notification));
  };
  auto response = co_await app.mcp->handle(std::move(message), session->protocol,
                                           std::move(context), std::move(sink));
  if (response) outbox->push(std::move(*response));
  outbox->finish();
}

// Writes the queued messages as SSE events until the response has gone out.
awaitable<void> stream_call(App& app, std::shared_ptr<McpHttpSession> session, json message,
                            chattools::ToolContext context, EventStream& events) {
  auto outbox = std::make_shared<SseOutbox<json>>(app.executor);
  const std::string key = message["id"].dump();
  boost::asio::co_spawn(app.executor,
                        run_call(app, session, std::move(message), std::move(context), outbox),
                        boost::asio::detached);
  while (true) {
    while (!outbox->queue.empty()) {
      json next = std::move(outbox->queue.front());
      outbox->queue.pop_front();
      std::string data = dump_json(next);
      bool sent = co_await events.send("message", data);
      if (!sent) {
        // The client went away: end the wait (never the build).
        auto it = session->protocol.in_flight.find(key);
        if (it != session->protocol.in_flight.end()) it->second->cancel();
        co_return;
      }
    }
    if (outbox->done) co_return;
    co_await outbox->wait();
  }
}

Response sse_call(Context& c, const std::shared_ptr<McpHttpSession>& session, const json& message,
                  const chattools::ToolContext& context, const std::string& session_id) {
  Response r;
  r.headers.emplace_back("Mcp-Session-Id", session_id);
  App& app = c.app;
  r.stream = [&app, session, message, context](EventStream& events) {
    return stream_call(app, session, message, context, events);
  };
  return r;
}

awaitable<Response> mcp_post(Context& c) {
  json message;
  if (auto refused = parse_untrusted_json(c.request.body, message); refused != JsonRefusal::none) {
    co_return rpc_response(400,
                           mcp::McpServer::parse_error(json_refusal_message(refused, "the body")));
  }
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

awaitable<Response> mcp_get(Context&) {
  Response r = rpc_error(405, mcp::rpc::kInvalidRequest, msg::kNoStream);
  r.headers.emplace_back("Allow", "POST, DELETE");
  co_return r;
}

awaitable<Response> mcp_delete(Context& c) {
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
