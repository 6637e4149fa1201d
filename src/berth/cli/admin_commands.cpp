// `berth templates|users|tokens|orgs|config ...`: thin wrappers over the REST API.
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "berth/cli/commands.hpp"
#include "berth/cli/http_client.hpp"
#include "berth/core/duration.hpp"

namespace berth::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Result<json> push(ApiClient& client, const std::string& dir, const std::string& org) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error::invalid_argument(fmt::format("template directory {} does not exist", dir),
                                   "pass a directory holding template.yaml");
  }
  json files = json::object();
  for (const char* name : {"template.yaml", "README.md"}) {
    std::ifstream in(fs::path(dir) / name);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    files[name] = ss.str();
  }
  if (!files.contains("template.yaml")) {
    return Error::invalid_argument(
        fmt::format("{} has no template.yaml", dir),
        "a template directory needs a template.yaml; see docs/templates.md");
  }
  json body = {{"files", files}};
  if (!org.empty()) body["organization"] = org;
  return client.post("/api/v1/templates", body);
}

}  // namespace

void add_admin_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto client = [&g] { return ApiClient(g.resolved_url(), g.resolved_token()); };

  auto* templates =
      app.add_subcommand("templates", "Push and list templates")->require_subcommand(1);
  {
    auto dir = std::make_shared<std::string>();
    auto org = std::make_shared<std::string>();
    auto* cmd =
        templates->add_subcommand("push", "Push a template directory (creates or adds a version)");
    cmd->add_option("dir", *dir, "Directory with template.yaml (and README.md)")->required();
    cmd->add_option("--org", *org, "Organization (default: default)");
    cmd->callback([&, dir, org, client] {
      auto c = client();
      exit_code = finish(g, push(c, *dir, *org), [](const json& t) {
        std::cout << fmt::format("template {} {} (version {}, id {})\n", t.value("name", ""),
                                 t.value("created", false) ? "created" : "updated",
                                 t["version"].value("number", 0), t.value("id", ""));
      });
    });
  }
  templates->add_subcommand("list", "List the templates you can use")->callback([&, client] {
    exit_code = finish(g, client().get("/api/v1/templates"), [](const json& all) {
      std::cout << fmt::format("{:<24} {:<9} {:<8} {}\n", "NAME", "ISOLATION", "AGENTS",
                               "DESCRIPTION");
      for (const auto& t : all) {
        std::cout << fmt::format(
            "{:<24} {:<9} {:<8} {}\n", t.value("name", ""), t.value("isolation", ""),
            t.value("agents_allowed", true) ? "allowed" : "no", t.value("description", ""));
      }
    });
  });
  {
    auto ref = std::make_shared<std::string>();
    auto* cmd = templates->add_subcommand(
        "show", "Show a template with its parameters, presets and agents");
    cmd->add_option("template", *ref, "Template name or id")->required();
    cmd->callback([&, ref, client] {
      exit_code =
          finish(g, client().get("/api/v1/templates/" + path_segment(*ref)), [](const json& t) {
            std::cout << fmt::format("{} ({}): {}\n", t.value("name", ""), t.value("isolation", ""),
                                     t.value("description", ""));
            for (const auto& p : t.value("parameters", json::array())) {
              std::cout << fmt::format(
                  "  parameter {} ({}) default={}\n", p.value("name", ""), p.value("type", ""),
                  p["default"].is_null() ? "(required)" : p["default"].get<std::string>());
            }
            for (const auto& p : t.value("presets", json::array()))
              std::cout << "  preset " << p.value("name", "") << "\n";
            for (const auto& a : t.value("agents", json::array()))
              std::cout << "  agent " << a.value("name", "") << "\n";
          });
    });
  }

  {
    auto ref = std::make_shared<std::string>();
    auto* cmd = templates->add_subcommand("versions", "List a template's versions, newest first");
    cmd->add_option("template", *ref, "Template name or id")->required();
    cmd->callback([&, ref, client] {
      exit_code =
          finish(g, client().get("/api/v1/templates/" + path_segment(*ref) + "/versions"),
                 [](const json& all) {
                   std::cout << fmt::format("{:<8} {:<6} {:<21} {}\n", "VERSION", "ACTIVE",
                                            "PUSHED", "BY");
                   for (const auto& v : all) {
                     std::cout << fmt::format(
                         "{:<8} {:<6} {:<21} {}\n", v.value("number", 0),
                         v.value("active", false) ? "yes" : "", v.value("created_at", ""),
                         v["created_by"].is_string() ? v["created_by"].get<std::string>() : "-");
                   }
                 });
    });
  }

  auto* users = app.add_subcommand("users", "Manage users (site admins)")->require_subcommand(1);
  {
    struct Args {
      std::string username, email, org, role = "member";
      bool site_admin = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = users->add_subcommand("create", "Create a user");
    cmd->add_option("username", a->username, "Username")->required();
    cmd->add_option("--email", a->email, "E-mail address");
    cmd->add_option("--org", a->org, "Organization to join (default: default)");
    cmd->add_option("--role", a->role, "member or admin of that organization")
        ->capture_default_str();
    cmd->add_flag("--site-admin", a->site_admin, "Make the user a site admin");
    cmd->callback([&, a, client] {
      json body = {{"username", a->username},
                   {"email", a->email},
                   {"role", a->role},
                   {"site_admin", a->site_admin}};
      if (!a->org.empty()) body["organization"] = a->org;
      exit_code = finish(g, client().post("/api/v1/users", body), [](const json& u) {
        std::cout << fmt::format("user {} created (id {})\n", u.value("username", ""),
                                 u.value("id", ""));
      });
    });
  }

  auto* tokens =
      app.add_subcommand("tokens", "Create, list and revoke API tokens")->require_subcommand(1);
  {
    struct Args {
      std::string name, user, lifetime, org;
      bool read_only = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tokens->add_subcommand("create", "Create an API token (printed once)");
    cmd->add_option("--name", a->name, "A name to recognise it by");
    cmd->add_option("--user", a->user, "For another user (site admins only)");
    cmd->add_option("--lifetime", a->lifetime, "Expire after this long, e.g. 720h");
    cmd->add_option("--org", a->org, "Only act in this organization (never as site admin)");
    cmd->add_flag("--read-only", a->read_only,
                  "Only read: list and show, and over MCP only the tools that change nothing");
    cmd->callback([&, a, client] {
      json body = json::object();
      if (!a->name.empty()) body["name"] = a->name;
      if (!a->user.empty()) body["username"] = a->user;
      if (!a->lifetime.empty()) body["lifetime"] = a->lifetime;
      if (!a->org.empty()) body["organization"] = a->org;
      if (a->read_only) body["read_only"] = true;
      exit_code = finish(g, client().post("/api/v1/tokens", body),
                         [](const json& t) { std::cout << t.value("token", "") << "\n"; });
    });
  }

  {
    auto user = std::make_shared<std::string>();
    auto* cmd = tokens->add_subcommand("list", "List your tokens (site admins: --user NAME)");
    cmd->add_option("--user", *user, "Another user's tokens (site admins only)");
    cmd->callback([&, user, client] {
      std::string path = "/api/v1/tokens";
      if (!user->empty()) path += "?user=" + path_segment(*user);
      exit_code = finish(g, client().get(path), [](const json& all) {
        for (const auto& t : all) {
          std::cout << fmt::format(
              "{}  {}  created {}  expires {}{}{}\n", t.value("id", ""), t.value("name", ""),
              t.value("created_at", ""),
              t["expires_at"].is_null() ? "never" : t["expires_at"].get<std::string>(),
              t["organization_id"].is_null() ? "" : "  org-scoped",
              t.value("read_only", false) ? "  read-only" : "");
        }
      });
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = tokens->add_subcommand("revoke", "Revoke a token: it stops working at once");
    cmd->add_option("id", *id, "The token's id (from `berth tokens list`)")->required();
    cmd->callback([&, id, client] {
      exit_code = finish(g, client().del("/api/v1/tokens/" + path_segment(*id)),
                         [id](const json&) { std::cout << "token " << *id << " revoked\n"; });
    });
  }
  tokens
      ->add_subcommand("rotate-bootstrap",
                       "Replace the bootstrap admin token (printed once) and delete its file")
      ->callback([&, client] {
        exit_code = finish(g, client().post("/api/v1/tokens/rotate-bootstrap", json::object()),
                           [](const json& t) { std::cout << t.value("token", "") << "\n"; });
      });
  for (bool suspend : {true, false}) {
    auto name = std::make_shared<std::string>();
    auto* cmd = users->add_subcommand(
        suspend ? "suspend" : "unsuspend",
        suspend ? "Suspend a user: their tokens stop working" : "Let a suspended user back in");
    cmd->add_option("username", *name, "Username")->required();
    cmd->callback([&, name, suspend, client] {
      exit_code = finish(g,
                         client().post(fmt::format("/api/v1/users/{}/{}", path_segment(*name),
                                                   suspend ? "suspend" : "unsuspend"),
                                       json::object()),
                         [name, suspend](const json&) {
                           std::cout << "user " << *name
                                     << (suspend ? " suspended\n" : " unsuspended\n");
                         });
    });
  }

  auto* orgs = app.add_subcommand("orgs", "Manage organizations")->require_subcommand(1);
  {
    struct Args {
      std::string name, display;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = orgs->add_subcommand("create", "Create an organization (site admins)");
    cmd->add_option("name", a->name, "Organization name")->required();
    cmd->add_option("--display-name", a->display, "Display name");
    cmd->callback([&, a, client] {
      exit_code = finish(
          g,
          client().post("/api/v1/organizations", {{"name", a->name}, {"display_name", a->display}}),
          [](const json& o) {
            std::cout << fmt::format("organization {} created (id {})\n", o.value("name", ""),
                                     o.value("id", ""));
          });
    });
  }
  {
    struct Args {
      std::string org, user, role = "member";
    };
    auto a = std::make_shared<Args>();
    auto* members = orgs->add_subcommand("members", "Organization members (organization admins)")
                        ->require_subcommand(1);
    auto* add = members->add_subcommand("add", "Add a user, or change their role");
    add->add_option("org", a->org, "Organization")->required();
    add->add_option("username", a->user, "Username")->required();
    add->add_option("--role", a->role, "member or admin")->capture_default_str();
    add->callback([&, a, client] {
      exit_code = finish(g,
                         client().put(fmt::format("/api/v1/organizations/{}/members/{}",
                                                  path_segment(a->org), path_segment(a->user)),
                                      {{"role", a->role}}),
                         [a](const json&) {
                           std::cout
                               << fmt::format("{} is {} of {}\n", a->user,
                                              a->role == "admin" ? "an admin" : "a member", a->org);
                         });
    });
    auto* list = members->add_subcommand("list", "List the members and their roles");
    list->add_option("org", a->org, "Organization")->required();
    list->callback([&, a, client] {
      exit_code = finish(
          g, client().get(fmt::format("/api/v1/organizations/{}/members", path_segment(a->org))),
          [](const json& all) {
            std::cout << fmt::format("{:<32} {:<7} {}\n", "USERNAME", "ROLE", "SUSPENDED");
            for (const auto& m : all) {
              std::cout << fmt::format("{:<32} {:<7} {}\n", m.value("username", ""),
                                       m.value("role", ""),
                                       m.value("suspended", false) ? "yes" : "no");
            }
          });
    });
    auto* remove = members->add_subcommand("remove", "End a user's membership");
    remove->add_option("org", a->org, "Organization")->required();
    remove->add_option("username", a->user, "Username")->required();
    remove->callback([&, a, client] {
      exit_code = finish(g,
                         client().del(fmt::format("/api/v1/organizations/{}/members/{}",
                                                  path_segment(a->org), path_segment(a->user))),
                         [a](const json&) {
                           std::cout
                               << fmt::format("{} is no longer a member of {}\n", a->user, a->org);
                         });
    });
  }
  orgs->add_subcommand("list", "List your organizations")->callback([&, client] {
    exit_code = finish(g, client().get("/api/v1/organizations"), [](const json& all) {
      for (const auto& o : all) std::cout << o.value("name", "") << "\n";
    });
  });

  auto* quotas = app.add_subcommand("quotas", "Workspace credit budgets (organization admins)")
                     ->require_subcommand(1);
  {
    struct Args {
      std::string budget, org = "default", user;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = quotas->add_subcommand(
        "set", "Set the daily credit budget of a member, or of every member (none removes it)");
    cmd->add_option("budget", a->budget, "Credits per day, or none")->required();
    cmd->add_option("--org", a->org, "Organization")->capture_default_str();
    cmd->add_option("--user", a->user, "A member (default: every member without their own)");
    cmd->callback([&, a, client] {
      json body = {{"budget", nullptr}};
      if (a->budget != "none") {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(a->budget.data(), a->budget.data() + a->budget.size(), n);
        if (ec != std::errc() || end != a->budget.data() + a->budget.size()) {
          exit_code = report(
              Error::invalid_argument(fmt::format("budget \"{}\" is not a whole number", a->budget),
                                      "pass credits per day, e.g. 40, or none to remove the quota"),
              g.json);
          return;
        }
        body["budget"] = n;
      }
      if (!a->user.empty()) body["user"] = a->user;
      exit_code =
          finish(g, client().put("/api/v1/organizations/" + path_segment(a->org) + "/quota", body),
                 [a](const json& u) {
                   std::cout << fmt::format(
                       "{}: {} of {} credits a day in use\n",
                       a->user.empty() ? "every member" : a->user, u.value("credits_consumed", 0),
                       u["budget"].is_null() ? "unlimited"
                                             : std::to_string(u["budget"].get<std::int64_t>()));
                 });
    });
  }
  {
    struct Args {
      std::string org = "default", user;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = quotas->add_subcommand("show", "Show credits in use and the budget");
    cmd->add_option("--org", a->org, "Organization")->capture_default_str();
    cmd->add_option("--user", a->user, "Another member (organization admins)");
    cmd->callback([&, a, client] {
      std::string path = "/api/v1/organizations/" + path_segment(a->org) + "/quota";
      if (!a->user.empty()) path += "?user=" + path_segment(a->user);
      exit_code = finish(g, client().get(path), [](const json& u) {
        std::cout << fmt::format(
            "{} of {} credits a day in use\n", u.value("credits_consumed", 0),
            u["budget"].is_null() ? "unlimited" : std::to_string(u["budget"].get<std::int64_t>()));
      });
    });
  }

  auto* config = app.add_subcommand("config", "Site settings (site admins)")->require_subcommand(1);
  {
    struct Args {
      std::string key, value;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = config->add_subcommand("set", "Set a site setting, e.g. agents_workspace_ttl 2h");
    cmd->add_option("key", a->key, "Setting name")->required();
    cmd->add_option("value", a->value, "Value")->required();
    cmd->callback([&, a, client] {
      exit_code = finish(
          g, client().put("/api/v1/config/" + path_segment(a->key), {{"value", a->value}}),
          [](const json& r) {
            std::cout << fmt::format("{} = {}\n", r.value("key", ""),
                                     r["value"].is_null() ? "" : r["value"].get<std::string>());
          });
    });
    auto key = std::make_shared<std::string>();
    auto* get = config->add_subcommand("get", "Show a site setting");
    get->add_option("key", *key, "Setting name")->required();
    get->callback([&, key, client] {
      exit_code =
          finish(g, client().get("/api/v1/config/" + path_segment(*key)), [](const json& r) {
            std::cout << (r["value"].is_null() ? "" : r["value"].get<std::string>()) << "\n";
          });
    });
  }
}

}  // namespace berth::cli
