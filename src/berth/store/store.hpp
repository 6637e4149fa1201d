#pragma once
// Store: the one source of truth. Every method is one transaction; a method that changes
// several rows (a workspace with its build and job) changes all of them or none.
// Implementations are safe to call from several threads. Callers publish events only after a
// method has returned successfully (commit first, then publish).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/store/model.hpp"

namespace berth::store {

class Store {
 public:
  virtual ~Store() = default;

  // --- Organizations, users, tokens
  // Returns already_exists when the name is taken.
  virtual Result<Organization> create_organization(std::string_view name,
                                                   std::string_view display_name) = 0;
  virtual Result<Organization> organization_by_name(std::string_view name) = 0;
  virtual Result<Organization> organization_by_id(std::string_view id) = 0;
  virtual Result<std::vector<Organization>> list_organizations() = 0;

  // Returns already_exists when the username is taken.
  virtual Result<User> create_user(std::string_view username, std::string_view email,
                                   bool site_admin, bool is_system) = 0;
  virtual Result<User> user_by_id(std::string_view id) = 0;
  virtual Result<User> user_by_username(std::string_view username) = 0;
  // Users (not system ones) whose name is `lowered` (all lower case) but for case; at most two,
  // enough to tell one from several. A preview URL's host has lost the name's case.
  virtual Result<std::vector<User>> users_by_username_ignoring_case(std::string_view lowered) = 0;
  virtual Result<std::vector<User>> list_users() = 0;

  // Adds or updates the membership.
  virtual Status set_member(std::string_view org_id, std::string_view user_id, OrgRole role) = 0;
  virtual Result<std::optional<OrgRole>> member_role(std::string_view org_id,
                                                     std::string_view user_id) = 0;

  // Stores SHA-256 of `secret` under a new token id. Returns the row.
  virtual Result<ApiToken> create_api_token(std::string_view user_id, std::string_view name,
                                            std::string_view token_id, std::string_view secret_hash,
                                            std::optional<UnixMillis> expires_at,
                                            const TokenScope& scope) = 0;
  // A user's tokens (never their secrets), newest first.
  virtual Result<std::vector<ApiToken>> list_api_tokens(std::string_view user_id) = 0;
  // Deletes the token; not_found when it does not exist.
  virtual Status delete_api_token(std::string_view token_id) = 0;
  virtual Result<ApiToken> api_token_by_id(std::string_view token_id) = 0;
  // A suspended user's tokens are refused (unauthenticated, saying so).
  virtual Status set_user_suspended(std::string_view user_id, bool suspended) = 0;
  // Ends the membership; not_found when there was none.
  virtual Status remove_member(std::string_view org_id, std::string_view user_id) = 0;
  // The organization's members (system users excluded), by username.
  virtual Result<std::vector<Member>> list_members(std::string_view org_id) = 0;
  // Returns unauthenticated when the token id is unknown, the hash differs, or it expired.
  virtual Result<TokenOwner> user_for_token(std::string_view token_id, std::string_view secret_hash,
                                            UnixMillis now) = 0;
  // The same checks without the secret, for work a token started that outlives its request
  // (an MCP task taken over after a restart): unauthenticated when the token is gone, expired
  // or its user suspended.
  virtual Result<TokenOwner> token_owner(std::string_view token_id, UnixMillis now) = 0;

  // --- Templates
  // Creates the template if (org, name) is new, adds a version, makes it active.
  virtual Result<PushedTemplate> push_template_version(const NewTemplateVersion& v) = 0;
  virtual Result<Template> template_by_id(std::string_view id) = 0;
  virtual Result<Template> template_by_name(std::string_view org_id, std::string_view name) = 0;
  // All templates of the given organizations (all organizations when `org_ids` is empty).
  virtual Result<std::vector<Template>> list_templates(const std::vector<std::string>& org_ids) = 0;
  virtual Result<TemplateVersion> template_version_by_id(std::string_view id) = 0;
  // Every version of a template, newest first.
  virtual Result<std::vector<TemplateVersionEntry>> template_versions(
      std::string_view template_id) = 0;
  // Presets of a version, in the order the template lists them.
  virtual Result<std::vector<Preset>> presets_for_version(std::string_view version_id) = 0;
  virtual Result<Preset> preset_by_id(std::string_view id) = 0;

