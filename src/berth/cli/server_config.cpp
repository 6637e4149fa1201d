#include "berth/cli/server_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace berth::cli {

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string env_name(const std::string& lname) {
  std::string out = "BERTH_";
  for (char c : lname) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

bool skipped(const CLI::Option* opt, const std::vector<std::string>& skip) {
  if (opt->get_lnames().empty()) return true;
  return std::find(skip.begin(), skip.end(), opt->get_lnames()[0]) != skip.end();
}

std::string quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::vector<ConfigSetting>> parse_server_config(std::string_view text,
                                                       const std::string& file_name) {
  std::vector<ConfigSetting> out;
  std::istringstream in{std::string(text)};
  int n = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++n;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto where = fmt::format("{}:{}", file_name, n);
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      return Error::invalid_argument(
          fmt::format("{}: \"{}\" is not a setting", where, line),
          "write settings as KEY = VALUE, e.g. listen = \"0.0.0.0:7080\"");
    }
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (key.empty() ||
        key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
      return Error::invalid_argument(
          fmt::format("{}: \"{}\" is not a setting name", where, key),
          "names are the flags of `berth server --help` without their dashes, e.g. data-dir");
    }
    if (!value.empty() && value[0] == '"') {
      std::string unquoted;
      bool closed = false;
      std::size_t i = 1;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
          unquoted += value[++i];
        } else if (value[i] == '"') {
          closed = true;
          break;
        } else {
          unquoted += value[i];
        }
      }
      std::string rest = trim(std::string_view(value).substr(std::min(i + 1, value.size())));
      if (!closed || (!rest.empty() && rest[0] != '#')) {
        return Error::invalid_argument(
            fmt::format("{}: the value of {} has no closing quote", where, key),
            "end the value with \" (write \\\" for a quote inside it)");
      }
      value = unquoted;
    } else if (auto hash = value.find(" #"); hash != std::string::npos) {
      value = trim(value.substr(0, hash));
    }
    for (const auto& s : out) {
      if (s.key == key) {
        return Error::invalid_argument(
            fmt::format("{}: {} is set twice (first on line {})", where, key, s.line),
            "keep one of them");
      }
    }
    out.push_back({key, value, n});
  }
  return out;
}

void add_environment_names(CLI::App& server, const std::vector<std::string>& skip) {
  for (CLI::Option* opt : server.get_options([](CLI::Option*) { return true; })) {
    if (skipped(opt, skip) || !opt->get_envname().empty()) continue;
    opt->envname(env_name(opt->get_lnames()[0]));
  }
}

Status apply_server_config(CLI::App& server, const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return Error::invalid_argument(fmt::format("cannot read config file {}", file.string()),
                                   "check the path given to --config (or BERTH_SERVER_CONFIG)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto settings = parse_server_config(ss.str(), file.string());
  if (!settings) return settings.error();
  // Look everything up first, so a bad line applies nothing.
  std::vector<std::pair<CLI::Option*, const ConfigSetting*>> found;
  for (const auto& s : *settings) {
    CLI::Option* opt = nullptr;
    for (CLI::Option* o : server.get_options([](CLI::Option*) { return true; })) {
      const auto& l = o->get_lnames();
      if (std::find(l.begin(), l.end(), s.key) != l.end()) opt = o;
    }
    if (!opt || s.key == "config" || s.key == "help" || s.key == "print-config") {
      return Error::invalid_argument(
          fmt::format("{}:{}: unknown setting \"{}\"", file.string(), s.line, s.key),
          "settings are the flags of `berth server --help` without their dashes");
    }
    found.emplace_back(opt, &s);
  }
  for (auto [opt, s] : found) {
    if (opt->count() > 0) continue;  // the command line or the environment said otherwise
    try {
      if (opt->get_expected_max() > 1) {
        // A list: "a, b" is two values, however it is spaced.
        std::vector<std::string> items;
        std::istringstream parts(s->value);
        for (std::string item; std::getline(parts, item, ',');) {
          if (auto t = trim(item); !t.empty()) items.push_back(t);
        }
        opt->add_result(items);
      } else {
        opt->add_result(s->value);
      }
      opt->run_callback();
    } catch (const CLI::Error& e) {
      return Error::invalid_argument(
          fmt::format("{}:{}: {} = {}: {}", file.string(), s->line, s->key, s->value, e.what()),
          "fix the value; `berth server --help` shows what each setting takes");
    }
  }
  return {};
}

std::string effective_server_config(const CLI::App& server, const std::vector<std::string>& skip,
                                    const std::vector<std::string>& from_file) {
  std::string out = "# berth server: effective settings (flag, environment, file, default)\n";
  for (const CLI::Option* opt : server.get_options()) {
    if (skipped(opt, skip)) continue;
    const std::string& name = opt->get_lnames()[0];
    std::string value;
    std::string source;
    if (opt->count() > 0) {
      for (const auto& r : opt->results()) value += (value.empty() ? "" : ",") + r;
      const char* env =
          opt->get_envname().empty() ? nullptr : std::getenv(opt->get_envname().c_str());
      bool in_file = std::find(from_file.begin(), from_file.end(), name) != from_file.end();
      source = in_file ? "file" : env && *env && value == env ? "environment" : "flag";
    } else {
      value = opt->get_default_str();
      source = "default";
    }
    if (opt->get_expected_max() == 0 && value.empty()) value = "false";  // a flag left unset
    out += fmt::format("{} = {}  # {}\n", name, quote(value), source);
  }
  return out;
}

}  // namespace berth::cli
