#include "berth/provisioner/build_metrics.hpp"

#include <string>

#include "berth/core/metrics.hpp"

namespace berth::provisioner {

namespace {

metrics::Registry& reg() { return metrics::registry(); }

std::string transition_of(const store::WorkspaceBuild& b) {
  return std::string(to_string(b.transition));
}

}  // namespace

void record_build_started(const store::AcquiredJob& job, UnixMillis now) {
  static auto& started =
      reg().counter("berth_builds_started_total", "Builds claimed by a provisioner, by transition.",
                    {"transition"});
  static auto& queued = reg().histogram("berth_build_queue_seconds",
                                        "How long builds waited in the queue before a provisioner "
                                        "claimed them.",
                                        {"transition"}, metrics::latency_buckets());
  std::string t = transition_of(job.build);
  started.labels({t}).inc();
  queued.labels({t}).observe(static_cast<double>(now - job.job.created_at) / 1000.0);
}

void record_build_finished(const store::BuildWithJob& b) {
  static auto& completed =
      reg().counter("berth_builds_completed_total",
                    "Builds that ended, by transition and status (succeeded, failed, canceled).",
                    {"transition", "status"});
  static auto& failed =
      reg().counter("berth_builds_failed_total", "Failed builds by transition and error code.",
                    {"transition", "code"});
  static auto& duration =
      reg().histogram("berth_build_duration_seconds",
                      "How long builds ran, from claim to completion, by transition and status.",
                      {"transition", "status"}, metrics::latency_buckets());
  std::string t = transition_of(b.build);
  std::string status(to_string(b.job.status()));
  completed.labels({t, status}).inc();
  if (b.job.status() == JobStatus::failed) {
    std::string code = b.job.error_code.value_or("");
    failed.labels({t, code.empty() ? "UNKNOWN" : code}).inc();
    if (code == "INSUFFICIENT_QUOTA") record_quota_refusal("build");
  }
  if (b.job.started_at && b.job.completed_at) {
    duration.labels({t, status})
        .observe(static_cast<double>(*b.job.completed_at - *b.job.started_at) / 1000.0);
  }
}

void record_builds_reaped(std::size_t count) {
  static auto& reaped = reg().counter(
      "berth_builds_reaped_total",
      "Running builds failed by the reaper: past their deadline, or their provisioner lost.");
  reaped.get().inc(static_cast<double>(count));
}

void record_quota_refusal(const char* kind) {
  static auto& refusals = reg().counter(
      "berth_quota_refusals_total",
      "Requests refused for quota: a start build over budget, or a prebuild claim.", {"kind"});
  refusals.labels({kind}).inc();
}

}  // namespace berth::provisioner