  // --- Workspaces and builds
  // Inserts workspace, first build and its pending job. Returns already_exists when the owner
  // already has a live workspace with that name.
  virtual Result<CreatedWorkspace> create_workspace(const NewWorkspace& ws, const NewBuild& b) = 0;
  // Inserts the next build and its job. Returns failed_precondition when the latest build's
  // job is still active, or the workspace is deleted.
  virtual Result<BuildWithJob> create_build(std::string_view workspace_id, const NewBuild& b) = 0;
  virtual Result<Workspace> workspace_by_id(std::string_view id) = 0;
  virtual Result<Workspace> workspace_by_name(std::string_view owner_id, std::string_view name) = 0;
  // The owner's live workspaces whose name is `lowered` but for case; at most two.
  virtual Result<std::vector<Workspace>> workspaces_by_name_ignoring_case(
      std::string_view owner_id, std::string_view lowered) = 0;
  // Live workspaces; of one owner when `owner_id` is set.
  virtual Result<std::vector<Workspace>> list_workspaces(std::optional<std::string> owner_id) = 0;
  // The same workspaces, each with its latest build's transition and job status (one query).
  virtual Result<std::vector<WorkspaceSummary>> list_workspace_summaries(
      std::optional<std::string> owner_id) = 0;
  virtual Result<BuildWithJob> latest_build(std::string_view workspace_id) = 0;
  virtual Result<BuildWithJob> build_by_id(std::string_view build_id) = 0;
  // The build a job runs, with the job; not_found for an unknown job.
  virtual Result<BuildWithJob> build_for_job(std::string_view job_id) = 0;
  // The workspace's sandbox number (its host uid on a root server), handed out on first use
  // in one transaction: unique among all workspaces, never reused.
  virtual Result<std::int64_t> sandbox_number(std::string_view workspace_id) = 0;

  // Time to live. Moves the deadline of a running workspace with a TTL to at least now + ttl
  // (never earlier). Returns whether the workspace has a deadline.
  virtual Result<bool> extend_workspace_deadline(std::string_view workspace_id, UnixMillis now) = 0;
  // The earliest deadline of any workspace, if one is set.
  virtual Result<std::optional<UnixMillis>> next_workspace_deadline() = 0;
  // In one transaction: for every workspace whose deadline is at or before `now` and whose
  // latest build is a succeeded start, a stop build (reason "autostop", initiated by the
  // owner). Returns the new builds. Activity that moved a deadline before this runs wins.
  virtual Result<std::vector<BuildWithJob>> stop_expired_workspaces(UnixMillis now) = 0;
  // The most recent start build before the latest build, if any (its agents may still run).
  virtual Result<std::optional<WorkspaceBuild>> latest_start_build(
      std::string_view workspace_id) = 0;

  // --- Provisioner jobs
  // Atomically claims the oldest pending job the claimer may run: of a workspace living on its
  // host, or of one that lives nowhere yet. nullopt when none. A start build that succeeds
  // makes a workspace that lived nowhere live on the host that ran it.
  virtual Result<std::optional<AcquiredJob>> acquire_job(const JobClaim& claim) = 0;
  // Inserts or replaces the provisioner's row (a new process of the same host).
  virtual Status register_provisioner(const ProvisionerHost& host) = 0;
  // Marks the provisioner seen at `now`.
  virtual Status provisioner_seen(std::string_view id, UnixMillis now) = 0;
  virtual Result<std::vector<ProvisionerHost>> list_provisioners() = 0;
  virtual Result<ProvisionerHost> provisioner_by_id(std::string_view id) = 0;
  // Keys of provisioner daemons. create: already_exists when the name is taken; delete:
  // not_found when there is no such key (its daemons are refused from then on).
  virtual Status create_provisioner_key(const ProvisionerKey& key) = 0;
  virtual Result<std::vector<ProvisionerKey>> list_provisioner_keys() = 0;
  virtual Result<ProvisionerKey> provisioner_key_by_id(std::string_view id) = 0;
  virtual Status delete_provisioner_key(std::string_view name) = 0;
  virtual Status heartbeat_jobs(std::string_view worker_id, UnixMillis now) = 0;
  // Marks the job completed; with an error it is failed. A delete build that succeeds also
  // soft-deletes its workspace. Returns the completed build, or failed_precondition if it was
  // already completed.
  virtual Result<BuildWithJob> complete_job(std::string_view job_id,
                                            std::optional<std::string> error,
                                            std::optional<std::string> error_code,
                                            UnixMillis now) = 0;
  // Fails every running job whose deadline passed, or whose worker stopped heartbeating
  // before `stale_before`, or (when set) that belongs to a worker other than `live_worker`
  // under the same `worker_prefix`; and every pending job of a workspace living on a
  // provisioner not seen since `stale_before` (nobody else may run it). Returns the failed
  // jobs' workspace ids.
  struct StaleJobPolicy {
    UnixMillis now = 0;
    UnixMillis heartbeat_stale_before = 0;
    std::string worker_prefix;  // e.g. "embedded:" for this data dir's in-process provisioner
    std::string live_worker;    // the current worker id under that prefix
  };
  virtual Result<std::vector<std::string>> fail_stale_jobs(const StaleJobPolicy& policy) = 0;
  virtual Result<std::optional<UnixMillis>> next_job_deadline() = 0;
  virtual Result<ProvisionerJob> job_by_id(std::string_view id) = 0;

