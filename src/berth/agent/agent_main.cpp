// `berth-agent --url URL --token TOKEN`: the workspace agent on its own (see agent_command.hpp).
#include <iostream>
#include <string_view>

#include "berth/agent/agent_command.hpp"
#include "berth/agent/egress_forward.hpp"
#include "berth/core/allocator.hpp"

int main(int argc, char** argv) {
  berth::tune_allocator();
  if (argc >= 2 && std::string_view(argv[1]) == "egress-forward") {
    if (int code = berth::agent::run_egress_forward(argc, argv, 2); code >= 0) return code;
    std::cerr << "usage: berth-agent egress-forward SOCKET PORT -- COMMAND...\n";
    return 2;
  }
  int code = berth::agent::run_agent_fast_path(argc, argv, 1);
  if (code >= 0) return code;
  std::cerr << "usage: berth-agent [--url URL] [--token TOKEN]\n"
               "  URL defaults to $BERTH_AGENT_URL, TOKEN to $BERTH_AGENT_TOKEN\n";
  return 2;
}
