// expose_port: give a port of the chat's workspace a preview URL the user can open (a web
// server the model started there), private to the workspace's owner unless made public.
#include <fmt/format.h>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/chattools/workspace_agent.hpp"

namespace berth::chattools {

namespace {

constexpr const char* kBadPublic = "public must be true or false; pass one, or leave it out";

constexpr const char* kDescription =
    "Give a port of this chat's workspace a preview URL the user can open in a browser: HTTP "
    "and WebSocket requests to it reach the server listening on that port in the workspace "
    "(on 127.0.0.1 or 0.0.0.0). The URL is private to the workspace's owner unless public is "
    "true; for a private port, give the user `link` (it opens the preview once in their "
    "browser). Calling it again for the same port makes a new link and ends the old one. Only "
    "exposed ports answer, and the URL ends when the workspace is deleted. Start the server "
    "first (execute with background: true); `listening` says whether something answers on the "
    "port now. Needs a running workspace: call create_workspace first.";

}  // namespace

Tool make_expose_port_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "expose_port";
  t.title = "Expose a port of the workspace";
  t.description = kDescription;
  t.annotations = {.open_world = true};
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"port",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", 65535},
          {"description", "The port the server listens on inside the workspace"}}},
        {"public",
         {{"type", "boolean"},
          {"description", "Anyone with the URL may open it (default false: only the owner)"}}}}},
      {"required", {"port"}},
      {"additionalProperties", false}};
  t.output_schema = {{"type", "object"},
                     {"properties",
                      {{"port", {{"type", "integer"}}},
                       {"public", {{"type", "boolean"}}},
                       {"url", {{"type", "string"}}},
                       {"link", {{"type", "string"}}},
                       {"listening", {{"type", "boolean"}}},
                       {"note", {{"type", "string"}}},
                       {"error", {{"type", "string"}}},
                       {"outcome", {{"type", "string"}, {"enum", {"unknown"}}}},
                       {"earlier_call", {{"type", "object"}}}}}};
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    auto port_arg = args.find("port");
    if (port_arg == args.end() || !port_arg->is_number_integer() ||
        !workspaces::valid_port(port_arg->get<long long>())) {
      co_return ToolResult::text_error(workspaces::kBadPort);
    }
    const int port = static_cast<int>(port_arg->get<long long>());
    bool is_public = false;
    if (auto p = args.find("public"); p != args.end() && !p->is_null()) {
      if (!p->is_boolean()) co_return ToolResult::text_error(kBadPublic);
      is_public = p->get<bool>();
    }
    auto target = chat_agent(o, ctx);
    if (!target) co_return ToolResult::from_error(target.error());
    auto exposed = o.ports->expose(target->workspace, ctx.actor.user.id, port, is_public);
    if (!exposed) co_return ToolResult::from_error(exposed.error(), "expose port: ");
    json out = {{"port", port}, {"public", is_public}, {"url", exposed->url}};
    if (!is_public) out["link"] = exposed->private_link;
    // Does something answer there now? A connection opened and closed at once.
    auto probe = co_await o.agents->open_port(target->agent.id, static_cast<std::uint16_t>(port));
    if (probe) {
      probe->first->close("probe");
      out["listening"] = true;
    } else {
      out["listening"] = false;
      out["note"] = fmt::format(
          "{}; the URL answers once a server listens on port {} (start it with execute, "
          "background: true)",
          probe.error().message, port);
    }
    co_return ToolResult::success(std::move(out));
  };
  return t;
}

}  // namespace berth::chattools
