#pragma once
// WorkspaceService: creates, starts, stops and deletes workspaces. Each action writes the
// workspace's next build and its provisioner job in one transaction, then publishes
// job.queued so a provisioner picks it up at once. Synchronous: every method is a few store
// calls. Owned by the server; thread-safe as the store is.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "berth/core/names.hpp"
#include "berth/core/result.hpp"
#include "berth/events/bus.hpp"
#include "berth/store/store.hpp"
#include "berth/templates/parameters.hpp"
#include "berth/templates/template_spec.hpp"
#include "berth/workspaces/authz.hpp"

namespace berth::workspaces {

// A workspace with what callers usually need next to it.
struct WorkspaceView {
  store::Workspace workspace;
  store::BuildWithJob latest;
  std::vector<store::WorkspaceAgent> agents;  // of the latest build when it is a start build
  bool prebuild_claimed = false;              // create() handed over a prebuilt workspace
};

// Which workspaces a listing wants; empty fields do not filter. Without a limit, all of them.
struct WorkspaceQuery {
  std::string status;  // one of kWorkspaceStatuses (core/status.hpp)
  std::string owner;   // username
  std::string template_name;
  std::string text;  // part of owner/name, any case
  std::optional<std::size_t> limit;
  std::size_t offset = 0;
};

struct WorkspacePage {
  std::vector<WorkspaceView> items;
  std::size_t total = 0;  // how many match, across all pages
};

struct CreateWorkspaceRequest {
  std::string organization;  // name or id; "" = wherever the template is found
  std::string template_ref;  // template name or id
  std::string name;          // "" = generated from the template name
  templates::ParameterValues parameters;
  std::optional<std::string> preset;     // preset name
  std::optional<std::string> preset_id;  // or its id (from read_template)
  std::optional<std::int64_t> ttl_ms;
  // Set by the chat tools: bind this chat to the new workspace in the transaction that
  // creates it, but only while the chat is still bound to `expected_workspace_id` (nullopt =
  // unbound). Another caller who got there first makes create() return failed_precondition
  // "chat binding changed".
  struct ChatClaim {
    std::string chat_id;
    std::optional<std::string> expected_workspace_id;
  };
  std::optional<ChatClaim> chat;
};

// A freshly minted connection token for an external agent. Shown once; only its hash is kept.
struct ExternalAgentToken {
  store::Workspace workspace;
  store::WorkspaceAgent agent;
  std::string token;
};

struct ResolvedTemplate {
  store::Template tmpl;
  store::TemplateVersion version;
  templates::TemplateSpec spec;
};

class WorkspaceService {
 public:
  WorkspaceService(store::Store& store, events::EventBus& bus,
                   RandomIndex random = default_random_index());

  // Returns invalid_argument for a bad name or parameters, not_found for an unknown template,
  // already_exists when the name is taken.
  Result<WorkspaceView> create(const Actor& actor, const CreateWorkspaceRequest& request);
  // `ref` is a workspace id, a name of the actor's, or "owner/name". A deleted workspace is
  // not found unless `include_deleted` (by id only: its name may be reused).
  enum class IncludeDeleted { no, yes };
  Result<WorkspaceView> get(const Actor& actor, std::string_view ref,
                            IncludeDeleted include_deleted = IncludeDeleted::no);
  // The caller's workspaces (everyone's, for site admins) matching `query`, ordered by owner
  // and name: filtered on one summary query, then whole views read for the page only.
  Result<WorkspacePage> list(const Actor& actor, const WorkspaceQuery& query = {});
  // failed_precondition when already running / stopped or a build is in progress.
  Result<store::BuildWithJob> start(const Actor& actor, std::string_view ref,
                                    const templates::ParameterValues& parameters);
  Result<store::BuildWithJob> stop(const Actor& actor, std::string_view ref);
  Result<store::BuildWithJob> remove(const Actor& actor, std::string_view ref);
  // The build, if its workspace is visible to the actor.
  Result<store::BuildWithJob> build(const Actor& actor, std::string_view build_id);
  Result<store::WorkspaceAgent> agent(const Actor& actor, std::string_view agent_id);
  // Mints a new token for an external agent of the workspace's running build (the one named
  // `agent_name`, or the only external one when empty); the agent's previous token stops
  // working. failed_precondition while the workspace is not running or has no such agent.
  Result<ExternalAgentToken> mint_external_agent_token(const Actor& actor, std::string_view ref,
                                                       std::string_view agent_name);

  // A template the actor may use, by id or name (in `organization`, or wherever found).
  Result<ResolvedTemplate> resolve_template(const Actor& actor, std::string_view organization,
                                            std::string_view ref);
  Result<WorkspaceView> view(const store::Workspace& ws);

 private:
  Result<store::Workspace> find(const Actor& actor, std::string_view ref,
                                IncludeDeleted include_deleted = IncludeDeleted::no);
  // A ready prebuild of `preset` with exactly these parameter values, moved to the actor;
  // nullopt when none is ready (or it would not fit the actor's quota).
  Result<std::optional<WorkspaceView>> claim_prebuild(
      const Actor& actor, const CreateWorkspaceRequest& req, const ResolvedTemplate& tmpl,
      const store::Preset& preset, const std::string& parameters, std::optional<std::int64_t> ttl);
  Result<store::BuildWithJob> new_build(const Actor& actor, const store::Workspace& ws,
                                        Transition transition, std::string parameters,
                                        std::string version_id);

  store::Store& store_;
  events::EventBus& bus_;
  Authorizer authz_;
  RandomIndex random_;
};

}  // namespace berth::workspaces
