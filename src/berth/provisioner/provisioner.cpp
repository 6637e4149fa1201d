#include "berth/provisioner/provisioner.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/core/clock.hpp"
#include "berth/core/tags.hpp"
#include "berth/egress/proxy.hpp"
#include "berth/net/scoped_executor.hpp"
#include "berth/provisioner/job_run.hpp"
#include "berth/provisioner/local_coordinator.hpp"
#include "berth/provisioner/sandbox.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::provisioner {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::use_awaitable;

struct Provisioner::State : std::enable_shared_from_this<Provisioner::State> {
  State(asio::any_io_executor ex, std::shared_ptr<Coordinator> c, store::Store* st,
        events::EventBus* b, ProvisionerOptions o)
      : executor(ex),
        coordinator(std::move(c)),
        store(st),
        bus(b),
        options(std::move(o)),
        egress(ex, {.allowed_nets = options.egress_allowed_nets}),
        slot_freed(ex) {}

  asio::any_io_executor executor;
  std::shared_ptr<Coordinator> coordinator;
  store::Store* store;    // the reaper's (inside `berth server` only)
  events::EventBus* bus;  // likewise
  ProvisionerOptions options;
  egress::EgressProxies egress;
  asio::steady_timer slot_freed;  // cancelled when a job ends (the job loop waits on it)
  bool stopped = false;
  int active = 0;

  fs::path workspace_dir(std::string_view id) const {
    return (options.workspaces_dir.empty() ? options.data_dir / "workspaces"
                                           : options.workspaces_dir) /
           std::string(id);
  }

  // Listens again for the workspaces whose sandboxes outlived a restart of this server.
  awaitable<void> reopen_egress();
  // Writes this host's row (at start, and again if it was removed).
  awaitable<void> register_host();

  // Registers, reopens egress proxies, then claims jobs and heartbeats until stopped.
  awaitable<void> run();
  awaitable<void> job_loop();
  awaitable<void> heartbeat_loop();
  awaitable<void> reaper_loop();
  awaitable<void> run_job(store::AcquiredJob job);
};

awaitable<void> Provisioner::State::run_job(store::AcquiredJob job) {
  auto self = shared_from_this();
  JobEnvironment env{.executor = executor,
                     .coordinator = coordinator.get(),
                     .options = &options,
                     .egress = &egress,
                     .workspace_dir = workspace_dir(job.workspace.id)};
  co_await run_build(std::move(env), std::move(job));
}

awaitable<void> Provisioner::State::job_loop() {
  auto self = shared_from_this();
  // How long a failed claim (the server unreachable) waits before the next try.
  constexpr auto kRetry = std::chrono::seconds(1);
  while (!stopped) {
    if (active >= options.max_concurrent_jobs) {
      slot_freed.expires_after(options.poll_fallback);
      boost::system::error_code ec;
      co_await slot_freed.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    const UnixMillis now = now_ms();
    store::JobClaim claim{.worker_id = options.worker_id,
                          .provisioner_id = options.provisioner_id,
                          .now = now,
                          .deadline_at = now + options.build_timeout.count(),
                          .tags = tags_json(options.tags)};
    auto job = co_await coordinator->acquire(std::move(claim), options.poll_fallback);
    if (stopped) break;
    if (!job) {
      spdlog::error("acquire job failed error={}", job.error().message);
      asio::steady_timer pause(executor, kRetry);
      boost::system::error_code ec;
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (!*job) continue;
    ++active;
    // The build logs with the id of the request that queued it (net/scoped_executor.hpp).
    auto request_id = (*job)->job.request_id.empty()
                          ? nullptr
                          : std::make_shared<const std::string>((*job)->job.request_id);
    net::ScopedExecutor scoped(executor, std::move(request_id));
    asio::co_spawn(scoped, run_job(std::move(**job)), [self](std::exception_ptr e) {
      --self->active;
      self->slot_freed.cancel();  // capacity is free again
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("job coroutine failed error={}", ex.what());
        }
      }
    });
  }
}

