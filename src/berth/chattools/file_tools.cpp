// read_file, write_file and edit_file: the chat's workspace files, through its agent. One
// file for the three because they share their shape: check the arguments, find the agent,
// make one request.
#include <fmt/format.h>

#include "berth/chattools/arguments.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/chattools/workspace_agent.hpp"

namespace berth::chattools {

namespace {

constexpr auto kFileCallTimeout = std::chrono::seconds(30);
constexpr const char* kRequired = "{} is required (a string); pass {} as a string";
constexpr const char* kEmpty = "{0} must not be empty; pass a non-empty {0}";
constexpr const char* kBadCount = "{} must be a whole number >= 0; pass one, or leave it out";
constexpr const char* kBadReplaceAll =
    "replace_all must be true or false; pass one, or leave it out";
// What to check before changing a file again when the answer of a change was lost.
constexpr const char* kCheckFile =
    "the file may have been changed. Read it with read_file before changing it again";

json str(const char* description) { return {{"type", "string"}, {"description", description}}; }

// The arguments named `required` must be strings and present (content and new_text may be
// empty; the others may not).
Result<json> string_params(const json& args, std::initializer_list<const char*> required,
                           std::initializer_list<const char*> may_be_empty = {}) {
  json params = json::object();
  for (const char* name : required) {
    auto it = args.find(name);
    if (it == args.end() || !it->is_string()) {
      return Error::invalid_argument(fmt::format(fmt::runtime(kRequired), name, name));
    }
    bool empty_ok = false;
    for (const char* e : may_be_empty) empty_ok |= std::string_view(e) == name;
    if (!empty_ok && it->get<std::string>().empty()) {
      return Error::invalid_argument(fmt::format(fmt::runtime(kEmpty), name));
    }
    params[name] = *it;
  }
  return params;
}

// Checks the arguments, finds the chat's agent and makes the request.
boost::asio::awaitable<ToolResult> agent_file_call(const WorkspaceToolsOptions& o, ToolContext& ctx,
                                                   std::string method, Result<json> params) {
  if (!params) co_return ToolResult::from_error(params.error());
  auto target = chat_agent(o, ctx);
  if (!target) co_return ToolResult::from_error(target.error());
  const bool changes = method != "read_file";
  auto r = co_await call_agent(o, *target, std::move(method), std::move(*params), kFileCallTimeout);
  if (!r && changes && answer_lost(r.error())) co_return outcome_unknown(r.error(), kCheckFile);
  if (!r) co_return ToolResult::from_error(r.error());
  co_return ToolResult::success(std::move(*r));
}

Tool file_tool(std::string name, std::string title, std::string description, json properties,
               json required, json output, ToolAnnotations annotations) {
  Tool t;
  t.name = std::move(name);
  t.title = std::move(title);
  t.description = std::move(description);
  t.annotations = annotations;
  t.input_schema = {{"type", "object"},
                    {"properties", std::move(properties)},
                    {"required", std::move(required)},
                    {"additionalProperties", false}};
  output["error"] = {{"type", "string"}};
  if (!annotations.read_only) {
    output["outcome"] = {{"type", "string"}, {"enum", {"unknown"}}};
    output["earlier_call"] = {{"type", "object"}};
  }
  t.output_schema = {{"type", "object"}, {"properties", std::move(output)}};
  return t;
}

}  // namespace

Tool make_read_file_tool(WorkspaceToolsOptions o) {
  json int_arg = {{"type", "integer"}, {"minimum", 0}};
  Tool t = file_tool(
      "read_file", "Read a file in the workspace",
      "Read a text file in this chat's workspace. Relative paths start at the agent's working "
      "directory. offset (first line, from 0) and limit (number of lines) read part of a long "
      "file; total_lines says how long it is. Binary files and files over 4 MiB are refused.",
      {{"path", str("File path")}, {"offset", int_arg}, {"limit", int_arg}}, {"path"},
      {{"content", {{"type", "string"}}}, {"total_lines", {{"type", "integer"}}}},
      {.read_only = true, .idempotent = true});
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    auto params = string_params(args, {"path"});
    for (const char* key : {"offset", "limit"}) {
      if (!params || !args.contains(key) || args[key].is_null()) continue;
      if (!args[key].is_number_integer() || args[key].get<std::int64_t>() < 0) {
        params = Error::invalid_argument(fmt::format(fmt::runtime(kBadCount), key));
      } else {
        (*params)[key] = args[key];
      }
    }
    std::string method = "read_file";
    co_return co_await agent_file_call(o, ctx, std::move(method), std::move(params));
  };
  return t;
}

Tool make_write_file_tool(WorkspaceToolsOptions o) {
  Tool t = file_tool(
      "write_file", "Write a file in the workspace",
      "Write a file in this chat's workspace, replacing it if it exists and creating missing "
      "parent directories. To change part of a file, use edit_file.",
      {{"path", str("File path")}, {"content", str("The whole new content")}}, {"path", "content"},
      {{"bytes_written", {{"type", "integer"}}}}, {.destructive = true, .idempotent = true});
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    // Built before the co_await: GCC 12 cannot put literals of a co_await expression in the
    // coroutine frame ("array used as initializer").
    auto params = string_params(args, {"path", "content"}, {"content"});
    std::string method = "write_file";
    co_return co_await agent_file_call(o, ctx, std::move(method), std::move(params));
  };
  return t;
}

Tool make_edit_file_tool(WorkspaceToolsOptions o) {
  Tool t = file_tool(
      "edit_file", "Edit a file in the workspace",
      "Replace old_text with new_text in a file of this chat's workspace. old_text must match "
      "exactly once (copy it from read_file, whitespace included), or set replace_all to "
      "replace every occurrence.",
      {{"path", str("File path")},
       {"old_text", str("The exact text to replace")},
       {"new_text", str("What to put instead")},
       {"replace_all", {{"type", "boolean"}}}},
      {"path", "old_text", "new_text"},
      {{"replacements", {{"type", "integer"}}}, {"bytes_written", {{"type", "integer"}}}},
      {.destructive = true});
  t.handler = [o = std::move(o)](ToolContext& ctx,
                                 json args) -> boost::asio::awaitable<ToolResult> {
    auto params = string_params(args, {"path", "old_text", "new_text"}, {"new_text"});
    if (params && args.contains("replace_all") && !args["replace_all"].is_null()) {
      if (!args["replace_all"].is_boolean()) {
        params = Error::invalid_argument(kBadReplaceAll);
      } else {
        (*params)["replace_all"] = args["replace_all"];
      }
    }
    std::string method = "edit_file";
    co_return co_await agent_file_call(o, ctx, std::move(method), std::move(params));
  };
  return t;
}

}  // namespace berth::chattools
