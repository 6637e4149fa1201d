#include "berth/provisioner/job_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "berth/core/agent_protocol.hpp"
#include "berth/core/clock.hpp"
#include "berth/core/duration.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/egress/proxy.hpp"
#include "berth/proc/process.hpp"
#include "berth/provisioner/backends.hpp"
#include "berth/provisioner/cgroups.hpp"
#include "berth/templates/parameters.hpp"

namespace berth::provisioner {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::use_awaitable;
using nlohmann::json;
using templates::Isolation;

namespace error_code {
constexpr std::string_view kScriptFailed = "SCRIPT_FAILED";
constexpr std::string_view kInsufficientQuota = "INSUFFICIENT_QUOTA";
constexpr std::string_view kDeadline = "DEADLINE_EXCEEDED";
constexpr std::string_view kSpawnFailed = "SPAWN_FAILED";
constexpr std::string_view kSandboxUnavailable = "SANDBOX_UNAVAILABLE";
constexpr std::string_view kUnisolatedRefused = "UNISOLATED_REFUSED";
constexpr std::string_view kInternal = "INTERNAL";
}  // namespace error_code

namespace {

// The host environment variables scripts and agents keep; everything else (notably any
// BERTH_TOKEN of the server's own shell) stays out of workspaces.
constexpr std::string_view kPassThroughEnv[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL",
                                                "TZ", "SHELL", "TMPDIR", "TERM",
                                                // an https server's private CA (unisolated agents)
                                                "BERTH_CA_FILE"};

// What a job step failed with: the text users read and the code programs match on.
struct StepError {
  std::string message;
  std::string code;
};
using Step = std::optional<StepError>;  // nullopt = success

// The build log's line on what a sandbox may reach.
std::string egress_summary(const egress::Policy& policy) {
  switch (policy.mode) {
    case egress::Mode::none:
      return "none: no network (the template's sandbox.egress can open internet or host names)";
    case egress::Mode::internet:
      return "internet: public addresses through the egress proxy (never loopback, private or "
             "link-local addresses, nor this host)";
    case egress::Mode::allowlist:
      break;
  }
  return egress::describe(policy) + " through the egress proxy";
}

std::string env_token_name(std::string_view agent_name) {
  std::string out = "BERTH_AGENT_TOKEN_";
  for (char c : agent_name)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Whether `pid` is still the agent this workspace started, and not a later process that was
// given the same pid after a restart: a sandbox's bwrap names the workspace directory on its
// command line, and an unisolated agent runs in it.
bool runs_for_workspace(int pid, const fs::path& workspace_dir) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string dir = workspace_dir.string();
  std::replace(cmd.begin(), cmd.end(), '\0', '\n');
  if (cmd.find("\n" + dir + "\n") != std::string::npos) return true;
  std::error_code ec;
  fs::path cwd = fs::read_symlink(fmt::format("/proc/{}/cwd", pid), ec);
  if (ec) return false;
  auto rel = cwd.lexically_relative(workspace_dir);
  return !rel.empty() && *rel.begin() != "..";
}

// Waits for an agent to exit and reaps it, so it never lingers as a zombie. A plain coroutine
// with its arguments by value: GCC 12 destroys the captures of a lambda coroutine spawned from
// inside another coroutine too early (the process object with them).
awaitable<void> reap_agent(std::unique_ptr<proc::Process> process, std::string agent_id) {
  int code = co_await process->wait();
  spdlog::info("agent process exited agent_id={} code={}", agent_id, code);
}

// The token goes to the agent through a pipe it inherits: never in an environment or on a
// command line, where the workspace's own code could read it. Returns the read end.
int token_pipe(const std::string& token) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  bool ok = ::write(fds[1], token.data(), token.size()) == static_cast<ssize_t>(token.size());
  ::close(fds[1]);
  if (!ok) {
    ::close(fds[0]);
    return -1;
  }
  return fds[0];
}

}  // namespace

