// `berth provisioner` (a daemon that runs builds and workspaces on its own host for a Berth
// server) and `berth provisioner-keys` (site admins make the keys daemons authenticate with).
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "berth/cli/commands.hpp"
#include "berth/cli/data_dir.hpp"
#include "berth/cli/http_client.hpp"
#include "berth/cli/remote_coordinator.hpp"
#include "berth/core/duration.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/logging.hpp"
#include "berth/core/tags.hpp"
#include "berth/egress/policy.hpp"
#include "berth/http/agent_socket_relay.hpp"
#include "berth/net/tls.hpp"
#include "berth/provisioner/provisioner.hpp"
#include "berth/provisioner/sandbox_layout.hpp"

namespace berth::cli {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using nlohmann::json;

namespace {

struct DaemonOptions {
  std::string key;
  std::string tags;
  std::string data_dir = ".berth-provisioner";
  std::string name;
  std::string build_timeout = "10m";
  std::string heartbeat = "5s";
  int max_jobs = 32;
  bool allow_unisolated = false;
  std::vector<std::string> egress_allow_nets;
  std::string log_format = "text";
};

int run_daemon(const GlobalOptions& g, const DaemonOptions& o) {
  configure_logging(o.log_format == "json" ? LogFormat::json : LogFormat::text, "provisioner");
  const std::string url = g.resolved_url();
  std::string key = o.key;
  if (key.empty()) {
    if (const char* env = std::getenv("BERTH_PROVISIONER_KEY")) key = env;
  }
  if (key.empty()) {
    return report(Error::invalid_argument(
                      "a provisioner daemon needs a key",
                      "a site admin makes one with `berth provisioner-keys create NAME`; pass it "
                      "with --key or BERTH_PROVISIONER_KEY"),
                  false);
  }
  auto tags = parse_tags(o.tags);
  if (!tags) {
    return report(
        Error::invalid_argument("invalid --tags: " + tags.error().message, tags.error().detail),
        false);
  }
  auto build_timeout = parse_duration(o.build_timeout);
  if (!build_timeout) return report(build_timeout.error(), false);
  auto heartbeat = parse_duration(o.heartbeat);
  if (!heartbeat) return report(heartbeat.error(), false);
  if (heartbeat->count() < 100 || o.max_jobs < 1) {
    return report(Error::invalid_argument("--heartbeat must be at least 100ms and --max-jobs at "
                                          "least 1",
                                          "the server fails builds not heard from for its "
                                          "--hung-job-timeout; heartbeat a third as often"),
                  false);
  }
  auto egress_nets = parse_egress_allow_nets(o.egress_allow_nets);
  if (!egress_nets) return report(egress_nets.error(), false);
  // The agent socket relay dials the server as agents would; check the URL now.
  auto tls = net::client_tls_context(net::ca_file_from_environment());
  if (!tls) return report(tls.error(), false);

  auto opened = open_data_dir(o.data_dir, "berth provisioner");
  if (!opened) return report(opened.error(), false);
  const fs::path data = *opened;
  auto provisioner_id = host_identity(data / "provisioner.id");
  if (!provisioner_id) return report(provisioner_id.error(), false);
  const std::string worker_id = *provisioner_id + "/" + new_uuid();
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  const std::string name = o.name.empty() ? std::string(hostname) : o.name;

  // Register before anything else runs: a wrong key, URL or tags stop the daemon here, with
  // the server's own words.
  auto coordinator = std::make_shared<RemoteCoordinator>(url, key, *provisioner_id);
  {
    json params{{"name", name}, {"worker_id", worker_id}, {"tags", *tags}};
    auto registered = coordinator->call_now("register", params);
    if (!registered) return report(registered.error(), false);
    if (auto offered = tags_from_json((*registered)["tags"].dump()); offered) *tags = *offered;
  }

  std::error_code exe_ec;
  fs::path berth_binary = fs::read_symlink("/proc/self/exe", exe_ec);
  fs::path agent_binary = berth_binary.parent_path() / "berth-agent";
  if (!fs::exists(agent_binary, exe_ec)) agent_binary.clear();
  auto layout = provisioner::prepare_sandbox_layout(data, berth_binary, agent_binary);
  if (!layout) return report(layout.error(), false);
  if (!layout->warning.empty()) spdlog::warn("{}", layout->warning);

  asio::io_context io(1);
  http::AgentSocketRelay agent_relay(io.get_executor(), url, *tls);
  if (auto s = agent_relay.listen((layout->run / "agent.sock").string()); !s) {
    return report(s.error(), false);
  }
  provisioner::Provisioner prov(io.get_executor(), coordinator,
                                {.data_dir = data,
                                 .workspaces_dir = layout->workspaces,
                                 .server_url = url,
                                 .berth_binary = layout->berth_binary,
                                 .agent_binary = layout->agent_binary,
                                 .agent_socket_dir = layout->run,
                                 .egress_dir = layout->egress,
                                 .egress_allowed_nets = *egress_nets,
                                 .allow_unisolated = o.allow_unisolated,
                                 .provisioner_id = *provisioner_id,
                                 .name = name,
                                 .kind = "daemon",
                                 .worker_id = worker_id,
                                 .worker_prefix = *provisioner_id + "/",
                                 .tags = *tags,
                                 .claim_jobs = true,
                                 .max_concurrent_jobs = o.max_jobs,
                                 .build_timeout = *build_timeout,
                                 .heartbeat_interval = *heartbeat});
  prov.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("shutting down signal={}", sig);
    prov.stop();
    agent_relay.stop();
    io.stop();
  });
  std::cerr << fmt::format("berth provisioner {} running builds for {} (tags: {}; data in {})\n",
                           name, url, tags->empty() ? std::string("none") : format_tags(*tags),
                           data.string());
  io.run();
  return 0;
}

