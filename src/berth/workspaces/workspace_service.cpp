#include "berth/workspaces/workspace_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "berth/core/clock.hpp"
#include "berth/core/ids.hpp"

namespace berth::workspaces {

using nlohmann::json;

WorkspaceService::WorkspaceService(store::Store& store, events::EventBus& bus, RandomIndex random)
    : store_(store), bus_(bus), authz_(store), random_(std::move(random)) {}

Result<ResolvedTemplate> WorkspaceService::resolve_template(const Actor& actor,
                                                            std::string_view organization,
                                                            std::string_view ref) {
  if (ref.empty()) {
    return Error::invalid_argument(
               "a template is required",
               "name one with --template; list them with `berth templates list`")
        .with_validation("template", "is required");
  }
  std::optional<store::Template> found;
  if (looks_like_uuid(ref)) {
    auto t = store_.template_by_id(ref);
    if (!t && t.error().code != ErrorCode::not_found) return t.error();
    if (t) found = *t;
  }
  if (!found) {
    std::vector<std::string> orgs;
    if (!organization.empty()) {
      auto org = looks_like_uuid(organization) ? store_.organization_by_id(organization)
                                               : store_.organization_by_name(organization);
      if (!org) return org.error();
      orgs.push_back(org->id);
    } else {
      auto visible = authz_.visible_organizations(actor);
      if (!visible) return visible.error();
      orgs = *visible;
    }
    auto all = store_.list_templates(orgs);
    if (!all) return all.error();
    std::vector<store::Template> matches;
    for (auto& t : *all) {
      if (t.name == ref) matches.push_back(t);
    }
    if (matches.size() > 1) {
      return Error::invalid_argument(
          fmt::format("template name \"{}\" exists in several organizations", ref),
          "pass the organization (--org) or the template id");
    }
    if (!matches.empty()) found = matches.front();
  }
  if (!found) {
    return Error::not_found(fmt::format("template \"{}\" not found", ref),
                            "list the templates you can use with `berth templates list`");
  }
  if (auto s = authz_.can_use_template(actor, *found); !s) return s.error();
  auto version = store_.template_version_by_id(found->active_version_id);
  if (!version) return version.error();
  auto spec = templates::from_json(version->spec);
  if (!spec) return spec.error();
  return ResolvedTemplate{std::move(*found), std::move(*version), std::move(*spec)};
}

Result<WorkspaceView> WorkspaceService::view(const store::Workspace& ws) {
  auto latest = store_.latest_build(ws.id);
  if (!latest) return latest.error();
  WorkspaceView v{ws, std::move(*latest), {}};
  if (v.latest.build.transition == Transition::start) {
    auto agents = store_.agents_for_build(v.latest.build.id);
    if (!agents) return agents.error();
    v.agents = std::move(*agents);
  }
  return v;
}

Result<WorkspaceView> WorkspaceService::create(const Actor& actor,
                                               const CreateWorkspaceRequest& req) {
  if (!req.name.empty()) {
    if (auto why = name_invalid_reason(req.name)) {
      return Error::invalid_argument(
                 fmt::format("invalid workspace name \"{}\": {}", req.name, *why),
                 "use 1-32 letters, digits and single hyphens, or omit the name")
          .with_validation("name", *why);
    }
  }
  if (req.ttl_ms && *req.ttl_ms < 0) {
    return Error::invalid_argument("ttl_ms must not be negative",
                                   "omit it to use the template default")
        .with_validation("ttl_ms", "must not be negative");
  }
  auto tmpl = resolve_template(actor, req.organization, req.template_ref);
  if (!tmpl) return tmpl.error();
  std::optional<std::string> preset = req.preset;
  std::optional<store::Preset> preset_row;
  if (req.preset_id) {
    auto p = store_.preset_by_id(*req.preset_id);
    if (!p && p.error().code != ErrorCode::not_found) return p.error();
    if (!p || p->template_version_id != tmpl->version.id) {
      return Error::invalid_argument(
                 fmt::format("preset {} is not a preset of template {} (version {})",
                             *req.preset_id, tmpl->tmpl.name, tmpl->version.number),
                 "use read_template to list the template's presets and their ids")
          .with_validation("preset_id", "is not a preset of the template's active version");
    }
    preset = p->name;
    preset_row = *p;
  }
  auto values =
      templates::resolve_parameters(tmpl->spec, {.provided = req.parameters, .preset = preset});
  if (!values) return values.error();

  std::optional<std::int64_t> ttl = req.ttl_ms;
  if (!ttl && tmpl->spec.default_ttl) ttl = tmpl->spec.default_ttl->count();
  const std::string parameters = json(*values).dump();
  if (preset && !preset_row) {
    auto all = store_.presets_for_version(tmpl->version.id);
    if (!all) return all.error();
    for (const auto& p : *all) {
      if (p.name == *preset) preset_row = p;
    }
  }
  if (preset_row && preset_row->desired_instances > 0) {
    auto claimed = claim_prebuild(actor, req, *tmpl, *preset_row, parameters, ttl);
    if (!claimed) return claimed.error();
    if (*claimed) return std::move(**claimed);
  }
  store::NewBuild build{.template_version_id = tmpl->version.id,
                        .transition = Transition::start,
                        .initiator_id = actor.user.id,
                        .parameters = parameters,
                        .preset = preset.value_or("")};
  // A generated name may collide; one retry with a fresh suffix (as upstream).
  const int attempts = req.name.empty() ? 2 : 1;
  Result<store::CreatedWorkspace> created = Error::internal("not attempted");
  for (int i = 0; i < attempts; ++i) {
    std::string name =
        req.name.empty() ? generated_workspace_name(tmpl->tmpl.name, random_) : req.name;
    store::NewWorkspace ws{.organization_id = tmpl->tmpl.organization_id,
                           .owner_id = actor.user.id,
                           .template_id = tmpl->tmpl.id,
                           .name = name,
                           .ttl_ms = ttl};
    created = req.chat ? store_.create_workspace_for_chat(
                             req.chat->chat_id, req.chat->expected_workspace_id, ws, build)
                       : store_.create_workspace(ws, build);
    if (created || created.error().code != ErrorCode::already_exists) break;
  }
  if (!created) return created.error();
  spdlog::info("workspace created workspace_id={} name={} owner={} template={} job_id={}",
               created->workspace.id, created->workspace.name, actor.user.username, tmpl->tmpl.name,
               created->job.id);
  bus_.publish(events::topic::kJobQueued);
  bus_.publish(events::topic::workspace(created->workspace.id));
  if (req.chat) bus_.publish(events::topic::chat(req.chat->chat_id));
  return WorkspaceView{
      std::move(created->workspace), {std::move(created->build), std::move(created->job)}, {}};
}

Result<std::optional<WorkspaceView>> WorkspaceService::claim_prebuild(
    const Actor& actor, const CreateWorkspaceRequest& req, const ResolvedTemplate& tmpl,
    const store::Preset& preset, const std::string& parameters, std::optional<std::int64_t> ttl) {
  const int attempts = req.name.empty() ? 2 : 1;
  for (int i = 0; i < attempts; ++i) {
    store::PrebuildClaim claim{
        .preset_id = preset.id,
        .parameters = parameters,
        .owner_id = actor.user.id,
        .name = req.name.empty() ? generated_workspace_name(tmpl.tmpl.name, random_) : req.name,
        .ttl_ms = ttl};
    if (req.chat) {
      claim.chat_id = req.chat->chat_id;
      claim.expected_workspace_id = req.chat->expected_workspace_id;
    }
    auto claimed = store_.claim_prebuild(claim, now_ms());
    if (!claimed && claimed.error().code == ErrorCode::already_exists && i + 1 < attempts) {
      continue;
    }
    if (!claimed) return claimed.error();
    if (!*claimed) return std::optional<WorkspaceView>();
    const std::string id = (*claimed)->id;
    spdlog::info("prebuild claimed workspace_id={} preset_id={} owner={} name={}", id, preset.id,
                 actor.user.username, (*claimed)->name);
    bus_.publish(events::topic::workspace(id));
    bus_.publish(events::topic::workspace_owner(id));
    bus_.publish(events::topic::kPrebuilds);  // build the replacement
    bus_.publish(events::topic::kDeadlines);  // the claim set a deadline
    if (req.chat) bus_.publish(events::topic::chat(req.chat->chat_id));
    auto v = view(**claimed);
    if (!v) return v.error();
    v->prebuild_claimed = true;
    return std::optional<WorkspaceView>(std::move(*v));
  }
  return std::optional<WorkspaceView>();
}

Result<store::Workspace> WorkspaceService::find(const Actor& actor, std::string_view ref,
                                                IncludeDeleted include_deleted) {
  Result<store::Workspace> ws = Error::internal("unset");
  if (looks_like_uuid(ref)) {
    ws = store_.workspace_by_id(ref);
  } else if (auto slash = ref.find('/'); slash != std::string_view::npos) {
    auto owner = store_.user_by_username(ref.substr(0, slash));
    if (!owner) {
      ws = Error::not_found(fmt::format("workspace {} not found", ref));
    } else {
      ws = store_.workspace_by_name(owner->id, ref.substr(slash + 1));
    }
  } else {
    ws = store_.workspace_by_name(actor.user.id, ref);
  }
  const auto not_found = [&] {
    return Error::not_found(fmt::format("workspace {} not found", ref),
                            "list your workspaces with `berth workspaces list`");
  };
  if (!ws) return ws.error().code == ErrorCode::not_found ? not_found() : ws.error();
  if (!authz_.can_access_workspace(actor, *ws)) return not_found();
  // Names are reused after a delete, so only an id reaches a deleted workspace.
  if (ws->deleted && (include_deleted == IncludeDeleted::no || !looks_like_uuid(ref))) {
    return not_found();
  }
  return ws;
}

Result<WorkspaceView> WorkspaceService::get(const Actor& actor, std::string_view ref,
                                            IncludeDeleted include_deleted) {
  auto ws = find(actor, ref, include_deleted);
  if (!ws) return ws.error();
  return view(*ws);
}

Result<WorkspacePage> WorkspaceService::list(const Actor& actor, const WorkspaceQuery& query) {
  auto all = store_.list_workspace_summaries(actor.user.site_admin ? std::nullopt
                                                                   : std::optional(actor.user.id));
  if (!all) return all.error();
  auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string text = lower(query.text);
  WorkspacePage page;
  std::vector<const store::WorkspaceSummary*> wanted;
  for (const auto& s : *all) {
    if (!actor.in_scope(s.organization_id)) continue;
    if (!query.status.empty() && workspace_status(s.transition, s.status) != query.status) continue;
    if (!query.owner.empty() && s.owner_name != query.owner) continue;
    if (!query.template_name.empty() && s.template_name != query.template_name) continue;
    if (!text.empty() && lower(s.owner_name + "/" + s.name).find(text) == std::string::npos)
      continue;
    wanted.push_back(&s);
  }
  page.total = wanted.size();
  const std::size_t from = std::min(query.offset, wanted.size());
  const std::size_t to = query.limit ? std::min(wanted.size(), from + *query.limit) : wanted.size();
  for (std::size_t i = from; i < to; ++i) {
    auto ws = store_.workspace_by_id(wanted[i]->id);
    if (!ws) return ws.error();
    auto v = view(*ws);
    if (!v) return v.error();
    page.items.push_back(std::move(*v));
  }
  return page;
}

Result<store::BuildWithJob> WorkspaceService::new_build(const Actor& actor,
                                                        const store::Workspace& ws,
                                                        Transition transition,
                                                        std::string parameters,
                                                        std::string version_id) {
  auto b = store_.create_build(ws.id, {.template_version_id = std::move(version_id),
                                       .transition = transition,
                                       .initiator_id = actor.user.id,
                                       .parameters = std::move(parameters)});
  if (!b) return b.error();
  spdlog::info("build queued workspace_id={} transition={} build_number={} job_id={}", ws.id,
               to_string(transition), b->build.build_number, b->job.id);
  bus_.publish(events::topic::kJobQueued);
  bus_.publish(events::topic::workspace(ws.id));
  return b;
}

Result<store::BuildWithJob> WorkspaceService::start(const Actor& actor, std::string_view ref,
                                                    const templates::ParameterValues& parameters) {
  auto ws = find(actor, ref);
  if (!ws) return ws.error();
  auto latest = store_.latest_build(ws->id);
  if (!latest) return latest.error();
  auto status = latest->job.status();
  if (latest->build.transition == Transition::start && status == JobStatus::succeeded) {
    return Error::failed_precondition(fmt::format("workspace {} is already running", ws->name),
                                      "stop it first to restart it");
  }
  // Start the template's active version, keeping the previous build's parameter values.
  auto tmpl = store_.template_by_id(ws->template_id);
  if (!tmpl) return tmpl.error();
  auto version = store_.template_version_by_id(tmpl->active_version_id);
  if (!version) return version.error();
  auto spec = templates::from_json(version->spec);
  if (!spec) return spec.error();
  templates::ParameterValues previous;
  json prev = json::parse(latest->build.parameters, nullptr, false);
  if (prev.is_object()) {
    for (auto& [k, v] : prev.items()) {
      if (v.is_string()) previous[k] = v.get<std::string>();
    }
  }
  auto values =
      templates::resolve_parameters(*spec, {.provided = parameters, .previous = previous});
  if (!values) return values.error();
  return new_build(actor, *ws, Transition::start, json(*values).dump(), version->id);
}

Result<store::BuildWithJob> WorkspaceService::stop(const Actor& actor, std::string_view ref) {
  auto ws = find(actor, ref);
  if (!ws) return ws.error();
  auto latest = store_.latest_build(ws->id);
  if (!latest) return latest.error();
  if (latest->build.transition == Transition::stop &&
      latest->job.status() == JobStatus::succeeded) {
    return Error::failed_precondition(fmt::format("workspace {} is already stopped", ws->name),
                                      "start it with `berth workspaces start`");
  }
  return new_build(actor, *ws, Transition::stop, latest->build.parameters,
                   latest->build.template_version_id);
}

Result<store::BuildWithJob> WorkspaceService::remove(const Actor& actor, std::string_view ref) {
  auto ws = find(actor, ref);
  if (!ws) return ws.error();
  auto latest = store_.latest_build(ws->id);
  if (!latest) return latest.error();
  return new_build(actor, *ws, Transition::delete_, latest->build.parameters,
                   latest->build.template_version_id);
}

Result<store::BuildWithJob> WorkspaceService::build(const Actor& actor, std::string_view build_id) {
  auto b = store_.build_by_id(build_id);
  if (!b) return b.error();
  auto ws = store_.workspace_by_id(b->build.workspace_id);
  if (!ws) return ws.error();
  if (!authz_.can_access_workspace(actor, *ws)) {
    return Error::not_found(fmt::format("build {} not found", build_id));
  }
  return b;
}

Result<store::WorkspaceAgent> WorkspaceService::agent(const Actor& actor,
                                                      std::string_view agent_id) {
  auto a = store_.agent_by_id(agent_id);
  if (!a) return a.error();
  auto ws = store_.workspace_by_id(a->workspace_id);
  if (!ws) return ws.error();
  if (!authz_.can_access_workspace(actor, *ws)) {
    return Error::not_found(fmt::format("agent {} not found", agent_id));
  }
  return a;
}

Result<ExternalAgentToken> WorkspaceService::mint_external_agent_token(
    const Actor& actor, std::string_view ref, std::string_view agent_name) {
  auto ws = find(actor, ref);
  if (!ws) return ws.error();
  auto latest = store_.latest_build(ws->id);
  if (!latest) return latest.error();
  const JobStatus status = latest->job.status();
  if (latest->build.transition != Transition::start || status == JobStatus::failed ||
      status == JobStatus::canceled || status == JobStatus::canceling) {
    return Error::failed_precondition(
        fmt::format("workspace {} is not running, so its agents cannot connect", ws->name),
        fmt::format("start it with `berth workspaces start {}`, then ask for the token again",
                    ws->name));
  }
  auto agents = store_.agents_for_build(latest->build.id);
  if (!agents) return agents.error();
  if (agents->empty() && job_active(status)) {
    return Error::failed_precondition(
        fmt::format("workspace {} is still building; its agents do not exist yet", ws->name),
        fmt::format("wait with `berth workspaces logs {} --follow`, then ask for the token again",
                    ws->name));
  }
  std::vector<const store::WorkspaceAgent*> external;
  std::string all_names;
  for (const auto& a : *agents) {
    if (a.external) external.push_back(&a);
    all_names += (all_names.empty() ? "" : ", ") + a.name;
  }
  const store::WorkspaceAgent* chosen = nullptr;
  if (!agent_name.empty()) {
    for (const auto& a : *agents) {
      if (a.name == agent_name || a.id == agent_name) chosen = &a;
    }
    if (!chosen) {
      return Error::not_found(
          fmt::format("workspace {} has no agent \"{}\"", ws->name, agent_name),
          fmt::format("its agents are: {}", all_names.empty() ? "none" : all_names));
    }
    if (!chosen->external) {
      return Error::failed_precondition(
          fmt::format("agent {} of workspace {} is started by Berth, not externally", chosen->name,
                      ws->name),
          "only agents marked `external: true` in the template take a token from you");
    }
  } else if (external.empty()) {
    return Error::failed_precondition(
        fmt::format("workspace {} has no external agents; Berth starts its agents itself",
                    ws->name),
        "an agent token is only needed for agents marked `external: true` in the template");
  } else if (external.size() > 1) {
    std::string names;
    for (const auto* a : external) names += (names.empty() ? "" : ", ") + a->name;
    return Error::invalid_argument(
               fmt::format("workspace {} has several external agents ({})", ws->name, names),
               "name one with --agent NAME")
        .with_validation("agent", "is required when a workspace has several external agents");
  } else {
    chosen = external.front();
  }
  ExternalAgentToken out{.workspace = *ws, .agent = *chosen, .token = random_hex(32)};
  if (auto s = store_.set_agent_token_hash(chosen->id, sha256_hex(out.token)); !s) {
    return s.error();
  }
  return out;
}

}  // namespace berth::workspaces
