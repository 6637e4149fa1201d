#pragma once
// Build metrics, recorded by the server where jobs are claimed and completed
// (LocalCoordinator: the embedded provisioner and every daemon's calls go through it).

#include <cstddef>

#include "berth/core/clock.hpp"
#include "berth/store/model.hpp"

namespace berth::provisioner {

// berth_builds_started_total{transition}; berth_build_queue_seconds (created -> claimed).
void record_build_started(const store::AcquiredJob& job, UnixMillis now);
// berth_builds_completed_total{transition,status}, berth_builds_failed_total{transition,code},
// berth_build_duration_seconds{transition,status} (claimed -> completed) and
// berth_quota_refusals_total{kind="build"} for INSUFFICIENT_QUOTA.
void record_build_finished(const store::BuildWithJob& build);
// berth_builds_reaped_total: running builds failed by the reaper (deadline, lost provisioner).
void record_builds_reaped(std::size_t count);
// berth_quota_refusals_total{kind="prebuild_claim"} and the like, for refusals outside builds.
void record_quota_refusal(const char* kind);

}  // namespace berth::provisioner
