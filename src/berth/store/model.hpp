#pragma once
// Rows of the store, as plain structs. No behaviour beyond derived status helpers.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/core/clock.hpp"
#include "berth/core/status.hpp"

namespace berth::store {

struct Organization {
  std::string id;
  std::string name;
  std::string display_name;
  UnixMillis created_at = 0;
};

enum class OrgRole { member, admin };
std::string_view to_string(OrgRole r);
std::optional<OrgRole> parse_org_role(std::string_view s);

struct User {
  std::string id;
  std::string username;
  std::string email;
  bool site_admin = false;
  bool is_system = false;
  UnixMillis created_at = 0;
  bool suspended = false;  // its tokens are refused
};

// A user's membership of one organization, as the admin page lists it.
struct Member {
  User user;
  OrgRole role = OrgRole::member;
};

// What a token may do beyond its user's own rights: nothing (the default), or less.
struct TokenScope {
  std::optional<std::string> organization_id;  // only this organization; never site admin
  bool read_only = false;                      // only reads
};

struct ApiToken {
  std::string id;
  std::string user_id;
  std::string name;
  UnixMillis created_at = 0;
  std::optional<UnixMillis> expires_at;
  TokenScope scope;
};

struct TokenOwner {
  User user;
  TokenScope scope;
};

struct Template {
  std::string id;
  std::string organization_id;
  std::string name;
  std::string display_name;
  std::string description;
  std::string isolation;
  bool agents_allowed = true;
  std::string active_version_id;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

struct TemplateVersion {
  std::string id;
  std::string template_id;
  int number = 0;
  std::string source;  // template.yaml as pushed
  std::string spec;    // canonical JSON of the validated template
  std::string readme;
  bool has_external_agent = false;
  UnixMillis created_at = 0;
};

// One entry of a template's history: the version and who pushed it ("" when unknown).
struct TemplateVersionEntry {
  TemplateVersion version;
  std::string created_by;
};

struct Workspace {
  std::string id;
  std::string organization_id;
  std::string owner_id;
  std::string owner_name;  // joined from users
  std::string template_id;
  std::string template_name;  // joined from templates
  std::string name;
  std::optional<std::int64_t> ttl_ms;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  bool deleted = false;
  std::optional<UnixMillis> deadline_at;  // when the scheduler stops it (running, with a TTL)
  std::optional<std::string> prebuild_preset_id;  // set while it is an unclaimed prebuild
  // The provisioner host it lives on (where its first start succeeded); nullopt until then.
  std::optional<std::string> provisioner_id;
};

// A user's quota in one organization: what their running workspaces use per day, and the
// budget (nullopt = no quota set).
struct QuotaUsage {
  std::int64_t credits_consumed = 0;
  std::optional<std::int64_t> budget;
};

struct QuotaAllowance {
  std::string subject;   // a user id, or "*" for every member without their own
  std::string username;  // joined; "" for "*"
  std::int64_t budget = 0;
};

inline constexpr std::string_view kEveryMember = "*";

struct ProvisionerJob {
  std::string id;
  std::string organization_id;
  std::string kind;
  UnixMillis created_at = 0;
  std::optional<UnixMillis> started_at;
  std::optional<UnixMillis> completed_at;
  std::optional<UnixMillis> canceled_at;
  std::optional<std::string> error;
  std::optional<std::string> error_code;
  std::optional<std::string> worker_id;
  std::optional<UnixMillis> heartbeat_at;
  std::optional<UnixMillis> deadline_at;
  std::string request_id;  // of the call that queued it ("" when the server did)

  JobStatus status() const;
};

struct WorkspaceBuild {
  std::string id;
  std::string workspace_id;
  std::string template_version_id;
  int build_number = 0;
  Transition transition = Transition::start;
  std::string job_id;
  std::string initiator_id;
  std::string parameters;  // JSON object of name -> value
  std::string preset;
  UnixMillis created_at = 0;
  std::string reason = "initiator";  // or "autostop": the workspace's deadline passed
  std::int64_t daily_cost = 0;       // quota credits committed when the build was admitted
};

struct BuildWithJob {
  WorkspaceBuild build;
  ProvisionerJob job;
};

struct WorkspaceAgent {
  std::string id;
  std::string build_id;
  std::string workspace_id;
  std::string name;
  int display_order = 0;
  bool is_chat = false;
  bool external = false;
  std::string directory;
  std::string startup_script;
  std::int64_t startup_script_timeout_ms = 0;
  int connection_timeout_s = 0;
  std::string env = "{}";  // JSON object: the startup script's extra environment
  UnixMillis created_at = 0;
  std::optional<UnixMillis> first_connected_at;
  std::optional<UnixMillis> last_connected_at;
  std::optional<UnixMillis> disconnected_at;
  AgentLifecycle lifecycle_state = AgentLifecycle::created;
  std::optional<UnixMillis> started_at;
  std::optional<UnixMillis> ready_at;
  std::optional<int> pid;
  // The replica (server) holding the agent's connection, while it is connected.
  std::optional<std::string> replica_id;

