#pragma once
// AgentHub: the server side of `berth agent` connections. It authenticates an agent by its
// token, records connection and lifecycle changes in the store (then publishes them), stores
// startup-script output, and lets the rest of the server call the agent (exec, files).
// Owned by the server; used on the server's executor only.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "berth/agentconn/agent_relay.hpp"
#include "berth/agentconn/message_channel.hpp"
#include "berth/agentconn/port_stream.hpp"
#include "berth/core/result.hpp"
#include "berth/events/bus.hpp"
#include "berth/store/store.hpp"

namespace berth::agentconn {

struct AgentHubOptions {
  // An agent that has not been heard from for this long reads as disconnected.
  std::chrono::milliseconds inactive_timeout{30'000};
  // This server's replica id: recorded on the agents connected here.
  std::string replica_id = "local";
  // A replica that has not heartbeaten for this long is taken for dead (its agents'
  // connections with it).
  std::chrono::milliseconds replica_stale{15'000};
};

class AgentHub {
 public:
  AgentHub(boost::asio::any_io_executor executor, store::Store& store, events::EventBus& bus,
           AgentHubOptions options);
  ~AgentHub();

  // Checks an agent token before the WebSocket upgrade. Returns unauthenticated for an
  // unknown token and failed_precondition when the token belongs to a build that is no
  // longer the workspace's current one (the agent should exit).
  Result<store::WorkspaceAgent> authenticate(std::string_view token);

  // Serves one connected agent until it disconnects.
  boost::asio::awaitable<void> serve(store::WorkspaceAgent agent,
                                     std::unique_ptr<MessageChannel> channel);

  // Sends a request to a connected agent and waits for its reply. Returns unavailable when the
  // agent is not connected, deadline_exceeded after `timeout`. `on_output` receives the
  // "output" messages the agent sends before replying (exec with stream: true). A call, and
  // every heartbeat while one runs, counts as activity: it moves the workspace's deadline.
  boost::asio::awaitable<Result<nlohmann::json>> call(
      std::string agent_id, std::string method, nlohmann::json params,
      std::chrono::milliseconds timeout, std::function<void(std::string)> on_output = {});

  // The same, on this replica's connection only (what a relayed call runs).
  boost::asio::awaitable<Result<nlohmann::json>> call_local(
      std::string agent_id, std::string method, nlohmann::json params,
      std::chrono::milliseconds timeout, std::function<void(std::string)> on_output = {});

  // Opens a TCP connection to 127.0.0.1:`port` inside the agent's workspace, through the
  // agent's connection to this replica. unavailable (saying why) when the agent is not
  // connected here, nothing listens on the port, or the agent does not answer in time;
  // resource_exhausted past port_tunnel::kMaxStreams streams. `first_bytes`, when they fit
  // the stream's window, go right behind the open frame (the agent holds them until it has
  // dialed), sparing a round trip; larger ones the caller writes once this returns.
  // True in the pair when they were sent.
  boost::asio::awaitable<Result<std::pair<std::shared_ptr<PortStream>, bool>>> open_port(
      std::string agent_id, std::uint16_t port, std::string first_bytes = {});

  // A connection to `port` inside the agent's workspace that the server makes itself: an agent
  // on this host (it dialed the Unix socket) shows which network namespace it runs in, and the
  // server connects there (net/netns.hpp), one hop shorter than a tunnel through the agent.
  // nullopt when that cannot be done here (the agent is connected over TCP or to another
  // replica, or the server may not enter namespaces: it is not root): use open_port. Errors
  // as open_port's. The socket counts against the agent's kMaxStreams until it closes.
  struct DirectPort {
    boost::asio::ip::tcp::socket socket;
    std::shared_ptr<void> lease;  // held as long as the socket is in use
  };
  boost::asio::awaitable<Result<std::optional<DirectPort>>> dial_port(std::string agent_id,
                                                                      std::uint16_t port);

  // Connected here, or to a live replica this one can relay to.
  bool connected(std::string_view agent_id) const;
  // Calls for agents connected to other replicas go through `relay` (null: they are refused).
  void set_relay(AgentRelay* relay) { relay_ = relay; }
  std::chrono::milliseconds inactive_timeout() const { return options_.inactive_timeout; }

  struct Connection;

 private:
  void handle_message(Connection& conn, const std::string& text);
  void handle_tunnel_frame(Connection& conn, std::string bytes);
  void publish(const store::WorkspaceAgent& agent);
  void record_ready(const store::WorkspaceAgent& agent, UnixMillis now);
  // The agent's connection is in use: its workspace's deadline moves to now + TTL.
  void record_activity(const store::WorkspaceAgent& agent);
  // A port of the agent's workspace is being opened: resource_exhausted past kMaxStreams;
  // moves the workspace's deadline now and then.
  Status admit_port(Connection& conn);
  // True once the agent's build is no longer its workspace's current one.
  bool superseded(const store::WorkspaceAgent& agent);
  // `owner` and `name` are what the manifest told the agent.
  boost::asio::awaitable<void> watch_workspace(std::shared_ptr<Connection> conn, std::string owner,
                                               std::string name);

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  events::EventBus& bus_;
  AgentHubOptions options_;
  // The live replica holding the agent's connection, when that is another one.
  std::optional<store::Replica> remote_replica(std::string_view agent_id) const;

  std::map<std::string, std::shared_ptr<Connection>, std::less<>> connections_;
  AgentRelay* relay_ = nullptr;
  std::uint64_t next_request_id_ = 1;
};

}  // namespace berth::agentconn
