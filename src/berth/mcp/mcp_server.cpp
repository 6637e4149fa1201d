#include "berth/mcp/mcp_server.hpp"

#include <array>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "berth/core/clock.hpp"
#include "berth/core/metrics.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/mcp/retries.hpp"
#include "berth/mcp/tasks.hpp"

namespace berth::mcp {

namespace {

constexpr std::array<std::string_view, 3> kSupportedVersions = {"2025-11-25", "2025-06-18",
                                                                "2025-03-26"};
constexpr std::string_view kServerName = "berth";
constexpr std::string_view kServerVersion = "0.1.0";
constexpr std::string_view kInstructions =
    "Berth gives this chat a development workspace. Use list_templates and read_template to "
    "choose a template, create_workspace to get a workspace, then work in it.";

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

json server_info() {
  return {{"name", kServerName}, {"title", "Berth"}, {"version", kServerVersion}};
}

// A 2026-07-28 tools/list may be cached this long by the client. The list depends only on the
// token (a read-only token sees fewer tools), hence private.
constexpr int kToolsTtlMs = 300'000;

json success(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

// True when the request's client capabilities (params._meta) include the Tasks extension.
bool declares_tasks(const json& params) {
  auto m = params.find("_meta");
  if (m == params.end() || !m->is_object()) return false;
  auto caps = m->find(meta::kClientCapabilities);
  if (caps == m->end() || !caps->is_object()) return false;
  auto ext = caps->find("extensions");
  return ext != caps->end() && ext->is_object() && ext->contains(kTasksExtension);
}

}  // namespace

McpServer::McpServer(std::vector<chattools::Tool> tools, events::EventBus* bus)
    : tools_(std::move(tools)), bus_(bus) {}

bool McpServer::wants_progress(const json& message) {
  if (!message.is_object() || message.value("method", json()) != "tools/call") return false;
  auto params = message.value("params", json::object());
  if (!params.is_object()) return false;
  auto meta = params.value("_meta", json::object());
  return meta.is_object() && meta.contains("progressToken") &&
         (meta["progressToken"].is_string() || meta["progressToken"].is_number_integer());
}

void McpServer::cancel(const json& params, Session& session) {
  if (!params.contains("requestId")) return;
  auto it = session.in_flight.find(params["requestId"].dump());
  if (it == session.in_flight.end()) return;  // finished already, or never ours: ignore
  spdlog::info("tool call cancelled by the client request_id={} reason={}",
               params["requestId"].dump(), params.value("reason", json("")).dump());
  it->second->cancel();
}

json McpServer::error_response(const json& id, int code, std::string message, json data) {
  json error = {{"code", code}, {"message", std::move(message)}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json McpServer::parse_error(std::string_view detail) {
  return error_response(nullptr, rpc::kParseError, fmt::format("Parse error: {}", detail));
}

// Tool calls by tool and outcome (ok; error: a tool result with isError, which the model reads;
// failed: the tool threw; cancelled: notifications/cancelled; replayed: a re-sent call answered
// with the answer its first sending never got), and their latency.
void record_tool_call(const std::string& tool, const char* outcome,
                      std::chrono::steady_clock::duration took) {
  static auto& calls = metrics::registry().counter(
      "berth_tool_calls_total",
      "MCP tool calls by tool and outcome (ok, error, failed, cancelled, replayed).",
      {"tool", "outcome"});
  static auto& latency = metrics::registry().histogram("berth_tool_call_duration_seconds",
                                                       "How long MCP tool calls took, by tool.",
                                                       {"tool"}, metrics::latency_buckets());
  calls.labels({tool, outcome}).inc();
  latency.labels({tool}).observe(std::chrono::duration<double>(took).count());
}

json call_tool_result(const chattools::ToolResult& result) {
  json out = {
      {"content", json::array({{{"type", "text"}, {"text", dump_json(result.structured)}}})},
      {"structuredContent", result.structured}};
  if (result.is_error) out["isError"] = true;
  return out;
}

json McpServer::initialize(const json& params, Session& session) {
  // Read only as a string: nlohmann's value() throws when the type differs.
  const json version = params.value("protocolVersion", json());
  const std::string requested = version.is_string() ? version.get<std::string>() : "";
  std::string chosen(kLatestProtocolVersion);
  for (auto v : kSupportedVersions) {
    if (v == requested) chosen = requested;
  }
  session.protocol_version = chosen;
  session.client_info = params.value("clientInfo", json::object());
  return {{"protocolVersion", chosen},
          {"capabilities", {{"tools", {{"listChanged", false}}}}},
          {"serverInfo", server_info()},
          {"instructions", kInstructions}};
}

json McpServer::discover() const {
  json capabilities = {{"tools", {{"listChanged", false}}}};
  if (tasks_) capabilities["extensions"][kTasksExtension] = json::object();
  return {{"supportedVersions", supported_versions()},
          {"capabilities", std::move(capabilities)},
          {"instructions", kInstructions},
          {"ttlMs", kToolsTtlMs},
          {"cacheScope", "public"}};
}

std::vector<std::string> McpServer::supported_versions() {
  std::vector<std::string> out = {std::string(kModernProtocolVersion)};
  for (auto v : kSupportedVersions) out.emplace_back(v);
  return out;
}

std::optional<std::string> McpServer::envelope_version(const json& message) {
  if (!message.is_object()) return std::nullopt;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return std::nullopt;
  auto m = params->find("_meta");
  if (m == params->end() || !m->is_object()) return std::nullopt;
  auto v = m->find(meta::kProtocolVersion);
  if (v == m->end()) return std::nullopt;
  return v->is_string() ? v->get<std::string>() : v->dump();
}

bool McpServer::is_unknown_method(const json& response) {
  return response.is_object() && response.contains("error") &&
         response["error"].value("code", 0) == rpc::kMethodNotFound;
}

json McpServer::list_tools(bool only_read_only) const {
  json list = json::array();
  for (const auto& t : tools_) {
    if (only_read_only && !t.annotations.read_only) continue;
    list.push_back({{"name", t.name},
                    {"title", t.title},
                    {"description", t.description},
                    {"inputSchema", t.input_schema},
                    {"outputSchema", t.output_schema},
                    {"annotations",
                     {{"title", t.title},
                      {"readOnlyHint", t.annotations.read_only},
                      {"destructiveHint", t.annotations.destructive},
                      {"idempotentHint", t.annotations.idempotent},
                      {"openWorldHint", t.annotations.open_world}}}});
  }
  return {{"tools", list}};
}

boost::asio::awaitable<json> McpServer::call_tool(const json& id, const json& params,
                                                  Session& session, chattools::ToolContext context,
                                                  NotificationSink sink, bool as_task) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    co_return error_response(id, rpc::kInvalidParams, "tools/call needs params.name (a string)");
  }
  std::string name = params["name"];
  const chattools::Tool* tool = nullptr;
  for (const auto& t : tools_) {
    if (t.name == name) tool = &t;
  }
  if (!tool)
    co_return error_response(id, rpc::kInvalidParams, fmt::format("Unknown tool: {}", name));
  if (context.actor.scope.read_only && !tool->annotations.read_only) {
    co_return success(
        id, call_tool_result(chattools::ToolResult::text_error(fmt::format(
                "this token is read-only, and {} changes things. Ask the user for a token "
                "created without --read-only.",
                name))));
  }
  json arguments = params.value("arguments", json::object());
  if (arguments.is_null()) arguments = json::object();
  if (!arguments.is_object()) {
    co_return error_response(id, rpc::kInvalidParams, "params.arguments must be an object");
  }
  if (as_task && tasks_ && TaskRunner::runs_as_task(name)) {
    auto task = tasks_->start(*tool, std::move(arguments), std::move(context));
    if (!task) {
      spdlog::error("task not created tool={} error={}", name, task.error().message);
      co_return error_response(id, rpc::kInternalError,
                               fmt::format("could not create a task for {}; call it again", name));
    }
    co_return success(id, std::move(*task));
  }
  auto control = std::make_shared<chattools::CallControl>(bus_);
  context.control = control;
  const std::string key = id.dump();
  if (session.in_flight.contains(key)) {
    co_return error_response(id, rpc::kInvalidRequest,
                             fmt::format("request id {} is already in use by a running call", key));
  }
  // A call that is not safe to repeat, re-sent after its answer was cut off, gets that answer.
  const bool guarded = retries_ && !context.chat_id.empty() && CallRetries::guarded(*tool);
  std::string call_key;
  auto cut_record = std::make_shared<std::string>();
  if (guarded) {
    call_key = CallRetries::call_key(name, arguments);
    if (auto earlier = retries_->earlier(context.chat_id, name, call_key)) {
      record_tool_call(name, "replayed", std::chrono::steady_clock::duration::zero());
      co_return success(id, call_tool_result(*earlier));
    }
    control->on_cancel(
        [retries = retries_, chat = context.chat_id, name, call_key, cut_record,
         started = now_ms()] { *cut_record = retries->cut(chat, name, call_key, started); });
  }
  json meta = params.value("_meta", json::object());
  if (sink && meta.is_object() && meta.contains("progressToken")) {
    // One notification per report; `progress` only ever increases, as the spec requires.
    auto counter = std::make_shared<int>(0);
    context.progress = [sink, token = meta["progressToken"], counter](std::string message) {
      sink(
          {{"jsonrpc", "2.0"},
           {"method", "notifications/progress"},
           {"params", {{"progressToken", token}, {"progress", ++*counter}, {"message", message}}}});
    };
  }
  session.in_flight.emplace(key, control);
  json response;
  const auto started = std::chrono::steady_clock::now();
  try {
    auto result = co_await tool->handler(context, std::move(arguments));
    if (!cut_record->empty()) retries_->finished(*cut_record, result);
    response = success(id, call_tool_result(result));
    spdlog::info(
        "tool call done tool={} chat_id={} is_error={} ms={:.3f}", name, context.chat_id,
        result.is_error,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
  } catch (const std::exception& e) {
    spdlog::error("tool failed tool={} chat_id={} error={}", name, context.chat_id, e.what());
    response = error_response(id, rpc::kInternalError, fmt::format("tool {} failed", name));
  }
  session.in_flight.erase(key);
  const char* outcome = control->cancelled()                     ? "cancelled"
                        : response.contains("error")             ? "failed"
                        : response["result"].contains("isError") ? "error"
                                                                 : "ok";
  record_tool_call(name, outcome, std::chrono::steady_clock::now() - started);
  if (control->cancelled())
    co_return error_response(id, rpc::kRequestCancelled, "Request cancelled");
  co_return response;
}

json McpServer::task_method(const json& id, const std::string& method, const json& params,
                            const chattools::ToolContext& context) {
  if (!declares_tasks(params)) {
    return error_response(
        id, rpc::kMissingRequiredClientCapability,
        fmt::format("Missing required client capability: {} needs the {} extension; declare it "
                    "in params._meta[\"{}\"].extensions",
                    method, kTasksExtension, meta::kClientCapabilities),
        {{"requiredCapabilities", {{"extensions", {{kTasksExtension, json::object()}}}}}});
  }
  auto task_id = params.find("taskId");
  if (task_id == params.end() || !task_id->is_string()) {
    return error_response(id, rpc::kInvalidParams,
                          fmt::format("Invalid params: {} needs params.taskId (a string), the "
                                      "taskId of the tools/call's CreateTaskResult",
                                      method));
  }
  const std::string task = task_id->get<std::string>();
  const auto not_found = [&] {
    return error_response(id, rpc::kInvalidParams,
                          "Failed to retrieve task: Task not found (it expired, or it was never "
                          "yours); call the tool again to start a new one");
  };
  if (method == "tasks/cancel") {
    auto s = tasks_->cancel(task, context.actor);
    if (!s && s.error().code == ErrorCode::not_found) return not_found();
    if (!s && s.error().code == ErrorCode::permission_denied) {
      return error_response(id, rpc::kInvalidRequest, s.error().message);
    }
    if (!s) return error_response(id, rpc::kInternalError, "could not cancel the task; try again");
    return success(id, json::object());
  }
  auto got = tasks_->get(task, context.actor);
  if (!got && got.error().code == ErrorCode::not_found) return not_found();
  if (!got) return error_response(id, rpc::kInternalError, "could not read the task; try again");
  // Berth's tasks never ask for input: a tasks/update has nothing outstanding to answer, and
  // the extension says to ignore responses to keys that are not outstanding.
  if (method == "tasks/update") return success(id, json::object());
  return success(id, std::move(*got));
}

std::optional<json> McpServer::malformed(const json& message, bool& ignore) {
  ignore = false;
  if (!message.is_object() || message.value("jsonrpc", json()) != "2.0") {
    return error_response(
        message.is_object() && valid_id(message.value("id", json())) ? message["id"] : json(),
        rpc::kInvalidRequest, "Invalid Request: expected a JSON-RPC 2.0 object");
  }
  const bool is_request = message.contains("id");
  // A response from the client (to a request we never sent): nothing to answer.
  if (!message.contains("method") && (message.contains("result") || message.contains("error"))) {
    ignore = true;
    return std::nullopt;
  }
  if (!message.contains("method") || !message["method"].is_string()) {
    return error_response(is_request && valid_id(message["id"]) ? message["id"] : json(),
                          rpc::kInvalidRequest, "Invalid Request: method must be a string");
  }
  if (is_request && !valid_id(message["id"])) {
    return error_response(json(), rpc::kInvalidRequest,
                          "Invalid Request: id must be a string or an integer");
  }
  if (!message.value("params", json::object()).is_object()) {
    if (!is_request) {
      ignore = true;
      return std::nullopt;
    }
    return error_response(message["id"], rpc::kInvalidParams, "params must be an object");
  }
  return std::nullopt;
}

boost::asio::awaitable<std::optional<json>> McpServer::handle(json message, Session& session,
                                                              chattools::ToolContext context,
                                                              NotificationSink sink) {
  bool ignore = false;
  if (auto error = malformed(message, ignore)) co_return error;
  if (ignore) co_return std::nullopt;
  const bool is_request = message.contains("id");
  const std::string method = message["method"];
  json params = message.value("params", json::object());

  if (!is_request) {
    if (method == "notifications/initialized") session.initialized = true;
    if (method == "notifications/cancelled") cancel(params, session);
    co_return std::nullopt;  // other notifications need no answer
  }
  const json& id = message["id"];
  if (method == "initialize") co_return success(id, initialize(params, session));
  if (method == "ping") co_return success(id, json::object());
  if (method == "tools/list") {
    co_return success(id, list_tools(context.actor.scope.read_only));
  }
  if (method == "tools/call") {
    co_return co_await call_tool(id, params, session, std::move(context), std::move(sink));
  }
  co_return error_response(id, rpc::kMethodNotFound, fmt::format("Method not found: {}", method));
}

boost::asio::awaitable<std::optional<json>> McpServer::handle_modern(json message, Session& calls,
                                                                     chattools::ToolContext context,
                                                                     NotificationSink sink) {
  bool ignore = false;
  if (auto error = malformed(message, ignore)) co_return error;
  if (ignore) co_return std::nullopt;
  const std::string method = message["method"];
  json params = message.value("params", json::object());
  if (!message.contains("id")) {
    if (method == "notifications/cancelled") cancel(params, calls);
    co_return std::nullopt;
  }
  const json& id = message["id"];
  const auto version = envelope_version(message);
  if (!version) {
    co_return error_response(
        id, rpc::kInvalidParams,
        fmt::format(
            "Invalid params: a {} request names its protocol version in params._meta[\"{}\"]",
            kModernProtocolVersion, meta::kProtocolVersion));
  }
  if (*version != kModernProtocolVersion) {
    co_return error_response(id, rpc::kUnsupportedProtocolVersion,
                             fmt::format("Unsupported protocol version: {}", *version),
                             {{"supported", supported_versions()}, {"requested", *version}});
  }
  calls.protocol_version = *version;
  calls.client_info =
      params.value("_meta", json::object()).value(meta::kClientInfo, json::object());
  json response;
  if (method == "server/discover") {
    response = success(id, discover());
  } else if (method == "tools/list") {
    response = success(id, list_tools(context.actor.scope.read_only));
    response["result"]["ttlMs"] = kToolsTtlMs;
    response["result"]["cacheScope"] = "private";
  } else if (method == "tools/call") {
    const bool as_task = declares_tasks(params);
    response = co_await call_tool(id, params, calls, std::move(context), std::move(sink), as_task);
  } else if (tasks_ &&
             (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel")) {
    response = task_method(id, method, params, context);
  } else {
    co_return error_response(
        id, rpc::kMethodNotFound,
        fmt::format("Method not found: {} (protocol version {})", method, kModernProtocolVersion));
  }
  if (response.contains("result")) {
    json& result = response["result"];
    if (!result.contains("resultType")) result["resultType"] = "complete";
    result["_meta"][meta::kServerInfo] = server_info();
  }
  co_return response;
}

}  // namespace berth::mcp