  AgentStatus status(UnixMillis now, std::chrono::milliseconds inactive_timeout) const;
};

struct LogLine {
  std::int64_t seq = 0;
  UnixMillis created_at = 0;
  std::string stage;
  std::string level;
  std::string output;
};

// A conversation and the workspace bound to it (the binding the chat tools maintain).
struct Chat {
  std::string id;
  std::string organization_id;
  std::string owner_id;
  std::optional<std::string> key;
  std::string title;
  std::optional<std::string> workspace_id;
  std::optional<std::string> build_id;
  std::optional<std::string> agent_id;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

// A running server on the shared database, and where other replicas reach it.
struct Replica {
  std::string id;
  std::string hostname;
  std::string data_dir;
  std::string relay_url;
  std::string relay_secret;
  UnixMillis started_at = 0;
  UnixMillis heartbeat_at = 0;
};

// A host that runs builds and workspaces: the embedded provisioner of a server's data
// directory, or a `berth provisioner` daemon. `id` is stable across restarts (kept in its
// data directory); `worker_id` names the current process.
struct ProvisionerHost {
  std::string id;
  std::string name;
  std::string kind;  // embedded | daemon
  std::string worker_id;
  UnixMillis started_at = 0;
  UnixMillis last_seen_at = 0;
  std::string tags = "{}";            // what it offers (tags_json); "{}" for embedded ones
  std::optional<std::string> key_id;  // daemons: the provisioner key it registered with
};

// What a provisioner claims a job with.
struct JobClaim {
  std::string worker_id;       // the claiming process
  std::string provisioner_id;  // its host: only jobs of workspaces living there, or new ones
  UnixMillis now = 0;
  UnixMillis deadline_at = 0;  // the build's deadline
  // What it offers (tags_json): only jobs whose template's provisioner_tags these satisfy
  // (core/tags.hpp).
  std::string tags = "{}";
};

// A key `berth provisioner` daemons authenticate with (`berth provisioner-keys create`).
struct ProvisionerKey {
  std::string id;
  std::string name;
  std::string secret_hash;  // SHA-256 of the secret; the secret is shown once
  std::string tags = "{}";  // what its daemons offer (tags_json)
  std::string created_by;
  UnixMillis created_at = 0;
};

// An MCP session on /mcp as the database keeps it (any replica answers it).
struct McpSessionRecord {
  std::string id;
  std::string token_id;
  std::string chat_id;
  std::string organization_id;
  std::string protocol_version;
  std::string client_info = "{}";  // JSON object
  bool initialized = false;
  UnixMillis created_at = 0;
  UnixMillis last_used_at = 0;
};

// A task of the MCP Tasks extension as the database keeps it: a tool call run durably, which
// any replica answers for (tasks/get, tasks/cancel) and a live one takes over when its runner
// dies.
struct McpTask {
  std::string id;
  std::string user_id;
  std::string token_id;
  std::string chat_id;
  std::string organization_id;
  std::string tool;
  std::string arguments = "{}";  // JSON object
  std::string status;            // working, completed, failed, cancelled
  std::string status_message;
  std::string outcome;  // completed: the CallToolResult; failed: the JSON-RPC error (JSON)
  bool cancel_requested = false;
  std::string runner;  // the replica running the call, holding it until runner_until
  UnixMillis runner_until = 0;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  UnixMillis expires_at = 0;
};

// A tool call that is not safe to repeat whose answer was cut off on its way to the client.
struct UndeliveredCall {
  std::string id;
  std::string chat_id;
  std::string call_key;  // SHA-256 of the tool's name and arguments
  std::string tool;
  std::string status;  // running, done
  std::string result;  // done: the tool's structured result (JSON)
  bool is_error = false;
  UnixMillis started_at = 0;
  UnixMillis cut_at = 0;
  UnixMillis expires_at = 0;
};

// A port of a workspace that answers at its preview URL.
struct ExposedPort {
  std::string workspace_id;
  int port = 0;
  bool is_public = false;
  std::string token_hash;  // SHA-256 of the port's preview token
  std::string created_by;  // user id
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
};

// --- Inputs

struct NewBuild {
  std::string template_version_id;
  Transition transition = Transition::start;
  std::string initiator_id;
  std::string parameters = "{}";
  std::string preset;
  std::string reason = "initiator";
};

struct NewWorkspace {
  std::string organization_id;
  std::string owner_id;
  std::string template_id;
  std::string name;
  std::optional<std::int64_t> ttl_ms;
  std::optional<std::string> prebuild_preset_id;
};

struct CreatedWorkspace {
  Workspace workspace;
  WorkspaceBuild build;
  ProvisionerJob job;
};

struct NewAgent {
  std::string name;
  int display_order = 0;
  bool is_chat = false;
  bool external = false;
  std::string directory;
  std::string startup_script;
  std::int64_t startup_script_timeout_ms = 0;
  int connection_timeout_s = 0;
  std::string env = "{}";
  std::string auth_token_hash;
};

// A named set of parameter values of one template version.
struct Preset {
  std::string id;
  std::string template_version_id;
  std::string name;
  std::string description;
  bool is_default = false;
  std::string parameters = "{}";  // JSON object of name -> value
  int desired_instances = 0;
};

struct NewPreset {
  std::string name;
  std::string description;
  bool is_default = false;
  std::string parameters = "{}";
  int desired_instances = 0;
};

// A preset the reconciler keeps prebuilt workspaces for (of a template's active version).
struct PrebuildPreset {
  Preset preset;
  std::string template_id;
  std::string organization_id;
  std::string template_name;
};

// An unclaimed prebuilt workspace and the state of its latest build.
struct PrebuildWorkspace {
  Workspace workspace;
  BuildWithJob latest;
  bool agents_ready = false;   // every agent of the latest build connected and ready
  bool agents_failed = false;  // an agent's startup script failed or timed out, or it never
                               // connected within its connection timeout
};

// A workspace and where its latest build stands: what a listing filters and counts before it
// reads whole views of one page.
struct WorkspaceSummary {
  std::string id;
  std::string organization_id;
  std::string owner_name;
  std::string name;
  std::string template_name;
  Transition transition = Transition::start;
  JobStatus status = JobStatus::pending;
};

struct WorkspaceStateCount {
  Transition transition = Transition::start;
  JobStatus status = JobStatus::pending;
  std::int64_t count = 0;
};

struct PrebuildFailures {
  int consecutive = 0;
  UnixMillis last_failed_at = 0;
  std::string last_error;
};

// What a claim needs: the preset and the exact parameter values the caller asked for, and
// what the workspace becomes.
struct PrebuildClaim {
  std::string preset_id;
  std::string parameters;  // JSON, as the build stores it
  std::string owner_id;
  std::string name;
  std::optional<std::int64_t> ttl_ms;
  std::optional<std::string> chat_id;  // bind this chat (still bound to expected_workspace_id)
  std::optional<std::string> expected_workspace_id;
};

struct NewTemplateVersion {
  std::string organization_id;
  std::string name;
  std::string display_name;
  std::string description;
  std::string isolation;
  bool agents_allowed = true;
  std::string source;
  std::string spec;
  std::string readme;
  bool has_external_agent = false;
  std::string provisioner_tags = "{}";  // tags_json of the spec's provisioner_tags
  std::string created_by;
  std::vector<NewPreset> presets;
};

struct PushedTemplate {
  Template tmpl;
  TemplateVersion version;
  bool created = false;  // true when this push made the template
};

// A job the provisioner has claimed, with everything it needs to run it.
struct AcquiredJob {
  ProvisionerJob job;
  WorkspaceBuild build;
  Workspace workspace;
  TemplateVersion version;
};

struct NewLogLine {
  std::string stage;
  std::string level;  // info | error
  std::string output;
};

}  // namespace berth::store
