#pragma once
// SqliteStore: the Store on one SQLite file (WAL, foreign keys, synchronous=FULL).
// Thread-safe: one connection behind a mutex; every method is one transaction.

#include <memory>
#include <mutex>
#include <string>

#include "berth/store/sqlite/database.hpp"
#include "berth/store/store.hpp"

namespace berth::store {

class SqliteStore final : public Store {
 public:
  // Opens the database at `path`, applying pending migrations in order.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  // The same store on another connection (a PostgreSQL database), migrated.
  static Result<std::unique_ptr<SqliteStore>> open(std::unique_ptr<sql::Connection> db);

  int schema_version_for_testing();

  Result<Organization> create_organization(std::string_view name,
                                           std::string_view display_name) override;
  Result<Organization> organization_by_name(std::string_view name) override;
  Result<Organization> organization_by_id(std::string_view id) override;
  Result<std::vector<Organization>> list_organizations() override;
  Result<User> create_user(std::string_view username, std::string_view email, bool site_admin,
                           bool is_system) override;
  Result<User> user_by_id(std::string_view id) override;
  Result<User> user_by_username(std::string_view username) override;
  Result<std::vector<User>> users_by_username_ignoring_case(std::string_view lowered) override;
  Result<std::vector<User>> list_users() override;
  Status set_member(std::string_view org_id, std::string_view user_id, OrgRole role) override;
  Result<std::vector<ApiToken>> list_api_tokens(std::string_view user_id) override;
  Status delete_api_token(std::string_view token_id) override;
  Result<ApiToken> api_token_by_id(std::string_view token_id) override;
  Status set_user_suspended(std::string_view user_id, bool suspended) override;
  Status remove_member(std::string_view org_id, std::string_view user_id) override;
  Result<std::vector<Member>> list_members(std::string_view org_id) override;
  Result<std::optional<OrgRole>> member_role(std::string_view org_id,
                                             std::string_view user_id) override;
  Result<ApiToken> create_api_token(std::string_view user_id, std::string_view name,
                                    std::string_view token_id, std::string_view secret_hash,
                                    std::optional<UnixMillis> expires_at,
                                    const TokenScope& scope) override;
  Result<TokenOwner> user_for_token(std::string_view token_id, std::string_view secret_hash,
                                    UnixMillis now) override;
  Result<TokenOwner> token_owner(std::string_view token_id, UnixMillis now) override;

  Result<PushedTemplate> push_template_version(const NewTemplateVersion& v) override;
  Result<Template> template_by_id(std::string_view id) override;
  Result<Template> template_by_name(std::string_view org_id, std::string_view name) override;
  Result<std::vector<Template>> list_templates(const std::vector<std::string>& org_ids) override;
  Result<TemplateVersion> template_version_by_id(std::string_view id) override;
  Result<std::vector<TemplateVersionEntry>> template_versions(
      std::string_view template_id) override;
  Result<std::vector<Preset>> presets_for_version(std::string_view version_id) override;
  Result<Preset> preset_by_id(std::string_view id) override;

  Result<CreatedWorkspace> create_workspace(const NewWorkspace& ws, const NewBuild& b) override;
  Result<BuildWithJob> create_build(std::string_view workspace_id, const NewBuild& b) override;
  Result<Workspace> workspace_by_id(std::string_view id) override;
  Result<Workspace> workspace_by_name(std::string_view owner_id, std::string_view name) override;
  Result<std::vector<Workspace>> workspaces_by_name_ignoring_case(
      std::string_view owner_id, std::string_view lowered) override;
  Result<std::vector<Workspace>> list_workspaces(std::optional<std::string> owner_id) override;
  Result<std::vector<WorkspaceSummary>> list_workspace_summaries(
      std::optional<std::string> owner_id) override;
  Result<std::int64_t> sandbox_number(std::string_view workspace_id) override;
  Result<bool> extend_workspace_deadline(std::string_view workspace_id, UnixMillis now) override;
  Result<std::optional<UnixMillis>> next_workspace_deadline() override;
  Result<std::vector<BuildWithJob>> stop_expired_workspaces(UnixMillis now) override;
  Result<BuildWithJob> latest_build(std::string_view workspace_id) override;
  Result<BuildWithJob> build_by_id(std::string_view build_id) override;
  Result<BuildWithJob> build_for_job(std::string_view job_id) override;
  Result<std::optional<WorkspaceBuild>> latest_start_build(std::string_view workspace_id) override;