awaitable<void> Provisioner::State::heartbeat_loop() {
  auto self = shared_from_this();
  asio::steady_timer timer(executor);
  while (!stopped) {
    timer.expires_after(options.heartbeat_interval);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    auto s = co_await coordinator->heartbeat(options.provisioner_id, options.worker_id, active > 0);
    if (!s && s.error().code == ErrorCode::not_found) {
      co_await register_host();
    } else if (!s) {
      spdlog::error("provisioner heartbeat failed error={}", s.error().message);
    }
  }
}

awaitable<void> Provisioner::State::reaper_loop() {
  auto self = shared_from_this();
  asio::steady_timer timer(executor);
  while (!stopped) {
    reap_stale_jobs(*store, *bus, options);
    auto wait = options.heartbeat_interval;
    if (auto next = store->next_job_deadline(); next && *next) {
      auto until = std::chrono::milliseconds(**next - now_ms() + 1);
      wait = std::clamp(until, std::chrono::milliseconds(1), wait);
    }
    timer.expires_after(wait);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

Provisioner::Provisioner(asio::any_io_executor executor, store::Store& store, events::EventBus& bus,
                         ProvisionerOptions options)
    : state_(std::make_shared<State>(executor,
                                     std::make_shared<LocalCoordinator>(executor, store, bus),
                                     &store, &bus, std::move(options))) {}

Provisioner::Provisioner(asio::any_io_executor executor, std::shared_ptr<Coordinator> coordinator,
                         ProvisionerOptions options)
    : state_(std::make_shared<State>(executor, std::move(coordinator), nullptr, nullptr,
                                     std::move(options))) {}

Provisioner::~Provisioner() { stop(); }

void Provisioner::start() {
  auto log_errors = [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::critical("provisioner loop ended error={}", ex.what());
    }
  };
  if (state_->store) asio::co_spawn(state_->executor, state_->reaper_loop(), log_errors);
  if (!state_->options.claim_jobs) return;
  asio::co_spawn(state_->executor, state_->run(), log_errors);
}

awaitable<void> Provisioner::State::run() {
  auto self = shared_from_this();
  co_await register_host();
  co_await reopen_egress();
  asio::co_spawn(executor, heartbeat_loop(), asio::detached);
  co_await job_loop();
}

awaitable<void> Provisioner::State::register_host() {
  const UnixMillis now = now_ms();
  store::ProvisionerHost host{.id = options.provisioner_id,
                              .name = options.name,
                              .kind = options.kind,
                              .worker_id = options.worker_id,
                              .started_at = now,
                              .last_seen_at = now,
                              .tags = tags_json(options.tags)};
  auto s = co_await coordinator->register_host(std::move(host));
  if (!s) spdlog::error("provisioner not registered error={}", s.error().message);
}

void Provisioner::stop() {
  state_->stopped = true;
  state_->slot_freed.cancel();
}

awaitable<void> Provisioner::State::reopen_egress() {
  if (options.egress_dir.empty()) co_return;
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(options.egress_dir, ec)) dirs.push_back(entry);
  for (const auto& dir : dirs) {
    const std::string id = dir.filename().string();
    auto forget = [&](std::string_view why) {
      spdlog::info("egress directory removed workspace_id={} reason={}", id, why);
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    };
    auto found = co_await coordinator->workspace_egress(options.provisioner_id, id);
    if (!found) {
      if (found.error().code == ErrorCode::not_found) {
        forget(found.error().message);
      } else {
        spdlog::error("egress proxy not reopened workspace_id={} error={}", id,
                      found.error().message);
      }
      continue;
    }
    auto spec = templates::from_json(found->template_spec);
    if (!spec) {
      forget(spec.error().message);
      continue;
    }
    std::optional<unsigned> uid;
    if (::geteuid() == 0) uid = sandbox_host_uid(found->sandbox_number);
    if (auto s = egress.open(id, spec->name, dir, spec->sandbox.egress, uid); !s) {
      spdlog::error("egress proxy not reopened workspace_id={} error={}", id, s.error().message);
    }
  }
}

fs::path Provisioner::workspace_dir(std::string_view workspace_id) const {
  return state_->workspace_dir(workspace_id);
}

}  // namespace berth::provisioner
