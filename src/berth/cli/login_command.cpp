// `berth login [URL]` and `berth logout`: keep the server URL and a token in the user's
// config (cli/config.hpp), so later commands need neither flags nor environment.
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "berth/cli/commands.hpp"
#include "berth/cli/config.hpp"
#include "berth/cli/http_client.hpp"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

}  // namespace

void add_login_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  {
    auto url = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(
        "login",
        "Check a token against a server and save both for later commands (the token is read "
        "from --token, $BERTH_TOKEN or standard input)");
    cmd->add_option("url", *url, "Server URL (default: --url, $BERTH_URL or the saved one)");
    cmd->callback([&, url] {
      std::string server = url->empty() ? g.resolved_url() : *url;
      while (!server.empty() && server.back() == '/') server.pop_back();
      std::string token = g.token;
      if (token.empty()) {
        if (const char* e = std::getenv("BERTH_TOKEN"); e && *e) token = e;
      }
      if (token.empty()) {
        if (::isatty(STDIN_FILENO)) {
          std::cerr << fmt::format(
              "Paste an API token for {} (`berth tokens create` makes one; "
              "the first admin token is DATA/admin.token): ",
              server);
        }
        std::getline(std::cin, token);
        token = trim(token);
      }
      if (token.empty()) {
        exit_code = report(Error::invalid_argument(
                               "no token to log in with",
                               "pass --token TOKEN, set BERTH_TOKEN, or type the token when asked"),
                           g.json);
        return;
      }
      ApiClient client(server, token);
      auto me = client.get("/api/v1/users/me");
      if (!me) {
        exit_code = report(me.error(), g.json);
        return;
      }
      if (auto saved = save_user_config({.url = server, .token = token}); !saved) {
        exit_code = report(saved.error(), g.json);
        return;
      }
      json answer = {{"url", server},
                     {"user", me->value("username", "")},
                     {"config", user_config_path().string()}};
      exit_code = finish(g, answer, [](const json& a) {
        std::cout << fmt::format("Logged in to {} as {}; saved in {}\n", a.value("url", ""),
                                 a.value("user", ""), a.value("config", ""));
      });
    });
  }
  app.add_subcommand("logout", "Forget the saved server URL and token")->callback([&] {
    auto removed = remove_user_config();
    if (!removed) {
      exit_code = report(removed.error(), g.json);
      return;
    }
    json answer = {{"removed", *removed}, {"config", user_config_path().string()}};
    exit_code = finish(g, answer, [](const json& a) {
      std::cout << (a.value("removed", false) ? "Logged out; removed " + a.value("config", "")
                                              : "Not logged in (no " + a.value("config", "") + ")")
                << "\n";
    });
  });
}

}  // namespace berth::cli
