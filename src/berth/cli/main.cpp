// `berth`: one binary for the server, the agent, and the admin CLI.
#include <cstdlib>
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "berth/agent/agent_command.hpp"
#include "berth/agent/egress_forward.hpp"
#include "berth/cli/commands.hpp"
#include "berth/core/allocator.hpp"

int main(int argc, char** argv) {
  berth::tune_allocator();
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
  std::string output = "table";
  app.add_option("-o,--output", output, "How to print answers: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  bool json_flag = false;
  app.add_flag("--json", json_flag, "The same as --output json");
  // Applied before any subcommand's callback runs (they run once the whole line is parsed).
  app.parse_complete_callback([&] {
    auto format =
        json_flag ? berth::cli::OutputFormat::json : *berth::cli::parse_output_format(output);
    berth::cli::set_output_format(format);
    global.format = format;
    global.json = format != berth::cli::OutputFormat::table;
  });
  // Read by every TLS client of this process (the CLI, `berth mcp`, `berth agent`) and the
  // processes it starts, so it goes into the environment as soon as it is parsed.
  app.add_option_function<std::string>(
      "--ca-file", [](const std::string& path) { ::setenv("BERTH_CA_FILE", path.c_str(), 1); },
      "PEM CA certificates to verify an https:// server with, besides the system's "
      "(default: $BERTH_CA_FILE)");
  int exit_code = 0;
  berth::cli::add_server_commands(app, global, exit_code);
  berth::cli::add_admin_commands(app, global, exit_code);
  berth::cli::add_workspace_commands(app, global, exit_code);
  berth::cli::add_mcp_command(app, global, exit_code);
  berth::cli::add_db_commands(app, global, exit_code);
  berth::cli::add_provisioner_commands(app, global, exit_code);
  berth::cli::add_login_commands(app, global, exit_code);
  berth::cli::add_completion_commands(app, exit_code);
  if (argc >= 2 && std::string_view(argv[1]) == "__complete") {
    return berth::cli::run_complete(app, argc, argv);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
