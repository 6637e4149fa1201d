#pragma once
// The JSON of the provisioner daemon protocol (`POST /api/v1/provisioner/call`): what a
// RemoteCoordinator sends and the server's handler reads, and back. Pure; every reader refuses
// malformed input with invalid_argument naming the field, never by throwing.

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"
#include "berth/provisioner/coordinator.hpp"

namespace berth::provisioner::wire {

nlohmann::json to_json(const JobRef& ref);
Result<JobRef> job_ref(const nlohmann::json& j);

nlohmann::json to_json(const store::AcquiredJob& job);
Result<store::AcquiredJob> acquired_job(const nlohmann::json& j);

nlohmann::json to_json(const store::NewAgent& agent);
Result<store::NewAgent> new_agent(const nlohmann::json& j);

nlohmann::json to_json(const store::WorkspaceAgent& agent);
Result<store::WorkspaceAgent> workspace_agent(const nlohmann::json& j);

nlohmann::json to_json(const store::NewLogLine& line);
Result<store::NewLogLine> log_line(const nlohmann::json& j);

nlohmann::json to_json(const store::Store::QuotaDecision& d);
Result<store::Store::QuotaDecision> quota_decision(const nlohmann::json& j);

// Reads a JSON array with `read` applied to each element.
template <class T, class Read>
Result<std::vector<T>> array_of(const nlohmann::json& j, std::string_view what, Read read) {
  if (!j.is_array()) return Error::invalid_argument(std::string(what) + " must be an array");
  std::vector<T> out;
  out.reserve(j.size());
  for (const auto& e : j) {
    auto v = read(e);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace berth::provisioner::wire
