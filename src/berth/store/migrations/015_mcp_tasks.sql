-- Tasks of the MCP Tasks extension (io.modelcontextprotocol/tasks): a tool call a 2026-07-28
-- client polls with tasks/get instead of holding a stream open. The row is committed before
-- the client hears of the task, so any replica, and a server restarted after a crash, answers
-- for it. The replica running the call holds it by a lease (runner, runner_until); a task
-- whose runner died is taken over and its call run again (only calls that are safe to repeat
-- run as tasks: create_workspace, start_workspace, wait_for_workspace).
CREATE TABLE mcp_tasks (
  id               TEXT PRIMARY KEY,   -- 128 random bits: unguessable
  user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- The token whose scope the call runs with; a call taken over re-reads it (and fails when
  -- it was revoked or expired meanwhile).
  token_id         TEXT NOT NULL,
  chat_id          TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  organization_id  TEXT NOT NULL,
  tool             TEXT NOT NULL,
  arguments        TEXT NOT NULL,      -- JSON object
  status           TEXT NOT NULL,      -- working, completed, failed, cancelled
  status_message   TEXT NOT NULL DEFAULT '',
  -- completed: the CallToolResult; failed: the JSON-RPC error. JSON.
  outcome          TEXT NOT NULL DEFAULT '',
  cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
  runner           TEXT NOT NULL,      -- the replica running the call
  runner_until     BIGINT NOT NULL,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  expires_at       BIGINT NOT NULL
);
CREATE INDEX mcp_tasks_working ON mcp_tasks(status, runner_until);
CREATE INDEX mcp_tasks_expiry ON mcp_tasks(expires_at);
