// REST handlers for workspaces, builds, logs, waits and agent connections.
#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "berth/core/agent_protocol.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/duration.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/json_mapping.hpp"
#include "berth/http/request_body.hpp"
#include "berth/http/router.hpp"
#include "berth/workspaces/readiness.hpp"

namespace berth::http {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

constexpr auto kDefaultWait = std::chrono::seconds(60);
constexpr int kLogPage = 1000;
constexpr auto kLogFallback = std::chrono::seconds(2);

json render(Context& c, const workspaces::WorkspaceView& v) {
  return workspace_json(v, now_ms(), c.app.agents.inactive_timeout());
}

// The largest page of GET /api/v1/workspaces.
constexpr std::int64_t kMaxWorkspacePage = 500;

awaitable<Response> healthz(Context&) { co_return Response::json(200, R"({"status":"ok"})"); }

awaitable<Response> create_workspace(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  workspaces::CreateWorkspaceRequest req;
  auto tmpl = string_field(*body, "template");
  auto name = string_field(*body, "name");
  auto org = string_field(*body, "organization");
  auto preset = string_field(*body, "preset");
  auto ttl = int_field(*body, "ttl_ms");
  auto params = string_map_field(*body, "parameters");
  for (const Error* e : {tmpl ? nullptr : &tmpl.error(), name ? nullptr : &name.error(),
                         org ? nullptr : &org.error(), preset ? nullptr : &preset.error(),
                         ttl ? nullptr : &ttl.error(), params ? nullptr : &params.error()}) {
    if (e) co_return error_response(*e);
  }
  req.template_ref = tmpl->value_or("");
  req.name = name->value_or("");
  req.organization = org->value_or("");
  req.preset = *preset;
  req.ttl_ms = *ttl;
  req.parameters = *params;
  auto created = c.app.workspaces.create(c.caller(), req);
  if (!created) co_return error_response(created.error());
  json out = render(c, *created);
  out["prebuild_claimed"] = created->prebuild_claimed;
  co_return Response::json(201, dump_json(out));
}

// A whole number query parameter in [min, max], or nullopt when absent.
Result<std::optional<std::int64_t>> int_param(const Request& r, const char* name, std::int64_t min,
                                              std::int64_t max) {
  auto v = r.query_param(name);
  if (!v) return std::optional<std::int64_t>();
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || ptr != v->data() + v->size() || n < min || n > max) {
    return Error::invalid_argument(fmt::format("invalid {} \"{}\"", name, *v),
                                   fmt::format("use a whole number from {} to {}", min, max))
        .with_validation(name, "must be a whole number");
  }
  return std::optional<std::int64_t>(n);
}

// GET /api/v1/workspaces[?limit=N&offset=M&status=S&owner=U&template=T&q=TEXT]: with a limit,
// one page, and X-Total-Count says how many match.
awaitable<Response> list_workspaces(Context& c) {
  const auto& r = c.request;
  auto limit = int_param(r, "limit", 1, kMaxWorkspacePage);
  if (!limit) co_return error_response(limit.error());
  auto offset = int_param(r, "offset", 0, std::int64_t{1} << 40);
  if (!offset) co_return error_response(offset.error());
  workspaces::WorkspaceQuery query{.status = r.query_param("status").value_or(""),
                                   .owner = r.query_param("owner").value_or(""),
                                   .template_name = r.query_param("template").value_or(""),
                                   .text = r.query_param("q").value_or("")};
  if (*limit) query.limit = static_cast<std::size_t>(**limit);
  query.offset = static_cast<std::size_t>(offset->value_or(0));
  if (!query.status.empty() &&
      std::find(std::begin(kWorkspaceStatuses), std::end(kWorkspaceStatuses), query.status) ==
          std::end(kWorkspaceStatuses)) {
    co_return error_response(
        Error::invalid_argument(fmt::format("invalid status \"{}\"", query.status),
                                "use pending, starting, running, stopping, stopped, deleting or "
                                "failed")
            .with_validation("status", "is not a workspace status"));
  }
  auto page = c.app.workspaces.list(c.caller(), query);
  if (!page) co_return error_response(page.error());
  json out = json::array();
  for (const auto& v : page->items) out.push_back(render(c, v));
  Response resp = Response::json(200, dump_json(out));
  resp.headers.emplace_back("X-Total-Count", std::to_string(page->total));
  co_return resp;
}