// The tags of an API answer, as `--tags` is written ("(none)" when there are none).
std::string tags_text(const json& tags) {
  auto parsed = tags_from_json(tags.is_object() ? tags.dump() : std::string("{}"));
  if (!parsed || parsed->empty()) return "(none)";
  return format_tags(*parsed);
}

}  // namespace

void add_provisioner_commands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto o = std::make_shared<DaemonOptions>();
  auto* daemon = app.add_subcommand(
      "provisioner",
      "Run builds and workspaces on this host for a Berth server (a provisioner daemon)");
  daemon->add_option("--key", o->key,
                     "Provisioner key from `berth provisioner-keys create` (default: "
                     "$BERTH_PROVISIONER_KEY)");
  daemon->add_option("--tags", o->tags,
                     "What this host offers, e.g. gpu=a100,zone=eu (a key with tags fixes them)");
  daemon->add_option("--data-dir", o->data_dir, "Where this host's workspaces live")
      ->capture_default_str();
  daemon->add_option("--name", o->name, "Name shown to operators (default: the host name)");
  daemon->add_option("--build-timeout", o->build_timeout, "Longest a build may run")
      ->capture_default_str();
  daemon
      ->add_option("--heartbeat", o->heartbeat,
                   "How often running builds are reported alive (a third of the server's "
                   "--hung-job-timeout or less)")
      ->capture_default_str();
  daemon->add_option("--max-jobs", o->max_jobs, "Builds at once")->capture_default_str();
  daemon
      ->add_option("--log-format", o->log_format,
                   "text (one line per event, key=value) or json (one object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  daemon->add_flag("--allow-unisolated", o->allow_unisolated,
                   "Run templates with isolation process or script (their commands run on this "
                   "host as this daemon's user)");
  daemon->add_option("--egress-allow-net", o->egress_allow_nets,
                     "A private address range sandboxes may reach through the egress proxy");
  daemon->callback([&g, &exit_code, o] { exit_code = run_daemon(g, *o); });

  auto client = [&g] { return ApiClient(g.resolved_url(), g.resolved_token()); };
  auto* keys = app.add_subcommand("provisioner-keys", "Keys of provisioner daemons (site admins)")
                   ->require_subcommand(1);
  {
    auto key_name = std::make_shared<std::string>();
    auto key_tags = std::make_shared<std::string>();
    auto* cmd = keys->add_subcommand("create", "Make a key; it is shown once");
    cmd->add_option("name", *key_name, "Name of the key, e.g. gpu-fleet")->required();
    cmd->add_option("--tags", *key_tags,
                    "Tags its daemons offer, e.g. gpu=a100 (none: daemons choose with --tags)");
    cmd->callback([&g, &exit_code, client, key_name, key_tags] {
      auto tags = parse_tags(*key_tags);
      if (!tags) {
        exit_code = report(
            Error::invalid_argument("invalid --tags: " + tags.error().message, tags.error().detail),
            g.json);
        return;
      }
      auto c = client();
      json body{{"name", *key_name}, {"tags", *tags}};
      exit_code = finish(g, c.post("/api/v1/provisioner-keys", body), [](const json& k) {
        std::cout << fmt::format(
            "provisioner key {} created (tags: {})\n{}\nStart a daemon on another host with:\n"
            "  berth provisioner --url URL --key {}\nThe key is shown only now.\n",
            k.value("name", ""), tags_text(k["tags"]), k.value("key", ""), k.value("key", ""));
      });
    });
  }
  keys->add_subcommand("list", "List the keys (never their secrets)")
      ->callback([&g, &exit_code, client] {
        auto c = client();
        exit_code = finish(g, c.get("/api/v1/provisioner-keys"), [](const json& list) {
          if (list.empty()) std::cout << "no provisioner keys\n";
          for (const auto& k : list) {
            std::cout << fmt::format("{}  tags: {}  created {}\n", k.value("name", ""),
                                     tags_text(k["tags"]), k.value("created_at", ""));
          }
        });
      });
  {
    auto key_name = std::make_shared<std::string>();
    auto* cmd =
        keys->add_subcommand("delete", "Delete a key; its daemons are refused from then on");
    cmd->add_option("name", *key_name, "Name of the key")->required();
    cmd->callback([&g, &exit_code, client, key_name] {
      auto c = client();
      exit_code =
          finish(g, c.del("/api/v1/provisioner-keys/" + path_segment(*key_name)), [&](const json&) {
            std::cout << fmt::format("provisioner key {} deleted\n", *key_name);
          });
    });
  }
  app.add_subcommand("provisioners", "The hosts that run builds (site admins)")
      ->require_subcommand(1)
      ->add_subcommand("list", "List provisioners and when each was last heard from")
      ->callback([&g, &exit_code, client] {
        auto c = client();
        exit_code = finish(g, c.get("/api/v1/provisioners"), [](const json& list) {
          for (const auto& p : list) {
            std::cout << fmt::format("{}  {}  tags: {}  last seen {}\n", p.value("name", ""),
                                     p.value("kind", ""), tags_text(p["tags"]),
                                     p.value("last_seen_at", ""));
          }
        });
      });
}

}  // namespace berth::cli
