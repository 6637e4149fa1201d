// The provisioner daemons' API and its administration.
//
// POST /api/v1/provisioner/call serves `berth provisioner` daemons: the bearer is a provisioner
// key, the body {"provisioner_id", "method", "params"}, the answer {"result": ...} or the usual
// error body. Each method is a step of provisioner/coordinator.hpp, run here through the
// server's LocalCoordinator, so a daemon's build changes the same rows and wakes the same
// waiters as the embedded provisioner's. What a daemon may touch is checked on every call:
//   - its provisioner row must have been registered with this key (register refuses an id
//     that belongs to another key or to a server's embedded provisioner);
//   - jobs are claimed with the tags of its row: the key's, when the key has tags (a daemon
//     asking for others is refused at registration), else those the daemon registered with;
//   - a job-scoped call must name a running job claimed by this provisioner, its build and
//     workspace; an agent-scoped one an agent of that workspace.
//
// Site admins manage keys: POST/GET /api/v1/provisioner-keys, DELETE /api/v1/provisioner-keys/
// {name}; GET /api/v1/provisioners lists the hosts.
#include <set>

#include <fmt/format.h>

#include "berth/core/clock.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/http/request_body.hpp"
#include "berth/http/router.hpp"
#include "berth/provisioner/local_coordinator.hpp"
#include "berth/provisioner/wire.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::http {

using boost::asio::awaitable;
using nlohmann::json;
namespace wire = provisioner::wire;

namespace {

// Longest an acquire call waits for a job before answering {"job": null}.
constexpr std::int64_t kMaxAcquireWaitMs = 30'000;
// Most agents one start may create, and log lines one call may append.
constexpr std::size_t kMaxAgents = 64;
constexpr std::size_t kMaxLogLinesPerCall = 10'000;

Response ok(json result) { return Response::json(200, dump_json(json{{"result", result}})); }

Error not_held(std::string_view what) {
  return Error::permission_denied(fmt::format("{} is not held by this provisioner", what),
                                  "a provisioner acts only on the jobs it claimed, while they run");
}

// One daemon call: who is calling, and what it may touch.
class DaemonCall {
 public:
  DaemonCall(App& app, store::ProvisionerKey key, std::string provisioner_id)
      : app_(app),
        key_(std::move(key)),
        id_(std::move(provisioner_id)),
        local_(app.executor, app.store, app.bus) {}

  awaitable<Result<json>> run(const std::string& method, const json& params) {
    if (method == "register") co_return register_host(params);
    if (auto s = check_host(); !s) co_return s.error();
    if (method == "heartbeat") co_return heartbeat(params);
    if (method == "acquire") co_return co_await acquire(params);
    if (method == "workspace_egress") co_return workspace_egress(params);
    static const std::set<std::string, std::less<>> kJobMethods = {
        "append_logs",   "complete",        "admit_cost",    "sandbox_number",
        "insert_agents", "previous_agents", "set_agent_pid", "agent_stopped"};
    if (!kJobMethods.contains(method)) {
      co_return Error::invalid_argument(fmt::format("unknown provisioner method \"{}\"", method),
                                        "the daemon and the server are different versions?");
    }
    auto ref = job(params);
    if (!ref) co_return ref.error();
    if (method == "append_logs") co_return append_logs(*ref, params);
    if (method == "complete") co_return complete(*ref, params);
    if (method == "admit_cost") co_return admit_cost(*ref);
    if (method == "sandbox_number") co_return sandbox_number(*ref);
    if (method == "insert_agents") co_return insert_agents(*ref, params);
    if (method == "previous_agents") co_return previous_agents(*ref);
    if (method == "set_agent_pid") co_return set_agent_pid(*ref, params);
    if (method == "agent_stopped") co_return agent_stopped(*ref, params);
    co_return Error::invalid_argument(fmt::format("unknown provisioner method \"{}\"", method),
                                      "the daemon and the server are different versions?");
  }