  virtual Status append_job_logs(std::string_view job_id, const std::vector<NewLogLine>& lines,
                                 UnixMillis now) = 0;
  virtual Result<std::vector<LogLine>> job_logs(std::string_view job_id, std::int64_t after_seq,
                                                int limit) = 0;

  // --- Prebuilds
  // Presets with desired_instances > 0 of every live template's active version.
  virtual Result<std::vector<PrebuildPreset>> prebuild_presets() = 0;
  // Every unclaimed prebuilt workspace that is not deleted (agent timeouts judged at `now`).
  virtual Result<std::vector<PrebuildWorkspace>> prebuild_workspaces(UnixMillis now) = 0;
  // In one transaction: picks the oldest ready prebuild of the preset whose parameters equal
  // `claim.parameters` (and whose cost fits the new owner's quota), moves it to the new owner
  // under the new name and TTL (deadline from now), and binds the chat if asked. nullopt when
  // none is ready; already_exists when the name is taken; failed_precondition "chat binding
  // changed" as create_workspace_for_chat.
  virtual Result<std::optional<Workspace>> claim_prebuild(const PrebuildClaim& claim,
                                                          UnixMillis now) = 0;
  virtual Result<PrebuildFailures> prebuild_failures(std::string_view preset_id) = 0;
  // Adds one failure (or, with nullopt, clears the count after a success).
  virtual Status record_prebuild_outcome(std::string_view preset_id,
                                         std::optional<std::string> error, UnixMillis now) = 0;

  // --- Quotas
  // Sets (or, with nullopt, removes) the budget of `subject`: a user id or kEveryMember.
  virtual Status set_quota_allowance(std::string_view org_id, std::string_view subject,
                                     std::optional<std::int64_t> budget) = 0;
  virtual Result<std::vector<QuotaAllowance>> quota_allowances(std::string_view org_id) = 0;
  // Credits used by the user's live workspaces in the organization: the daily_cost of each
  // one's latest build when that is a start that has not failed or been canceled.
  virtual Result<QuotaUsage> quota_usage(std::string_view user_id, std::string_view org_id) = 0;
  // Admits a start build costing `daily_cost` in one transaction: when the owner's other
  // workspaces plus this one fit the budget, records the cost on the build. Returns the
  // usage before this build; `admitted` says whether it fit.
  struct QuotaDecision {
    bool admitted = false;
    QuotaUsage usage;
  };
  virtual Result<QuotaDecision> admit_build_cost(std::string_view build_id,
                                                 std::int64_t daily_cost) = 0;

