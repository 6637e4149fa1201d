#pragma once
// The `berth agent` / `berth-agent` command line: two flags parsed by hand. An agent starts
// once per workspace agent, so its start-up cost matters: `berth-agent` links only the agent.

#include <string>

namespace berth::agent {

// Runs the agent. Empty `url`/`token` fall back to BERTH_AGENT_URL / BERTH_AGENT_TOKEN (then
// BERTH_URL, then http://127.0.0.1:7080). Returns the exit code.
int run_agent_command(std::string url, std::string token);

// Parses argv[first_flag..] (--url, --token) and runs the agent. Returns the exit code, or -1
// for anything else (e.g. --help), which the caller explains.
int run_agent_fast_path(int argc, char** argv, int first_flag);

}  // namespace berth::agent