 private:
  Result<std::string> string_param(const json& params, const char* name) {
    auto v = string_field(params, name);
    if (!v) return v.error();
    if (!*v) return Error::invalid_argument(fmt::format("{} (a string) is required", name));
    return std::move(**v);
  }

  Result<json> register_host(const json& params) {
    auto name = string_param(params, "name");
    if (!name) return name.error();
    auto worker = string_param(params, "worker_id");
    if (!worker) return worker.error();
    if (id_.empty() || id_.size() > 200 || !worker->starts_with(id_ + "/")) {
      return Error::invalid_argument("worker_id must be \"<provisioner_id>/<process>\"");
    }
    if (auto existing = app_.store.provisioner_by_id(id_); existing) {
      if (existing->key_id != key_.id) {
        return Error::permission_denied(
            fmt::format("provisioner {} belongs to another key or to a server", id_),
            "give each daemon its own --data-dir (it keeps the provisioner's identity)");
      }
    } else if (existing.error().code != ErrorCode::not_found) {
      return existing.error();
    }
    // A key with tags fixes what its daemons offer; a key without lets each daemon say.
    Tags offered;
    if (auto it = params.find("tags"); it != params.end() && !it->is_null()) {
      auto asked = tags_from_json(it->dump());
      if (!asked) return Error::invalid_argument("invalid tags: " + asked.error().message);
      offered = *asked;
    }
    auto key_tags = tags_from_json(key_.tags);
    if (!key_tags) return key_tags.error();
    if (!key_tags->empty()) {
      if (!offered.empty() && offered != *key_tags) {
        return Error::permission_denied(
            fmt::format("this provisioner key's daemons offer {}; --tags {} is not allowed",
                        format_tags(*key_tags), format_tags(offered)),
            "leave --tags out (the key's tags apply), or use a key without tags");
      }
      offered = *key_tags;
    }
    const UnixMillis now = now_ms();
    auto s = app_.store.register_provisioner({.id = id_,
                                              .name = valid_utf8(name->substr(0, 200)),
                                              .kind = "daemon",
                                              .worker_id = *worker,
                                              .started_at = now,
                                              .last_seen_at = now,
                                              .tags = tags_json(offered),
                                              .key_id = key_.id});
    if (!s) return s.error();
    return json{{"tags", offered}};
  }

  Status check_host() {
    auto host = app_.store.provisioner_by_id(id_);
    if (!host) {
      if (host.error().code != ErrorCode::not_found) return host.error();
      return Error::not_found(fmt::format("provisioner {} is not registered", id_),
                              "register first (a daemon does so when it starts)");
    }
    if (host->key_id != key_.id) {
      return Error::permission_denied(
          fmt::format("provisioner {} belongs to another key or to a server", id_));
    }
    worker_ = host->worker_id;
    tags_ = host->tags;
    return {};
  }

  Result<json> heartbeat(const json& params) {
    auto worker = string_param(params, "worker_id");
    if (!worker) return worker.error();
    auto running = bool_field(params, "jobs_running");
    if (!running) return running.error();
    if (!worker->starts_with(id_ + "/")) return not_held("worker " + *worker);
    if (auto s = app_.store.provisioner_seen(id_, now_ms()); !s) return s.error();
    if (running->value_or(false)) {
      if (auto s = app_.store.heartbeat_jobs(*worker, now_ms()); !s) return s.error();
    }
    return json::object();
  }

