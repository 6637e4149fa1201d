#pragma once
// Is the workspace ready? assess() decides from the rows alone (pure, unit-tested);
// wait_until_settled() re-assesses on every workspace event, never on a polling thread.

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "berth/events/bus.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::workspaces {

enum class Phase {
  queued,        // the build waits for a provisioner
  building,      // the provisioner runs the transition
  connecting,    // build done; waiting for agents to connect
  starting,      // agents connected; startup scripts running
  ready,         // every agent connected and ready
  build_failed,  // the build failed or was canceled
  agent_failed,  // an agent's startup script failed or timed out, or it never connected
  stopped,       // a stop build finished
  deleted,       // a delete build finished
};
std::string_view to_string(Phase p);

struct Readiness {
  Phase phase = Phase::queued;
  bool settled = false;  // nothing more will happen without a new build
  std::string message;   // one sentence for people, e.g. "agent main: startup script failed"
  std::optional<UnixMillis> next_deadline;  // when an agent's connection timeout expires
};

Readiness assess(const WorkspaceView& view, UnixMillis now,
                 std::chrono::milliseconds inactive_timeout);

struct WaitOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Safety net: re-read this often even without events.
  std::chrono::milliseconds fallback{std::chrono::seconds(2)};
  std::chrono::milliseconds inactive_timeout{std::chrono::seconds(30)};
};

struct WaitOutcome {
  WorkspaceView view;
  Readiness readiness;
  bool timed_out = false;
};

// Waits until the workspace settles (ready, failed, stopped, deleted) or the timeout passes.
boost::asio::awaitable<Result<WaitOutcome>> wait_until_settled(
    boost::asio::any_io_executor executor, WorkspaceService& service, events::EventBus& bus,
    Actor actor, std::string workspace_id, WaitOptions options);

}  // namespace berth::workspaces