  Result<std::optional<AcquiredJob>> acquire_job(const JobClaim& claim) override;
  Status register_provisioner(const ProvisionerHost& host) override;
  Status provisioner_seen(std::string_view id, UnixMillis now) override;
  Result<std::vector<ProvisionerHost>> list_provisioners() override;
  Result<ProvisionerHost> provisioner_by_id(std::string_view id) override;
  Status create_provisioner_key(const ProvisionerKey& key) override;
  Result<std::vector<ProvisionerKey>> list_provisioner_keys() override;
  Result<ProvisionerKey> provisioner_key_by_id(std::string_view id) override;
  Status delete_provisioner_key(std::string_view name) override;
  Status heartbeat_jobs(std::string_view worker_id, UnixMillis now) override;
  Result<BuildWithJob> complete_job(std::string_view job_id, std::optional<std::string> error,
                                    std::optional<std::string> error_code, UnixMillis now) override;
  Result<std::vector<std::string>> fail_stale_jobs(const StaleJobPolicy& policy) override;
  Result<std::optional<UnixMillis>> next_job_deadline() override;
  Result<ProvisionerJob> job_by_id(std::string_view id) override;
  Status append_job_logs(std::string_view job_id, const std::vector<NewLogLine>& lines,
                         UnixMillis now) override;
  Result<std::vector<LogLine>> job_logs(std::string_view job_id, std::int64_t after_seq,
                                        int limit) override;

  Result<std::vector<WorkspaceAgent>> insert_agents(std::string_view build_id,
                                                    const std::vector<NewAgent>& agents,
                                                    UnixMillis now) override;
  Status set_agent_pid(std::string_view agent_id, std::optional<int> pid) override;
  Result<std::vector<WorkspaceAgent>> agents_for_build(std::string_view build_id) override;
  Result<WorkspaceAgent> agent_by_id(std::string_view id) override;
  Result<WorkspaceAgent> agent_by_token_hash(std::string_view token_hash) override;
  Result<std::vector<PrebuildPreset>> prebuild_presets() override;
  Result<std::vector<PrebuildWorkspace>> prebuild_workspaces(UnixMillis now) override;
  Result<std::optional<Workspace>> claim_prebuild(const PrebuildClaim& claim,
                                                  UnixMillis now) override;
  Result<PrebuildFailures> prebuild_failures(std::string_view preset_id) override;
  Status record_prebuild_outcome(std::string_view preset_id, std::optional<std::string> error,
                                 UnixMillis now) override;
  Status set_quota_allowance(std::string_view org_id, std::string_view subject,
                             std::optional<std::int64_t> budget) override;
  Result<std::vector<QuotaAllowance>> quota_allowances(std::string_view org_id) override;
  Result<QuotaUsage> quota_usage(std::string_view user_id, std::string_view org_id) override;
  Result<QuotaDecision> admit_build_cost(std::string_view build_id,
                                         std::int64_t daily_cost) override;
  Status set_agent_token_hash(std::string_view agent_id, std::string_view token_hash) override;
  Status agent_connected(std::string_view agent_id, UnixMillis now,
                         std::string_view replica_id) override;
  Status agent_disconnected(std::string_view agent_id, UnixMillis now,
                            std::string_view replica_id) override;
  Status set_agent_lifecycle(std::string_view agent_id, AgentLifecycle state,
                             UnixMillis now) override;
  Status append_agent_logs(std::string_view agent_id, const std::vector<std::string>& lines,
                           UnixMillis now) override;
  Result<std::vector<LogLine>> agent_logs(std::string_view agent_id, std::int64_t after_seq,
                                          int limit) override;

  Result<Chat> create_chat(std::string_view organization_id, std::string_view owner_id,
                           std::optional<std::string> key, std::string_view title) override;
  Result<Chat> chat_for_key(std::string_view organization_id, std::string_view owner_id,
                            std::string_view key) override;
  Result<Chat> chat_by_id(std::string_view id) override;
  Result<std::vector<Chat>> list_chats(std::string_view owner_id) override;
  Result<Chat> set_chat_binding(std::string_view chat_id, std::optional<std::string> workspace_id,
                                std::optional<std::string> build_id,
                                std::optional<std::string> agent_id) override;
  Result<CreatedWorkspace> create_workspace_for_chat(
      std::string_view chat_id, std::optional<std::string> expected_workspace_id,
      const NewWorkspace& ws, const NewBuild& build) override;

