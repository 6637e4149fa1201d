// execute: run a shell command in the chat's workspace, through its agent; with background,
// start it and read (process_output) or end (process_signal) it later.
#include <fmt/format.h>

#include "berth/chattools/arguments.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/chattools/workspace_agent.hpp"

namespace berth::chattools {

namespace {

constexpr int kDefaultTimeoutSeconds = 60;
constexpr int kMaxTimeoutSeconds = 600;
constexpr auto kCallSlack = std::chrono::seconds(5);

constexpr const char* kCommandRequired = "command is required; pass the shell command line to run";
constexpr const char* kBadBackground =
    "background must be true or false; pass one, or leave it out";
constexpr const char* kBadTimeout =
    "timeout_seconds must be a whole number from 1 to {}; pass one, or leave it out for {}";
// What to check before running a command again whose answer was lost.
constexpr const char* kCheckCommand =
    "the command may have run, in part or in full. Check its effects (the files it writes; "
    "execute `ps aux` for processes it started) before running it again";

constexpr const char* kDescription =
    "Run a shell command (/bin/sh -c) in this chat's workspace and return its exit code and "
    "combined output (the last 32 KiB). Relative paths and the default workdir are the agent's "
    "working directory. timeout_seconds defaults to 60 (at most 600); a command past it is "
    "killed. For servers and long jobs set background: the call returns a process_id at once; "
    "read its output with process_output and end it with process_signal. Needs a running "
    "workspace: call create_workspace first.";

// The command's output as progress, for a client that asked for it: the newest text at most
// every 250 ms (the whole output comes in the result).
std::function<void(std::string)> output_progress(const ToolContext& ctx) {
  if (!ctx.progress) return {};
  struct State {
    std::chrono::steady_clock::time_point last{};
    std::string pending;
  };
  auto state = std::make_shared<State>();
  auto report = ctx.progress;
  return [state, report](std::string data) {
    constexpr std::size_t kTail = 1000;
    state->pending += data;
    if (state->pending.size() > kTail) state->pending.erase(0, state->pending.size() - kTail);
    auto now = std::chrono::steady_clock::now();
    if (now - state->last < std::chrono::milliseconds(250)) return;
    std::string text = state->pending;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (text.empty()) return;
    report("output: " + text);
    state->pending.clear();
    state->last = now;
  };
}

boost::asio::awaitable<ToolResult> execute(const WorkspaceToolsOptions& o, ToolContext& ctx,
                                           json args) {
  auto command = string_argument(args, "command");
  if (!command) co_return ToolResult::from_error(command.error());
  if (command->empty()) co_return ToolResult::text_error(kCommandRequired);
  auto workdir = string_argument(args, "workdir");
  if (!workdir) co_return ToolResult::from_error(workdir.error());
  int timeout_s = kDefaultTimeoutSeconds;
  if (args.contains("timeout_seconds") && !args["timeout_seconds"].is_null()) {
    const auto& t = args["timeout_seconds"];
    if (!t.is_number_integer() || t.get<int>() < 1 || t.get<int>() > kMaxTimeoutSeconds) {
      co_return ToolResult::text_error(
          fmt::format(fmt::runtime(kBadTimeout), kMaxTimeoutSeconds, kDefaultTimeoutSeconds));
    }
    timeout_s = t.get<int>();
  }
  bool background = false;
  if (args.contains("background") && !args["background"].is_null()) {
    if (!args["background"].is_boolean()) {
      co_return ToolResult::text_error(kBadBackground);
    }
    background = args["background"].get<bool>();
  }
  auto target = chat_agent(o, ctx);
  if (!target) co_return ToolResult::from_error(target.error());
  json params = {{"command", *command}, {"timeout_ms", timeout_s * 1000}};
  if (!workdir->empty()) params["workdir"] = *workdir;
  if (background) {
    params["background"] = true;
    std::string method = "exec";
    auto started =
        co_await call_agent(o, *target, std::move(method), std::move(params), kCallSlack);
    if (!started && answer_lost(started.error())) {
      co_return outcome_unknown(started.error(), kCheckCommand);
    }
    if (!started) co_return ToolResult::from_error(started.error());
    co_return ToolResult::success(
        {{"process_id", started->value("process_id", "")},
         {"message",
          "started in the background; read its output with process_output and end "
          "it with process_signal"}});
  }
  auto on_output = output_progress(ctx);
  if (on_output) params["stream"] = true;
  std::string method = "exec";  // named: no temporaries inside a co_await (GCC 12)
  auto r = co_await call_agent(o, *target, std::move(method), std::move(params),
                               std::chrono::seconds(timeout_s) + kCallSlack, std::move(on_output));
  if (!r && answer_lost(r.error())) co_return outcome_unknown(r.error(), kCheckCommand);
  if (!r) co_return ToolResult::from_error(r.error());
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
  } else if (out["exit_code"] == 128 + 9) {
    // SIGKILL from inside a sandbox is almost always the memory limit's OOM killer.
    out["message"] =
        "the command was killed (SIGKILL); in a sandbox that is most often the workspace's "
        "memory limit (its template's sandbox.limits.memory): use less memory, or use a "
        "template with a higher limit";
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
                       {"process_id", {{"type", "string"}}},
                       {"message", {{"type", "string"}}},
                       {"outcome", {{"type", "string"}, {"enum", {"unknown"}}}},
                       {"earlier_call", {{"type", "object"}}},
                       {"error", {{"type", "string"}}}}}};
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    co_return co_await execute(o, ctx, std::move(args));
  };
  return t;
}

