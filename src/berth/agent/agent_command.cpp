#include "berth/agent/agent_command.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "berth/agent/agent.hpp"
#include "berth/core/agent_protocol.hpp"

namespace berth::agent {

namespace {

// Reads the token from the descriptor the provisioner passed, and closes it.
std::string read_token_fd(const char* text) {
  int fd = std::atoi(text);
  std::string token;
  char buf[256];
  ssize_t n;
  while (fd > 2 && (n = ::read(fd, buf, sizeof buf)) > 0) token.append(buf, n);
  if (fd > 2) ::close(fd);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

// The token must not reach the commands the agent runs, nor stay readable in
// /proc/<agent>/environ (which shows the original block, whatever unsetenv does): overwrite
// it in place, then drop it.
void forget_env_token() {
  const char* name = agent_protocol::kTokenEnv.data();
  if (char* v = std::getenv(name)) std::memset(v, 'x', std::strlen(v));
  ::unsetenv(name);
  ::unsetenv(agent_protocol::kTokenFdEnv.data());
}

}  // namespace

int run_agent_command(std::string url, std::string token) {
  auto env = [](std::string_view name) -> std::string {
    const char* v = std::getenv(std::string(name).c_str());
    return v ? v : "";
  };
  // Code in the workspace runs as the agent's user: make the agent's memory and /proc files
  // (environ, mem, fds) unreadable to it. Commands the agent starts are dumpable again.
  ::prctl(PR_SET_DUMPABLE, 0);
  if (token.empty()) {
    if (const char* fd = std::getenv(agent_protocol::kTokenFdEnv.data())) token = read_token_fd(fd);
  }
  AgentOptions o;
  o.url = !url.empty() ? url : env(agent_protocol::kUrlEnv);
  if (o.url.empty()) o.url = env("BERTH_URL");
  if (o.url.empty()) o.url = "http://127.0.0.1:7080";
  o.token = !token.empty() ? token : env(agent_protocol::kTokenEnv);
  forget_env_token();
  if (o.token.empty()) {
    std::cerr << "error: berth agent needs a token\n  set BERTH_AGENT_TOKEN (or pass --token)\n";
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
    const int at = i;
    if (take("--url", url)) continue;
    if (!take("--token", token)) return -1;  // let CLI11 explain
    // Anyone on the host can read a command line: overwrite the token where it was given.
    for (int j = at; j <= i; ++j) {
      std::string_view a = argv[j];
      if (auto pos = a.find(token); !token.empty() && pos != std::string_view::npos) {
        std::memset(argv[j] + pos, 'x', token.size());
      }
    }
    std::cerr << "warning: --token is visible in the process list until it is overwritten; "
                 "set BERTH_AGENT_TOKEN instead\n";
  }
  return run_agent_command(std::move(url), std::move(token));
}

}  // namespace berth::agent
