#include "berth/workspaces/prebuild_reconciler.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "berth/core/ids.hpp"
#include "berth/templates/parameters.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::workspaces {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

bool failed(const store::BuildWithJob& b) {
  auto s = b.job.status();
  return s == JobStatus::failed || s == JobStatus::canceled;
}

// A prebuild that counts toward the pool: a start build that has not failed.
bool live(const store::PrebuildWorkspace& pw) {
  return pw.latest.build.transition == Transition::start && !failed(pw.latest);
}

bool ready(const store::PrebuildWorkspace& pw) {
  return live(pw) && pw.latest.job.status() == JobStatus::succeeded && pw.agents_ready;
}

UnixMillis retry_at(const store::PrebuildFailures& f, const PrebuildOptions& o) {
  auto wait = o.backoff;
  for (int i = 1; i < f.consecutive && wait < o.max_backoff; ++i) wait *= 2;
  return f.last_failed_at + std::min(wait, o.max_backoff).count();
}

}  // namespace

struct PrebuildReconciler::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, store::Store& s, events::EventBus& b, PrebuildOptions o)
      : executor(std::move(ex)), store(s), bus(b), options(o) {}

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    auto sub = bus.subscribe(executor, std::string(events::topic::kPrebuilds));
    while (!stopped) {
      std::optional<UnixMillis> next;
      if (holds_lease()) next = reconcile(now_ms());
      auto sleep = options.fallback;
      if (next) {
        sleep = std::clamp(std::chrono::milliseconds(*next - now_ms()),
                           std::chrono::milliseconds(10), sleep);
      }
      const bool woken = co_await sub->wait(sleep);
      if (woken && options.settle.count() > 0) {
        // Let the call that caused the event (a claim) answer first, and take a burst of
        // events (many builds finishing) as one pass.
        asio::steady_timer settle(executor, options.settle);
        boost::system::error_code ec;
        co_await settle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
  }

  // Whether this replica is the one reconciling now (renewing its lease if so).
  bool holds_lease() {
    if (options.lease_holder.empty()) return true;
    const UnixMillis now = now_ms();
    auto held = store.acquire_lease(kPrebuildLease, options.lease_holder, now,
                                    now + options.lease_ttl.count());
    if (!held) {
      spdlog::error("prebuild lease not read error={}", held.error().message);
      return false;
    }
    if (!decided || *held != holding) {
      spdlog::info("prebuild reconciler {} replica_id={}", *held ? "active" : "standing by",
                   options.lease_holder);
    }
    holding = *held;
    decided = true;
    return *held;
  }

  Result<std::string> system_user() {
    if (!system_user_id.empty()) return system_user_id;
    auto u = store.user_by_username(kPrebuildsUser);
    if (!u && u.error().code == ErrorCode::not_found) {
      u = store.create_user(kPrebuildsUser, "", /*site_admin=*/false, /*is_system=*/true);
    }
    if (!u) return u.error();
    if (!u->is_system) {
      return Error::failed_precondition(
          fmt::format("a person's account is named \"{}\", which prebuilds need", kPrebuildsUser),
          "rename that user; prebuilds stay off until then");
    }
    system_user_id = u->id;
    return system_user_id;
  }

  void remove(const store::PrebuildWorkspace& pw, std::string_view why) {
    const auto& b = pw.latest.build;
    auto d = store.create_build(pw.workspace.id, {.template_version_id = b.template_version_id,
                                                  .transition = Transition::delete_,
                                                  .initiator_id = system_user_id,
                                                  .parameters = b.parameters,
                                                  .preset = b.preset,
                                                  .reason = "prebuild"});
    if (!d) {
      spdlog::warn("prebuild not deleted workspace_id={} error={}", pw.workspace.id,
                   d.error().message);
      return;
    }
    spdlog::info("prebuild deleted workspace_id={} preset_id={} reason={}", pw.workspace.id,
                 pw.workspace.prebuild_preset_id.value_or(""), why);
    bus.publish(events::topic::kJobQueued);
    bus.publish(events::topic::workspace(pw.workspace.id));
  }

  void build(const store::PrebuildPreset& p) {
    auto version = store.template_version_by_id(p.preset.template_version_id);
    if (!version) return;
    auto spec = templates::from_json(version->spec);
    if (!spec) return;
    auto values = templates::resolve_parameters(*spec, {.preset = p.preset.name});
    if (!values) {
      spdlog::error("prebuild preset has invalid parameters preset_id={} error={}", p.preset.id,
                    values.error().message);
      return;
    }
    auto created = store.create_workspace({.organization_id = p.organization_id,
                                           .owner_id = system_user_id,
                                           .template_id = p.template_id,
                                           .name = "prebuild-" + random_hex(6),
                                           .prebuild_preset_id = p.preset.id},
                                          {.template_version_id = p.preset.template_version_id,
                                           .transition = Transition::start,
                                           .initiator_id = system_user_id,
                                           .parameters = json(*values).dump(),
                                           .preset = p.preset.name,
                                           .reason = "prebuild"});
    if (!created) {
      spdlog::error("prebuild not created preset_id={} error={}", p.preset.id,
                    created.error().message);
      return;
    }
    spdlog::info("prebuild building workspace_id={} preset_id={} preset={}", created->workspace.id,
                 p.preset.id, p.preset.name);
    bus.publish(events::topic::kJobQueued);
    bus.publish(events::topic::workspace(created->workspace.id));
  }

  std::optional<UnixMillis> reconcile(UnixMillis now) {
    auto system = system_user();
    if (!system) {
      spdlog::error("prebuilds off error={}", system.error().message);
      return std::nullopt;
    }
    auto presets = store.prebuild_presets();
    auto pool = store.prebuild_workspaces(now);
    if (!presets || !pool) {
      spdlog::error("prebuild pool not read error={}",
                    !presets ? presets.error().message : pool.error().message);
      return std::nullopt;
    }
    std::set<std::string> wanted;
    for (const auto& p : *presets) wanted.insert(p.preset.id);
    std::map<std::string, std::vector<const store::PrebuildWorkspace*>> live_by_preset;
    for (const auto& pw : *pool) {
      const std::string preset_id = pw.workspace.prebuild_preset_id.value_or("");
      const auto& latest = pw.latest;
      if (latest.build.transition == Transition::delete_) continue;  // going away
      const bool agent_failed = latest.build.transition == Transition::start &&
                                latest.job.status() == JobStatus::succeeded && pw.agents_failed;
      if ((latest.build.transition == Transition::start && failed(latest)) || agent_failed) {
        std::string error = agent_failed ? "an agent's startup script failed or timed out, or the "
                                           "agent never connected"
                                         : latest.job.error.value_or("the build failed");
        spdlog::warn("prebuild failed preset_id={} workspace_id={} error={}", preset_id,
                     pw.workspace.id, error);
        (void)store.record_prebuild_outcome(preset_id, error, now);
        remove(pw, "failed");
        continue;
      }
      if (job_active(latest.job.status())) {
        if (live(pw)) live_by_preset[preset_id].push_back(&pw);
        continue;
      }
      if (!live(pw)) {
        remove(pw, "stopped");
      } else if (!wanted.contains(preset_id)) {
        remove(pw, "no longer wanted");
      } else {
        live_by_preset[preset_id].push_back(&pw);
      }
    }

    std::optional<UnixMillis> next;
    for (const auto& p : *presets) {
      auto& mine = live_by_preset[p.preset.id];
      const int desired = p.preset.desired_instances;
      auto failures = store.prebuild_failures(p.preset.id);
      if (!failures) continue;
      const bool any_ready =
          std::any_of(mine.begin(), mine.end(), [](auto* pw) { return ready(*pw); });
      if (any_ready && failures->consecutive > 0) {
        (void)store.record_prebuild_outcome(p.preset.id, std::nullopt, now);
        failures = store::PrebuildFailures{};
      }
      int count = static_cast<int>(mine.size());
      // Too many (fewer wanted now): delete ready extras, newest first.
      for (auto it = mine.rbegin(); it != mine.rend() && count > desired; ++it) {
        if (ready(**it)) {
          remove(**it, "more than the preset wants");
          --count;
        }
      }
      int missing = desired - count;
      if (missing <= 0) continue;
      if (failures->consecutive >= options.failure_limit) {
        if (stopped_presets.insert(p.preset.id).second) {
          spdlog::error(
              "prebuilds stopped preset_id={} preset={} failures={} last_error={} (push the "
              "template again to retry)",
              p.preset.id, p.preset.name, failures->consecutive, failures->last_error);
        }
        continue;
      }
      if (failures->consecutive > 0) {
        // After a failure, probe with one build at a time once the backoff has passed.
        const UnixMillis due = retry_at(*failures, options);
        if (now < due) {
          next = next ? std::min(*next, due) : due;
          continue;
        }
        const bool probing = std::any_of(
            mine.begin(), mine.end(), [](auto* pw) { return job_active(pw->latest.job.status()); });
        if (probing) continue;
        missing = 1;
      }
      for (int i = 0; i < missing; ++i) build(p);
    }
    return next;
  }

  asio::any_io_executor executor;
  store::Store& store;
  events::EventBus& bus;
  PrebuildOptions options;
  std::string system_user_id;
  std::set<std::string> stopped_presets;  // logged once
  bool stopped = false;
  bool holding = false;  // this replica held the lease at the last pass
  bool decided = false;  // a pass has read the lease (its first outcome is logged)
};