awaitable<Response> get_workspace(Context& c) {
  auto v = c.app.workspaces.get(c.caller(), c.request.params.at("id"));
  if (!v) co_return error_response(v.error());
  co_return Response::json(200, dump_json(render(c, *v)));
}

// POST .../start, .../stop and DELETE: each answers with the new build.
Response build_response(const Result<store::BuildWithJob>& b, int status) {
  if (!b) return error_response(b.error());
  return Response::json(status, dump_json(build_json(*b)));
}

awaitable<Response> start_workspace(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto params = string_map_field(*body, "parameters");
  if (!params) co_return error_response(params.error());
  co_return build_response(c.app.workspaces.start(c.caller(), c.request.params.at("id"), *params),
                           201);
}

awaitable<Response> stop_workspace(Context& c) {
  co_return build_response(c.app.workspaces.stop(c.caller(), c.request.params.at("id")), 201);
}

awaitable<Response> delete_workspace(Context& c) {
  co_return build_response(c.app.workspaces.remove(c.caller(), c.request.params.at("id")), 202);
}

Result<std::chrono::milliseconds> wait_timeout(Context& c) {
  auto text = c.request.query_param("timeout");
  if (!text) return std::chrono::milliseconds(kDefaultWait);
  auto d = parse_duration(*text);
  if (!d) return Error(d.error()).with_validation("timeout", d.error().message);
  if (d->count() < 0)
    return Error::invalid_argument("timeout must not be negative")
        .with_validation("timeout", "must not be negative");
  return std::min(*d, c.app.options.max_wait);
}

// GET /api/v1/workspaces/{id}/wait?timeout=60s: answers once the workspace settles (ready,
// failed, stopped, deleted) or the timeout passes, with the workspace and a readiness summary.
awaitable<Response> wait_workspace(Context& c) {
  auto timeout = wait_timeout(c);
  if (!timeout) co_return error_response(timeout.error());
  // A delete may finish before the caller starts waiting: deleted rows are found by id.
  auto ws = c.app.workspaces.get(c.caller(), c.request.params.at("id"),
                                 workspaces::WorkspaceService::IncludeDeleted::yes);
  if (!ws) co_return error_response(ws.error());
  auto outcome = co_await workspaces::wait_until_settled(
      c.app.executor, c.app.workspaces, c.app.bus, c.caller(), ws->workspace.id,
      {.timeout = *timeout, .inactive_timeout = c.app.agents.inactive_timeout()});
  if (!outcome) co_return error_response(outcome.error());
  json out = render(c, outcome->view);
  out["readiness"] = readiness_json(outcome->readiness, outcome->timed_out);
  co_return Response::json(200, dump_json(out));
}

awaitable<Response> get_build(Context& c) {
  auto b = c.app.workspaces.build(c.caller(), c.request.params.at("id"));
  if (!b) co_return error_response(b.error());
  co_return Response::json(200, dump_json(build_json(*b)));
}

// GET /api/v1/builds/{id}/logs[?follow=true]: the build log as JSON, or followed live as
// Server-Sent Events ("log" events, then one "end" event with the job's final status).
// ?after=SEQ&limit=N: a page of a log (lines after SEQ, at most N; default all).
struct LogRange {
  std::int64_t after = 0;
  int limit = 1'000'000;
};
Result<LogRange> log_range(const Request& r) {
  auto after = int_param(r, "after", 0, std::int64_t{1} << 62);
  if (!after) return after.error();
  auto limit = int_param(r, "limit", 0, 1'000'000);
  if (!limit) return limit.error();
  return LogRange{after->value_or(0), static_cast<int>(limit->value_or(1'000'000))};
}

bool wants_follow(const Request& r) {
  return r.query_param("follow").value_or("false") == "true" ||
         r.header("accept").find("text/event-stream") != std::string::npos;
}

// A log page as a JSON array (logs are capped, store/log_cap.hpp, so even "all" is bounded).
using LogPage = std::function<Result<std::vector<store::LogLine>>(std::int64_t after, int limit)>;
Result<json> log_lines(const Request& r, const LogPage& page_of) {
  auto range = log_range(r);
  if (!range) return range.error();
  json out = json::array();
  std::int64_t after = range->after;
  while (static_cast<int>(out.size()) < range->limit) {
    const int want = std::min(kLogPage, range->limit - static_cast<int>(out.size()));
    auto page = page_of(after, want);
    if (!page) return page.error();
    for (const auto& l : *page) out.push_back(log_json(l));
    if (page->size() < static_cast<std::size_t>(want)) break;
    after = page->back().seq;
  }
  return out;
}

