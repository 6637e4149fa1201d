// The relay endpoint between replicas: POST /api/v1/replicas/agent-call makes an agent call on
// this replica's own connection to the agent, for a replica that got the tool call. Only
// replicas reach it: the bearer is this replica's relay secret (from the shared database).
// The answer is an SSE stream: "output" events (exec with stream: true) as they come, then one
// "result" event, {"result": ...} or {"error": {"code", "message", "detail"}}.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/router.hpp"
#include "berth/http/sse_outbox.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

// Longest call a relay accepts (an execute may run this long).
constexpr std::int64_t kMaxRelayTimeoutMs = 24LL * 3600 * 1000;

struct RelayEvent {
  std::string event;
  std::string data;
};

json error_json(const Error& e) {
  return {{"code", std::string(to_string(e.code))}, {"message", e.message}, {"detail", e.detail}};
}

awaitable<void> run_relayed(App& app, std::string agent_id, std::string method, json params,
                            std::chrono::milliseconds timeout,
                            std::shared_ptr<SseOutbox<RelayEvent>> outbox) {
  std::function<void(std::string)> on_output = [outbox](std::string chunk) {
    outbox->push({"output", dump_json(json(std::move(chunk)))});
  };
  auto result = co_await app.agents.call_local(std::move(agent_id), std::move(method),
                                               std::move(params), timeout, std::move(on_output));
  json outcome = result ? json{{"result", *result}} : json{{"error", error_json(result.error())}};
  outbox->push({"result", dump_json(outcome)});
  outbox->finish();
}

awaitable<void> stream_relayed(App& app, std::string agent_id, std::string method, json params,
                               std::chrono::milliseconds timeout, EventStream& events) {
  auto outbox = std::make_shared<SseOutbox<RelayEvent>>(app.executor);
  boost::asio::co_spawn(
      app.executor,
      run_relayed(app, std::move(agent_id), std::move(method), std::move(params), timeout, outbox),
      boost::asio::detached);
  while (true) {
    while (!outbox->queue.empty()) {
      RelayEvent next = std::move(outbox->queue.front());
      outbox->queue.pop_front();
      // A replica that went away ends only this stream; the agent call runs to its end.
      if (!co_await events.send(next.event, next.data)) co_return;
    }
    if (outbox->done) co_return;
    co_await outbox->wait();
  }
}

awaitable<Response> agent_call(Context& c) {
  const std::string& secret = c.app.options.relay_secret;
  if (secret.empty() || sha256_hex(c.request.bearer_token()) != sha256_hex(secret)) {
    co_return error_response(
        Error::unauthenticated("this endpoint serves Berth replicas only",
                               "replicas find each other's relay secret in the shared database"));
  }
  json body;
  if (auto refused = parse_untrusted_json(c.request.body, body); refused != JsonRefusal::none) {
    co_return error_response(Error::invalid_argument(json_refusal_message(refused, "the body")));
  }
  const auto string_field = [&](const char* name) -> std::optional<std::string> {
    auto it = body.is_object() ? body.find(name) : body.end();
    if (!body.is_object() || it == body.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto agent_id = string_field("agent_id");
  auto method = string_field("method");
  if (!agent_id || !method || !body.contains("params") || !body["params"].is_object() ||
      !body.contains("timeout_ms") || !body["timeout_ms"].is_number_integer()) {
    co_return error_response(Error::invalid_argument(
        "a relayed agent call needs agent_id and method (strings), params (an object) and "
        "timeout_ms (an integer)"));
  }
  const std::int64_t timeout_ms = body["timeout_ms"].get<std::int64_t>();
  if (timeout_ms < 1 || timeout_ms > kMaxRelayTimeoutMs) {
    co_return error_response(Error::invalid_argument(
        fmt::format("timeout_ms must be between 1 and {}", kMaxRelayTimeoutMs)));
  }
  Response r;
  App& app = c.app;
  r.stream = [&app, agent = std::move(*agent_id), m = std::move(*method),
              params = std::move(body["params"]), timeout_ms](EventStream& events) {
    return stream_relayed(app, agent, m, params, std::chrono::milliseconds(timeout_ms), events);
  };
  co_return r;
}

constexpr Route kRoutes[] = {
    {"POST", "/api/v1/replicas/agent-call", Auth::none, &agent_call},
};

}  // namespace

std::span<const Route> replica_routes() { return kRoutes; }

}  // namespace berth::http