// Everything one running job needs: its rows, its template, its log, its deadline.
class JobRun {
 public:
  JobRun(JobEnvironment env, store::AcquiredJob job, templates::TemplateSpec spec)
      : s_(std::move(env)),
        job_(std::move(job)),
        spec_(std::move(spec)),
        deadline_(std::chrono::steady_clock::now() + s_.options->build_timeout) {
    ref_ = {job_.job.id, job_.build.id, job_.workspace.id};
    ctx_.isolation = spec_.isolation;
    ctx_.workspace_dir = s_.workspace_dir;
    ctx_.hostname = job_.workspace.name;
    ctx_.berth_binary = s_.options->berth_binary;
    ctx_.agent_binary = s_.options->agent_binary;
    ctx_.agent_socket_dir = s_.options->agent_socket_dir;
    auto params = json::parse(job_.build.parameters, nullptr, false);
    if (params.is_object()) {
      for (auto& [k, v] : params.items()) {
        if (v.is_string()) params_[k] = v.get<std::string>();
      }
    }
  }

  awaitable<Step> run() {
    switch (job_.build.transition) {
      case Transition::start:
        co_return co_await start();
      case Transition::stop:
        co_return co_await stop(/*remove_directory=*/false);
      case Transition::delete_:
        co_return co_await stop(/*remove_directory=*/true);
    }
    co_return std::nullopt;
  }

  // Adds lines to the build log; they are sent at the next flush() (after every chunk of
  // script output, and at the end of each step).
  void log(std::string_view stage, std::string_view level, std::vector<std::string> lines) {
    // Scripts print what they like; the log is JSON for its readers, so it holds UTF-8 only.
    for (auto& l : lines) {
      pending_logs_.push_back({std::string(stage), std::string(level), valid_utf8(l)});
    }
  }

  awaitable<void> flush() {
    if (pending_logs_.empty()) co_return;
    std::vector<store::NewLogLine> rows = std::move(pending_logs_);
    pending_logs_.clear();
    auto st = co_await s_.coordinator->append_logs(ref_, std::move(rows));
    if (!st) {
      spdlog::error("build log not stored job_id={} error={}", job_.job.id, st.error().message);
    }
  }

  const JobRef& ref() const { return ref_; }

 private:
  // Variables every script and agent of this workspace sees.
  proc::Environment workspace_env(bool inside_sandbox) const {
    proc::Environment env;
    auto host = proc::current_environment();
    for (auto key : kPassThroughEnv) {
      if (auto it = host.find(std::string(key)); it != host.end()) env[it->first] = it->second;
    }
    env["BERTH_WORKSPACE_ID"] = job_.workspace.id;
    env["BERTH_WORKSPACE_NAME"] = job_.workspace.name;
    env["BERTH_WORKSPACE_OWNER"] = job_.workspace.owner_name;
    env["BERTH_WORKSPACE_DIR"] =
        inside_sandbox ? std::string(kSandboxHome) : ctx_.workspace_dir.string();
    env["BERTH_TEMPLATE"] = spec_.name;
    env["BERTH_TRANSITION"] = std::string(to_string(job_.build.transition));
    env["BERTH_BUILD_ID"] = job_.build.id;
    for (const auto& [k, v] : params_) env[templates::parameter_env_name(k)] = v;
    if (inside_sandbox) {
      env["HOME"] = std::string(kSandboxHome);
      env["USER"] = env["LOGNAME"] = "berth";
      env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
      if (!ctx_.egress_dir.empty()) add_egress_env(env);
    }
    return env;
  }

