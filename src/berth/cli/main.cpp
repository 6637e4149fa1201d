// `berth`: one binary for the server, the agent, and the admin CLI.
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "berth/agent/agent_command.hpp"
#include "berth/agent/egress_forward.hpp"
#include "berth/cli/commands.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "agent") {
    if (int code = berth::agent::run_agent_fast_path(argc, argv, 2); code >= 0) return code;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "egress-forward") {
    // Inside a sandbox, in front of its commands (agent/egress_forward.hpp).
    if (int code = berth::agent::run_egress_forward(argc, argv, 2); code >= 0) return code;
    std::cerr << "usage: berth egress-forward SOCKET PORT -- COMMAND...\n";
    return 2;
  }
  CLI::App app{"Berth: development workspaces for AI agents", "berth"};
  app.require_subcommand(1);
  app.fallthrough();
  berth::cli::GlobalOptions global;
  app.add_option("--url", global.url,
                 "Berth server URL (default: $BERTH_URL or http://127.0.0.1:7080)");
  app.add_option("--token", global.token, "API token (default: $BERTH_TOKEN)");
  app.add_flag("--json", global.json, "Print JSON instead of text");
  int exit_code = 0;
  berth::cli::add_server_commands(app, global, exit_code);
  berth::cli::add_admin_commands(app, global, exit_code);
  berth::cli::add_workspace_commands(app, global, exit_code);
  berth::cli::add_mcp_command(app, global, exit_code);
  berth::cli::add_db_commands(app, global, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
