#pragma once
// App: everything a route handler may use, owned by `berth server` and shared by reference.

#include <chrono>
#include <cstddef>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/events/bus.hpp"
#include "berth/mcp/mcp_server.hpp"
#include "berth/store/store.hpp"
#include "berth/workspaces/admin_service.hpp"
#include "berth/workspaces/chat_service.hpp"
#include "berth/workspaces/prebuild_reconciler.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::http {

struct AppOptions {
  std::size_t body_limit =
      std::size_t{8} * 1024 * 1024;  // bytes; templates with READMEs fit easily
  std::chrono::milliseconds max_wait{std::chrono::minutes(10)};  // cap for ?timeout= on waits
  bool loopback_only = true;  // listening on loopback: /mcp refuses other Host names
  std::string access_url;     // how agents reach this server (--access-url or the listen address)
  workspaces::PrebuildOptions prebuilds;  // to show a pool's state (backing off, stopped)
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
  mcp::McpServer* mcp = nullptr;        // serves /mcp
  McpSessions* mcp_sessions = nullptr;  // sessions of /mcp clients
};

}  // namespace berth::http