  std::chrono::milliseconds remaining() const {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline_ - std::chrono::steady_clock::now()));
  }

  // Runs a template script (start/stop), streaming its output into the build log.
  awaitable<Step> run_script(std::string_view stage, const std::string& script,
                             proc::Environment env) {
    using namespace asio::experimental::awaitable_operators;
    if (script.empty()) co_return std::nullopt;
    log(stage, "info", {fmt::format("running {} script", stage)});
    auto cmd = wrap_command(ctx_, {"/bin/sh", "-e", "-c", script});
    if (!cmd) co_return StepError{cmd.error().message, std::string(error_code::kSpawnFailed)};
    auto child = proc::Process::spawn(s_.executor, cmd->spawn_options(std::move(env)));
    cmd->sandbox.reset();  // the child has its copies of the descriptors
    if (!child) co_return StepError{child.error().message, std::string(error_code::kSpawnFailed)};
    auto& p = **child;
    std::string last_stderr;
    auto pump = [&]() -> awaitable<void> {
      proc::LineSplitter out, err;
      while (auto chunk = co_await p.read_output()) {
        auto lines = (chunk->is_stderr ? err : out).feed(chunk->data);
        if (chunk->is_stderr && !lines.empty()) last_stderr = lines.back();
        log(stage, chunk->is_stderr ? "error" : "info", std::move(lines));
        co_await flush();
      }
      if (auto l = out.flush()) log(stage, "info", {*l});
      if (auto l = err.flush()) {
        last_stderr = *l;
        log(stage, "error", {*l});
      }
      co_await flush();
    };
    asio::steady_timer timer(s_.executor, remaining());
    boost::system::error_code ec;
    auto which = co_await (pump() || timer.async_wait(asio::redirect_error(use_awaitable, ec)));
    if (which.index() == 1) {
      p.signal_group(SIGKILL);
      co_await p.wait();
      std::string msg =
          fmt::format("{} script did not finish within the build timeout ({}) and was killed",
                      stage, format_duration(s_.options->build_timeout));
      log(stage, "error", {msg});
      co_return StepError{msg, std::string(error_code::kDeadline)};
    }
    int code = co_await p.wait();
    if (code != 0) {
      std::string msg = fmt::format("{} script exited with status {}", stage, code);
      if (!last_stderr.empty()) msg += ": " + last_stderr;
      log(stage, "error", {msg});
      co_return StepError{msg, std::string(error_code::kScriptFailed)};
    }
    co_return std::nullopt;
  }

  // A template with a daily cost must fit the owner's quota; the check and the commit of the
  // cost are one transaction, so two builds racing for the last credits cannot both pass.
  awaitable<Step> admit_cost() {
    if (spec_.daily_cost <= 0) co_return std::nullopt;
    const std::int64_t cost = spec_.daily_cost;
    auto d = co_await s_.coordinator->admit_cost(ref_, cost);
    if (!d) co_return StepError{d.error().message, std::string(error_code::kInternal)};
    const auto& u = d->usage;
    if (!d->admitted) {
      std::string msg = fmt::format(
          "insufficient quota: this workspace costs {} credits a day, and {} of the owner's "
          "budget of {} are in use",
          spec_.daily_cost, u.credits_consumed, u.budget.value_or(0));
      log("quota", "error", {msg});
      co_return StepError{msg, std::string(error_code::kInsufficientQuota)};
    }
    log("quota", "info",
        {u.budget ? fmt::format("{} credits a day; {} of {} now in use", spec_.daily_cost,
                                u.credits_consumed + spec_.daily_cost, *u.budget)
                  : fmt::format("{} credits a day; no quota set", spec_.daily_cost)});
    co_return std::nullopt;
  }

  // The workspace directory, and for a sandbox its host uid: on a root server a uid of the
  // workspace's own, which owns the directory (the sandbox is never host root).
  awaitable<Step> prepare_directory() {
    if (spec_.isolation != Isolation::sandbox && !s_.options->allow_unisolated) {
      co_return StepError{
          fmt::format("template {} uses isolation: {}, which runs commands on the server's "
                      "host as the server's user, and this server refuses that; push it with "
                      "isolation: sandbox, or start the server with --allow-unisolated",
                      spec_.name, templates::to_string(spec_.isolation)),
          std::string(error_code::kUnisolatedRefused)};
    }
    if (spec_.isolation == Isolation::sandbox) {
      if (auto ok = sandbox_support(); !ok) {
        co_return StepError{fmt::format("{}; {}", ok.error().message, ok.error().detail),
                            std::string(error_code::kSandboxUnavailable)};
      }
    }
    std::error_code ec;
    fs::create_directories(ctx_.workspace_dir, ec);
    if (ec) {
      co_return StepError{fmt::format("cannot create workspace directory {}: {}",
                                      ctx_.workspace_dir.string(), ec.message()),
                          std::string(error_code::kInternal)};
    }
    ::chmod(ctx_.workspace_dir.c_str(), 0700);  // no other user of the host looks in
    if (spec_.isolation != Isolation::sandbox) co_return std::nullopt;
    const auto& limits = spec_.sandbox.limits;
    ctx_.limits.max_processes = static_cast<std::uint64_t>(limits.processes);
    auto groups = create_workspace_cgroups(job_.workspace.id,
                                           {limits.memory_bytes, limits.processes, limits.cpus});
    if (groups) {
      ctx_.limits.cgroup_procs = *groups;
      limits_note_ =
          fmt::format("limits: {} MiB of memory, {} processes, {:g} CPUs (control groups {})",
                      limits.memory_bytes >> 20, limits.processes, limits.cpus, cgroup_version());
    } else {
      limits_note_ = fmt::format(
          "limits: no control groups here ({}); processes and open files "
          "are limited per sandbox user, memory and CPU are not",
          groups.error().message);
    }
    if (::geteuid() != 0) co_return open_egress();
    auto n = co_await s_.coordinator->sandbox_number(ref_);
    if (!n) co_return StepError{n.error().message, std::string(error_code::kInternal)};
    const unsigned uid = sandbox_host_uid(*n);
    ctx_.host_uid = uid;
    struct stat st {};
    if (::stat(ctx_.workspace_dir.c_str(), &st) == 0 && st.st_uid != uid) {
      // New, or made before sandboxes had uids of their own: hand the whole tree over.
      for (auto it = fs::recursive_directory_iterator(ctx_.workspace_dir, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        (void)::lchown(it->path().c_str(), uid, uid);
      }
      if (::chown(ctx_.workspace_dir.c_str(), uid, uid) != 0) {
        co_return StepError{fmt::format("cannot give {} to the sandbox user {}: {}",
                                        ctx_.workspace_dir.string(), uid, std::strerror(errno)),
                            std::string(error_code::kInternal)};
      }
    }
    ::chmod(ctx_.workspace_dir.c_str(), 0700);
    co_return open_egress();
  }

  // The workspace's egress proxy, which its sandboxes reach through /run/egress.
  Step open_egress() {
    if (s_.options->egress_dir.empty()) return std::nullopt;
    fs::path dir = s_.options->egress_dir / job_.workspace.id;
    auto opened =
        s_.egress->open(job_.workspace.id, spec_.name, dir, spec_.sandbox.egress, ctx_.host_uid);
    if (!opened) return StepError{opened.error().message, std::string(error_code::kInternal)};
    ctx_.egress_dir = dir;
    egress_note_ = fmt::format("egress: {}", egress_summary(spec_.sandbox.egress));
    return std::nullopt;
  }

  awaitable<Step> start() {
    if (auto refused = co_await admit_cost()) co_return refused;
    if (auto failed = co_await prepare_directory()) co_return failed;
    if (!limits_note_.empty()) log("limits", "info", {limits_note_});
    if (!egress_note_.empty()) log("egress", "info", {egress_note_});
    bool sandboxed = spec_.isolation == Isolation::sandbox;

    // Agent rows (and their one-agent tokens) first for `script`, whose start script launches
    // the agents; after a successful start script for the others.
    std::map<std::string, std::string> tokens;
    auto agent_rows = [&]() {
      std::vector<store::NewAgent> rows;
      for (const auto& a : spec_.agents) {
        std::string token = random_hex(32);
        tokens[a.name] = token;
        json env = a.env;
        for (const auto& [k, v] : workspace_env(sandboxed)) {
          if (k.starts_with("BERTH_")) env[k] = v;
        }
        rows.push_back({.name = a.name,
                        .display_order = a.display_order,
                        .is_chat = a.chat,
                        .external = a.external,
                        .directory = a.directory,
                        .startup_script = a.startup_script,
                        .startup_script_timeout_ms = a.startup_script_timeout.count(),
                        .connection_timeout_s = static_cast<int>(a.connection_timeout.count()),
                        .env = env.dump(),
                        .auth_token_hash = sha256_hex(token)});
      }
      return rows;
    };

    if (spec_.isolation == Isolation::script) {
      auto rows = agent_rows();
      auto agents = co_await s_.coordinator->insert_agents(ref_, std::move(rows));
      if (!agents) co_return StepError{agents.error().message, std::string(error_code::kInternal)};
      auto env = workspace_env(false);
      env["BERTH_URL"] = s_.options->server_url;
      env["BERTH_BINARY"] = s_.options->berth_binary.string();
      for (const auto& [name, token] : tokens) env[env_token_name(name)] = token;
      co_return co_await run_script("start", spec_.scripts.start, std::move(env));
    }

    Step started = co_await run_script("start", spec_.scripts.start, workspace_env(sandboxed));
    if (started) co_return started;
    auto rows = agent_rows();
    auto agents = co_await s_.coordinator->insert_agents(ref_, std::move(rows));
    if (!agents) co_return StepError{agents.error().message, std::string(error_code::kInternal)};
    for (const auto& agent : *agents) {
      if (agent.external) {
        log("agents", "info",
            {fmt::format("agent {} is external: get the command to run on its host with "
                         "`berth workspaces agent-token {} --agent {}`",
                         agent.name, job_.workspace.name, agent.name)});
        continue;
      }
      const std::string& token = tokens.at(agent.name);
      if (auto failed = co_await spawn_agent(agent, token)) co_return failed;
    }
    co_return std::nullopt;
  }

  awaitable<Step> spawn_agent(const store::WorkspaceAgent& agent, const std::string& token) {
    CommandContext ctx = ctx_;
    ctx.subdirectory = agent.directory;
    std::error_code ec;
    fs::create_directories(ctx.workspace_dir / agent.directory, ec);
    if (ctx.isolation == Isolation::sandbox && ctx.host_uid) {
      (void)::chown((ctx.workspace_dir / agent.directory).c_str(), *ctx.host_uid, *ctx.host_uid);
    }
    auto cmd = wrap_command(ctx, agent_command(ctx));
    if (!cmd) {
      co_return StepError{fmt::format("cannot start agent {}: {}", agent.name, cmd.error().message),
                          std::string(error_code::kSpawnFailed)};
    }
    proc::Environment env = workspace_env(ctx.isolation == Isolation::sandbox);
    env[std::string(agent_protocol::kUrlEnv)] = agent_url(ctx, s_.options->server_url);
    int token_fd = token_pipe(token);
    if (token_fd < 0) {
      co_return StepError{
          fmt::format("cannot start agent {}: {}", agent.name, std::strerror(errno)),
          std::string(error_code::kSpawnFailed)};
    }
    env[std::string(agent_protocol::kTokenFdEnv)] = std::to_string(token_fd);
    fs::path log_dir = s_.options->data_dir / "logs" / "agents";
    fs::create_directories(log_dir, ec);
    auto options = cmd->spawn_options(std::move(env));
    if (!options.confine) options.confine.emplace();
    options.confine->keep_fds.push_back(token_fd);
    options.output = proc::Output::discard;
    options.output_file = (log_dir / (agent.id + ".log")).string();
    auto child = proc::Process::spawn(s_.executor, options);
    ::close(token_fd);
    cmd->sandbox.reset();
    if (!child) {
      co_return StepError{
          fmt::format("cannot start agent {}: {}", agent.name, child.error().message),
          std::string(error_code::kSpawnFailed)};
    }
    int pid = (*child)->pid();
    auto pid_stored = co_await s_.coordinator->set_agent_pid(ref_, agent.id, pid);
    if (auto& s = pid_stored; !s) {
      spdlog::error("agent pid not stored agent_id={} error={}", agent.id, s.error().message);
    }
    log("agents", "info", {fmt::format("started agent {} (pid {})", agent.name, pid)});
    // Reap the agent when it exits so it never lingers as a zombie.
    asio::co_spawn(s_.executor, reap_agent(std::move(*child), agent.id), asio::detached);
    co_return std::nullopt;
  }

  // Stop (and for delete, remove): end the agents of the last start build, run the stop script.
  awaitable<Step> stop(bool remove_directory) {
    auto agents = co_await s_.coordinator->previous_agents(ref_);
    if (agents) {
      for (const auto& a : *agents) {
        if (a.pid && proc::process_alive(*a.pid) &&
            runs_for_workspace(*a.pid, ctx_.workspace_dir)) {
          log("stop", "info", {fmt::format("stopping agent {} (pid {})", a.name, *a.pid)});
          co_await flush();
          co_await proc::terminate_group(s_.executor, *a.pid, s_.options->agent_stop_grace);
        }
        const std::string agent_id = a.id;
        auto st = co_await s_.coordinator->agent_stopped(ref_, agent_id);
        if (!st)
          spdlog::error("agent not marked off agent_id={} error={}", a.id, st.error().message);
      }
    }
    std::error_code ec;
    if (fs::exists(ctx_.workspace_dir, ec) && !spec_.scripts.stop.empty()) {
      // A sandbox's stop script runs in its sandbox or not at all: never on the host.
      Step ready = co_await prepare_directory();
      if (ready && !remove_directory) co_return ready;
      if (ready) {
        log("stop", "error", {fmt::format("stop script not run: {}", ready->message)});
      } else {
        Step stopped = co_await run_script("stop", spec_.scripts.stop,
                                           workspace_env(spec_.isolation == Isolation::sandbox));
        if (stopped) co_return stopped;
      }
    }
    // Nothing of the workspace runs any more: its control groups go (with any straggler).
    if (spec_.isolation == Isolation::sandbox) remove_workspace_cgroups(job_.workspace.id);
    s_.egress->close(job_.workspace.id);
    if (remove_directory) {
      fs::remove_all(ctx_.workspace_dir, ec);
      if (ec) {
        co_return StepError{
            fmt::format("cannot remove {}: {}", ctx_.workspace_dir.string(), ec.message()),
            std::string(error_code::kInternal)};
      }
      log("delete", "info", {"workspace directory removed"});
    }
    co_return std::nullopt;
  }

  JobEnvironment s_;
  store::AcquiredJob job_;
  JobRef ref_;
  std::vector<store::NewLogLine> pending_logs_;
  templates::TemplateSpec spec_;
  std::chrono::steady_clock::time_point deadline_;
  CommandContext ctx_;
  std::map<std::string, std::string> params_;
  std::string limits_note_;  // what limits this workspace's sandbox gets (for the build log)
  std::string egress_note_;  // what it may reach
};

