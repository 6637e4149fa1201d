#pragma once
// PrebuildReconciler: keeps, for every preset with `prebuilds: N` of a template's active
// version, N workspaces built and ready, owned by the system user "prebuilds". A claim
// (WorkspaceService::create with that preset) takes one away; the reconciler builds the
// replacement. Failed prebuilds are deleted and counted per preset: after each failure the
// next attempt waits (backoff doubling from `backoff`), and after `failure_limit` failures in
// a row the preset gets no more builds until its template is pushed again. Prebuilds of
// presets no longer wanted (a new version, fewer instances) are deleted once unclaimed.
//
// Wakes on `prebuilds` events (template pushed, prebuild claimed, build finished) and at
// least every `fallback`. On several replicas sharing a database, one of them at a time
// reconciles: the holder of the "prebuild-reconciler" lease (renewed every pass, taken over
// by another replica once it lapses).

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "berth/core/clock.hpp"
#include "berth/events/bus.hpp"
#include "berth/store/store.hpp"

namespace berth::workspaces {

inline constexpr std::string_view kPrebuildsUser = "prebuilds";

struct PrebuildOptions {
  std::chrono::milliseconds backoff{std::chrono::seconds(30)};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(30)};
  int failure_limit = 3;
  std::chrono::milliseconds fallback{std::chrono::seconds(10)};
  // After an event, wait this long before the pass (coalesces bursts; a claim answers first).
  std::chrono::milliseconds settle{std::chrono::milliseconds(20)};
  // This replica's id: passes run only while it holds the lease. "" = no lease (one server,
  // tests).
  std::string lease_holder;
  // A holder that stops renewing loses the lease after this long.
  std::chrono::milliseconds lease_ttl{std::chrono::seconds(30)};
};

inline constexpr std::string_view kPrebuildLease = "prebuild-reconciler";

// A preset's pool, as read_template and the template API show it.
struct PrebuildStatus {
  int desired = 0;
  int ready = 0;
  int building = 0;
  int consecutive_failures = 0;
  std::string state;  // "ok", "backing_off" or "stopped"
  std::string last_error;
};

class PrebuildReconciler {
 public:
  PrebuildReconciler(boost::asio::any_io_executor executor, store::Store& store,
                     events::EventBus& bus, PrebuildOptions options = {});
  ~PrebuildReconciler();
  PrebuildReconciler(const PrebuildReconciler&) = delete;
  PrebuildReconciler& operator=(const PrebuildReconciler&) = delete;

  void start();
  void stop();

  // One pass over every preset. Returns when the next pass is due at the latest (a backoff
  // ending), or nullopt. (The loop calls this; tests may too.)
  std::optional<UnixMillis> reconcile(UnixMillis now);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// The pool of one preset, for display; `pool` is store.prebuild_workspaces(now), read once
// for all the presets shown.
Result<PrebuildStatus> prebuild_status(store::Store& store, const store::Preset& preset,
                                       const std::vector<store::PrebuildWorkspace>& pool,
                                       const PrebuildOptions& options, UnixMillis now);

}  // namespace berth::workspaces
