#pragma once
// The waits of the workspace tools (spec sections 3.1.4 and 3.1.5, reference choices 3 and 9):
// for a build to finish, for an agent to connect, and for its startup scripts. Each wakes on
// workspace events (a slow re-read is only a safety net), reports each phase change as
// progress, and stops early when the call's budget runs out or the client cancels; the
// workspace keeps building, and wait_for_workspace picks the wait up again.
//
// Phase windows are measured from the rows, not from the call, so a wait that spans several
// calls is one wait: the build from when it was queued, the agent's connection from when its
// build finished, its startup scripts from when it connected.

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "berth/chattools/failure_results.hpp"
#include "berth/chattools/tool.hpp"
#include "berth/store/store.hpp"
#include "berth/workspaces/port_exposure.hpp"

namespace berth::agentconn {
class AgentHub;
}
namespace berth::workspaces {
class WorkspaceService;
}

namespace berth::chattools {

struct WaitLimits {
  std::chrono::milliseconds build{std::chrono::minutes(10)};
  std::chrono::milliseconds agent_connect{std::chrono::minutes(2)};
  std::chrono::milliseconds startup_scripts{std::chrono::minutes(10)};
  // How long one tool call may block before it answers "in_progress" (reference choice 9).
  std::chrono::milliseconds call_budget{std::chrono::seconds(50)};
  // Safety net: re-read the rows this often even without an event.
  std::chrono::milliseconds fallback{std::chrono::seconds(5)};
  // Build log lines go out as progress at most this often.
  std::chrono::milliseconds log_interval{std::chrono::milliseconds(250)};
};

// What the workspace tools need. All pointers are owned by the server and outlive the tools.
struct WorkspaceToolsOptions {
  store::Store* store = nullptr;
  workspaces::WorkspaceService* workspaces = nullptr;
  events::EventBus* bus = nullptr;
  agentconn::AgentHub* agents = nullptr;      // used on `executor` only
  workspaces::PortExposure* ports = nullptr;  // expose_port
  boost::asio::any_io_executor executor;
  WaitLimits limits;
};

// Where a wait stopped before the workspace was ready.
enum class WaitPhase { queued, building, connecting_agent, running_startup_scripts };
std::string_view to_string(WaitPhase p);

struct BuildWait {
  enum class Outcome { succeeded, failed, unfinished };
  Outcome outcome = Outcome::unfinished;
  store::BuildWithJob build;  // as last read
  std::string error;          // failed: "build failed: ...", "build was canceled", ...
  std::optional<std::string> error_code;
  WaitPhase phase = WaitPhase::queued;  // unfinished: where it stands
};

struct AgentWait {
  // agent_status/agent_error, or startup_scripts/lifecycle_state; empty when ready.
  json keys = json::object();
  bool ready = false;
  std::optional<WaitPhase> unfinished;  // set when the budget ran out or the call was cancelled
};

// The waits of one tool call. The call budget starts when this is constructed.
class CallWaiter {
 public:
  CallWaiter(const WorkspaceToolsOptions& options, const ToolContext& context);

  // Waits for the build to finish (success, failure, cancel), its window to pass, or the call
  // to run out of budget.
  boost::asio::awaitable<BuildWait> build(const std::string& workspace_id,
                                          const std::string& build_id);
  // Waits for the agent to be reachable (skipped when !dial) and then for its startup scripts.
  boost::asio::awaitable<AgentWait> agent(const store::WorkspaceAgent& agent, bool dial);
  // The first 8 KiB of AGENTS.md in the agent's working directory, if there is one.
  boost::asio::awaitable<std::optional<std::string>> instructions(const std::string& agent_id,
                                                                  bool& truncated);

  // Reports a phase change (once per phase) as progress.
  void enter(std::string_view phase, std::string_view detail);

 private:
  std::chrono::milliseconds budget_left() const;

  const WorkspaceToolsOptions& o_;
  const ToolContext& ctx_;
  std::chrono::steady_clock::time_point budget_end_;
  std::string last_phase_;
};

// Adds status "in_progress", the phase, a message and next_step to a result whose wait ended
// early (reference choice 9).
void mark_in_progress(json& result, WaitPhase phase);

// AGENTS.md is cut to this many bytes (at a UTF-8 boundary).
inline constexpr std::size_t kInstructionsLimit = std::size_t{8} * 1024;

}  // namespace berth::chattools
