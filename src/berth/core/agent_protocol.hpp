#pragma once
// The messages between `berth agent` and the server, one JSON object per WebSocket text
// frame, each with a "type". Shared by agent/ (the client) and agentconn/ (the server).
//
//   agent -> server  hello      {lifecycle_state, version}           first frame after connecting
//   server -> agent  manifest   {agent_id, agent_name, workspace_id, workspace_name, directory,
//                                startup_script, startup_script_timeout_ms, env{}, heartbeat_ms}
//   agent -> server  lifecycle  {state}                              created -> starting -> ...
//   agent -> server  log        {lines[]}                            startup script output
//   agent -> server  heartbeat  {}                                   every heartbeat_ms
//   server -> agent  request    {id, method, params}                 exec | process_output |
//                                                                     process_signal | read_file |
//                                                                     write_file | edit_file
//   agent -> server  output     {id, data}                           exec with stream: output so
//   far agent -> server  response   {id, result} | {id, error{code, message}} server -> agent
//   rejected   {message}                            then the server closes

#include <string_view>

namespace berth::agent_protocol {

inline constexpr int kVersion = 1;
inline constexpr std::string_view kConnectPath = "/api/v1/agent/connect";

inline constexpr std::string_view kHello = "hello";
inline constexpr std::string_view kManifest = "manifest";
inline constexpr std::string_view kLifecycle = "lifecycle";
inline constexpr std::string_view kLog = "log";
inline constexpr std::string_view kHeartbeat = "heartbeat";
inline constexpr std::string_view kRequest = "request";
inline constexpr std::string_view kResponse = "response";
inline constexpr std::string_view kOutput = "output";
inline constexpr std::string_view kRejected = "rejected";
// Server -> agent: the workspace's owner or name changed (a prebuild was claimed). The agent
// updates BERTH_WORKSPACE_OWNER / BERTH_WORKSPACE_NAME for the commands it runs next.
inline constexpr std::string_view kWorkspace = "workspace";

// Environment variables the agent reads when flags are not given.
inline constexpr std::string_view kUrlEnv = "BERTH_AGENT_URL";
inline constexpr std::string_view kTokenEnv = "BERTH_AGENT_TOKEN";
// A descriptor to read the token from, then close (how the provisioner hands it over, so that
// it is in no environment and on no command line the workspace's code could read).
inline constexpr std::string_view kTokenFdEnv = "BERTH_AGENT_TOKEN_FD";

}  // namespace berth::agent_protocol
