#include "berth/http/json_mapping.hpp"

#include "berth/core/clock.hpp"

namespace berth::http {

namespace {
json time_or_null(const std::optional<UnixMillis>& t) {
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}
}  // namespace

std::string_view workspace_status(const store::BuildWithJob& latest) {
  return berth::workspace_status(latest.build.transition, latest.job.status());
}

json job_json(const store::ProvisionerJob& j) {
  return {{"id", j.id},
          {"status", to_string(j.status())},
          {"error", j.error ? json(*j.error) : json(nullptr)},
          {"error_code", j.error_code ? json(*j.error_code) : json(nullptr)},
          {"created_at", format_rfc3339(j.created_at)},
          {"started_at", time_or_null(j.started_at)},
          {"completed_at", time_or_null(j.completed_at)}};
}

json build_json(const store::BuildWithJob& b) {
  json params = json::parse(b.build.parameters, nullptr, false);
  if (params.is_discarded()) params = json::object();
  return {{"id", b.build.id},
          {"workspace_id", b.build.workspace_id},
          {"build_number", b.build.build_number},
          {"transition", to_string(b.build.transition)},
          {"template_version_id", b.build.template_version_id},
          {"parameters", params},
          {"preset", b.build.preset.empty() ? json(nullptr) : json(b.build.preset)},
          {"initiator_id", b.build.initiator_id},
          {"reason", b.build.reason},
          {"daily_cost", b.build.daily_cost},
          {"created_at", format_rfc3339(b.build.created_at)},
          {"job", job_json(b.job)}};
}

json agent_json(const store::WorkspaceAgent& a, UnixMillis now,
                std::chrono::milliseconds inactive) {
  return {{"id", a.id},
          {"name", a.name},
          {"status", to_string(a.status(now, inactive))},
          {"lifecycle_state", to_string(a.lifecycle_state)},
          {"display_order", a.display_order},
          {"chat", a.is_chat},
          {"external", a.external},
          {"directory", a.directory},
          {"connection_timeout_seconds", a.connection_timeout_s},
          {"startup_script_timeout_ms", a.startup_script_timeout_ms},
          {"created_at", format_rfc3339(a.created_at)},
          {"first_connected_at", time_or_null(a.first_connected_at)},
          {"last_connected_at", time_or_null(a.last_connected_at)},
          {"disconnected_at", time_or_null(a.disconnected_at)},
          {"started_at", time_or_null(a.started_at)},
          {"ready_at", time_or_null(a.ready_at)}};
}

json workspace_json(const workspaces::WorkspaceView& v, UnixMillis now,
                    std::chrono::milliseconds inactive) {
  const auto& w = v.workspace;
  json agents = json::array();
  for (const auto& a : v.agents) agents.push_back(agent_json(a, now, inactive));
  return {
      {"id", w.id},
      {"name", w.name},
      {"owner_id", w.owner_id},
      {"owner_name", w.owner_name},
      {"full_name", w.owner_name + "/" + w.name},
      {"organization_id", w.organization_id},
      {"template_id", w.template_id},
      {"template_name", w.template_name},
      {"ttl_ms", w.ttl_ms ? json(*w.ttl_ms) : json(nullptr)},
      {"deadline", time_or_null(w.deadline_at)},
      {"prebuild_preset_id", w.prebuild_preset_id ? json(*w.prebuild_preset_id) : json(nullptr)},
      {"provisioner_id", w.provisioner_id ? json(*w.provisioner_id) : json(nullptr)},
      {"status", workspace_status(v.latest)},
      {"created_at", format_rfc3339(w.created_at)},
      {"updated_at", format_rfc3339(w.updated_at)},
      {"latest_build", build_json(v.latest)},
      {"agents", agents}};
}

json readiness_json(const workspaces::Readiness& r, bool timed_out) {
  return {{"phase", to_string(r.phase)},
          {"settled", r.settled},
          {"ready", r.phase == workspaces::Phase::ready},
          {"message", r.message},
          {"timed_out", timed_out}};
}

json template_json(const store::Template& t, const templates::TemplateSpec* spec) {
  json j = {{"id", t.id},
            {"organization_id", t.organization_id},
            {"name", t.name},
            {"display_name", t.display_name},
            {"description", t.description},
            {"isolation", t.isolation},
            {"agents_allowed", t.agents_allowed},
            {"active_version_id", t.active_version_id},
            {"created_at", format_rfc3339(t.created_at)},
            {"updated_at", format_rfc3339(t.updated_at)}};
  if (spec) {
    json full = json::parse(templates::to_json(*spec));
    for (const char* key :
         {"parameters", "presets", "agents", "scripts", "readme", "default_ttl_ms"}) {
      j[key] = full[key];
    }
  }
  return j;
}

json user_json(const store::User& u) {
  return {{"id", u.id},
          {"username", u.username},
          {"email", u.email},
          {"site_admin", u.site_admin},
          {"suspended", u.suspended},
          {"created_at", format_rfc3339(u.created_at)}};
}

json organization_json(const store::Organization& o) {
  return {{"id", o.id},
          {"name", o.name},
          {"display_name", o.display_name},
          {"created_at", format_rfc3339(o.created_at)}};
}

json log_json(const store::LogLine& l) {
  return {{"seq", l.seq},
          {"time", format_rfc3339(l.created_at)},
          {"stage", l.stage},
          {"level", l.level},
          {"output", l.output}};
}

json chat_json(const store::Chat& c) {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", c.id},
          {"organization_id", c.organization_id},
          {"owner_id", c.owner_id},
          {"key", opt(c.key)},
          {"title", c.title},
          {"workspace_id", opt(c.workspace_id)},
          {"build_id", opt(c.build_id)},
          {"agent_id", opt(c.agent_id)},
          {"created_at", format_rfc3339(c.created_at)},
          {"updated_at", format_rfc3339(c.updated_at)}};
}

}  // namespace berth::http