// The "end" event's data once the log's writer is done (the job finished, the agent's start
// ended), nullopt while it may still write; an error ends the stream without "end".
using LogEnd = std::function<Result<std::optional<json>>()>;

// Follows a log as Server-Sent Events: "log" events, then one "end" event. The writer's state
// is read before each page, so no line written before it finished is missed.
Response follow_log(App& app, std::string topic, LogPage page_of, LogEnd end_of) {
  Response r;
  r.content_type = "text/event-stream";
  r.stream = [&app, topic = std::move(topic), page_of = std::move(page_of),
              end_of = std::move(end_of)](EventStream& es) -> awaitable<void> {
    auto sub = app.bus.subscribe(app.executor, topic);
    std::int64_t after = 0;
    while (true) {
      auto end = end_of();
      if (!end) co_return;
      auto page = page_of(after, kLogPage);
      if (!page) co_return;
      for (const auto& l : *page) {
        const bool sent = co_await es.send("log", dump_json(log_json(l)));
        if (!sent) co_return;
        after = l.seq;
      }
      if (page->size() == static_cast<std::size_t>(kLogPage)) continue;
      if (*end) {
        co_await es.send("end", dump_json(**end));
        co_return;
      }
      co_await sub->wait(kLogFallback);
    }
  };
  return r;
}

// GET /api/v1/builds/{id}/logs[?follow=true]: the build log as JSON, or followed live as
// Server-Sent Events ("log" events, then one "end" event with the job's final status).
// ?after=SEQ&limit=N: a page of a log (lines after SEQ, at most N; default all).
awaitable<Response> build_logs(Context& c) {
  auto b = c.app.workspaces.build(c.caller(), c.request.params.at("id"));
  if (!b) co_return error_response(b.error());
  store::Store& store = c.app.store;
  LogPage page_of = [&store, job_id = b->job.id](std::int64_t after, int limit) {
    return store.job_logs(job_id, after, limit);
  };
  if (!wants_follow(c.request)) {
    auto out = log_lines(c.request, page_of);
    if (!out) co_return error_response(out.error());
    co_return Response::json(200, dump_json(*out));
  }
  co_return follow_log(c.app, events::topic::job_logs(b->job.id), std::move(page_of),
                       [&store, job_id = b->job.id]() -> Result<std::optional<json>> {
                         auto job = store.job_by_id(job_id);
                         if (!job) return job.error();
                         if (job_active(job->status())) return std::optional<json>();
                         return std::optional<json>(job_json(*job));
                       });
}

// GET /api/v1/agents/{id}/logs[?follow=true]: an agent's startup log, as JSON or followed live
// ("log" events, then one "end" event with the agent once its start has ended).
awaitable<Response> agent_logs(Context& c) {
  auto a = c.app.workspaces.agent(c.caller(), c.request.params.at("id"));
  if (!a) co_return error_response(a.error());
  store::Store& store = c.app.store;
  LogPage page_of = [&store, agent_id = a->id](std::int64_t after, int limit) {
    return store.agent_logs(agent_id, after, limit);
  };
  if (!wants_follow(c.request)) {
    auto out = log_lines(c.request, page_of);
    if (!out) co_return error_response(out.error());
    co_return Response::json(200, dump_json(*out));
  }
  App& app = c.app;
  co_return follow_log(
      app, events::topic::agent(a->id), std::move(page_of),
      [&app, agent_id = a->id]() -> Result<std::optional<json>> {
        auto agent = app.store.agent_by_id(agent_id);
        if (!agent) return agent.error();
        const auto s = agent->lifecycle_state;
        if (s == AgentLifecycle::created || s == AgentLifecycle::starting) {
          return std::optional<json>();
        }
        return std::optional<json>(agent_json(*agent, now_ms(), app.agents.inactive_timeout()));
      });
}

