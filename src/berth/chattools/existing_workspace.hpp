#pragma once
// What create_workspace does with the workspace a chat is already bound to (spec section
// 3.1.3, with reference choices 4 and 8). Pure: decided from the rows alone.

#include <chrono>
#include <optional>
#include <string>

#include "berth/store/model.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::chattools {

enum class ExistingAction {
  create,            // nothing usable is bound: create a new workspace
  wait_for_build,    // its latest build is pending, running or canceling: wait for it
  stopped,           // it is stopped: tell the model to use start_workspace
  running,           // it runs and its agent connected recently: wait for startup scripts
  agent_connecting,  // it runs and its agent has not connected yet: wait for it
};

struct ExistingDecision {
  ExistingAction action = ExistingAction::create;
  // For running / agent_connecting: the agent to wait for (the chat agent, or the first
  // agent when selection fails, as upstream).
  std::optional<store::WorkspaceAgent> agent;
  // For create: the bound workspace is alive but dead (failed build, agent gone). Berth stops
  // it (never deletes it) and reports it as replaced_workspace.
  bool replace = false;
  std::string reason;  // why, for the log and for replaced_workspace's note
};

// `bound` is the chat's workspace, nullopt when the chat has none; a view with an empty
// latest build (it could not be read) counts as unusable.
ExistingDecision decide_existing(const std::optional<workspaces::WorkspaceView>& bound,
                                 UnixMillis now, std::chrono::milliseconds inactive_timeout);

}  // namespace berth::chattools
