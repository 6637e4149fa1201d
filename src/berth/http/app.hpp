#pragma once
// App: everything a route handler may use, owned by `berth server` and shared by reference.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/events/bus.hpp"
#include "berth/http/host_policy.hpp"
#include "berth/mcp/mcp_server.hpp"
#include "berth/store/store.hpp"
#include "berth/workspaces/admin_service.hpp"
#include "berth/workspaces/chat_service.hpp"
#include "berth/workspaces/port_exposure.hpp"
#include "berth/workspaces/prebuild_reconciler.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::http {

struct AppOptions {
  std::size_t body_limit =
      std::size_t{8} * 1024 * 1024;  // bytes; templates with READMEs fit easily
  std::chrono::milliseconds max_wait{std::chrono::minutes(10)};  // cap for ?timeout= on waits
  // Until a request's token is verified, its body may be this large (and no more).
  std::size_t unauthenticated_body_limit = std::size_t{64} * 1024;
  HostPolicy hosts;
  std::filesystem::path bootstrap_token_file;  // <data-dir>/admin.token  // which Host and Origin
                                               // headers are served (REST, /mcp, streams)
  // Connections at once: from one client address, and in all (agents on the Unix socket
  // count apart). Past either, a new connection is closed at once.
  std::size_t max_connections_per_client = 256;
  std::size_t max_connections = 4096;
  std::string access_url;  // how agents reach this server (--access-url or the listen address)
  workspaces::PrebuildOptions prebuilds;  // to show a pool's state (backing off, stopped)
  // The bearer other replicas present on the relay endpoint (random per start, published in
  // this replica's row of the shared database).
  std::string relay_secret;
  bool tls = false;  // HTTPS only: session cookies are Secure
  // --preview-domain: exposed ports answer at <port>--<workspace>--<owner>.<domain> (a
  // wildcard DNS name pointing here); "" serves them at /@<owner>/<workspace>/ports/<port>/.
  std::string preview_domain;
  // A streamed MCP answer silent this long gets a keep-alive comment (which also finds out a
  // client that went away, cancelling its call).
  std::chrono::milliseconds sse_keepalive{std::chrono::seconds(15)};
};

class McpSessions;

struct App {
  boost::asio::any_io_executor executor;
  store::Store& store;
  events::EventBus& bus;
  workspaces::WorkspaceService& workspaces;
  workspaces::AdminService& admin;
  agentconn::AgentHub& agents;
  AppOptions options;
  workspaces::ChatService* chats = nullptr;
  mcp::McpServer* mcp = nullptr;              // serves /mcp
  McpSessions* mcp_sessions = nullptr;        // sessions of /mcp clients
  workspaces::PortExposure* ports = nullptr;  // exposed ports (preview URLs)
};

}  // namespace berth::http
