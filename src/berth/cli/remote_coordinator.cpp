#include "berth/cli/remote_coordinator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/cli/http_client.hpp"
#include "berth/provisioner/wire.hpp"

namespace berth::cli {

namespace asio = boost::asio;
using nlohmann::json;
namespace wire = provisioner::wire;
using provisioner::Coordinator;

RemoteCoordinator::RemoteCoordinator(std::string server_url, std::string key,
                                     std::string provisioner_id, int threads)
    : url_(std::move(server_url)),
      key_(std::move(key)),
      provisioner_id_(std::move(provisioner_id)),
      pool_(static_cast<std::size_t>(threads)) {}

RemoteCoordinator::~RemoteCoordinator() {
  pool_.stop();
  pool_.join();
}

Result<json> RemoteCoordinator::call_now(const std::string& method, const json& params) const {
  ApiClient client(url_, key_);
  json body{{"provisioner_id", provisioner_id_}, {"method", method}, {"params", params}};
  auto answer = client.post("/api/v1/provisioner/call", body);
  if (!answer) return answer.error();
  if (!answer->is_object() || !answer->contains("result")) {
    return Error::internal("the server's answer to a provisioner call has no result",
                           "are the daemon and the server the same version?");
  }
  return (*answer)["result"];
}

namespace {

// The pool's side of a call: a plain coroutine with its arguments by value (GCC 12 destroys a
// capturing lambda coroutine's captures wrongly). co_spawn's result must be
// default-constructible, hence the optional.
asio::awaitable<std::optional<Result<json>>> blocking_call(const RemoteCoordinator* self,
                                                           std::string method, json params) {
  co_return self->call_now(method, params);
}

}  // namespace

Coordinator::Async<Result<json>> RemoteCoordinator::call(std::string method, json params) {
  // Runs the blocking exchange on the pool; resumes on the caller's executor.
  auto answer = co_await asio::co_spawn(pool_.get_executor(),
                                        blocking_call(this, std::move(method), std::move(params)),
                                        asio::use_awaitable);
  co_return std::move(*answer);
}

namespace {

Status status_of(const Result<json>& r) {
  if (!r) return r.error();
  return {};
}

}  // namespace

Coordinator::Async<Status> RemoteCoordinator::register_host(store::ProvisionerHost host) {
  std::string method = "register";
  json params = json{{"name", host.name},
                     {"worker_id", host.worker_id},
                     {"tags", json::parse(host.tags, nullptr, false)}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return status_of(r);
}

Coordinator::Async<Status> RemoteCoordinator::heartbeat(std::string, std::string worker_id,
                                                        bool jobs_running) {
  std::string method = "heartbeat";
  json params = json{{"worker_id", worker_id}, {"jobs_running", jobs_running}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return status_of(r);
}

Coordinator::Async<Result<std::optional<store::AcquiredJob>>> RemoteCoordinator::acquire(
    store::JobClaim claim, std::chrono::milliseconds wait) {
  std::string method = "acquire";
  json params =
      json{{"build_timeout_ms", claim.deadline_at - claim.now}, {"wait_ms", wait.count()}};
  auto r = co_await call(std::move(method), std::move(params));
  if (!r) co_return r.error();
  if (!r->is_object() || !r->contains("job") || (*r)["job"].is_null()) {
    co_return std::optional<store::AcquiredJob>();
  }
  auto job = wire::acquired_job((*r)["job"]);
  if (!job) co_return job.error();
  co_return std::optional<store::AcquiredJob>(std::move(*job));
}

Coordinator::Async<Status> RemoteCoordinator::append_logs(provisioner::JobRef job,
                                                          std::vector<store::NewLogLine> lines) {
  json out = json::array();
  for (const auto& l : lines) out.push_back(wire::to_json(l));
  std::string method = "append_logs";
  json params = json{{"job", wire::to_json(job)}, {"lines", out}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return status_of(r);
}

Coordinator::Async<Status> RemoteCoordinator::complete(provisioner::JobRef job,
                                                       std::optional<std::string> error,
                                                       std::optional<std::string> error_code) {
  json params{{"job", wire::to_json(job)}};
  if (error) {
    params["error"] = *error;
    params["error_code"] = error_code.value_or("INTERNAL");
  }
  std::string method = "complete";
  auto r = co_await call(std::move(method), std::move(params));
  co_return status_of(r);
}

Coordinator::Async<Result<store::Store::QuotaDecision>> RemoteCoordinator::admit_cost(
    provisioner::JobRef job, std::int64_t) {
  std::string method = "admit_cost";
  json params = json{{"job", wire::to_json(job)}};
  auto r = co_await call(std::move(method), std::move(params));
  if (!r) co_return r.error();
  co_return wire::quota_decision(*r);
}

Coordinator::Async<Result<std::int64_t>> RemoteCoordinator::sandbox_number(
    provisioner::JobRef job) {
  std::string method = "sandbox_number";
  json params = json{{"job", wire::to_json(job)}};
  auto r = co_await call(std::move(method), std::move(params));
  if (!r) co_return r.error();
  if (!r->is_object() || !(*r)["sandbox_number"].is_number_integer()) {
    co_return Error::internal("the server's sandbox number is not a number");
  }
  co_return (*r)["sandbox_number"].get<std::int64_t>();
}

namespace {

Result<std::vector<store::WorkspaceAgent>> agents_of(const Result<json>& r) {
  if (!r) return r.error();
  if (!r->is_object() || !r->contains("agents")) {
    return Error::internal("the server's answer has no agents");
  }
  return wire::array_of<store::WorkspaceAgent>((*r)["agents"], "agents", wire::workspace_agent);
}

}  // namespace

Coordinator::Async<Result<std::vector<store::WorkspaceAgent>>> RemoteCoordinator::insert_agents(
    provisioner::JobRef job, std::vector<store::NewAgent> agents) {
  json out = json::array();
  for (const auto& a : agents) out.push_back(wire::to_json(a));
  std::string method = "insert_agents";
  json params = json{{"job", wire::to_json(job)}, {"agents", out}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return agents_of(r);
}

Coordinator::Async<Status> RemoteCoordinator::set_agent_pid(provisioner::JobRef job,
                                                            std::string agent_id,
                                                            std::optional<int> pid) {
  std::string method = "set_agent_pid";
  json params = json{{"job", wire::to_json(job)},
                     {"agent_id", agent_id},
                     {"pid", pid ? json(*pid) : json(nullptr)}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return status_of(r);
}

Coordinator::Async<Result<std::vector<store::WorkspaceAgent>>> RemoteCoordinator::previous_agents(
    provisioner::JobRef job) {
  std::string method = "previous_agents";
  json params = json{{"job", wire::to_json(job)}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return agents_of(r);
}

Coordinator::Async<Status> RemoteCoordinator::agent_stopped(provisioner::JobRef job,
                                                            std::string agent_id) {
  std::string method = "agent_stopped";
  json params = json{{"job", wire::to_json(job)}, {"agent_id", agent_id}};
  auto r = co_await call(std::move(method), std::move(params));
  co_return status_of(r);
}

Coordinator::Async<Result<Coordinator::WorkspaceEgress>> RemoteCoordinator::workspace_egress(
    std::string, std::string workspace_id) {
  std::string method = "workspace_egress";
  json params = json{{"workspace_id", workspace_id}};
  auto r = co_await call(std::move(method), std::move(params));
  if (!r) co_return r.error();
  if (!r->is_object() || !(*r)["template_spec"].is_string() ||
      !(*r)["sandbox_number"].is_number_integer()) {
    co_return Error::internal("the server's answer on a workspace's egress is malformed");
  }
  co_return WorkspaceEgress{(*r)["template_spec"].get<std::string>(),
                            (*r)["sandbox_number"].get<std::int64_t>()};
}

}  // namespace berth::cli
