// `berth workspaces ...`: create, list, show, start, stop, delete, logs.
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "berth/cli/commands.hpp"
#include "berth/cli/http_client.hpp"
#include "berth/core/duration.hpp"

namespace berth::cli {

using nlohmann::json;

namespace {

constexpr auto kWaitSlice = std::chrono::seconds(60);  // one long-poll; the loop repeats it

Result<json> parse_params(const std::vector<std::string>& params) {
  json out = json::object();
  for (const auto& p : params) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error::invalid_argument(fmt::format("--param \"{}\" is not NAME=VALUE", p),
                                     "write it like --param greeting=hi");
    }
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

std::string agents_summary(const json& ws) {
  std::string out;
  for (const auto& a : ws.value("agents", json::array())) {
    out += fmt::format("{}{} ({}, {})", out.empty() ? "" : ", ", a.value("name", ""),
                       a.value("status", ""), a.value("lifecycle_state", ""));
  }
  return out.empty() ? "-" : out;
}

void print_workspace(const json& ws) {
  const auto& b = ws["latest_build"];
  std::cout << fmt::format("{}  {}  template {}\n", ws.value("full_name", ""),
                           ws.value("status", ""), ws.value("template_name", ""));
  std::cout << fmt::format(
      "  build {} ({}{}): {}{}\n", b.value("build_number", 0), b.value("transition", ""),
      b.value("reason", "") == "autostop" ? ", deadline passed" : "", b["job"].value("status", ""),
      b["job"]["error"].is_null() ? "" : " - " + b["job"]["error"].get<std::string>());
  std::cout << "  agents: " << agents_summary(ws) << "\n";
  if (ws.contains("deadline") && ws["deadline"].is_string()) {
    std::cout << "  stops at " << ws["deadline"].get<std::string>()
              << " unless in use (time to live " << ws.value("ttl_ms", 0) / 1000 << " s)\n";
  }
}

// Long-polls the wait endpoint until the workspace settles or `timeout` passes.
Result<json> wait_settled(ApiClient& client, const std::string& id,
                          std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    auto slice = std::max(std::chrono::milliseconds(0),
                          std::min<std::chrono::milliseconds>(left, kWaitSlice));
    auto r = client.get(fmt::format("/api/v1/workspaces/{}/wait?timeout={}ms", id, slice.count()));
    if (!r) return r;
    if ((*r)["readiness"].value("settled", false) || left.count() <= 0) return r;
  }
}

// Prints the outcome of a wait and returns the exit code: 0 only when it ended as `want`.
int finish_wait(const GlobalOptions& g, const Result<json>& r, std::string_view want) {
  if (!r) return report(r.error(), g.json);
  const auto& readiness = (*r)["readiness"];
  bool ok = readiness.value("phase", "") == want;
  if (g.json) {
    print_data(*r);
  } else if (ok) {
    print_workspace(*r);
  } else {
    print_workspace(*r);
    std::cerr << fmt::format("error: workspace {} is not {}: {}\n", r->value("full_name", ""), want,
                             readiness.value("timed_out", false)
                                 ? "timed out waiting (" + readiness.value("message", "") + ")"
                                 : readiness.value("message", ""));
    std::cerr << fmt::format("  see the build log with `berth workspaces logs {}`\n",
                             r->value("full_name", ""));
  }
  return ok ? 0 : 1;
}

struct WaitArgs {
  bool wait = false;
  std::string timeout = "15m";
};

// `create` waits only when asked (--wait); start, stop, restart and delete wait unless told
// not to (--no-wait), as `coder stop` does.
void add_wait_flags(CLI::App* cmd, WaitArgs& w, bool wait_by_default) {
  w.wait = wait_by_default;
  if (wait_by_default) {
    cmd->add_flag("--wait,!--no-wait", w.wait,
                  "Wait until the workspace settles and exit non-zero unless it succeeded "
                  "(the default; --no-wait returns once the build is queued)");
  } else {
    cmd->add_flag("--wait,!--no-wait", w.wait,
                  "Return once the workspace settles; exit non-zero unless it succeeded");
  }
  cmd->add_option("--timeout", w.timeout, "How long to wait")->capture_default_str();
}

bool build_in_progress(const json& ws) {
  auto status = ws["latest_build"]["job"].value("status", "");
  return status == "pending" || status == "running" || status == "canceling";
}

// A transition asked while another build runs waits for that build first (so `start` right
// after `stop --no-wait` works). Returns the workspace as it is once nothing is in progress.
Result<json> settle_first(ApiClient& c, const GlobalOptions& g, const json& ws,
                          std::chrono::milliseconds timeout) {
  if (!build_in_progress(ws)) return ws;
  const auto& b = ws["latest_build"];
  if (!g.json) {
    std::cerr << fmt::format("waiting for {} build {} of {} to finish first\n",
                             b.value("transition", ""), b.value("build_number", 0),
                             ws.value("full_name", ""));
  }
  auto settled = wait_settled(c, ws.value("id", ""), timeout);
  if (!settled) return settled;
  if (build_in_progress(*settled)) {
    return Error::deadline_exceeded(
        fmt::format("build {} of {} is still {} after {} s", b.value("build_number", 0),
                    ws.value("full_name", ""),
                    (*settled)["latest_build"]["job"].value("status", ""), timeout.count() / 1000),
        "wait longer with --timeout, or follow it with `berth workspaces logs " +
            ws.value("full_name", "") + " --follow`");
  }
  return settled;
}

// The latest build already is `transition` and succeeded (or is running, then waited for).
bool latest_is(const json& ws, std::string_view transition) {
  return ws["latest_build"].value("transition", "") == transition;
}

// Queues one transition ("start", "stop", "delete") of a workspace that has no build in
// progress, and waits for it when asked. Returns the exit code.
int queue_transition(ApiClient& c, const GlobalOptions& g, const json& ws,
                     std::string_view transition, const json& params, bool wait,
                     std::chrono::milliseconds timeout) {
  static constexpr std::pair<std::string_view, std::string_view> kWant[] = {
      {"start", "ready"}, {"stop", "stopped"}, {"delete", "deleted"}};
  std::string_view want;
  for (const auto& [t, w] : kWant)
    if (t == transition) want = w;
  std::string id = ws.value("id", "");
  std::string path = "/api/v1/workspaces/" + id;
  auto build = transition == "delete"
                   ? c.del(path)
                   : c.post(path + "/" + std::string(transition), {{"parameters", params}});
  if (!build) return report(build.error(), g.json);
  if (!wait) {
    if (g.json) {
      print_data(*build);
    } else {
      std::cout << fmt::format("{} build {} queued for {}\n", transition,
                               build->value("build_number", 0), ws.value("full_name", ""));
    }
    return 0;
  }
  return finish_wait(g, wait_settled(c, id, timeout), want);
}

}  // namespace

