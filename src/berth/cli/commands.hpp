#pragma once
// The `berth` subcommands, registered on the CLI11 app. Each sets `exit_code` when it runs.

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "berth/cli/output.hpp"

namespace berth::cli {

void add_server_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_admin_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_workspace_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_mcp_command(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_db_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_provisioner_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
void add_login_commands(CLI::App& app, GlobalOptions& global, int& exit_code);
// `berth completion bash|zsh|fish` and the hidden `berth __complete` the scripts call; they
// walk `app`, so they must be added after every other command.
void add_completion_commands(CLI::App& app, int& exit_code);
// What completes `current` after `words` (the words between `berth` and the cursor):
// subcommands, flags of the command reached and its parents, or --output's values.
std::vector<std::string> completions(CLI::App& root, const std::vector<std::string>& words,
                                     std::string_view current);
// `berth __complete WORD... CURRENT`: prints completions(), one per line.
int run_complete(CLI::App& root, int argc, char** argv);

}  // namespace berth::cli
