#include "berth/provisioner/wire.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "berth/core/logging.hpp"

namespace berth::provisioner::wire {

using nlohmann::json;

namespace {

// Runs `read` (which uses json::at and get), turning any type or key error into
// invalid_argument that names what was being read.
template <class T, class Read>
Result<T> reading(std::string_view what, const json& j, Read read) {
  if (!j.is_object()) return Error::invalid_argument(fmt::format("{} must be an object", what));
  try {
    return read();
  } catch (const json::exception& e) {
    return Error::invalid_argument(fmt::format("malformed {}: {}", what, e.what()));
  }
}

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

// A whole number that fits T. nlohmann converts a float (3.3e53) to an integer with a plain
// cast, which is undefined behaviour past the type's range; the fuzzer found it.
template <class T>
T whole(const json& v, const char* key) {
  if (!v.is_number_integer()) {
    throw json::type_error::create(302, std::string(key) + " must be a whole number", nullptr);
  }
  if (v.is_number_unsigned()
          ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max())
          : (v.get<std::int64_t>() < std::numeric_limits<T>::min() ||
             v.get<std::int64_t>() > std::numeric_limits<T>::max())) {
    throw json::type_error::create(302, std::string(key) + " is out of range", nullptr);
  }
  return static_cast<T>(v.get<std::int64_t>());
}

template <class T>
T whole_at(const json& j, const char* key) {
  return whole<T>(j.at(key), key);
}

template <class T>
std::optional<T> opt_get(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if constexpr (std::is_integral_v<T>) {
    return whole<T>(*it, key);
  } else {
    return it->get<T>();
  }
}

}  // namespace

json to_json(const JobRef& r) {
  return {{"job_id", r.job_id}, {"build_id", r.build_id}, {"workspace_id", r.workspace_id}};
}

Result<JobRef> job_ref(const json& j) {
  return reading<JobRef>("job", j, [&] {
    return JobRef{j.at("job_id").get<std::string>(), j.at("build_id").get<std::string>(),
                  j.at("workspace_id").get<std::string>()};
  });
}

json to_json(const store::AcquiredJob& a) {
  const auto& j = a.job;
  const auto& b = a.build;
  const auto& w = a.workspace;
  const auto& v = a.version;
  return {{"job",
           {{"id", j.id},
            {"organization_id", j.organization_id},
            {"kind", j.kind},
            {"created_at", j.created_at},
            {"started_at", opt(j.started_at)},
            {"worker_id", opt(j.worker_id)},
            {"deadline_at", opt(j.deadline_at)},
            {"request_id", j.request_id}}},
          {"build",
           {{"id", b.id},
            {"workspace_id", b.workspace_id},
            {"template_version_id", b.template_version_id},
            {"build_number", b.build_number},
            {"transition", std::string(to_string(b.transition))},
            {"job_id", b.job_id},
            {"initiator_id", b.initiator_id},
            {"parameters", b.parameters},
            {"preset", b.preset},
            {"created_at", b.created_at},
            {"reason", b.reason},
            {"daily_cost", b.daily_cost}}},
          {"workspace",
           {{"id", w.id},
            {"organization_id", w.organization_id},
            {"owner_id", w.owner_id},
            {"owner_name", w.owner_name},
            {"template_id", w.template_id},
            {"template_name", w.template_name},
            {"name", w.name},
            {"created_at", w.created_at}}},
          {"version",
           {{"id", v.id},
            {"template_id", v.template_id},
            {"number", v.number},
            {"spec", v.spec},
            {"created_at", v.created_at}}}};
}

