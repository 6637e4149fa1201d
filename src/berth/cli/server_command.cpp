// `berth server` (the control plane with its embedded provisioner) and `berth agent`.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "berth/agent/agent_command.hpp"
#include "berth/agentconn/agent_hub.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/cli/commands.hpp"
#include "berth/cli/data_dir.hpp"
#include "berth/cli/server_config.hpp"
#include "berth/core/agent_protocol.hpp"
#include "berth/core/duration.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/logging.hpp"
#include "berth/egress/policy.hpp"
#include "berth/events/bus.hpp"
#include "berth/events/pg_relay.hpp"
#include "berth/http/host_policy.hpp"
#include "berth/http/mcp_sessions.hpp"
#include "berth/http/metrics_handlers.hpp"
#include "berth/http/relay_client.hpp"
#include "berth/http/server.hpp"
#include "berth/mcp/retries.hpp"
#include "berth/mcp/tasks.hpp"
#include "berth/net/tls.hpp"
#include "berth/provisioner/provisioner.hpp"
#include "berth/provisioner/sandbox_layout.hpp"
#include "berth/store/pg/pg_database.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"
#include "berth/templates/parse.hpp"
#include "berth/workspaces/admin_service.hpp"
#include "berth/workspaces/deadline_scheduler.hpp"
#include "berth/workspaces/prebuild_reconciler.hpp"
#include "berth/workspaces/replica_registry.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::cli {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

struct ServerOptions {
  std::string data_dir = ".berth";
  std::string database;  // "" = SQLite in the data directory; postgres://... = PostgreSQL
  std::string listen = "127.0.0.1:7080";
  std::string access_url;
  std::string relay_url;
  std::string tls_cert;
  std::string tls_key;
  bool no_example_templates = false;
  std::string example_templates;
  std::string agent_inactive_timeout = "30s";
  std::string build_timeout = "10m";
  std::string hung_job_timeout = "30s";
  std::string tool_wait_budget = "50s";
  std::string mcp_session_idle = "1h";
  std::string sse_keepalive = "15s";
  std::string prebuild_backoff = "30s";
  int prebuild_failure_limit = 3;
  bool allow_unisolated = false;
  std::vector<std::string> allowed_hosts;
  std::string preview_domain;
  std::vector<std::string> egress_allow_nets;
  std::size_t max_connections_per_client = 256;
  std::size_t max_connections = 4096;
  int provisioners = 1;
  std::string log_format = "text";
};

// The store: SQLite in the data directory, or the PostgreSQL database `database` names.
Result<std::unique_ptr<store::SqliteStore>> open_store(const std::string& database,
                                                       const fs::path& data) {
  if (database.empty()) return store::SqliteStore::open((data / "berth.db").string());
  if (!database.starts_with("postgres://") && !database.starts_with("postgresql://")) {
    return Error::invalid_argument(
        "--database takes a PostgreSQL URL",
        "write postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave it out for SQLite in the "
        "data directory");
  }
  auto db = store::pg::Database::open(database);
  if (!db) return db.error();
  return store::SqliteStore::open(std::unique_ptr<store::sql::Connection>(std::move(*db)));
}

std::map<std::string, std::string> read_template_dir(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (auto name : {templates::kTemplateFile, templates::kReadmeFile}) {
    std::ifstream in(dir / std::string(name));
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    files[std::string(name)] = ss.str();
  }
  return files;
}

fs::path find_examples(const std::string& explicit_dir) {
  if (!explicit_dir.empty()) return explicit_dir;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path candidate : {exe.parent_path().parent_path() / "examples" / "templates",
                             exe.parent_path() / "examples" / "templates",
                             fs::current_path(ec) / "examples" / "templates"}) {
    if (fs::is_directory(candidate, ec)) return candidate;
  }
  return {};
}