  awaitable<Result<json>> acquire(const json& params) {
    auto timeout = int_field(params, "build_timeout_ms");
    if (!timeout) co_return timeout.error();
    auto wait = int_field(params, "wait_ms");
    if (!wait) co_return wait.error();
    if (!*timeout || **timeout < 1000 || **timeout > 24LL * 3600 * 1000) {
      co_return Error::invalid_argument("build_timeout_ms must be between 1000 and 86400000");
    }
    const UnixMillis now = now_ms();
    store::JobClaim claim{.worker_id = worker_,
                          .provisioner_id = id_,
                          .now = now,
                          .deadline_at = now + **timeout,
                          .tags = tags_};
    const auto waiting = std::chrono::milliseconds(
        std::clamp<std::int64_t>(wait->value_or(0), 0, kMaxAcquireWaitMs));
    // A job is claimed only at the start of a call, never after waiting: a daemon that went
    // away while its call waited must not take a job nobody will run. Waking up answers
    // {"job": null} and the daemon asks again at once.
    auto sub = app_.bus.subscribe(app_.executor, std::string(events::topic::kJobQueued));
    auto job = local_.try_acquire(claim);
    if (!job) co_return job.error();
    if (*job) co_return json{{"job", wire::to_json(**job)}};
    if (waiting.count() > 0) co_await sub->wait(waiting);
    co_return json{{"job", nullptr}};
  }

  Result<json> workspace_egress(const json& params) {
    auto ws = string_param(params, "workspace_id");
    if (!ws) return ws.error();
    auto found = local_.workspace_egress_now(id_, *ws);
    if (!found) return found.error();
    return json{{"template_spec", found->template_spec}, {"sandbox_number", found->sandbox_number}};
  }

  // The job a call names, if this provisioner runs it.
  Result<provisioner::JobRef> job(const json& params) {
    auto it = params.find("job");
    if (it == params.end()) return Error::invalid_argument("job (an object) is required");
    auto ref = wire::job_ref(*it);
    if (!ref) return ref.error();
    // The job and its build in one read.
    auto row = app_.store.build_for_job(ref->job_id);
    if (!row) {
      if (row.error().code == ErrorCode::not_found) return not_held("job " + ref->job_id);
      return row.error();
    }
    const auto& job = row->job;
    if (!job.worker_id || !job.worker_id->starts_with(id_ + "/")) {
      return not_held("job " + ref->job_id);
    }
    if (job.completed_at) {
      return Error::failed_precondition(fmt::format("job {} is already completed", ref->job_id),
                                        "it was failed by the server (deadline or heartbeats)");
    }
    if (row->build.id != ref->build_id || row->build.workspace_id != ref->workspace_id) {
      return not_held("build " + ref->build_id);
    }
    transition_ = row->build.transition;
    version_id_ = row->build.template_version_id;
    return ref;
  }

  Result<std::string> agent_of(const provisioner::JobRef& ref, const json& params) {
    auto id = string_param(params, "agent_id");
    if (!id) return id.error();
    auto agent = app_.store.agent_by_id(*id);
    if (!agent || agent->workspace_id != ref.workspace_id)
      return Result<std::string>(not_held("agent " + *id));
    return id;
  }

  Result<json> append_logs(const provisioner::JobRef& ref, const json& params) {
    auto it = params.find("lines");
    if (it == params.end()) return Error::invalid_argument("lines (an array) is required");
    if (it->is_array() && it->size() > kMaxLogLinesPerCall) {
      return Error::invalid_argument(
          fmt::format("at most {} log lines per call", kMaxLogLinesPerCall));
    }
    auto lines = wire::array_of<store::NewLogLine>(*it, "lines", wire::log_line);
    if (!lines) return lines.error();
    for (auto& l : *lines) {
      if (l.level != "info" && l.level != "error") l.level = "info";
      l.stage = valid_utf8(l.stage.substr(0, 64));
      l.output = valid_utf8(l.output);
    }
    if (auto s = local_.append_logs_now(ref, *lines); !s) return s.error();
    return json::object();
  }