Result<store::AcquiredJob> acquired_job(const json& in) {
  return reading<store::AcquiredJob>("job", in, [&] {
    store::AcquiredJob a;
    const json& j = in.at("job");
    a.job.id = j.at("id");
    a.job.organization_id = j.at("organization_id");
    a.job.kind = j.at("kind");
    a.job.created_at = whole_at<std::int64_t>(j, "created_at");
    a.job.started_at = opt_get<std::int64_t>(j, "started_at");
    a.job.worker_id = opt_get<std::string>(j, "worker_id");
    a.job.deadline_at = opt_get<std::int64_t>(j, "deadline_at");
    // Only an id the server itself would accept is used in log lines.
    if (auto id = opt_get<std::string>(j, "request_id"); id && valid_request_id(*id))
      a.job.request_id = *id;
    const json& b = in.at("build");
    a.build.id = b.at("id");
    a.build.workspace_id = b.at("workspace_id");
    a.build.template_version_id = b.at("template_version_id");
    a.build.build_number = whole_at<int>(b, "build_number");
    auto transition = parse_transition(b.at("transition").get<std::string>());
    if (!transition) throw json::other_error::create(501, "unknown transition", nullptr);
    a.build.transition = *transition;
    a.build.job_id = b.at("job_id");
    a.build.initiator_id = b.at("initiator_id");
    a.build.parameters = b.at("parameters");
    a.build.preset = b.at("preset");
    a.build.created_at = whole_at<std::int64_t>(b, "created_at");
    a.build.reason = b.at("reason");
    a.build.daily_cost = whole_at<std::int64_t>(b, "daily_cost");
    const json& w = in.at("workspace");
    a.workspace.id = w.at("id");
    a.workspace.organization_id = w.at("organization_id");
    a.workspace.owner_id = w.at("owner_id");
    a.workspace.owner_name = w.at("owner_name");
    a.workspace.template_id = w.at("template_id");
    a.workspace.template_name = w.at("template_name");
    a.workspace.name = w.at("name");
    a.workspace.created_at = whole_at<std::int64_t>(w, "created_at");
    const json& v = in.at("version");
    a.version.id = v.at("id");
    a.version.template_id = v.at("template_id");
    a.version.number = whole_at<int>(v, "number");
    a.version.spec = v.at("spec");
    a.version.created_at = whole_at<std::int64_t>(v, "created_at");
    return a;
  });
}

json to_json(const store::NewAgent& a) {
  return {{"name", a.name},
          {"display_order", a.display_order},
          {"is_chat", a.is_chat},
          {"external", a.external},
          {"directory", a.directory},
          {"startup_script", a.startup_script},
          {"startup_script_timeout_ms", a.startup_script_timeout_ms},
          {"connection_timeout_s", a.connection_timeout_s},
          {"env", a.env},
          {"auth_token_hash", a.auth_token_hash}};
}

Result<store::NewAgent> new_agent(const json& j) {
  return reading<store::NewAgent>("agent", j, [&] {
    return store::NewAgent{
        .name = j.at("name"),
        .display_order = whole_at<int>(j, "display_order"),
        .is_chat = j.at("is_chat"),
        .external = j.at("external"),
        .directory = j.at("directory"),
        .startup_script = j.at("startup_script"),
        .startup_script_timeout_ms = whole_at<std::int64_t>(j, "startup_script_timeout_ms"),
        .connection_timeout_s = whole_at<int>(j, "connection_timeout_s"),
        .env = j.at("env"),
        .auth_token_hash = j.at("auth_token_hash")};
  });
}

json to_json(const store::WorkspaceAgent& a) {
  return {{"id", a.id},
          {"build_id", a.build_id},
          {"workspace_id", a.workspace_id},
          {"name", a.name},
          {"display_order", a.display_order},
          {"is_chat", a.is_chat},
          {"external", a.external},
          {"directory", a.directory},
          {"lifecycle_state", std::string(to_string(a.lifecycle_state))},
          {"pid", opt(a.pid)}};
}

Result<store::WorkspaceAgent> workspace_agent(const json& j) {
  return reading<store::WorkspaceAgent>("agent", j, [&] {
    store::WorkspaceAgent a;
    a.id = j.at("id");
    a.build_id = j.at("build_id");
    a.workspace_id = j.at("workspace_id");
    a.name = j.at("name");
    a.display_order = whole_at<int>(j, "display_order");
    a.is_chat = j.at("is_chat");
    a.external = j.at("external");
    a.directory = j.at("directory");
    a.lifecycle_state = parse_lifecycle(j.at("lifecycle_state").get<std::string>())
                            .value_or(AgentLifecycle::created);
    a.pid = opt_get<int>(j, "pid");
    return a;
  });
}

json to_json(const store::NewLogLine& l) {
  return {{"stage", l.stage}, {"level", l.level}, {"output", l.output}};
}

Result<store::NewLogLine> log_line(const json& j) {
  return reading<store::NewLogLine>("log line", j, [&] {
    return store::NewLogLine{j.at("stage"), j.at("level"), j.at("output")};
  });
}

json to_json(const store::Store::QuotaDecision& d) {
  return {{"admitted", d.admitted},
          {"credits_consumed", d.usage.credits_consumed},
          {"budget", opt(d.usage.budget)}};
}

Result<store::Store::QuotaDecision> quota_decision(const json& j) {
  return reading<store::Store::QuotaDecision>("quota decision", j, [&] {
    store::Store::QuotaDecision d;
    d.admitted = j.at("admitted");
    d.usage.credits_consumed = whole_at<std::int64_t>(j, "credits_consumed");
    d.usage.budget = opt_get<std::int64_t>(j, "budget");
    return d;
  });
}

}  // namespace berth::provisioner::wire
