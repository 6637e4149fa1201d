#pragma once
// What `berth login` saves for the user: the server URL and an API token, in
// $BERTH_CONFIG, else $XDG_CONFIG_HOME/berth/config.json, else ~/.config/berth/config.json
// (directory 0700, file 0600). Flags and BERTH_URL / BERTH_TOKEN come first.

#include <filesystem>
#include <optional>
#include <string>

#include "berth/core/result.hpp"

namespace berth::cli {

struct UserConfig {
  std::string url;
  std::string token;
};

std::filesystem::path user_config_path();

// The saved config, or nullopt when there is none (or it cannot be read as one).
std::optional<UserConfig> load_user_config();

// Writes the config atomically (a temporary file renamed over it), readable by its owner only.
Status save_user_config(const UserConfig& config);

// Removes the saved config; true when there was one.
Result<bool> remove_user_config();

}  // namespace berth::cli