  // --- Agents
  virtual Result<std::vector<WorkspaceAgent>> insert_agents(std::string_view build_id,
                                                            const std::vector<NewAgent>& agents,
                                                            UnixMillis now) = 0;
  virtual Status set_agent_pid(std::string_view agent_id, std::optional<int> pid) = 0;
  virtual Result<std::vector<WorkspaceAgent>> agents_for_build(std::string_view build_id) = 0;
  virtual Result<WorkspaceAgent> agent_by_id(std::string_view id) = 0;
  virtual Result<WorkspaceAgent> agent_by_token_hash(std::string_view token_hash) = 0;
  // Replaces the agent's token hash: the old token stops authenticating new connections.
  virtual Status set_agent_token_hash(std::string_view agent_id, std::string_view token_hash) = 0;
  // The agent's connection (or heartbeat) reached replica `replica_id`.
  virtual Status agent_connected(std::string_view agent_id, UnixMillis now,
                                 std::string_view replica_id) = 0;
  // The connection on `replica_id` closed. Ignored when the agent has meanwhile connected to
  // another replica (a reconnect that lands elsewhere before the old socket is noticed).
  virtual Status agent_disconnected(std::string_view agent_id, UnixMillis now,
                                    std::string_view replica_id) = 0;
  // Moves the lifecycle; sets started_at on `starting` and ready_at when the start phase ends.
  virtual Status set_agent_lifecycle(std::string_view agent_id, AgentLifecycle state,
                                     UnixMillis now) = 0;
  virtual Status append_agent_logs(std::string_view agent_id, const std::vector<std::string>& lines,
                                   UnixMillis now) = 0;
  virtual Result<std::vector<LogLine>> agent_logs(std::string_view agent_id, std::int64_t after_seq,
                                                  int limit) = 0;

  // --- Chats
  virtual Result<Chat> create_chat(std::string_view organization_id, std::string_view owner_id,
                                   std::optional<std::string> key, std::string_view title) = 0;
  // The owner's chat with this key, created (in `organization_id`) on first use.
  virtual Result<Chat> chat_for_key(std::string_view organization_id, std::string_view owner_id,
                                    std::string_view key) = 0;
  virtual Result<Chat> chat_by_id(std::string_view id) = 0;
  virtual Result<std::vector<Chat>> list_chats(std::string_view owner_id) = 0;
  // Overwrites the chat's binding (all three columns) and returns the updated chat.
  virtual Result<Chat> set_chat_binding(std::string_view chat_id,
                                        std::optional<std::string> workspace_id,
                                        std::optional<std::string> build_id,
                                        std::optional<std::string> agent_id) = 0;
  // Creates workspace, build and job AND binds the chat to them, in one transaction, but only
  // if the chat is still bound to `expected_workspace_id` (nullopt = unbound): two callers
  // deciding from the same binding cannot both create. Returns aborted-style
  // failed_precondition "chat binding changed" when another caller got there first.
  virtual Result<CreatedWorkspace> create_workspace_for_chat(
      std::string_view chat_id, std::optional<std::string> expected_workspace_id,
      const NewWorkspace& ws, const NewBuild& build) = 0;

  // --- Replicas (servers sharing one database)
  // Inserts or replaces the replica's row (and the row of an earlier server on the same host
  // and data directory, which is gone); heartbeat_at = started_at.
  virtual Status register_replica(const Replica& replica) = 0;
  // Moves heartbeat_at; not_found when the row is gone (removed as dead by another replica).
  virtual Status heartbeat_replica(std::string_view id, UnixMillis now) = 0;
  virtual Status remove_replica(std::string_view id) = 0;
  virtual Result<Replica> replica_by_id(std::string_view id) = 0;
  virtual Result<std::vector<Replica>> list_replicas() = 0;
  // Deletes replicas whose heartbeat is older than `stale_before`; returns how many.
  virtual Result<std::int64_t> remove_stale_replicas(UnixMillis stale_before) = 0;
  // Takes or renews the lease `name` for `holder` until `until`: succeeds (true) when nobody
  // holds it, `holder` does, or the holder's lease expired before `now`.
  virtual Result<bool> acquire_lease(std::string_view name, std::string_view holder, UnixMillis now,
                                     UnixMillis until) = 0;
  virtual Status release_lease(std::string_view name, std::string_view holder) = 0;

