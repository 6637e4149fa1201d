// GET /api/v1/chats/{id}/watch: what a chat screen shows, as Server-Sent Events. A "chat" event
// carries the chat (its binding) at once and after every binding change: bound when a build
// starts, and again when the agent is ready. "log" events carry the lines of the bound build
// as they are written; when the binding moves to another build, the log follows it. A "ping"
// every 15 s of silence lets the server notice a client that went away.
#include <chrono>

#include "berth/core/untrusted.hpp"
#include "berth/http/json_mapping.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

constexpr int kLogPage = 1000;
constexpr auto kPingInterval = std::chrono::seconds(15);

// A free function rather than a lambda coroutine: its parameters live in the coroutine frame.
awaitable<void> watch_chat(App& app, std::string chat_id, EventStream& events) {
  auto sub = app.bus.subscribe(app.executor, events::topic::chat(chat_id));
  std::string last_chat;
  std::string build_id, job_id;
  std::int64_t after = 0;
  while (true) {
    auto chat = app.store.chat_by_id(chat_id);
    if (!chat) co_return;
    std::string current = dump_json(chat_json(*chat));
    if (current != last_chat) {
      const bool sent = co_await events.send("chat", current);
      if (!sent) co_return;
      last_chat = std::move(current);
    }
    if (chat->build_id && *chat->build_id != build_id) {
      auto b = app.store.build_by_id(*chat->build_id);
      if (b) {
        if (!job_id.empty()) sub->remove_topic(events::topic::job_logs(job_id));
        build_id = b->build.id;
        job_id = b->job.id;
        after = 0;
        sub->add_topic(events::topic::job_logs(job_id));
      }
    }
    bool more = false;
    if (!job_id.empty()) {
      auto page = app.store.job_logs(job_id, after, kLogPage);
      if (page) {
        for (const auto& line : *page) {
          json j = log_json(line);
          j["build_id"] = build_id;
          const bool sent = co_await events.send("log", dump_json(j));
          if (!sent) co_return;
          after = line.seq;
        }
        more = page->size() == static_cast<std::size_t>(kLogPage);
      }
    }
    if (more) continue;
    const bool woke = co_await sub->wait(kPingInterval);
    if (!woke) {
      const bool alive = co_await events.send("ping", "{}");
      if (!alive) co_return;
    }
  }
}

awaitable<Response> chat_watch(Context& c) {
  auto chat = c.app.chats->get(c.caller(), c.request.params.at("id"));
  if (!chat) co_return error_response(chat.error());
  Response r;
  r.content_type = "text/event-stream";
  App& app = c.app;
  r.stream = [&app, id = chat->id](EventStream& events) { return watch_chat(app, id, events); };
  co_return r;
}

constexpr Route kRoutes[] = {
    {"GET", "/api/v1/chats/{id}/watch", Auth::user, &chat_watch},
};

}  // namespace

std::span<const Route> chat_watch_routes() { return kRoutes; }

}  // namespace berth::http