  Status register_replica(const Replica& replica) override;
  Status heartbeat_replica(std::string_view id, UnixMillis now) override;
  Status remove_replica(std::string_view id) override;
  Result<Replica> replica_by_id(std::string_view id) override;
  Result<std::vector<Replica>> list_replicas() override;
  Result<std::int64_t> remove_stale_replicas(UnixMillis stale_before) override;
  Result<bool> acquire_lease(std::string_view name, std::string_view holder, UnixMillis now,
                             UnixMillis until) override;
  Status release_lease(std::string_view name, std::string_view holder) override;

  Status create_mcp_session(const McpSessionRecord& session, std::size_t max_per_token,
                            UnixMillis evictable_before) override;
  Result<McpSessionRecord> mcp_session(std::string_view id) override;
  Status update_mcp_session(const McpSessionRecord& session) override;
  Status touch_mcp_session(std::string_view id, UnixMillis now) override;
  Result<bool> delete_mcp_session(std::string_view id, std::string_view token_id) override;
  Result<std::int64_t> expire_mcp_sessions(UnixMillis idle_before) override;

  Status create_mcp_task(const McpTask& task) override;
  Result<McpTask> mcp_task(std::string_view id) override;
  Result<bool> renew_mcp_task(std::string_view id, std::string_view runner, UnixMillis until,
                              std::optional<std::string> message, UnixMillis now) override;
  Result<bool> finish_mcp_task(std::string_view id, std::string_view runner,
                               std::string_view status, std::string_view message,
                               std::string_view outcome, UnixMillis now) override;
  Result<bool> request_mcp_task_cancel(std::string_view id, UnixMillis now) override;
  Result<std::vector<McpTask>> claim_orphan_mcp_tasks(std::string_view runner, UnixMillis now,
                                                      UnixMillis until, int limit) override;
  Result<std::int64_t> expire_mcp_tasks(UnixMillis now) override;

  Status record_undelivered_call(const UndeliveredCall& call) override;
  Status finish_undelivered_call(std::string_view id, std::string_view result,
                                 bool is_error) override;
  Result<std::optional<UndeliveredCall>> take_undelivered_call(std::string_view chat_id,
                                                               std::string_view call_key,
                                                               UnixMillis now) override;

  Status expose_port(const ExposedPort& port) override;
  Result<bool> unexpose_port(std::string_view workspace_id, int port) override;
  Result<std::optional<ExposedPort>> exposed_port(std::string_view workspace_id, int port) override;
  Result<std::vector<ExposedPort>> exposed_ports(std::string_view workspace_id) override;

  Result<std::vector<WorkspaceStateCount>> count_workspaces_by_state() override;
  Result<std::int64_t> count_mcp_sessions() override;

  Status set_config(std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> config(std::string_view key) override;

 private:
  Result<TokenOwner> token_owner_locked(std::string_view token_id,
                                        std::optional<std::string_view> secret_hash,
                                        UnixMillis now);
  explicit SqliteStore(std::unique_ptr<sql::Connection> db) : db_(std::move(db)) {}
  Status migrate();
  // Helpers used with mu_ held.
  Result<Workspace> workspace_locked(std::string_view id);
  Result<BuildWithJob> latest_build_locked(std::string_view workspace_id);
  Result<BuildWithJob> build_for_job_locked(std::string_view job_id);
  Result<BuildWithJob> insert_build_locked(const Workspace& ws, const NewBuild& b, UnixMillis now);
  Result<ProvisionerJob> job_locked(std::string_view id);
  Result<std::string> workspace_of_build_locked(std::string_view build_id);
  Result<Template> template_locked(std::string_view id);
  Result<Chat> chat_locked(std::string_view id);
  Result<CreatedWorkspace> insert_workspace_locked(const NewWorkspace& ws, const NewBuild& b);
  // Usage of the user's workspaces in the organization, leaving out `except_workspace_id`.
  Result<QuotaUsage> quota_usage_locked(std::string_view user_id, std::string_view org_id,
                                        std::string_view except_workspace_id);

  std::mutex mu_;
  std::unique_ptr<sql::Connection> db_;  // guarded by mu_
};

}  // namespace berth::store
