#pragma once
// Result keys shared by several tools. Tests spell them literally, so a rename shows.

namespace berth::chattools::key {

inline constexpr const char* kError = "error";
inline constexpr const char* kDetail = "detail";
inline constexpr const char* kValidations = "validations";
inline constexpr const char* kBuildId = "build_id";
inline constexpr const char* kNoBuild = "no_build";
inline constexpr const char* kCreated = "created";
inline constexpr const char* kPrebuildClaimed = "prebuild_claimed";
inline constexpr const char* kStarted = "started";
inline constexpr const char* kStopped = "stopped";
inline constexpr const char* kWorkspaceName = "workspace_name";
inline constexpr const char* kStatus = "status";
inline constexpr const char* kMessage = "message";
inline constexpr const char* kAgentStatus = "agent_status";
inline constexpr const char* kAgentError = "agent_error";
inline constexpr const char* kStartupScripts = "startup_scripts";
inline constexpr const char* kLifecycleState = "lifecycle_state";
inline constexpr const char* kPhase = "phase";
inline constexpr const char* kNextStep = "next_step";
inline constexpr const char* kReplacedWorkspace = "replaced_workspace";
inline constexpr const char* kInstructions = "instructions";
inline constexpr const char* kInstructionsTruncated = "instructions_truncated";

}  // namespace berth::chattools::key
