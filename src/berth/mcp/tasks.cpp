#include "berth/mcp/tasks.hpp"

#include <map>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/mcp/mcp_server.hpp"

namespace berth::mcp {

namespace asio = boost::asio;

namespace msg {
constexpr const char* kStarted = "started";
constexpr const char* kCancelled =
    "cancelled by the client; a build it started goes on (call wait_for_workspace to follow it)";
constexpr const char* kTokenGone =
    "this task was taken over after its server stopped, but the token that started it can no "
    "longer act ({}); call {} again with a valid token";
constexpr const char* kReadOnly =
    "this token is read-only; cancel the task with the token that started it";
}  // namespace msg

namespace {

constexpr std::array<std::string_view, 3> kTaskTools = {"create_workspace", "start_workspace",
                                                        "wait_for_workspace"};
// Orphans are looked for on this many ticks (and on the first).
constexpr int kTakeOverEvery = 5;
constexpr int kExpireEvery = 60;
constexpr int kTakeOverBatch = 16;

std::string rpc_error(int code, std::string message) {
  return dump_json(json{{"code", code}, {"message", std::move(message)}});
}

// What a finished call says in the task's statusMessage.
std::string summary(const chattools::ToolResult& result) {
  const json& s = result.structured;
  for (const char* key : {"error", "message"}) {
    auto it = s.find(key);
    if (it != s.end() && it->is_string()) return it->get<std::string>();
  }
  return result.is_error ? "the call returned an error" : "completed";
}

}  // namespace

struct TaskRunner::State : std::enable_shared_from_this<State> {
  struct Running {
    std::shared_ptr<chattools::CallControl> control;
    std::optional<std::string> pending_message;
    UnixMillis renewed_at = 0;
  };

  State(TaskOptions o, const std::vector<chattools::Tool>& t) : options(std::move(o)), tools(t) {}

  const chattools::Tool* find_tool(std::string_view name) const {
    for (const auto& t : tools) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }

  void launch(const store::McpTask& task, const chattools::Tool& tool,
              chattools::ToolContext context);
  void finish(const std::string& id, std::string_view status, std::string_view message,
              std::string_view outcome);
  void tick();
  void renew(UnixMillis now);
  void take_over(UnixMillis now);