PrebuildReconciler::PrebuildReconciler(asio::any_io_executor executor, store::Store& store,
                                       events::EventBus& bus, PrebuildOptions options)
    : state_(std::make_shared<State>(std::move(executor), store, bus, options)) {}

PrebuildReconciler::~PrebuildReconciler() { stop(); }

void PrebuildReconciler::start() {
  asio::co_spawn(state_->executor, state_->loop(), asio::detached);
}

void PrebuildReconciler::stop() {
  if (!state_->stopped && state_->holding) {
    // Hand over at once instead of after the lease's time to live.
    if (auto s = state_->store.release_lease(kPrebuildLease, state_->options.lease_holder); !s) {
      spdlog::warn("prebuild lease not released error={}", s.error().message);
    }
    state_->holding = false;
  }
  state_->stopped = true;
  state_->bus.publish(events::topic::kPrebuilds);
}

std::optional<UnixMillis> PrebuildReconciler::reconcile(UnixMillis now) {
  return state_->reconcile(now);
}

Result<PrebuildStatus> prebuild_status(store::Store& store, const store::Preset& preset,
                                       const std::vector<store::PrebuildWorkspace>& pool,
                                       const PrebuildOptions& options, UnixMillis now) {
  PrebuildStatus s{.desired = preset.desired_instances, .state = "ok"};
  for (const auto& pw : pool) {
    if (pw.workspace.prebuild_preset_id != preset.id || !live(pw)) continue;
    if (ready(pw))
      ++s.ready;
    else if (job_active(pw.latest.job.status()))
      ++s.building;
  }
  auto f = store.prebuild_failures(preset.id);
  if (!f) return f.error();
  s.consecutive_failures = f->consecutive;
  s.last_error = f->last_error;
  if (f->consecutive >= options.failure_limit) {
    s.state = "stopped";
  } else if (f->consecutive > 0 && now < retry_at(*f, options)) {
    s.state = "backing_off";
  }
  return s;
}

}  // namespace berth::workspaces