void add_workspace_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto client = [&g] { return ApiClient(g.resolved_url(), g.resolved_token()); };
  auto* ws =
      app.add_subcommand("workspaces", "Create and manage workspaces")->require_subcommand(1);

  {
    struct Args {
      std::string tmpl, name, preset, org, ttl;
      std::vector<std::string> params;
      WaitArgs w;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = ws->add_subcommand("create", "Create a workspace from a template");
    cmd->add_option("--template", a->tmpl, "Template name or id")->required();
    cmd->add_option("--name", a->name, "Workspace name (default: generated)");
    cmd->add_option("--param", a->params, "Parameter value NAME=VALUE (repeatable)");
    cmd->add_option("--preset", a->preset, "Preset of the template");
    cmd->add_option("--org", a->org, "Organization of the template");
    cmd->add_option("--ttl", a->ttl, "Time to live, e.g. 8h (default: the template's)");
    add_wait_flags(cmd, a->w, false);
    cmd->callback([&, a, client] {
      auto params = parse_params(a->params);
      if (!params) {
        exit_code = report(params.error(), g.json);
        return;
      }
      json body = {{"template", a->tmpl}, {"parameters", *params}};
      if (!a->name.empty()) body["name"] = a->name;
      if (!a->preset.empty()) body["preset"] = a->preset;
      if (!a->org.empty()) body["organization"] = a->org;
      if (!a->ttl.empty()) {
        auto d = parse_duration(a->ttl);
        if (!d) {
          exit_code = report(d.error(), g.json);
          return;
        }
        body["ttl_ms"] = d->count();
      }
      auto timeout = parse_duration(a->w.timeout);
      if (!timeout) {
        exit_code = report(timeout.error(), g.json);
        return;
      }
      auto c = client();
      auto created = c.post("/api/v1/workspaces", body);
      if (!created) {
        exit_code = report(created.error(), g.json);
        return;
      }
      if (!a->w.wait) {
        if (g.json) {
          print_data(*created);
        } else if (created->value("prebuild_claimed", false)) {
          std::cout << fmt::format("workspace {} taken from the prebuilt pool; it is running\n",
                                   created->value("full_name", ""));
        } else {
          std::cout << fmt::format(
              "workspace {} created; building (follow with `berth workspaces logs {} --follow`)\n",
              created->value("full_name", ""), created->value("full_name", ""));
        }
        return;
      }
      exit_code = finish_wait(g, wait_settled(c, created->value("id", ""), *timeout), "ready");
    });
  }

  ws->add_subcommand("list", "List your workspaces")->callback([&, client] {
    auto r = client().get("/api/v1/workspaces");
    if (!r) {
      exit_code = report(r.error(), g.json);
      return;
    }
    if (g.json) {
      print_data(*r);
      return;
    }
    std::cout << fmt::format("{:<32} {:<16} {:<10} {}\n", "WORKSPACE", "TEMPLATE", "STATUS",
                             "AGENTS");
    for (const auto& w : *r) {
      std::cout << fmt::format("{:<32} {:<16} {:<10} {}\n", w.value("full_name", ""),
                               w.value("template_name", ""), w.value("status", ""),
                               agents_summary(w));
    }
  });

  {
    auto ref = std::make_shared<std::string>();
    auto* cmd = ws->add_subcommand("show", "Show a workspace with its latest build and agents");
    cmd->add_option("workspace", *ref, "Workspace name, owner/name or id")->required();
    cmd->callback([&, ref, client] {
      auto r = client().get("/api/v1/workspaces/" + path_segment(*ref));
      if (!r) {
        exit_code = report(r.error(), g.json);
        return;
      }
      g.json ? print_data(*r) : print_workspace(*r);
    });
  }

  // start / stop / restart / delete share a shape: wait for a build already in progress,
  // queue the build, wait for it unless --no-wait.
  struct Transition {
    const char* name;
    const char* help;
  };
  static constexpr Transition kTransitions[] = {
      {"start", "Start a stopped workspace"},
      {"stop", "Stop a workspace (its files are kept)"},
      {"restart", "Stop a workspace, then start it again"},
      {"delete", "Delete a workspace and its files"},
  };
  for (const auto& t : kTransitions) {
    struct Args {
      std::string ref;
      std::vector<std::string> params;
      WaitArgs w;
    };
    auto a = std::make_shared<Args>();
    const std::string_view name = t.name;
    auto* cmd = ws->add_subcommand(t.name, t.help);
    cmd->add_option("workspace", a->ref, "Workspace name, owner/name or id")->required();
    if (name == "start" || name == "restart")
      cmd->add_option("--param", a->params, "Change a mutable parameter NAME=VALUE");
    add_wait_flags(cmd, a->w, true);
    cmd->callback([&, a, name, client] {
      auto c = client();
      auto params = parse_params(a->params);
      auto timeout = parse_duration(a->w.timeout);
      if (!params || !timeout) {
        exit_code = report(!params ? params.error() : timeout.error(), g.json);
        return;
      }
      auto found = c.get("/api/v1/workspaces/" + path_segment(a->ref));
      if (!found) {
        exit_code = report(found.error(), g.json);
        return;
      }
      // The same transition already running: wait for it instead of queueing another.
      if (name != "restart" && build_in_progress(*found) && latest_is(*found, name)) {
        if (!a->w.wait) {
          std::cerr << fmt::format("{} build {} of {} is already in progress\n", name,
                                   (*found)["latest_build"].value("build_number", 0),
                                   found->value("full_name", ""));
          if (g.json) print_data((*found)["latest_build"]);
          return;
        }
        exit_code = finish_wait(g, wait_settled(c, found->value("id", ""), *timeout),
                                name == "start"  ? "ready"
                                : name == "stop" ? "stopped"
                                                 : "deleted");
        return;
      }
      auto settled = settle_first(c, g, *found, *timeout);
      if (!settled) {
        exit_code = report(settled.error(), g.json);
        return;
      }
      if (name != "restart") {
        exit_code = queue_transition(c, g, *settled, name, *params, a->w.wait, *timeout);
        return;
      }
      // restart: stop (unless already stopped) and wait for it, then start.
      bool stopped = latest_is(*settled, "stop") &&
                     (*settled)["latest_build"]["job"].value("status", "") == "succeeded";
      if (!stopped) {
        if (!g.json) std::cerr << "stopping " << settled->value("full_name", "") << "\n";
        auto stop =
            c.post("/api/v1/workspaces/" + settled->value("id", "") + "/stop", json::object());
        if (!stop) {
          exit_code = report(stop.error(), g.json);
          return;
        }
        auto after = wait_settled(c, settled->value("id", ""), *timeout);
        if (!after || (*after)["readiness"].value("phase", "") != "stopped") {
          exit_code = finish_wait(g, after, "stopped");
          return;
        }
        settled = after;
      }
      exit_code = queue_transition(c, g, *settled, "start", *params, a->w.wait, *timeout);
    });
  }

  {
    struct Args {
      std::string ref, agent;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = ws->add_subcommand(
        "agent-token", "Print the command that connects an external agent (makes a new token)");
    cmd->add_option("workspace", a->ref, "Workspace name, owner/name or id")->required();
    cmd->add_option("--agent", a->agent, "The external agent (default: the only one)");
    cmd->callback([&, a, client] {
      auto c = client();
      auto w = c.get("/api/v1/workspaces/" + path_segment(a->ref));
      if (!w) {
        exit_code = report(w.error(), g.json);
        return;
      }
      json body = json::object();
      if (!a->agent.empty()) body["agent"] = a->agent;
      auto minted = c.post("/api/v1/workspaces/" + w->value("id", "") + "/agent-token", body);
      if (!minted) {
        exit_code = report(minted.error(), g.json);
        return;
      }
      if (g.json) {
        print_data(*minted);
        return;
      }
      std::cout << fmt::format(
          "Run this on the host of agent {} (workspace {}):\n\n  {}\n\n"
          "The token is shown only now. Asking again makes a new one and retires this one.\n",
          minted->value("agent_name", ""), w->value("full_name", ""), minted->value("command", ""));
    });
  }

  {
    // Preview URLs: `berth workspaces ports list|expose|unexpose WORKSPACE [PORT]`.
    auto* ports = ws->add_subcommand("ports", "Expose ports of a workspace at preview URLs")
                      ->require_subcommand(1);
    struct Args {
      std::string ref;
      int port = 0;
      bool is_public = false;
    };
    auto a = std::make_shared<Args>();
    // The workspace's REST path, or nullopt after reporting why not.
    auto workspace_path = [&, a](ApiClient& c) -> std::optional<std::string> {
      auto w = c.get("/api/v1/workspaces/" + path_segment(a->ref));
      if (!w) {
        exit_code = report(w.error(), g.json);
        return std::nullopt;
      }
      return "/api/v1/workspaces/" + w->value("id", "");
    };
    auto* list = ports->add_subcommand("list", "List the exposed ports and their URLs");
    list->add_option("workspace", a->ref, "Workspace name, owner/name or id")->required();
    list->callback([&, a, client, workspace_path] {
      auto c = client();
      auto base = workspace_path(c);
      if (!base) return;
      auto got = c.get(*base + "/ports");
      if (!got) {
        exit_code = report(got.error(), g.json);
        return;
      }
      if (g.json) {
        print_data(*got);
        return;
      }
      std::cout << fmt::format("{:<7} {:<8} {}\n", "PORT", "ACCESS", "URL");
      for (const auto& p : (*got)["ports"]) {
        std::cout << fmt::format("{:<7} {:<8} {}\n", p.value("port", 0),
                                 p.value("public", false) ? "public" : "private",
                                 p.value("url", ""));
      }
    });
    auto* expose = ports->add_subcommand(
        "expose", "Expose a port (again: a new private link; earlier ones stop working)");
    expose->add_option("workspace", a->ref, "Workspace name, owner/name or id")->required();
    expose->add_option("port", a->port, "The port a server listens on in the workspace")
        ->required()
        ->check(CLI::Range(1, 65535));
    expose->add_flag("--public", a->is_public, "Anyone with the URL may open it");
    expose->callback([&, a, client, workspace_path] {
      auto c = client();
      auto base = workspace_path(c);
      if (!base) return;
      auto made =
          c.put(*base + "/ports/" + std::to_string(a->port), json{{"public", a->is_public}});
      if (!made) {
        exit_code = report(made.error(), g.json);
        return;
      }
      if (g.json) {
        print_data(*made);
        return;
      }
      std::cout << fmt::format("Port {} is {} at {}\n", a->port,
                               a->is_public ? "public" : "private", made->value("url", ""));
      if (made->contains("link")) {
        std::cout << fmt::format("Open it in a browser with this link (shown only now):\n\n  {}\n",
                                 made->value("link", ""));
      }
    });
    auto* unexpose = ports->add_subcommand("unexpose", "Stop answering at a port's preview URL");
    unexpose->add_option("workspace", a->ref, "Workspace name, owner/name or id")->required();
    unexpose->add_option("port", a->port, "The exposed port")->required();
    unexpose->callback([&, a, client, workspace_path] {
      auto c = client();
      auto base = workspace_path(c);
      if (!base) return;
      auto gone = c.del(*base + "/ports/" + std::to_string(a->port));
      if (!gone) {
        exit_code = report(gone.error(), g.json);
        return;
      }
      if (!g.json) std::cout << fmt::format("Port {} is no longer exposed\n", a->port);
    });
  }

  {
    struct Args {
      std::string ref, build, agent;
      bool follow = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd =
        ws->add_subcommand("logs", "Show the build log of a workspace (or an agent's startup log)");
    cmd->add_option("workspace", a->ref, "Workspace name, owner/name or id")->required();
    cmd->add_option("--build", a->build, "A build id (default: the latest build)");
    cmd->add_option("--agent", a->agent, "Show this agent's startup script output instead");
    cmd->add_flag(
        "-f,--follow", a->follow,
        "Follow the log until the build finishes (or, with --agent, until its start ends)");
    cmd->callback([&, a, client] {
      auto c = client();
      auto w = c.get("/api/v1/workspaces/" + path_segment(a->ref));
      if (!w) {
        exit_code = report(w.error(), g.json);
        return;
      }
      auto print_line = [&](const json& l) {
        if (g.json) {
          std::cout << l.dump() << "\n";
        } else {
          std::cout << fmt::format("{} [{}] {}\n", short_time(l.value("time", "")),
                                   l.value("stage", ""), l.value("output", ""));
        }
        std::cout.flush();
      };
      std::string log_path;
      if (!a->agent.empty()) {
        std::string agent_id;
        for (const auto& ag : w->value("agents", json::array())) {
          if (ag.value("name", "") == a->agent || ag.value("id", "") == a->agent)
            agent_id = ag.value("id", "");
        }
        if (agent_id.empty()) {
          exit_code = report(
              Error::not_found(fmt::format("workspace {} has no agent \"{}\" in its latest build",
                                           w->value("full_name", ""), a->agent)),
              g.json);
          return;
        }
        log_path = "/api/v1/agents/" + agent_id + "/logs";
      } else {
        log_path =
            "/api/v1/builds/" +
            path_segment(a->build.empty() ? (*w)["latest_build"].value("id", "") : a->build) +
            "/logs";
      }
      if (a->follow) {
        // The "end" event carries the build's job (status, error) or the agent (its lifecycle).
        std::string outcome;
        auto s = c.stream(
            log_path + "?follow=true", [&](const std::string& event, const std::string& data) {
              json j = json::parse(data, nullptr, false);
              if (event == "log") print_line(j);
              if (event != "end") return true;
              outcome = j.contains("lifecycle_state") ? j.value("lifecycle_state", "")
                                                      : j.value("status", "");
              const json error = j.value("error", json());
              if (!g.json) {
                std::cout << (j.contains("lifecycle_state") ? "agent " : "build ") << outcome
                          << (error.is_string() ? ": " + error.get<std::string>() : "") << "\n";
              }
              return false;
            });
        if (!s)
          exit_code = report(s.error(), g.json);
        else if (outcome == "failed" || outcome == "start_error" || outcome == "start_timeout")
          exit_code = 1;
        return;
      }
      auto logs = c.get(log_path);
      if (!logs) {
        exit_code = report(logs.error(), g.json);
        return;
      }
      for (const auto& l : *logs) print_line(l);
    });
  }
}

}  // namespace berth::cli