  TaskOptions options;
  const std::vector<chattools::Tool>& tools;
  std::map<std::string, Running> running;  // on the executor only
  std::unique_ptr<asio::steady_timer> timer;
  bool stopped = false;
  int ticks = 0;
};

namespace {

// Runs one task's call to its end and records the outcome. A free function (not a lambda
// coroutine): its parameters live in the frame.
asio::awaitable<void> run_call(std::shared_ptr<TaskRunner::State> state,
                               const chattools::Tool* tool, std::string id, json arguments,
                               chattools::ToolContext context) {
  const auto started = std::chrono::steady_clock::now();
  std::string status = "completed", message, outcome;
  const char* metric = "ok";
  try {
    chattools::ToolResult result = co_await tool->handler(context, std::move(arguments));
    outcome = dump_json(call_tool_result(result));
    message = summary(result);
    if (result.is_error) metric = "error";
  } catch (const std::exception& e) {
    spdlog::error("task tool failed task_id={} tool={} error={}", id, tool->name, e.what());
    status = "failed";
    message = fmt::format("tool {} failed", tool->name);
    outcome = rpc_error(rpc::kInternalError, message);
    metric = "failed";
  }
  if (context.cancelled()) {
    status = "cancelled";
    message = msg::kCancelled;
    outcome.clear();
    metric = "cancelled";
  }
  record_tool_call(tool->name, metric, std::chrono::steady_clock::now() - started);
  state->finish(id, status, message, outcome);
}

asio::awaitable<void> tick_loop(std::shared_ptr<TaskRunner::State> state) {
  while (!state->stopped) {
    state->tick();
    state->timer->expires_after(state->options.tick);
    boost::system::error_code ec;
    co_await state->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace

void TaskRunner::State::launch(const store::McpTask& task, const chattools::Tool& tool,
                               chattools::ToolContext context) {
  auto control = std::make_shared<chattools::CallControl>(options.bus);
  context.control = control;
  context.call_budget = options.call_budget;
  std::weak_ptr<State> weak = shared_from_this();
  context.progress = [weak, id = task.id](std::string message) {
    auto self = weak.lock();
    if (!self) return;
    auto it = self->running.find(id);
    if (it != self->running.end()) it->second.pending_message = std::move(message);
  };
  running[task.id] = Running{control, std::nullopt, now_ms()};
  json arguments = json::parse(task.arguments, nullptr, /*allow_exceptions=*/false);
  if (!arguments.is_object()) arguments = json::object();
  asio::co_spawn(
      options.executor,
      run_call(shared_from_this(), &tool, task.id, std::move(arguments), std::move(context)),
      asio::detached);
}

void TaskRunner::State::finish(const std::string& id, std::string_view status,
                               std::string_view message, std::string_view outcome) {
  running.erase(id);
  auto done =
      options.store->finish_mcp_task(id, options.runner, status, message, outcome, now_ms());
  if (!done) {
    spdlog::error("recording a task's outcome failed task_id={} error={}", id,
                  done.error().message);
  } else if (!*done) {
    spdlog::info("task outcome dropped: another replica runs it now task_id={}", id);
  } else {
    spdlog::info("task done task_id={} status={}", id, status);
  }
}

void TaskRunner::State::renew(UnixMillis now) {
  const auto lease = options.lease.count();
  std::vector<std::string> lost;
  for (auto& [id, r] : running) {
    if (!r.pending_message && now - r.renewed_at < lease / 3) continue;
    auto renewed = options.store->renew_mcp_task(id, options.runner, now + lease,
                                                 std::move(r.pending_message), now);
    r.pending_message.reset();
    if (!renewed) {
      if (renewed.error().code == ErrorCode::failed_precondition) {
        // Another replica took it over (this one looked dead): stop waiting here.
        spdlog::warn("task lost to another replica task_id={}", id);
        r.control->cancel();
        lost.push_back(id);
      } else {
        spdlog::error("renewing a task failed task_id={} error={}", id, renewed.error().message);
      }
      continue;
    }
    r.renewed_at = now;
    if (*renewed && !r.control->cancelled()) {
      spdlog::info("task cancelled by the client task_id={}", id);
      r.control->cancel();
    }
  }
  for (const auto& id : lost) running.erase(id);
}

void TaskRunner::State::take_over(UnixMillis now) {
  auto claimed = options.store->claim_orphan_mcp_tasks(options.runner, now,
                                                       now + options.lease.count(), kTakeOverBatch);
  if (!claimed) {
    spdlog::error("taking over tasks failed error={}", claimed.error().message);
    return;
  }
  for (const auto& task : *claimed) {
    spdlog::info("task taken over task_id={} tool={}", task.id, task.tool);
    if (task.cancel_requested) {
      finish(task.id, "cancelled", msg::kCancelled, "");
      continue;
    }
    const chattools::Tool* tool = find_tool(task.tool);
    if (!tool) {
      const std::string message = fmt::format("tool {} is no longer served", task.tool);
      finish(task.id, "failed", message, rpc_error(rpc::kInternalError, message));
      continue;
    }
    auto actor =
        options.actor_for_token
            ? options.actor_for_token(task.token_id)
            : Result<workspaces::Actor>(Error::unauthenticated("no token", "start the task again"));
    if (!actor) {
      auto result = chattools::ToolResult::text_error(
          fmt::format(fmt::runtime(msg::kTokenGone), actor.error().message, task.tool));
      finish(task.id, "completed", summary(result), dump_json(call_tool_result(result)));
      continue;
    }
    launch(task, *tool,
           chattools::ToolContext{.actor = std::move(*actor),
                                  .organization_id = task.organization_id,
                                  .chat_id = task.chat_id});
  }
}

void TaskRunner::State::tick() {
  const UnixMillis now = now_ms();
  renew(now);
  if (ticks % kTakeOverEvery == 0) take_over(now);
  if (ticks % kExpireEvery == 0) {
    auto expired = options.store->expire_mcp_tasks(now);
    if (!expired) {
      spdlog::error("removing expired tasks failed error={}", expired.error().message);
    } else if (*expired > 0) {
      spdlog::info("expired tasks removed count={}", *expired);
    }
  }
  ++ticks;
}

TaskRunner::TaskRunner(TaskOptions options, const std::vector<chattools::Tool>& tools)
    : state_(std::make_shared<State>(std::move(options), tools)) {}

TaskRunner::~TaskRunner() { stop(); }

bool TaskRunner::runs_as_task(std::string_view tool) {
  for (auto t : kTaskTools) {
    if (t == tool) return true;
  }
  return false;
}

Result<json> TaskRunner::start(const chattools::Tool& tool, json arguments,
                               chattools::ToolContext context) {
  const auto& o = state_->options;
  const UnixMillis now = now_ms();
  store::McpTask task{.id = random_hex(16),
                      .user_id = context.actor.user.id,
                      .token_id = context.actor.token_id,
                      .chat_id = context.chat_id,
                      .organization_id = context.organization_id,
                      .tool = tool.name,
                      .arguments = dump_json(arguments),
                      .status = "working",
                      .status_message = msg::kStarted,
                      .runner = o.runner,
                      .runner_until = now + o.lease.count(),
                      .created_at = now,
                      .updated_at = now,
                      .expires_at = now + o.ttl.count()};
  // Committed before the client hears of it: a tasks/get anywhere finds it.
  if (auto s = o.store->create_mcp_task(task); !s) return s.error();
  spdlog::info("task started task_id={} tool={} chat_id={}", task.id, tool.name, task.chat_id);
  state_->launch(task, tool, std::move(context));
  json result = task_json(task, o.poll_interval);
  result["resultType"] = "task";
  return result;
}

Result<json> TaskRunner::get(std::string_view id, const workspaces::Actor& caller) {
  auto task = state_->options.store->mcp_task(id);
  if (!task) return task.error();
  if (task->user_id != caller.user.id || !caller.in_scope(task->organization_id)) {
    return Error::not_found("task not found");
  }
  return task_json(*task, state_->options.poll_interval);
}

Status TaskRunner::cancel(std::string_view id, const workspaces::Actor& caller) {
  auto task = get(id, caller);
  if (!task) return task.error();
  if (caller.scope.read_only) return Error::permission_denied(msg::kReadOnly);
  auto asked = state_->options.store->request_mcp_task_cancel(id, now_ms());
  if (!asked) return asked.error();
  // Running here: cancel now. Elsewhere its runner sees the request when it renews.
  auto it = state_->running.find(std::string(id));
  if (it != state_->running.end()) it->second.control->cancel();
  return {};
}

void TaskRunner::start_background() {
  if (state_->timer) return;
  state_->timer = std::make_unique<asio::steady_timer>(state_->options.executor);
  asio::co_spawn(state_->options.executor, tick_loop(state_), asio::detached);
}

void TaskRunner::stop() {
  state_->stopped = true;
  if (state_->timer) state_->timer->cancel();
}

json task_json(const store::McpTask& task, std::chrono::milliseconds poll_interval) {
  json out = {{"taskId", task.id},
              {"status", task.status},
              {"createdAt", format_rfc3339(task.created_at)},
              {"lastUpdatedAt", format_rfc3339(task.updated_at)},
              {"ttlMs", task.expires_at - task.created_at},
              {"pollIntervalMs", poll_interval.count()}};
  if (!task.status_message.empty()) out["statusMessage"] = task.status_message;
  if (task.status == "completed" || task.status == "failed") {
    json outcome = json::parse(task.outcome, nullptr, /*allow_exceptions=*/false);
    if (outcome.is_discarded() || !outcome.is_object()) outcome = json::object();
    out[task.status == "completed" ? "result" : "error"] = std::move(outcome);
  }
  return out;
}

}  // namespace berth::mcp
