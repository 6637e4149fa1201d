#include "berth/agent/agent_command.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "berth/agent/agent.hpp"
#include "berth/core/agent_protocol.hpp"

namespace berth::agent {

int run_agent_command(std::string url, std::string token) {
  auto env = [](std::string_view name) -> std::string {
    const char* v = std::getenv(std::string(name).c_str());
    return v ? v : "";
  };
  AgentOptions o;
  o.url = !url.empty() ? url : env(agent_protocol::kUrlEnv);
  if (o.url.empty()) o.url = env("BERTH_URL");
  if (o.url.empty()) o.url = "http://127.0.0.1:7080";
  o.token = !token.empty() ? token : env(agent_protocol::kTokenEnv);
  if (o.token.empty()) {
    std::cerr << "error: berth agent needs a token\n  pass --token or set BERTH_AGENT_TOKEN\n";
    return 1;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e agent %^%l%$ %v");
  return run_agent(o);
}

int run_agent_fast_path(int argc, char** argv, int first_flag) {
  std::string url, token;
  for (int i = first_flag; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto take = [&](std::string_view flag, std::string& out) {
      if (arg == flag && i + 1 < argc) {
        out = argv[++i];
        return true;
      }
      if (arg.size() > flag.size() && arg.starts_with(flag) && arg[flag.size()] == '=') {
        out = std::string(arg.substr(flag.size() + 1));
        return true;
      }
      return false;
    };
    if (!take("--url", url) && !take("--token", token)) return -1;  // let CLI11 explain
  }
  return run_agent_command(std::move(url), std::move(token));
}

}  // namespace berth::agent
