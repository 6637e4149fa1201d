#pragma once
// `berth agent` parses its two flags by hand: it starts once per workspace agent, and skipping
// the full CLI11 command tree saves CPU on every start.

#include <string>

namespace berth::cli {

// Runs the agent. Empty `url`/`token` fall back to BERTH_AGENT_URL / BERTH_AGENT_TOKEN (then
// BERTH_URL, then http://127.0.0.1:7080). Returns the exit code.
int run_agent_command(std::string url, std::string token);

// Returns the exit code, or -1 when argv is not an `agent` invocation this fast path handles
// (then the regular CLI takes over, e.g. for `berth agent --help`).
int run_agent_fast_path(int argc, char** argv);

}  // namespace berth::cli
