#include "berth/agentconn/agent_hub.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/agentconn/agent_message.hpp"
#include "berth/core/agent_protocol.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/logging.hpp"
#include "berth/core/metrics.hpp"
#include "berth/core/port_tunnel.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/net/netns.hpp"

namespace berth::agentconn {

namespace asio = boost::asio;
namespace proto = agent_protocol;
using nlohmann::json;

namespace {

// A request to an agent; it carries the request id of the call it serves, which the agent
// logs, so one call can be followed into the workspace.
json request_frame(std::uint64_t id, const std::string& method, const json& params) {
  json frame = {{"type", proto::kRequest}, {"id", id}, {"method", method}, {"params", params}};
  if (!current_request_id().empty()) frame["request_id"] = current_request_id();
  return frame;
}

// Agents connected to this replica, and connections made.
void record_connections(std::size_t now_connected, bool connected) {
  static auto& current = metrics::registry().gauge("berth_agent_connections",
                                                   "Workspace agents connected to this replica.");
  static auto& made = metrics::registry().counter("berth_agent_connects_total",
                                                  "Agent connections accepted by this replica.");
  current.get().set(static_cast<double>(now_connected));
  if (connected) made.get().inc();
}

// The agent heartbeats this many times per inactive timeout, so one lost beat is harmless.
constexpr int kHeartbeatsPerInactiveTimeout = 3;
constexpr auto kMinHeartbeat = std::chrono::milliseconds(200);
// An external agent's watcher re-reads its workspace at least this often.
constexpr auto kRetireFallback = std::chrono::seconds(5);
// Any agent's watcher re-reads its workspace's owner at least this often.
constexpr auto kOwnerFallback = std::chrono::seconds(60);
// Port tunnels move their workspace's deadline at most this often.
constexpr auto kPortActivityEvery = std::chrono::seconds(30);
// Time a rejected agent gets to close its side before the server does.
constexpr auto kRejectGrace = std::chrono::seconds(1);
}  // namespace

struct PendingCall {
  explicit PendingCall(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<json> reply;
  std::function<void(std::string)> on_output;  // exec with stream: output as it comes
};

struct AgentHub::Connection {
  store::WorkspaceAgent agent;
  std::unique_ptr<MessageChannel> channel;
  std::map<std::uint64_t, std::shared_ptr<PendingCall>> pending;
  // Port tunnels on this connection; their users own them.
  std::map<std::uint32_t, std::weak_ptr<PortStream>> ports;
  // Leases of the sockets dial_port made; expired once their users closed them.
  std::vector<std::weak_ptr<void>> direct_ports;
  std::uint32_t next_port_stream = 1;
  std::chrono::steady_clock::time_point port_activity{};  // when a tunnel last moved the deadline
  bool ended = false;                                     // the read loop is over
};

AgentHub::AgentHub(asio::any_io_executor executor, store::Store& store, events::EventBus& bus,
                   AgentHubOptions options)
    : executor_(std::move(executor)), store_(store), bus_(bus), options_(std::move(options)) {}

AgentHub::~AgentHub() = default;

Result<store::WorkspaceAgent> AgentHub::authenticate(std::string_view token) {
  if (token.empty()) {
    return Error::unauthenticated("missing agent token",
                                  "start the agent with --token or BERTH_AGENT_TOKEN");
  }
  auto agent = store_.agent_by_token_hash(sha256_hex(token));
  if (!agent) return agent;
  auto ws = store_.workspace_by_id(agent->workspace_id);
  if (!ws) return ws.error();
  auto latest = store_.latest_build(agent->workspace_id);
  if (!latest) return latest.error();
  if (ws->deleted || latest->build.id != agent->build_id ||
      latest->build.transition != Transition::start) {
    return Error::failed_precondition(
        fmt::format("agent {} belongs to an old build of workspace {}", agent->name, ws->name),
        "the workspace was stopped, rebuilt or deleted; this agent should exit");
  }
  return agent;
}

// Create -> ready (the workspace's first build) and start -> ready (later ones), per agent:
// from the build's request to the agent reporting its startup script done.
void AgentHub::record_ready(const store::WorkspaceAgent& agent, UnixMillis now) {
  static auto& create_to_ready = metrics::registry().histogram(
      "berth_create_to_ready_seconds",
      "From a workspace's creation to each agent of its first build being ready.", {},
      metrics::latency_buckets());
  static auto& start_to_ready = metrics::registry().histogram(
      "berth_start_to_ready_seconds",
      "From a later start build's request to each of its agents being ready.", {},
      metrics::latency_buckets());
  auto b = store_.build_by_id(agent.build_id);
  if (!b) return;
  double seconds = static_cast<double>(now - b->build.created_at) / 1000.0;
  (b->build.build_number == 1 ? create_to_ready : start_to_ready).get().observe(seconds);
}

void AgentHub::publish(const store::WorkspaceAgent& agent) {
  bus_.publish(events::topic::agent(agent.id));
  bus_.publish(events::topic::workspace(agent.workspace_id));
}

asio::awaitable<void> AgentHub::serve(store::WorkspaceAgent agent,
                                      std::unique_ptr<MessageChannel> channel) {
  auto conn = std::make_shared<Connection>();
  conn->agent = agent;
  conn->channel = std::move(channel);
  // A newer connection of the same agent replaces an older one.
  if (auto old = connections_.find(agent.id); old != connections_.end())
    old->second->channel->close();
  connections_[agent.id] = conn;
  record_connections(connections_.size(), true);

  if (auto s = store_.agent_connected(agent.id, now_ms(), options_.replica_id); !s) {
    spdlog::error("agent connect not recorded agent_id={} error={}", agent.id, s.error().message);
  }
  publish(agent);
  spdlog::info("agent connected agent_id={} name={} workspace_id={}", agent.id, agent.name,
               agent.workspace_id);

  auto heartbeat =
      std::max(kMinHeartbeat, options_.inactive_timeout / kHeartbeatsPerInactiveTimeout);
  json env = json::parse(agent.env, nullptr, false);
  if (!env.is_object()) env = json::object();
  json manifest = {{"type", proto::kManifest},
                   {"agent_id", agent.id},
                   {"agent_name", agent.name},
                   {"workspace_id", agent.workspace_id},
                   {"directory", agent.directory},
                   {"startup_script", agent.startup_script},
                   {"startup_script_timeout_ms", agent.startup_script_timeout_ms},
                   {"env", env},
                   {"heartbeat_ms", heartbeat.count()}};
  std::string owner, name;  // as the agent was told; the watcher keeps it up to date
  if (auto ws = store_.workspace_by_id(agent.workspace_id)) {
    owner = ws->owner_name;
    name = ws->name;
    manifest["workspace_owner"] = owner;
    manifest["workspace_name"] = name;
  }
  conn->channel->send(manifest.dump());
  asio::co_spawn(executor_, watch_workspace(conn, std::move(owner), std::move(name)),
                 asio::detached);

  while (auto message = co_await conn->channel->read()) {
    try {
      if (message->binary) {
        handle_tunnel_frame(*conn, std::move(message->data));
      } else {
        handle_message(*conn, message->data);
      }
    } catch (const std::exception& e) {
      spdlog::warn("bad agent message agent_id={} error={}", agent.id, e.what());
    }
  }

  conn->ended = true;
  for (auto& [id, call] : conn->pending) call->timer.cancel();
  for (auto& [id, weak] : conn->ports) {
    if (auto stream = weak.lock()) stream->on_closed("the workspace's agent disconnected", true);
  }
  conn->ports.clear();
  if (auto it = connections_.find(agent.id); it != connections_.end() && it->second == conn) {
    connections_.erase(it);
    record_connections(connections_.size(), false);
    if (auto s = store_.agent_disconnected(agent.id, now_ms(), options_.replica_id); !s) {
      spdlog::error("agent disconnect not recorded agent_id={} error={}", agent.id,
                    s.error().message);
    }
    publish(agent);
    spdlog::info("agent disconnected agent_id={} name={}", agent.id, agent.name);
  }
}

void AgentHub::record_activity(const store::WorkspaceAgent& agent) {
  if (auto s = store_.extend_workspace_deadline(agent.workspace_id, now_ms()); !s) {
    spdlog::error("workspace deadline not extended workspace_id={} error={}", agent.workspace_id,
                  s.error().message);
  }
}

bool AgentHub::superseded(const store::WorkspaceAgent& agent) {
  auto ws = store_.workspace_by_id(agent.workspace_id);
  if (!ws) return false;  // a store error is not a reason to drop a working agent
  if (ws->deleted) return true;
  auto latest = store_.latest_build(agent.workspace_id);
  if (!latest) return false;
  // A pending stop has not begun: the agent keeps working until the provisioner takes the job,
  // as the agents it started itself do until it stops them.
  return latest->build.id != agent.build_id && latest->job.status() != JobStatus::pending;
}

// Keeps a connected agent in step with its workspace:
// - a claimed prebuild has a new owner and name: the agent is told (kWorkspace);
// - the provisioner ends the agents it started when their workspace stops, but an external
//   agent runs elsewhere, so the hub tells it to exit instead (a reconnect would get 410).
asio::awaitable<void> AgentHub::watch_workspace(std::shared_ptr<Connection> conn, std::string owner,
                                                std::string name) {
  const auto& agent = conn->agent;
  auto sub = bus_.subscribe(executor_, events::topic::workspace_owner(agent.workspace_id));
  if (agent.external) sub->add_topic(events::topic::workspace(agent.workspace_id));
  // The first pass re-reads: a claim may have landed between the manifest and the subscription.
  while (!conn->ended) {
    if (auto ws = store_.workspace_by_id(agent.workspace_id);
        ws && (ws->owner_name != owner || ws->name != name)) {
      owner = ws->owner_name;
      name = ws->name;
      spdlog::info("agent told of its workspace's owner agent_id={} owner={} name={}", agent.id,
                   owner, name);
      conn->channel->send(
          json{{"type", proto::kWorkspace}, {"workspace_owner", owner}, {"workspace_name", name}}
              .dump());
    }
    if (agent.external && superseded(conn->agent)) {
      spdlog::info("external agent retired agent_id={} workspace_id={}", conn->agent.id,
                   conn->agent.workspace_id);
      conn->channel->send(json{{"type", proto::kRejected},
                               {"message", "the workspace was stopped, rebuilt or deleted"}}
                              .dump());
      asio::steady_timer grace(executor_, kRejectGrace);
      boost::system::error_code ec;
      co_await grace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!conn->ended) conn->channel->close();
      co_return;
    }
    co_await sub->wait(agent.external ? kRetireFallback : kOwnerFallback);
  }
}

void AgentHub::handle_message(Connection& conn, const std::string& text) {
  auto decoded = decode_agent_message(text);
  if (!decoded) {
    spdlog::warn("agent frame ignored agent_id={} error={}", conn.agent.id,
                 decoded.error().message);
    return;
  }
  AgentMessage& msg = *decoded;
  const auto& agent = conn.agent;
  const UnixMillis now = now_ms();
  using Kind = AgentMessage::Kind;

  switch (msg.kind) {
    case Kind::hello:
    case Kind::lifecycle: {
      if (!msg.state) return;
      auto current = store_.agent_by_id(agent.id);
      if (current && current->lifecycle_state == *msg.state) return;  // nothing changed
      if (auto s = store_.set_agent_lifecycle(agent.id, *msg.state, now); !s) {
        spdlog::error("agent lifecycle not recorded agent_id={} error={}", agent.id,
                      s.error().message);
        return;
      }
      spdlog::info("agent lifecycle agent_id={} state={}", agent.id, to_string(*msg.state));
      if (*msg.state == AgentLifecycle::ready) record_ready(agent, now);
      publish(agent);
      bus_.publish(events::topic::kPrebuilds);  // a prebuild may be ready, or will never be
      break;
    }
    case Kind::log:
      if (auto s = store_.append_agent_logs(agent.id, msg.lines, now); !s) {
        spdlog::error("agent logs not stored agent_id={} error={}", agent.id, s.error().message);
        return;
      }
      bus_.publish(events::topic::agent(agent.id));
      break;
    case Kind::heartbeat:
      if (auto s = store_.agent_connected(agent.id, now, options_.replica_id); !s) {
        spdlog::error("agent heartbeat not recorded agent_id={} error={}", agent.id,
                      s.error().message);
      }
      // A request still running (a long execute) keeps the workspace alive.
      if (!conn.pending.empty()) record_activity(agent);
      break;
    case Kind::output:
      if (auto it = conn.pending.find(msg.id); it != conn.pending.end() && it->second->on_output) {
        it->second->on_output(msg.data);
      }
      break;
    case Kind::response:
      if (auto it = conn.pending.find(msg.id); it != conn.pending.end()) {
        it->second->reply = std::move(msg.reply);
        it->second->timer.cancel();
      }
      break;
    case Kind::unknown:
      break;
  }
}

void AgentHub::handle_tunnel_frame(Connection& conn, std::string bytes) {
  namespace tunnel = port_tunnel;
  auto frame = tunnel::decode(bytes);
  if (!frame) {
    spdlog::warn("agent tunnel frame ignored agent_id={} error={}", conn.agent.id,
                 frame.error().message);
    return;
  }
  auto it = conn.ports.find(frame->stream);
  if (it == conn.ports.end()) return;  // a stream that ended here already
  auto stream = it->second.lock();
  if (!stream) {
    conn.ports.erase(it);
    return;
  }
  switch (frame->op) {
    case tunnel::Op::opened:
      stream->on_opened();
      break;
    case tunnel::Op::data:
      // The payload stays in the message it came in: the stream takes the whole of it.
      if (!stream->on_data(tunnel::Chunk{std::move(bytes), tunnel::kHeaderSize})) {
        spdlog::warn("agent overran a port tunnel's window agent_id={} stream={}", conn.agent.id,
                     frame->stream);
        conn.ports.erase(it);
      }
      break;
    case tunnel::Op::eof:
      stream->on_eof();
      break;
    case tunnel::Op::credit:
      stream->on_credit(frame->credit);
      break;
    case tunnel::Op::close:
      stream->on_closed(valid_utf8(std::string(frame->payload)), false);
      conn.ports.erase(it);
      break;
    case tunnel::Op::open:  // only the server opens
      break;
  }
}

asio::awaitable<Result<std::pair<std::shared_ptr<PortStream>, bool>>> AgentHub::open_port(
    std::string agent_id, std::uint16_t port, std::string first_bytes) {
  constexpr auto kOpenTimeout = std::chrono::seconds(10);
  auto it = connections_.find(agent_id);
  if (it == connections_.end()) {
    co_return Error::unavailable(remote_replica(agent_id)
                                     ? "the workspace's agent is connected to another replica"
                                     : "the workspace's agent is not connected",
                                 "start the workspace, or wait for its agent to connect");
  }
  auto conn = it->second;
  if (auto admitted = admit_port(*conn); !admitted) co_return admitted.error();
  std::uint32_t id = conn->next_port_stream++;
  if (conn->next_port_stream == 0) conn->next_port_stream = 1;
  auto stream = std::make_shared<PortStream>(executor_, conn->channel.get(), id);
  conn->ports[id] = stream;
  conn->channel->send_binary(port_tunnel::encode_open(id, port));
  // Within the window, write() sends at once and never waits for credit (which would wait on
  // the agent's dial, past the timeout below).
  bool sent = false;
  if (!first_bytes.empty() && first_bytes.size() <= port_tunnel::kWindow) {
    sent = co_await stream->write(first_bytes);
  }
  if (!co_await stream->wait_opened(kOpenTimeout)) {
    conn->ports.erase(id);
    co_return Error::unavailable(
        fmt::format("cannot connect to port {} in the workspace: {}", port, stream->reason()),
        "start a server listening on that port in the workspace (on 127.0.0.1 or 0.0.0.0)");
  }
  co_return std::make_pair(stream, sent);
}

Status AgentHub::admit_port(Connection& conn) {
  std::erase_if(conn.ports, [](const auto& entry) { return entry.second.expired(); });
  std::erase_if(conn.direct_ports, [](const auto& lease) { return lease.expired(); });
  if (const auto open = conn.ports.size() + conn.direct_ports.size();
      open >= port_tunnel::kMaxStreams) {
    return Error::resource_exhausted(fmt::format("{} connections to this workspace are open", open),
                                     "close some (a browser tab, a WebSocket) and try again");
  }
  // A preview in use keeps its workspace alive, but a page loads many files: the deadline
  // (a durable write) moves at most every 30 s, not per connection.
  if (const auto now = std::chrono::steady_clock::now();
      now - conn.port_activity > kPortActivityEvery) {
    conn.port_activity = now;
    record_activity(conn.agent);
  }
  return {};
}

asio::awaitable<Result<std::optional<AgentHub::DirectPort>>> AgentHub::dial_port(
    std::string agent_id, std::uint16_t port) {
  constexpr auto kConnectTimeout = std::chrono::seconds(10);
  static auto& dials = metrics::registry().counter(
      "berth_port_dials_total",
      "Connections to ports in workspaces by how they were made: direct (the server's own "
      "socket in the workspace's network namespace) or tunnel (through the agent).",
      {"path"});
  auto it = connections_.find(agent_id);
  Result<net::UniqueFd> made =
      Error::unavailable("the agent is not connected over this host's socket");
  if (it != connections_.end() && it->second->channel->peer_pidfd() >= 0) {
    made = net::tcp_socket_in_netns_of(it->second->channel->peer_pidfd(), AF_INET);
    if (!made && made.error().code == ErrorCode::permission_denied) {
      static bool told = false;
      if (!std::exchange(told, true)) {
        spdlog::info("previews go through agents' tunnels: {}", made.error().message);
      }
    }
  }
  if (!made) {
    dials.labels({"tunnel"}).inc();
    co_return std::nullopt;
  }
  // `conn` (holding the pidfd) lives while this connects, even if the agent's connection ends.
  auto conn = it->second;
  if (auto admitted = admit_port(*conn); !admitted) co_return admitted.error();
  auto lease = std::make_shared<int>(0);
  conn->direct_ports.push_back(lease);
  dials.labels({"direct"}).inc();

  // 127.0.0.1, then [::1], as the agent dials.
  using namespace asio::experimental::awaitable_operators;
  boost::system::error_code ec;
  bool refused = false;  // by either address: the v6 one may be unreachable instead
  asio::steady_timer deadline(executor_);
  for (const bool ipv4 : {true, false}) {
    if (!ipv4) made = net::tcp_socket_in_netns_of(conn->channel->peer_pidfd(), AF_INET6);
    if (!made) break;
    asio::ip::tcp::socket socket(executor_);
    socket.assign(ipv4 ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), made->release(), ec);
    if (ec) break;
    asio::ip::tcp::endpoint endpoint(ipv4 ? asio::ip::address(asio::ip::address_v4::loopback())
                                          : asio::ip::address(asio::ip::address_v6::loopback()),
                                     port);
    // A full backlog drops the SYN and connect would retry for minutes.
    deadline.expires_after(kConnectTimeout);
    boost::system::error_code timer_ec;
    auto done =
        co_await (socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec)) ||
                  deadline.async_wait(asio::redirect_error(asio::use_awaitable, timer_ec)));
    if (done.index() == 1) ec = asio::error::operation_aborted;
    if (!ec) {
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      co_return DirectPort{std::move(socket), std::move(lease)};
    }
    if (ec != asio::error::connection_refused) break;
    refused = true;
  }
  co_return Error::unavailable(
      fmt::format("cannot connect to port {} in the workspace: {}", port,
                  refused || ec == asio::error::connection_refused
                      ? fmt::format("nothing listens on port {} in the workspace", port)
                  : ec == asio::error::operation_aborted
                      ? "it did not accept the connection in 10 s"
                      : fmt::format("connecting to port {} failed: {}", port, ec.message())),
      "start a server listening on that port in the workspace (on 127.0.0.1 or 0.0.0.0)");
}