awaitable<void> run_build(JobEnvironment env, store::AcquiredJob job) {
  const JobRef ref{job.job.id, job.build.id, job.workspace.id};
  spdlog::info("build started job_id={} workspace_id={} transition={}", ref.job_id,
               ref.workspace_id, to_string(job.build.transition));
  Step outcome;
  auto spec = templates::from_json(job.version.spec);
  if (!spec) {
    outcome = StepError{spec.error().message, std::string(error_code::kInternal)};
  } else {
    JobRun run(env, std::move(job), std::move(*spec));
    try {
      outcome = co_await run.run();
    } catch (const std::exception& e) {
      outcome = StepError{fmt::format("provisioner error: {}", e.what()),
                          std::string(error_code::kInternal)};
    }
    if (outcome) run.log("result", "error", {outcome->message});
    co_await run.flush();
  }
  std::optional<std::string> error, code;
  if (outcome) {
    error = outcome->message;
    code = outcome->code;
  }
  auto st = co_await env.coordinator->complete(ref, error, code);
  if (!st) spdlog::error("job not completed job_id={} error={}", ref.job_id, st.error().message);
  spdlog::info("build finished job_id={} status={}{}", ref.job_id, outcome ? "failed" : "succeeded",
               outcome ? " error=" + outcome->message : "");
}

}  // namespace berth::provisioner