  Result<json> complete(const provisioner::JobRef& ref, const json& params) {
    auto error = string_field(params, "error");
    if (!error) return error.error();
    auto code = string_field(params, "error_code");
    if (!code) return code.error();
    std::optional<std::string> message, error_code;
    if (*error) {
      message = valid_utf8(error->value().substr(0, 4096));
      error_code = valid_utf8(code->value_or("INTERNAL").substr(0, 64));
    }
    if (auto s = local_.complete_now(ref, message, error_code); !s) return s.error();
    return json::object();
  }

  Result<json> admit_cost(const provisioner::JobRef& ref) {
    // The cost is the template's, read here: never what the daemon says it is.
    auto version = app_.store.template_version_by_id(version_id_);
    if (!version) return version.error();
    auto spec = templates::from_json(version->spec);
    if (!spec) return spec.error();
    if (spec->daily_cost <= 0 || transition_ != Transition::start) {
      return wire::to_json(store::Store::QuotaDecision{.admitted = true});
    }
    auto d = app_.store.admit_build_cost(ref.build_id, spec->daily_cost);
    if (!d) return d.error();
    return wire::to_json(*d);
  }

  Result<json> sandbox_number(const provisioner::JobRef& ref) {
    auto n = app_.store.sandbox_number(ref.workspace_id);
    if (!n) return n.error();
    return json{{"sandbox_number", *n}};
  }

  Result<json> insert_agents(const provisioner::JobRef& ref, const json& params) {
    if (transition_ != Transition::start) {
      return Error::failed_precondition("only a start build creates agents");
    }
    auto it = params.find("agents");
    if (it == params.end()) return Error::invalid_argument("agents (an array) is required");
    if (it->is_array() && it->size() > kMaxAgents) {
      return Error::invalid_argument(fmt::format("at most {} agents", kMaxAgents));
    }
    auto agents = wire::array_of<store::NewAgent>(*it, "agents", wire::new_agent);
    if (!agents) return agents.error();
    for (const auto& a : *agents) {
      if (a.auth_token_hash.size() != 64) {
        return Error::invalid_argument("auth_token_hash must be a SHA-256 in hex");
      }
    }
    auto rows = local_.insert_agents_now(ref, *agents);
    if (!rows) return rows.error();
    json out = json::array();
    for (const auto& a : *rows) out.push_back(wire::to_json(a));
    return json{{"agents", out}};
  }

  Result<json> previous_agents(const provisioner::JobRef& ref) {
    auto agents = local_.previous_agents_now(ref);
    if (!agents) return agents.error();
    json out = json::array();
    for (const auto& a : *agents) out.push_back(wire::to_json(a));
    return json{{"agents", out}};
  }

  Result<json> set_agent_pid(const provisioner::JobRef& ref, const json& params) {
    auto agent = agent_of(ref, params);
    if (!agent) return agent.error();
    auto pid = int_field(params, "pid");
    if (!pid) return pid.error();
    std::optional<int> value;
    if (*pid) {
      if (**pid < 1 || **pid > (1 << 22)) return Error::invalid_argument("pid is out of range");
      value = static_cast<int>(**pid);
    }
    if (auto s = app_.store.set_agent_pid(*agent, value); !s) return s.error();
    return json::object();
  }

  Result<json> agent_stopped(const provisioner::JobRef& ref, const json& params) {
    auto agent = agent_of(ref, params);
    if (!agent) return agent.error();
    if (auto s = local_.agent_stopped_now(ref, *agent); !s) return s.error();
    return json::object();
  }