asio::awaitable<Result<json>> AgentHub::call(std::string agent_id, std::string method, json params,
                                             std::chrono::milliseconds timeout,
                                             std::function<void(std::string)> on_output) {
  if (!connections_.contains(agent_id) && relay_) {
    if (auto replica = remote_replica(agent_id)) {
      co_return co_await relay_->call(std::move(*replica), std::move(agent_id), std::move(method),
                                      std::move(params), timeout, std::move(on_output));
    }
  }
  co_return co_await call_local(std::move(agent_id), std::move(method), std::move(params), timeout,
                                std::move(on_output));
}

asio::awaitable<Result<json>> AgentHub::call_local(std::string agent_id, std::string method,
                                                   json params, std::chrono::milliseconds timeout,
                                                   std::function<void(std::string)> on_output) {
  auto it = connections_.find(agent_id);
  if (it == connections_.end()) {
    co_return Error::unavailable(fmt::format("agent {} is not connected", agent_id),
                                 "start the workspace, or wait for its agent to connect");
  }
  auto conn = it->second;
  record_activity(conn->agent);
  std::uint64_t id = next_request_id_++;
  auto call = std::make_shared<PendingCall>(executor_);
  call->on_output = std::move(on_output);
  conn->pending[id] = call;
  conn->channel->send(request_frame(id, method, params).dump());
  call->timer.expires_after(timeout);
  boost::system::error_code ec;
  co_await call->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  conn->pending.erase(id);
  if (!call->reply) {
    if (ec) {
      co_return Error::unavailable(fmt::format("agent {} disconnected during {}", agent_id, method),
                                   kAnswerLost);
    }
    co_return Error::deadline_exceeded(
        fmt::format("agent did not answer {} within {} ms", method, timeout.count()));
  }
  if (auto err = call->reply->find("error"); err != call->reply->end()) {
    // The agent's words, taken only where they are strings (it runs in the workspace).
    auto text = [&](const char* key, const char* fallback) {
      if (!err->is_object()) return std::string(fallback);
      auto it = err->find(key);
      return it != err->end() && it->is_string() ? valid_utf8(it->get<std::string>())
                                                 : std::string(fallback);
    };
    std::string code = text("code", "internal");
    std::string message = text("message", "agent request failed");
    if (code == "invalid_argument") co_return Error::invalid_argument(message);
    if (code == "not_found") co_return Error::not_found(message);
    co_return Error::unavailable(message);
  }
  co_return call->reply->value("result", json::object());
}

bool AgentHub::connected(std::string_view agent_id) const {
  return connections_.find(agent_id) != connections_.end() ||
         (relay_ && remote_replica(agent_id).has_value());
}

std::optional<store::Replica> AgentHub::remote_replica(std::string_view agent_id) const {
  auto agent = store_.agent_by_id(agent_id);
  if (!agent || !agent->replica_id || *agent->replica_id == options_.replica_id) return {};
  const UnixMillis now = now_ms();
  if (agent->status(now, options_.inactive_timeout) != AgentStatus::connected) return {};
  auto replica = store_.replica_by_id(*agent->replica_id);
  if (!replica || now - replica->heartbeat_at > options_.replica_stale.count()) return {};
  return *replica;
}

}  // namespace berth::agentconn