  // --- MCP sessions
  // Inserts the session; when its token then has more than `max_per_token` sessions, the least
  // recently used others end in the same transaction, but only ones last used before
  // `evictable_before`: when too few are, nothing changes and resource_exhausted says so.
  virtual Status create_mcp_session(const McpSessionRecord& session, std::size_t max_per_token,
                                    UnixMillis evictable_before) = 0;
  // not_found when the session does not exist (ended, expired, or never made).
  virtual Result<McpSessionRecord> mcp_session(std::string_view id) = 0;
  // Writes the protocol fields and last_used_at.
  virtual Status update_mcp_session(const McpSessionRecord& session) = 0;
  virtual Status touch_mcp_session(std::string_view id, UnixMillis now) = 0;
  // Ends the session if `token_id` opened it; false when there was no such session.
  virtual Result<bool> delete_mcp_session(std::string_view id, std::string_view token_id) = 0;
  // Ends sessions last used before `idle_before`; returns how many.
  virtual Result<std::int64_t> expire_mcp_sessions(UnixMillis idle_before) = 0;

  // --- MCP tasks (the Tasks extension)
  virtual Status create_mcp_task(const McpTask& task) = 0;
  // not_found when there is no such task (never made, or expired and removed).
  virtual Result<McpTask> mcp_task(std::string_view id) = 0;
  // Renews `runner`'s hold on a working task until `until`, and sets its status message when
  // one is given. Returns whether a cancel was requested; failed_precondition when the task
  // is no longer working or another replica took it over (the caller stops running it).
  virtual Result<bool> renew_mcp_task(std::string_view id, std::string_view runner,
                                      UnixMillis until, std::optional<std::string> message,
                                      UnixMillis now) = 0;
  // Ends a working task held by `runner`: status completed, failed or cancelled, with its
  // message and outcome. False when the task was not `runner`'s to end (taken over, or
  // already ended).
  virtual Result<bool> finish_mcp_task(std::string_view id, std::string_view runner,
                                       std::string_view status, std::string_view message,
                                       std::string_view outcome, UnixMillis now) = 0;
  // Asks the task's runner to cancel it. False when the task had already ended.
  virtual Result<bool> request_mcp_task_cancel(std::string_view id, UnixMillis now) = 0;
  // Takes over, for `runner` until `until`, at most `limit` working tasks whose runner's hold
  // expired before `now` or whose runner is no longer a live replica. Returns them.
  virtual Result<std::vector<McpTask>> claim_orphan_mcp_tasks(std::string_view runner,
                                                              UnixMillis now, UnixMillis until,
                                                              int limit) = 0;
  // Removes tasks whose time to live ended before `now`; returns how many.
  virtual Result<std::int64_t> expire_mcp_tasks(UnixMillis now) = 0;

  // --- Undelivered calls (safe retries of calls that are not safe to repeat)
  virtual Status record_undelivered_call(const UndeliveredCall& call) = 0;
  virtual Status finish_undelivered_call(std::string_view id, std::string_view result,
                                         bool is_error) = 0;
  // The oldest unexpired undelivered call of the chat with this key. A finished one is handed
  // over once (removed as it is returned); a running one stays. Expired rows of the chat go.
  virtual Result<std::optional<UndeliveredCall>> take_undelivered_call(std::string_view chat_id,
                                                                       std::string_view call_key,
                                                                       UnixMillis now) = 0;

  // --- Exposed ports (preview URLs)
  // Exposes `port` (or changes its visibility and token). The workspace's rows go when it is
  // deleted.
  virtual Status expose_port(const ExposedPort& port) = 0;
  // False when the port was not exposed.
  virtual Result<bool> unexpose_port(std::string_view workspace_id, int port) = 0;
  // nullopt when the port is not exposed.
  virtual Result<std::optional<ExposedPort>> exposed_port(std::string_view workspace_id,
                                                          int port) = 0;
  virtual Result<std::vector<ExposedPort>> exposed_ports(std::string_view workspace_id) = 0;

  // --- Counts for /metrics (every replica reads the same numbers)
  // Workspaces not deleted, counted by their latest build's transition and job status.
  virtual Result<std::vector<WorkspaceStateCount>> count_workspaces_by_state() = 0;
  // MCP sessions not yet ended or expired.
  virtual Result<std::int64_t> count_mcp_sessions() = 0;

  // --- Site configuration
  virtual Status set_config(std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> config(std::string_view key) = 0;
};

}  // namespace berth::store
