#pragma once
// `berth server --config FILE`: settings from a file, below flags and the environment.
//
//   # /etc/berth/berth.conf
//   listen = "0.0.0.0:7080"
//   data-dir = /var/lib/berth
//   allowed-hosts = berth.example.com, berth.internal
//   allow-unisolated = false
//
// A key is a flag of `berth server` without its dashes; a value is bare or a double-quoted
// string (\" and \\ escaped). Every flag also reads BERTH_<FLAG> from the environment
// (BERTH_LISTEN, BERTH_DATA_DIR, ...; --database reads BERTH_DATABASE_URL). A flag on the
// command line wins over the environment, which wins over the file.

#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "berth/core/result.hpp"

namespace berth::cli {

struct ConfigSetting {
  std::string key;
  std::string value;
  int line = 0;
};

// Parses the file's text; errors name the file and line ("berth.conf:3: ...").
Result<std::vector<ConfigSetting>> parse_server_config(std::string_view text,
                                                       const std::string& file_name);

// Gives every option of `server` without an environment variable BERTH_<NAME> (dashes to
// underscores, upper case), except those in `skip`.
void add_environment_names(CLI::App& server, const std::vector<std::string>& skip);

// Applies the file's settings to the options the command line and environment left unset.
// An unknown key or a bad value is an error naming the line; nothing is applied then.
Status apply_server_config(CLI::App& server, const std::filesystem::path& file);

// The effective settings as a config file (--print-config), with where each came from.
std::string effective_server_config(const CLI::App& server, const std::vector<std::string>& skip,
                                    const std::vector<std::string>& from_file);

}  // namespace berth::cli