int run_server(const ServerOptions& o) {
  // Microseconds: the benchmarks time tool calls against agent reports from this log.
  configure_logging(o.log_format == "json" ? LogFormat::json : LogFormat::text, "server");
  // Every line is written at once: a log redirected to a file would otherwise lose its last
  // lines (the ones that explain a crash) in the C library's buffer.
  spdlog::flush_on(spdlog::level::trace);
  // One descriptor per client and agent connection: take the whole allowance.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  auto inactive = parse_duration(o.agent_inactive_timeout);
  auto build_timeout = parse_duration(o.build_timeout);
  if (!inactive) return report(inactive.error(), false);
  if (!build_timeout) return report(build_timeout.error(), false);
  auto hung_job_timeout = parse_duration(o.hung_job_timeout);
  if (!hung_job_timeout) return report(hung_job_timeout.error(), false);
  if (*hung_job_timeout < std::chrono::seconds(1)) {
    return report(Error::invalid_argument("--hung-job-timeout must be at least 1s",
                                          "e.g. 30s; provisioners heartbeat a third as often"),
                  false);
  }
  auto sse_keepalive = parse_duration(o.sse_keepalive);
  if (!sse_keepalive) return report(sse_keepalive.error(), false);
  if (sse_keepalive->count() < 100) {
    return report(Error::invalid_argument("--sse-keepalive must be at least 100ms", "e.g. 15s"),
                  false);
  }
  auto mcp_session_idle = parse_duration(o.mcp_session_idle);
  if (!mcp_session_idle) return report(mcp_session_idle.error(), false);
  if (mcp_session_idle->count() <= 0) {
    return report(Error::invalid_argument("--mcp-session-idle must be positive", "e.g. 1h"), false);
  }
  auto tool_wait_budget = parse_duration(o.tool_wait_budget);
  if (!tool_wait_budget) return report(tool_wait_budget.error(), false);
  if (tool_wait_budget->count() <= 0) {
    return report(Error::invalid_argument("--tool-wait-budget must be positive",
                                          "e.g. 50s; MCP clients often time out calls at 60s"),
                  false);
  }
  auto prebuild_backoff = parse_duration(o.prebuild_backoff);
  if (!prebuild_backoff) return report(prebuild_backoff.error(), false);
  if (prebuild_backoff->count() <= 0 || o.prebuild_failure_limit < 1) {
    return report(Error::invalid_argument(
                      "--prebuild-backoff must be positive and --prebuild-failure-limit at least 1",
                      "e.g. --prebuild-backoff 30s --prebuild-failure-limit 3"),
                  false);
  }
  auto colon = o.listen.rfind(':');
  if (colon == std::string::npos) {
    return report(Error::invalid_argument(fmt::format("invalid --listen \"{}\"", o.listen),
                                          "use HOST:PORT, e.g. 127.0.0.1:7080"),
                  false);
  }
  std::string host = o.listen.substr(0, colon);
  int port = std::atoi(o.listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) {
    return report(Error::invalid_argument(fmt::format("invalid port in --listen \"{}\"", o.listen)),
                  false);
  }

  auto egress_nets = parse_egress_allow_nets(o.egress_allow_nets);
  if (!egress_nets) return report(egress_nets.error(), false);

  auto opened = open_data_dir(o.data_dir, "berth server");
  if (!opened) return report(opened.error(), false);
  const fs::path data = *opened;
  // The data directory's secrets are the server's alone, from the moment they exist: the
  // database is 0600 before SQLite opens it (its -wal and -shm files take the same mode).
  std::error_code ec;
  for (const char* name : {"berth.db", "berth.db-wal", "berth.db-shm", "admin.token"}) {
    const fs::path file = data / name;
    if (std::string_view(name) == "berth.db" && o.database.empty()) {
      int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (fd >= 0) ::close(fd);
    }
    if (fs::exists(file, ec)) ::chmod(file.c_str(), 0600);
  }
  auto store = open_store(o.database, data);
  if (!store) return report(store.error(), false);

  // The bus outlives the io_context: coroutine frames still queued when it is destroyed hold
  // subscriptions that unsubscribe from the bus.
  events::EventBus bus;
  asio::io_context io(1);
  // On PostgreSQL, other processes may share the database: events travel between them.
  std::unique_ptr<events::PgRelay> relay;
  if (!o.database.empty()) {
    auto started = events::PgRelay::start(io.get_executor(), o.database, bus);
    if (!started) return report(started.error(), false);
    relay = std::move(*started);
  }
  workspaces::WorkspaceService workspace_service(**store, bus);
  workspaces::AdminService admin(**store, o.allow_unisolated);
  // This process's id among the replicas sharing the database (one per start).
  const std::string instance = new_uuid();
  agentconn::AgentHub hub(io.get_executor(), **store, bus,
                          {.inactive_timeout = *inactive, .replica_id = instance});
  http::RelayClient relay_client(io.get_executor());
  hub.set_relay(&relay_client);
  chattools::TemplateToolsOptions tool_options{.store = store->get(), .admin = &admin};
  workspaces::PortExposure ports(**store);
  chattools::WorkspaceToolsOptions workspace_tools{.store = store->get(),
                                                   .workspaces = &workspace_service,
                                                   .bus = &bus,
                                                   .agents = &hub,
                                                   .ports = &ports,
                                                   .executor = io.get_executor()};
  workspace_tools.limits.call_budget = *tool_wait_budget;
  mcp::McpServer mcp_server({chattools::make_list_templates_tool(tool_options),
                             chattools::make_read_template_tool(tool_options),
                             chattools::make_create_workspace_tool(workspace_tools),
                             chattools::make_start_workspace_tool(workspace_tools),
                             chattools::make_stop_workspace_tool(workspace_tools),
                             chattools::make_wait_for_workspace_tool(workspace_tools),
                             chattools::make_execute_tool(workspace_tools),
                             chattools::make_process_output_tool(workspace_tools),
                             chattools::make_process_signal_tool(workspace_tools),
                             chattools::make_read_file_tool(workspace_tools),
                             chattools::make_write_file_tool(workspace_tools),
                             chattools::make_edit_file_tool(workspace_tools),
                             chattools::make_expose_port_tool(workspace_tools)},
                            &bus);
  // 2026-07-28 clients that declare the Tasks extension poll long calls as durable tasks.
  mcp::TaskRunner tasks(
      {.store = store->get(),
       .bus = &bus,
       .executor = io.get_executor(),
       .runner = instance,
       .actor_for_token =
           [&admin](std::string_view token_id) { return admin.actor_for_token_id(token_id); }},
      mcp_server.tools());
  mcp_server.set_tasks(&tasks);
  mcp::CallRetries retries(**store);
  mcp_server.set_retries(&retries);
  http::McpSessions mcp_sessions(**store);
  workspaces::ChatService chats(**store);
  const bool loopback = host == "localhost" || http::is_loopback_name(host) || host == "::1";
  http::App app{io.get_executor(), **store,      bus, workspace_service, admin, hub, {}, &chats,
                &mcp_server,       &mcp_sessions};
  app.options.hosts.loopback_only = loopback;
  app.options.bootstrap_token_file = data / "admin.token";
  app.options.max_connections = o.max_connections;
  app.options.sse_keepalive = *sse_keepalive;
  app.options.max_connections_per_client = o.max_connections_per_client;
  app.options.relay_secret = random_hex(32);
  app.ports = &ports;
  if (!o.preview_domain.empty()) {
    std::string domain = http::host_name(o.preview_domain);
    while (domain.starts_with("*.") || domain.starts_with("."))
      domain.erase(0, domain.find('.') + 1);
    if (domain.empty() || (domain.find('.') == std::string::npos && domain != "localhost")) {
      return report(Error::invalid_argument(
                        fmt::format("--preview-domain {:?} is not a domain name", o.preview_domain),
                        "pass the wildcard DNS name's domain, e.g. preview.example.com for "
                        "*.preview.example.com"),
                    false);
    }
    app.options.preview_domain = domain;
  }
  for (const auto& h : o.allowed_hosts) app.options.hosts.allowed.push_back(http::host_name(h));
  // A server reachable from other machines, told no names: any Host, same-origin browsers.
  if (!loopback && o.allowed_hosts.empty()) app.options.hosts.allowed.push_back("*");
  auto server = http::HttpServer::listen(app, host, static_cast<std::uint16_t>(port));
  if (!server) return report(server.error(), false);
  const auto metric_collectors = http::add_metric_collectors(app);
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return report(Error::invalid_argument("--tls-cert and --tls-key go together",
                                          "pass both PEM files, or neither to serve plain HTTP"),
                  false);
  }
  const bool tls = !o.tls_cert.empty();
  app.options.tls = tls;
  if (tls) {
    if (auto s = (*server)->enable_tls(o.tls_cert, o.tls_key); !s) return report(s.error(), false);
  }
  // Replicas relay over https to a TLS replica: its certificate is checked like any client.
  auto relay_tls = net::client_tls_context(net::ca_file_from_environment());
  if (!relay_tls) return report(relay_tls.error(), false);
  relay_client.set_tls(*relay_tls);
  // Sandboxed agents have no network: they dial the agent socket, whose directory is bound
  // into each sandbox. Sandboxes run as other users: their files must be reachable by path.
  std::error_code exe_ec;
  fs::path berth_binary = fs::read_symlink("/proc/self/exe", exe_ec);
  fs::path agent_binary = berth_binary.parent_path() / "berth-agent";
  if (!fs::exists(agent_binary, exe_ec)) agent_binary.clear();
  auto layout = provisioner::prepare_sandbox_layout(data, berth_binary, agent_binary);
  if (!layout) return report(layout.error(), false);
  if (!layout->warning.empty()) spdlog::warn("{}", layout->warning);
  const fs::path agent_socket_dir = layout->run;
  if (auto s = (*server)->listen_agent_socket((agent_socket_dir / "agent.sock").string()); !s) {
    return report(s.error(), false);
  }
  const char* scheme = tls ? "https" : "http";
  std::string url = o.access_url.empty()
                        ? fmt::format("{}://{}:{}", scheme, host == "0.0.0.0" ? "127.0.0.1" : host,
                                      (*server)->port())
                        : o.access_url;
  app.options.access_url = url;  // before io.run(): no request has been read yet
  ports.configure({.access_url = url, .domain = app.options.preview_domain});
  // Other replicas relay agent calls to this address: this process, not a load balancer.
  std::string relay_url =
      o.relay_url.empty()
          ? fmt::format("{}://{}:{}", scheme,
                        host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host, (*server)->port())
          : o.relay_url;
  for (const auto& u : {url, relay_url}) {
    if (auto at = u.find("://"); at != std::string::npos) {
      app.options.hosts.allowed.push_back(
          http::host_name(u.substr(at + 3, u.find('/', at + 3) - at - 3)));
    }
  }

  // Examples are loaded into a new database only (not by each replica joining one).
  const bool first_start = !(*store)->user_by_username(workspaces::kAdminUser).has_value();
  auto actor = admin.bootstrap(data / "admin.token");
  if (!actor) return report(actor.error(), false);
  if (first_start && !o.no_example_templates) {
    fs::path examples = find_examples(o.example_templates);
    if (examples.empty()) {
      spdlog::warn("example templates not found; pass --example-templates DIR");
    } else {
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::directory_iterator(examples, ec)) {
        if (entry.is_directory()) dirs.push_back(entry.path());
      }
      std::sort(dirs.begin(), dirs.end());
      for (const auto& dir : dirs) {
        auto pushed = admin.push_template(*actor, "", read_template_dir(dir));
        if (!pushed) {
          spdlog::error("example template not loaded dir={} error={}", dir.string(),
                        pushed.error().message);
        } else {
          spdlog::info("example template loaded name={}", pushed->tmpl.name);
        }
      }
    }
  }

  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  auto provisioner_id = host_identity(data / "provisioner.id");
  if (!provisioner_id) return report(provisioner_id.error(), false);
  provisioner::Provisioner prov(io.get_executor(), **store, bus,
                                {.data_dir = data,
                                 .workspaces_dir = layout->workspaces,
                                 .server_url = url,
                                 .berth_binary = layout->berth_binary,
                                 .agent_binary = layout->agent_binary,
                                 .agent_socket_dir = agent_socket_dir,
                                 .egress_dir = layout->egress,
                                 .egress_allowed_nets = *egress_nets,
                                 .allow_unisolated = o.allow_unisolated,
                                 .provisioner_id = *provisioner_id,
                                 .name = fmt::format("{} {}", hostname, data.string()),
                                 .kind = "embedded",
                                 .worker_id = *provisioner_id + "/" + instance,
                                 .worker_prefix = *provisioner_id + "/",
                                 .claim_jobs = o.provisioners > 0,
                                 .build_timeout = *build_timeout,
                                 .heartbeat_interval = std::min<std::chrono::milliseconds>(
                                     std::chrono::seconds(5), *hung_job_timeout / 3),
                                 .stale_after = *hung_job_timeout});
  workspaces::DeadlineScheduler deadlines(io.get_executor(), **store, bus);
  app.options.prebuilds = {.backoff = *prebuild_backoff, .failure_limit = o.prebuild_failure_limit};
  workspaces::PrebuildOptions reconciler_options = app.options.prebuilds;
  reconciler_options.lease_holder = instance;  // one replica at a time builds prebuilds
  workspaces::PrebuildReconciler prebuilds(io.get_executor(), **store, bus, reconciler_options);
  workspaces::ReplicaRegistry replica(io.get_executor(), **store,
                                      {.id = instance,
                                       .hostname = hostname,
                                       .data_dir = data.string(),
                                       .relay_url = relay_url,
                                       .relay_secret = app.options.relay_secret});
  if (auto s = replica.start(); !s) return report(s.error(), false);
  (*server)->start();
  prov.start();
  deadlines.start();
  prebuilds.start();
  // After the provisioner: its first sweep fails the builds a killed server left running, so
  // a task taken over from that server sees them failed.
  tasks.start_background();
  // MCP sessions of clients that went away without DELETE end after --mcp-session-idle.
  asio::steady_timer session_sweep(io);
  std::function<void()> sweep = [&] {
    session_sweep.expires_after(
        std::min<std::chrono::milliseconds>(*mcp_session_idle, std::chrono::minutes(1)));
    session_sweep.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto n = mcp_sessions.expire_idle(*mcp_session_idle))
        spdlog::info("idle MCP sessions ended count={}", n);
      sweep();
    });
  };
  sweep();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("shutting down signal={}", sig);
    prov.stop();
    deadlines.stop();
    prebuilds.stop();
    tasks.stop();
    replica.stop();
    session_sweep.cancel();
    (*server)->stop();
    io.stop();
  });
  // Scripts and tests find the server here (useful with --listen 127.0.0.1:0).
  {
    std::ofstream(data / "server.url.tmp") << url << "\n";
    fs::rename(data / "server.url.tmp", data / "server.url", ec);
  }
  std::cerr << fmt::format("berth server listening on {} (data in {}; admin token in {})\n", url,
                           data.string(), (data / "admin.token").string());
  io.run();
  return 0;
}

}  // namespace

