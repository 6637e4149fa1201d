// execute: run a shell command in the chat's workspace, through its agent.
#include <fmt/format.h>

#include "berth/chattools/arguments.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/chattools/workspace_agent.hpp"

namespace berth::chattools {

namespace {

constexpr int kDefaultTimeoutSeconds = 60;
constexpr int kMaxTimeoutSeconds = 600;
constexpr auto kCallSlack = std::chrono::seconds(5);

constexpr const char* kDescription =
    "Run a shell command (/bin/sh -c) in this chat's workspace and return its exit code and "
    "combined output (the last 32 KiB). Relative paths and the default workdir are the agent's "
    "working directory. timeout_seconds defaults to 60 (at most 600); a command past it is "
    "killed. Needs a running workspace: call create_workspace first.";

boost::asio::awaitable<ToolResult> execute(const WorkspaceToolsOptions& o, ToolContext& ctx,
                                           json args) {
  auto command = string_argument(args, "command");
  if (!command) co_return ToolResult::text_error(command.error().message);
  if (command->empty()) co_return ToolResult::text_error("command is required");
  auto workdir = string_argument(args, "workdir");
  if (!workdir) co_return ToolResult::text_error(workdir.error().message);
  int timeout_s = kDefaultTimeoutSeconds;
  if (args.contains("timeout_seconds") && !args["timeout_seconds"].is_null()) {
    const auto& t = args["timeout_seconds"];
    if (!t.is_number_integer() || t.get<int>() < 1 || t.get<int>() > kMaxTimeoutSeconds) {
      co_return ToolResult::text_error(
          fmt::format("timeout_seconds must be a whole number from 1 to {}", kMaxTimeoutSeconds));
    }
    timeout_s = t.get<int>();
  }
  auto target = chat_agent(o, ctx);
  if (!target) co_return ToolResult::text_error(target.error().message);
  json params = {{"command", *command}, {"timeout_ms", timeout_s * 1000}};
  if (!workdir->empty()) params["workdir"] = *workdir;
  std::string method = "exec";  // named: no temporaries inside a co_await (GCC 12)
  auto r = co_await call_agent(o, *target, std::move(method), std::move(params),
                               std::chrono::seconds(timeout_s) + kCallSlack);
  if (!r) co_return ToolResult::text_error(r.error().message);
  json out = {{"exit_code", r->value("exit_code", -1)},
              {"output", r->value("output", "")},
              {"truncated", r->value("truncated", false)},
              {"duration_ms", r->value("duration_ms", 0)}};
  if (r->value("timed_out", false)) {
    out["timed_out"] = true;
    out["message"] = fmt::format(
        "the command was killed after {} s; raise timeout_seconds (at most {}) if it needs "
        "longer",
        timeout_s, kMaxTimeoutSeconds);
  }
  co_return ToolResult::success(std::move(out));
}

}  // namespace

Tool make_execute_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "execute";
  t.title = "Run a command in the workspace";
  t.description = kDescription;
  t.annotations = {
      .read_only = false, .destructive = true, .idempotent = false, .open_world = true};
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"command", {{"type", "string"}, {"description", "Shell command line"}}},
        {"workdir",
         {{"type", "string"}, {"description", "Directory to run in (default: the agent's)"}}},
        {"timeout_seconds",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", kMaxTimeoutSeconds},
          {"description", "Kill the command after this long (default 60)"}}}}},
      {"required", {"command"}},
      {"additionalProperties", false}};
  t.output_schema = {{"type", "object"},
                     {"properties",
                      {{"exit_code", {{"type", "integer"}}},
                       {"output", {{"type", "string"}}},
                       {"truncated", {{"type", "boolean"}}},
                       {"duration_ms", {{"type", "integer"}}},
                       {"timed_out", {{"type", "boolean"}}},
                       {"message", {{"type", "string"}}},
                       {"error", {{"type", "string"}}}}}};
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    co_return co_await execute(o, ctx, std::move(args));
  };
  return t;
}

}  // namespace berth::chattools