// POST /api/v1/workspaces/{id}/agent-token {"agent": name?}: a new token for an external agent,
// with the command its owner runs on the agent's host. The token is shown only here.
awaitable<Response> mint_agent_token(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto agent = string_field(*body, "agent");
  if (!agent) co_return error_response(agent.error());
  auto minted = c.app.workspaces.mint_external_agent_token(c.caller(), c.request.params.at("id"),
                                                           agent->value_or(""));
  if (!minted) co_return error_response(minted.error());
  spdlog::info("external agent token minted workspace_id={} agent_id={} by={}",
               minted->workspace.id, minted->agent.id, c.caller().user.username);
  json out = {{"workspace_id", minted->workspace.id},
              {"agent_id", minted->agent.id},
              {"agent_name", minted->agent.name},
              {"url", c.app.options.access_url},
              {"token", minted->token},
              // In the environment, not on the command line: any user of the host can read
              // another's command lines (/proc/PID/cmdline).
              {"command", fmt::format("BERTH_AGENT_TOKEN={1} berth agent --url {0}",
                                      c.app.options.access_url, minted->token)}};
  co_return Response::json(201, dump_json(out));
}

// POST /api/v1/agents/{id}/exec | files/read | files/write: a request through the agent's
// connection. The agent's answer is the response body; its refusals are 400/404.
constexpr auto kAgentCallSlack = std::chrono::seconds(5);
constexpr auto kMaxExecTimeout = std::chrono::minutes(10);

awaitable<Response> agent_call(Context& c, std::string method) {
  auto a = c.app.workspaces.agent(c.caller(), c.request.params.at("id"));
  if (!a) co_return error_response(a.error());
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto timeout = std::chrono::milliseconds(body->value("timeout_ms", 60'000));
  timeout = std::min<std::chrono::milliseconds>(timeout, kMaxExecTimeout);
  auto result =
      co_await c.app.agents.call(a->id, std::move(method), *body, timeout + kAgentCallSlack);
  if (!result) co_return error_response(result.error());
  co_return Response::json(200, result->dump());
}

awaitable<Response> agent_exec(Context& c) { co_return co_await agent_call(c, "exec"); }
awaitable<Response> agent_read_file(Context& c) { co_return co_await agent_call(c, "read_file"); }
awaitable<Response> agent_write_file(Context& c) { co_return co_await agent_call(c, "write_file"); }

// GET /api/v1/agent/connect (WebSocket): `berth agent` dials in with its one-agent token.
awaitable<Response> agent_connect(Context& c, Upgrader& upgrader) {
  auto agent = c.app.agents.authenticate(c.request.bearer_token());
  if (!agent) {
    Response r = error_response(agent.error());
    if (agent.error().code == ErrorCode::failed_precondition) r.status = 410;  // Gone: exit
    co_return r;
  }
  auto channel = co_await upgrader.accept();
  if (!channel) co_return Response{};
  co_await c.app.agents.serve(std::move(*agent), std::move(channel));
  co_return Response{};
}

constexpr Route kRoutes[] = {
    {"GET", "/healthz", Auth::none, &healthz},
    {"POST", "/api/v1/workspaces", Auth::user, &create_workspace},
    {"GET", "/api/v1/workspaces", Auth::user, &list_workspaces},
    {"GET", "/api/v1/workspaces/{id}", Auth::user, &get_workspace},
    {"DELETE", "/api/v1/workspaces/{id}", Auth::user, &delete_workspace},
    {"POST", "/api/v1/workspaces/{id}/start", Auth::user, &start_workspace},
    {"POST", "/api/v1/workspaces/{id}/stop", Auth::user, &stop_workspace},
    {"GET", "/api/v1/workspaces/{id}/wait", Auth::user, &wait_workspace},
    {"POST", "/api/v1/workspaces/{id}/agent-token", Auth::user, &mint_agent_token},
    {"GET", "/api/v1/builds/{id}", Auth::user, &get_build},
    {"GET", "/api/v1/builds/{id}/logs", Auth::user, &build_logs},
    {"GET", "/api/v1/agents/{id}/logs", Auth::user, &agent_logs},
    {"POST", "/api/v1/agents/{id}/exec", Auth::user, &agent_exec},
    {"POST", "/api/v1/agents/{id}/files/read", Auth::user, &agent_read_file},
    {"POST", "/api/v1/agents/{id}/files/write", Auth::user, &agent_write_file},
    {"GET", agent_protocol::kConnectPath, Auth::none, nullptr, &agent_connect},
};

}  // namespace

std::span<const Route> workspace_routes() { return kRoutes; }

}  // namespace berth::http