void add_server_commands(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto server_options = std::make_shared<ServerOptions>();
  auto* server = app.add_subcommand(
      "server", "Run the Berth server with its embedded database and provisioner");
  server
      ->add_option("--data-dir", server_options->data_dir, "Where the database and workspaces live")
      ->capture_default_str();
  server
      ->add_option("--database", server_options->database,
                   "A PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE) instead of "
                   "SQLite in the data directory")
      ->envname("BERTH_DATABASE_URL");
  server->add_option("--listen", server_options->listen, "HOST:PORT to serve HTTP on")
      ->capture_default_str();
  server->add_option("--access-url", server_options->access_url,
                     "URL agents use to reach this server (default: from --listen)");
  server->add_option("--tls-cert", server_options->tls_cert,
                     "PEM certificate (and chain): serve HTTPS instead of HTTP");
  server->add_option("--tls-key", server_options->tls_key, "PEM private key of --tls-cert");
  server->add_option("--relay-url", server_options->relay_url,
                     "URL other replicas on the same database reach this server at, to relay "
                     "calls for agents connected here (default: from --listen)");
  server->add_flag("--no-example-templates", server_options->no_example_templates,
                   "Do not load examples/templates on first start");
  server->add_option("--example-templates", server_options->example_templates,
                     "Directory of example templates to load on first start");
  server
      ->add_option("--agent-inactive-timeout", server_options->agent_inactive_timeout,
                   "An agent not heard from for this long reads as disconnected")
      ->capture_default_str();
  server
      ->add_option("--build-timeout", server_options->build_timeout,
                   "A build running longer is failed")
      ->capture_default_str();
  server
      ->add_option("--hung-job-timeout", server_options->hung_job_timeout,
                   "A build whose provisioner has not been heard from for this long is failed; "
                   "so is a waiting build of a workspace whose provisioner host is offline")
      ->capture_default_str();
  server
      ->add_option("--tool-wait-budget", server_options->tool_wait_budget,
                   "How long one MCP tool call may wait before answering in_progress")
      ->capture_default_str();
  server
      ->add_option("--sse-keepalive", server_options->sse_keepalive,
                   "A streamed MCP answer silent this long gets a keep-alive comment")
      ->capture_default_str();
  server
      ->add_option("--mcp-session-idle", server_options->mcp_session_idle,
                   "An MCP session unused this long ends (its chat stays)")
      ->capture_default_str();
  server
      ->add_option("--prebuild-backoff", server_options->prebuild_backoff,
                   "After a prebuild fails, wait this long (doubling) before the next")
      ->capture_default_str();
  server
      ->add_option("--prebuild-failure-limit", server_options->prebuild_failure_limit,
                   "Stop building a preset's prebuilds after this many failures in a row")
      ->capture_default_str();
  server->add_option("--preview-domain", server_options->preview_domain,
                     "Serve exposed ports at <port>--<workspace>--<owner>.DOMAIN (a wildcard DNS "
                     "name pointing here) instead of /@<owner>/<workspace>/ports/<port>/");
  server
      ->add_option("--allowed-hosts", server_options->allowed_hosts,
                   "Host names clients may use to reach this server (comma-separated); the "
                   "access URL's host and, on loopback, localhost are always allowed")
      ->delimiter(',');
  server
      ->add_option("--max-connections", server_options->max_connections,
                   "Connections served at once; more are closed at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  server
      ->add_option("--max-connections-per-client", server_options->max_connections_per_client,
                   "Connections served at once from one client address")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  server
      ->add_option("--egress-allow-net", server_options->egress_allow_nets,
                   "Private address ranges sandboxes may reach through the egress proxy when "
                   "their template's policy allows the name (an internal package mirror); "
                   "comma-separated, e.g. 10.20.0.0/16")
      ->delimiter(',');
  server
      ->add_option("--provisioners", server_options->provisioners,
                   "Embedded provisioners: 1 runs builds and workspaces on this host, 0 runs "
                   "none (a replica that only serves, with `berth provisioner` hosts or other "
                   "replicas doing the builds)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1));
  server
      ->add_option("--log-format", server_options->log_format,
                   "text (one line per event, key=value) or json (one object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  server->add_flag("--allow-unisolated", server_options->allow_unisolated,
                   "Let site admins push templates with isolation process or script, which run "
                   "commands on this host as the server's user (single-user development only)");
  // Flags, then the environment (BERTH_<FLAG>), then --config's file, then the defaults.
  struct ConfigArgs {
    std::string file;
    bool print = false;
  };
  auto config = std::make_shared<ConfigArgs>();
  server
      ->add_option("--config", config->file,
                   "A file of settings (KEY = VALUE, keys are these flags without dashes); flags "
                   "and BERTH_<FLAG> environment variables win over it")
      ->envname("BERTH_SERVER_CONFIG");
  server->add_flag("--print-config", config->print,
                   "Print the effective settings as a config file, with where each came from, "
                   "and exit");
  const std::vector<std::string> not_settings = {"help", "config", "print-config"};
  add_environment_names(*server, not_settings);
  server->callback([server, server_options, config, not_settings, &exit_code] {
    std::vector<std::string> from_file;
    if (!config->file.empty()) {
      std::vector<std::size_t> counts_before;
      auto options = server->get_options([](CLI::Option*) { return true; });
      for (auto* o : options) counts_before.push_back(o->count());
      if (auto applied = apply_server_config(*server, config->file); !applied) {
        exit_code = report(applied.error(), false);
        return;
      }
      for (std::size_t i = 0; i < options.size(); ++i) {
        if (options[i]->count() != counts_before[i] && !options[i]->get_lnames().empty())
          from_file.push_back(options[i]->get_lnames()[0]);
      }
    }
    if (config->print) {
      std::cout << effective_server_config(*server, not_settings, from_file);
      exit_code = 0;
      return;
    }
    exit_code = run_server(*server_options);
  });

  auto* agent = app.add_subcommand(
      "agent", "Run a workspace agent (started by Berth, or by hand for external agents)");
  agent->callback(
      [&global, &exit_code] { exit_code = agent::run_agent_command(global.url, global.token); });
}

}  // namespace berth::cli
