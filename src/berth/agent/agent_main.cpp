// `berth-agent --url URL --token TOKEN`: the workspace agent on its own (see agent_command.hpp).
#include <iostream>

#include "berth/agent/agent_command.hpp"

int main(int argc, char** argv) {
  int code = berth::agent::run_agent_fast_path(argc, argv, 1);
  if (code >= 0) return code;
  std::cerr << "usage: berth-agent [--url URL] [--token TOKEN]\n"
               "  URL defaults to $BERTH_AGENT_URL, TOKEN to $BERTH_AGENT_TOKEN\n";
  return 2;
}
