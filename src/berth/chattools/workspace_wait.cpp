#include "berth/chattools/workspace_wait.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "berth/agentconn/agent_hub.hpp"
#include "berth/chattools/result_keys.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/duration.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kExternalOffline =
    "workspace uses an externally managed agent that is currently offline. The user needs to "
    "reconnect the external agent on its host, then try again";
constexpr const char* kExternalNeverConnected =
    "workspace uses an externally managed agent that has not connected yet. The user needs to "
    "start the workspace externally and make sure the external agent is connected, then try "
    "again";
constexpr const char* kNextStep =
    "The workspace is not ready yet and keeps going on its own. Call wait_for_workspace to keep "
    "waiting for it; do not create another workspace.";
}  // namespace msg

using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

std::string_view to_string(WaitPhase p) {
  switch (p) {
    case WaitPhase::queued:
      return "queued";
    case WaitPhase::building:
      return "building";
    case WaitPhase::connecting_agent:
      return "connecting_agent";
    case WaitPhase::running_startup_scripts:
      return "running_startup_scripts";
  }
  return "queued";
}

void mark_in_progress(json& result, WaitPhase phase) {
  static constexpr std::string_view kWhat[] = {
      "The build is queued for a provisioner.", "The build is running.",
      "The build finished; the agent is connecting.",
      "The agent is connected and running its startup scripts."};
  result[key::kStatus] = "in_progress";
  result[key::kPhase] = to_string(phase);
  result[key::kMessage] = kWhat[static_cast<int>(phase)];
  result[key::kNextStep] = msg::kNextStep;
}

CallWaiter::CallWaiter(const WorkspaceToolsOptions& options, const ToolContext& context)
    : o_(options),
      ctx_(context),
      budget_end_(clock::now() + context.call_budget.value_or(options.limits.call_budget)) {}

milliseconds CallWaiter::budget_left() const {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(budget_end_ - clock::now()));
}

void CallWaiter::enter(std::string_view phase, std::string_view detail) {
  // Phases only move forward: a late event never reports an earlier phase again.
  static constexpr std::string_view kOrder[] = {"queued", "building", "connecting_agent",
                                                "running_startup_scripts", "ready"};
  const auto rank = [](std::string_view p) {
    for (std::size_t i = 0; i < std::size(kOrder); ++i) {
      if (kOrder[i] == p) return static_cast<int>(i);
    }
    return static_cast<int>(std::size(kOrder));
  };
  if (phase == last_phase_ || (!last_phase_.empty() && rank(phase) < rank(last_phase_))) return;
  last_phase_ = phase;
  ctx_.report(detail.empty() ? std::string(phase) : fmt::format("{}: {}", phase, detail));
}

namespace {

// How long to sleep: until the next event, but no longer than the safety net, the window, the
// budget, or an optional extra deadline.
milliseconds nap(milliseconds fallback, UnixMillis now, UnixMillis window_end, milliseconds budget,
                 std::optional<milliseconds> extra = std::nullopt) {
  milliseconds d = std::min({fallback, milliseconds(std::max<std::int64_t>(1, window_end - now)),
                             std::max(milliseconds(1), budget)});
  if (extra) d = std::min(d, std::max(milliseconds(1), *extra));
  return d;
}

}  // namespace

boost::asio::awaitable<BuildWait> CallWaiter::build(const std::string& workspace_id,
                                                    const std::string& build_id) {
  auto sub = o_.bus->subscribe(o_.executor, events::topic::workspace(workspace_id));
  if (ctx_.control) sub->add_topic(ctx_.control->topic());
  BuildWait out;
  std::int64_t log_seq = -1;  // -1: not following logs yet
  auto last_log_sent = clock::now() - o_.limits.log_interval;
  std::optional<std::string> unsent_line;
  while (true) {
    auto b = o_.store->build_by_id(build_id);
    if (!b) {
      out.outcome = BuildWait::Outcome::failed;
      out.error = "get build: " + b.error().message;
      co_return out;
    }
    out.build = std::move(*b);
    const auto& job = out.build.job;
    switch (job.status()) {
      case JobStatus::succeeded:
        // A fast build can finish between two reads; its phase is still reported.
        enter("building", fmt::format("{} build finished", to_string(out.build.build.transition)));
        out.outcome = BuildWait::Outcome::succeeded;
        co_return out;
      case JobStatus::failed:
        out.outcome = BuildWait::Outcome::failed;
        out.error = job.error && !job.error->empty() ? *job.error : "build failed";
        out.error_code = job.error_code;
        co_return out;
      case JobStatus::canceled:
        out.outcome = BuildWait::Outcome::failed;
        out.error = "build was canceled";
        co_return out;
      case JobStatus::pending:
        out.phase = WaitPhase::queued;
        enter("queued", "waiting for a provisioner");
        break;
      case JobStatus::running:
      case JobStatus::canceling:
        out.phase = WaitPhase::building;
        enter("building", fmt::format("{} build running", to_string(out.build.build.transition)));
        break;
    }
    // Build log lines as progress, the newest one at most every log_interval.
    std::optional<milliseconds> log_wake;
    if (ctx_.progress) {
      if (log_seq < 0) {
        log_seq = 0;
        sub->add_topic(events::topic::job_logs(job.id));
      }
      auto lines = o_.store->job_logs(job.id, log_seq, 500);
      if (lines && !lines->empty()) {
        log_seq = lines->back().seq;
        unsent_line = lines->back().output;
      }
      if (unsent_line) {
        auto since = clock::now() - last_log_sent;
        if (since >= o_.limits.log_interval) {
          ctx_.report("build log: " + *unsent_line);
          unsent_line.reset();
          last_log_sent = clock::now();
        } else {
          log_wake = std::chrono::duration_cast<milliseconds>(o_.limits.log_interval - since);
        }
      }
    }
    UnixMillis now = now_ms();
    UnixMillis window_end = job.created_at + o_.limits.build.count();
    if (ctx_.cancelled() || budget_left().count() == 0) {
      out.outcome = BuildWait::Outcome::unfinished;
      co_return out;
    }
    if (now >= window_end) {
      out.outcome = BuildWait::Outcome::failed;
      out.error = fmt::format(
          "timed out waiting for workspace build: it did not finish within {} of being queued",
          format_duration(o_.limits.build));
      co_return out;
    }
    co_await sub->wait(nap(o_.limits.fallback, now, window_end, budget_left(), log_wake));
  }
}