  App& app_;
  store::ProvisionerKey key_;
  std::string id_;
  provisioner::LocalCoordinator local_;
  std::string worker_;  // the host's current worker (from its row)
  std::string tags_;    // what it offers (from its row, set at registration)
  Transition transition_ = Transition::start;
  std::string version_id_;
};

awaitable<Response> provisioner_call(Context& c) {
  auto key = c.app.admin.authenticate_provisioner(c.request.bearer_token());
  if (!key) co_return error_response(key.error());
  json body;
  if (auto refused = parse_untrusted_json(c.request.body, body); refused != JsonRefusal::none) {
    co_return error_response(Error::invalid_argument(json_refusal_message(refused, "the body")));
  }
  if (!body.is_object() || !body.contains("provisioner_id") ||
      !body["provisioner_id"].is_string() || !body.contains("method") ||
      !body["method"].is_string()) {
    co_return error_response(Error::invalid_argument(
        "a provisioner call needs provisioner_id and method (strings) and params (an object)"));
  }
  json params = body.value("params", json::object());
  if (!params.is_object()) {
    co_return error_response(Error::invalid_argument("params must be an object"));
  }
  DaemonCall call(c.app, std::move(*key), body["provisioner_id"].get<std::string>());
  const std::string method = body["method"].get<std::string>();
  auto result = co_await call.run(method, params);
  if (!result) co_return error_response(result.error());
  co_return ok(std::move(*result));
}

json key_json(const store::ProvisionerKey& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"tags", json::parse(k.tags, nullptr, false)},
          {"created_at", format_rfc3339(k.created_at)}};
}

// POST /api/v1/provisioner-keys {"name", "tags": {...}}: the key is in the answer, once.
awaitable<Response> create_key(Context& c) {
  auto body = json_body(c.request);
  if (!body) co_return error_response(body.error());
  auto name = string_field(*body, "name");
  if (!name) co_return error_response(name.error());
  if (!*name) co_return error_response(Error::invalid_argument("name (a string) is required"));
  auto raw_tags = string_map_field(*body, "tags");
  if (!raw_tags) co_return error_response(raw_tags.error());
  auto tags = tags_from_json(json(*raw_tags).dump());
  if (!tags) co_return error_response(tags.error());
  auto issued = c.app.admin.create_provisioner_key(c.caller(), **name, *tags);
  if (!issued) co_return error_response(issued.error());
  json out = key_json(issued->row);
  out["key"] = issued->key;
  co_return Response::json(201, dump_json(out));
}

awaitable<Response> list_keys(Context& c) {
  auto keys = c.app.admin.list_provisioner_keys(c.caller());
  if (!keys) co_return error_response(keys.error());
  json out = json::array();
  for (const auto& k : *keys) out.push_back(key_json(k));
  co_return Response::json(200, dump_json(out));
}

awaitable<Response> delete_key(Context& c) {
  auto s = c.app.admin.delete_provisioner_key(c.caller(), c.request.params.at("name"));
  if (!s) co_return error_response(s.error());
  Response r;
  r.status = 204;
  co_return r;
}

// GET /api/v1/provisioners: the hosts that run builds, and when each was last heard from.
awaitable<Response> list_hosts(Context& c) {
  if (auto s = c.app.admin.authz().require_site_admin(c.caller(), "list provisioners"); !s) {
    co_return error_response(s.error());
  }
  auto hosts = c.app.store.list_provisioners();
  if (!hosts) co_return error_response(hosts.error());
  json out = json::array();
  for (const auto& h : *hosts) {
    out.push_back({{"id", h.id},
                   {"name", h.name},
                   {"kind", h.kind},
                   {"tags", json::parse(h.tags, nullptr, false)},
                   {"started_at", format_rfc3339(h.started_at)},
                   {"last_seen_at", format_rfc3339(h.last_seen_at)}});
  }
  co_return Response::json(200, dump_json(out));
}

constexpr Route kRoutes[] = {
    {"POST", "/api/v1/provisioner/call", Auth::none, &provisioner_call},
    {"POST", "/api/v1/provisioner-keys", Auth::user, &create_key},
    {"GET", "/api/v1/provisioner-keys", Auth::user, &list_keys},
    {"DELETE", "/api/v1/provisioner-keys/{name}", Auth::user, &delete_key},
    {"GET", "/api/v1/provisioners", Auth::user, &list_hosts},
};

}  // namespace

std::span<const Route> provisioner_routes() { return kRoutes; }

}  // namespace berth::http
