#pragma once
// The `berth` subcommands, registered on the CLI11 app. Each sets `exit_code` when it runs.

#include <CLI/CLI.hpp>

#include "berth/cli/output.hpp"

namespace berth::cli {

void add_server_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_admin_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_workspace_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_mcp_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_db_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_provisioner_commands(CLI::App& app, GlobalOptions& global, int& exit_code);

}  // namespace berth::cli