boost::asio::awaitable<AgentWait> CallWaiter::agent(const store::WorkspaceAgent& agent, bool dial) {
  auto sub = o_.bus->subscribe(o_.executor, events::topic::agent(agent.id));
  if (ctx_.control) sub->add_topic(ctx_.control->topic());
  const auto inactive = o_.agents->inactive_timeout();
  AgentWait out;

  // Phase 1: the agent is reachable (holds a live connection to this server).
  if (dial && o_.agents->connected(agent.id)) {
    enter("connecting_agent", fmt::format("agent {} is connected", agent.name));
  }
  if (dial && !o_.agents->connected(agent.id)) {
    UnixMillis built = now_ms();
    if (auto b = o_.store->build_by_id(agent.build_id); b && b->job.completed_at) {
      built = *b->job.completed_at;
    }
    const UnixMillis window_end = built + o_.limits.agent_connect.count();
    while (!o_.agents->connected(agent.id)) {
      auto a = o_.store->agent_by_id(agent.id);
      const store::WorkspaceAgent& row = a ? *a : agent;
      enter("connecting_agent", fmt::format("waiting for agent {} to connect", agent.name));
      UnixMillis now = now_ms();
      const bool timed_out = row.status(now, inactive) == AgentStatus::timeout;
      if (!timed_out && (ctx_.cancelled() || budget_left().count() == 0)) {
        out.unfinished = WaitPhase::connecting_agent;
        co_return out;
      }
      if (timed_out || now >= window_end) {
        out.keys[key::kAgentStatus] = "not_ready";
        if (row.external) {
          out.keys[key::kAgentError] =
              row.first_connected_at ? msg::kExternalOffline : msg::kExternalNeverConnected;
        } else if (timed_out) {
          out.keys[key::kAgentError] =
              fmt::format("agent {} did not connect within its connection timeout of {}", row.name,
                          format_duration(std::chrono::seconds(row.connection_timeout_s)));
        } else if (row.first_connected_at) {
          out.keys[key::kAgentError] =
              fmt::format("agent {} is not connected; it was last connected {} ago", row.name,
                          format_duration(milliseconds(now - row.last_connected_at.value_or(now))));
        } else {
          out.keys[key::kAgentError] =
              fmt::format("agent {} has not connected within {} of its build finishing", row.name,
                          format_duration(o_.limits.agent_connect));
        }
        co_return out;
      }
      co_await sub->wait(nap(o_.limits.fallback, now, window_end, budget_left()));
    }
  }

  // Phase 2: its startup scripts.
  std::optional<UnixMillis> window_end;
  while (true) {
    auto a = o_.store->agent_by_id(agent.id);
    UnixMillis now = now_ms();
    if (a) {
      if (!window_end) {
        window_end = a->started_at.value_or(a->first_connected_at.value_or(now)) +
                     o_.limits.startup_scripts.count();
      }
      switch (a->lifecycle_state) {
        case AgentLifecycle::ready:
          out.ready = true;
          enter("running_startup_scripts",
                fmt::format("agent {} finished its startup scripts", agent.name));
          enter("ready", fmt::format("agent {} is ready", agent.name));
          co_return out;
        case AgentLifecycle::created:
        case AgentLifecycle::starting:
          enter("running_startup_scripts",
                fmt::format("agent {} is running its startup scripts", agent.name));
          break;
        default:
          out.keys[key::kStartupScripts] = "startup_scripts_failed";
          out.keys[key::kLifecycleState] = std::string(to_string(a->lifecycle_state));
          co_return out;
      }
    }  // a read error: keep waiting, as upstream
    if (ctx_.cancelled() || budget_left().count() == 0) {
      out.unfinished = WaitPhase::running_startup_scripts;
      co_return out;
    }
    UnixMillis end = window_end.value_or(now + o_.limits.startup_scripts.count());
    if (now >= end) {
      out.keys[key::kStartupScripts] = "startup_scripts_timeout";
      co_return out;
    }
    co_await sub->wait(nap(o_.limits.fallback, now, end, budget_left()));
  }
}

boost::asio::awaitable<std::optional<std::string>> CallWaiter::instructions(
    const std::string& agent_id, bool& truncated) {
  truncated = false;
  // Arguments built before the co_await: GCC 12 cannot copy string literals into a coroutine
  // frame ("array used as initializer").
  std::string method = "read_file";
  json params = {{"path", "AGENTS.md"}};
  auto r = co_await o_.agents->call(agent_id, method, std::move(params), std::chrono::seconds(5));
  if (!r || !r->contains("content") || !(*r)["content"].is_string()) co_return std::nullopt;
  std::string text = (*r)["content"];
  if (text.size() > kInstructionsLimit) {
    std::size_t cut = kInstructionsLimit;
    // Do not split a UTF-8 sequence: back up to the start of the code point.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    truncated = true;
  }
  co_return text;
}

}  // namespace berth::chattools
