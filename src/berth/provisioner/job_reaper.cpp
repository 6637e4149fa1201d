// The safety net for jobs: every state that is not final has an owner that moves it on.
#include <spdlog/spdlog.h>

#include "berth/core/clock.hpp"
#include "berth/provisioner/build_metrics.hpp"
#include "berth/provisioner/provisioner.hpp"

namespace berth::provisioner {

int reap_stale_jobs(store::Store& store, events::EventBus& bus, const ProvisionerOptions& options) {
  UnixMillis now = now_ms();
  auto failed = store.fail_stale_jobs({.now = now,
                                       .heartbeat_stale_before = now - options.stale_after.count(),
                                       .worker_prefix = options.worker_prefix,
                                       .live_worker = options.worker_id});
  if (!failed) {
    spdlog::error("reaping stale jobs failed error={}", failed.error().message);
    return 0;
  }
  if (!failed->empty()) record_builds_reaped(failed->size());
  for (const auto& workspace_id : *failed) {
    spdlog::warn("stale build failed workspace_id={}", workspace_id);
    bus.publish(events::topic::workspace(workspace_id));
  }
  return static_cast<int>(failed->size());
}

}  // namespace berth::provisioner