namespace {

// process_output / process_signal: one request about a background command.
boost::asio::awaitable<ToolResult> process_call(const WorkspaceToolsOptions& o, ToolContext& ctx,
                                                std::string method, json args) {
  auto id = string_argument(args, "process_id");
  if (!id) co_return ToolResult::from_error(id.error());
  if (id->empty()) {
    co_return ToolResult::text_error(
        "process_id is required; execute with background: true returns one");
  }
  json params = {{"process_id", *id}};
  if (method == "process_signal") {
    auto signal = string_argument(args, "signal");
    if (!signal) co_return ToolResult::from_error(signal.error());
    params["signal"] = signal->empty() ? "TERM" : *signal;
  }
  auto target = chat_agent(o, ctx);
  if (!target) co_return ToolResult::from_error(target.error());
  auto r = co_await call_agent(o, *target, std::move(method), std::move(params), kCallSlack);
  if (!r) co_return ToolResult::from_error(r.error());
  co_return ToolResult::success(std::move(*r));
}

json process_id_schema() {
  return {{"type", "string"}, {"description", "From execute with background: true"}};
}

}  // namespace

Tool make_process_output_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "process_output";
  t.title = "Read a background command's output";
  t.description =
      "Read the output so far (the last 32 KiB) of a command started with execute and "
      "background: true, whether it still runs, and its exit code once it ended.";
  t.annotations = {.read_only = true, .idempotent = true};
  t.input_schema = {{"type", "object"},
                    {"properties", {{"process_id", process_id_schema()}}},
                    {"required", {"process_id"}},
                    {"additionalProperties", false}};
  t.output_schema = {{"type", "object"},
                     {"properties",
                      {{"process_id", {{"type", "string"}}},
                       {"command", {{"type", "string"}}},
                       {"running", {{"type", "boolean"}}},
                       {"exit_code", {{"type", "integer"}}},
                       {"output", {{"type", "string"}}},
                       {"truncated", {{"type", "boolean"}}},
                       {"duration_ms", {{"type", "integer"}}},
                       {"error", {{"type", "string"}}}}}};
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    std::string method = "process_output";
    co_return co_await process_call(o, ctx, std::move(method), std::move(args));
  };
  return t;
}

Tool make_process_signal_tool(WorkspaceToolsOptions o) {
  Tool t;
  t.name = "process_signal";
  t.title = "Signal a background command";
  t.description =
      "Send a signal (TERM by default; KILL, INT or HUP) to a command started with execute and "
      "background: true, and to everything it started.";
  t.annotations = {.read_only = false, .destructive = true, .idempotent = true};
  t.input_schema = {{"type", "object"},
                    {"properties",
                     {{"process_id", process_id_schema()},
                      {"signal", {{"type", "string"}, {"enum", {"TERM", "KILL", "INT", "HUP"}}}}}},
                    {"required", {"process_id"}},
                    {"additionalProperties", false}};
  t.output_schema = {{"type", "object"},
                     {"properties",
                      {{"process_id", {{"type", "string"}}},
                       {"signaled", {{"type", "boolean"}}},
                       {"signal", {{"type", "string"}}},
                       {"error", {{"type", "string"}}}}}};
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    std::string method = "process_signal";
    co_return co_await process_call(o, ctx, std::move(method), std::move(args));
  };
  return t;
}

}  // namespace berth::chattools
