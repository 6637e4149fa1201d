#pragma once
// `berth agent`: the process inside a workspace. It dials the server over WebSocket, reports
// its lifecycle, runs the startup script with its timeout and streams the output, serves
// exec/read_file/write_file requests, and reconnects with backoff when the connection drops.

#include <chrono>
#include <string>

namespace berth::agent {

struct AgentOptions {
  std::string url;    // the server, e.g. http://127.0.0.1:7080
  std::string token;  // this agent's token (valid for this agent only)
  // Reconnect backoff: starts at `initial_backoff`, doubles, capped at `max_backoff`.
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{5000};
};

// Runs until SIGTERM/SIGINT (exit 0) or until the server rejects the token (exit 2).
int run_agent(const AgentOptions& options);

}  // namespace berth::agent
