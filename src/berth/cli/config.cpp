#include "berth/cli/config.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::cli {

namespace fs = std::filesystem;

fs::path user_config_path() {
  if (const char* p = std::getenv("BERTH_CONFIG"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    return fs::path(x) / "berth" / "config.json";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/") / ".config" / "berth" / "config.json";
}

std::optional<UserConfig> load_user_config() {
  std::ifstream in(user_config_path());
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  UserConfig c;
  if (j.contains("url") && j["url"].is_string()) c.url = j["url"].get<std::string>();
  if (j.contains("token") && j["token"].is_string()) c.token = j["token"].get<std::string>();
  return c;
}

Status save_user_config(const UserConfig& config) {
  fs::path path = user_config_path();
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    return Error::internal(
        fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()),
        "set BERTH_CONFIG to a writable file path");
  }
  ::chmod(path.parent_path().c_str(), 0700);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    // Created 0600 before the token is written, so it is never readable by others.
    mode_t old_mask = ::umask(077);
    std::ofstream out(tmp, std::ios::trunc);
    ::umask(old_mask);
    out << nlohmann::json{{"url", config.url}, {"token", config.token}}.dump(2) << "\n";
    out.close();
    if (!out) {
      return Error::internal(fmt::format("cannot write {}", tmp.string()),
                             "set BERTH_CONFIG to a writable file path");
    }
  }
  ::chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path, ec);
  if (ec) {
    return Error::internal(fmt::format("cannot write {}: {}", path.string(), ec.message()),
                           "set BERTH_CONFIG to a writable file path");
  }
  return {};
}

Result<bool> remove_user_config() {
  std::error_code ec;
  bool removed = fs::remove(user_config_path(), ec);
  if (ec) {
    return Error::internal(
        fmt::format("cannot remove {}: {}", user_config_path().string(), ec.message()),
        "remove the file by hand");
  }
  return removed;
}

}  // namespace berth::cli
