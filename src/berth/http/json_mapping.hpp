#pragma once
// The REST API's JSON shapes, in one place so every endpoint renders a row the same way.

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include "berth/store/model.hpp"
#include "berth/templates/template_spec.hpp"
#include "berth/workspaces/readiness.hpp"
#include "berth/workspaces/workspace_service.hpp"

namespace berth::http {

using nlohmann::json;

// Workspace status as users read it: pending, starting, running, stopping, stopped, failed,
// deleting, deleted (derived from the latest build and its job).
std::string_view workspace_status(const store::BuildWithJob& latest);

json job_json(const store::ProvisionerJob& job);
json build_json(const store::BuildWithJob& b);
json agent_json(const store::WorkspaceAgent& a, UnixMillis now, std::chrono::milliseconds inactive);
json workspace_json(const workspaces::WorkspaceView& v, UnixMillis now,
                    std::chrono::milliseconds inactive);
json readiness_json(const workspaces::Readiness& r, bool timed_out);
json template_json(const store::Template& t, const templates::TemplateSpec* spec = nullptr);
json user_json(const store::User& u);
json organization_json(const store::Organization& o);
json log_json(const store::LogLine& l);
json chat_json(const store::Chat& c);

}  // namespace berth::http
