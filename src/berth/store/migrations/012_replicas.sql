-- Several servers on one database (scale-out). Each running server is a replica: it registers
-- itself with the address other replicas relay agent calls to, and heartbeats. An agent's
-- connection belongs to the replica it dialled (workspace_agents.replica_id), so a tool call
-- that lands elsewhere is relayed there.
CREATE TABLE replicas (
  id           TEXT PRIMARY KEY,
  hostname     TEXT NOT NULL DEFAULT '',
  -- One server at a time uses a data directory (berth.lock): a replica starting there
  -- replaces the row of the one before it, which is certainly gone.
  data_dir     TEXT NOT NULL DEFAULT '',
  relay_url    TEXT NOT NULL,
  -- Bearer secret this replica accepts on its relay endpoint. Whoever reads the database can
  -- already do anything; the secret keeps the endpoint closed to everyone else.
  relay_secret TEXT NOT NULL,
  started_at   BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);

ALTER TABLE workspace_agents ADD COLUMN replica_id TEXT;

-- Background work that must run on one replica at a time (the prebuild reconciler) holds a
-- lease: renewed by its holder, taken over by another replica once it expires.
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);

-- MCP sessions on /mcp, so any replica answers any session. Calls in flight stay in the
-- memory of the replica running them.
CREATE TABLE mcp_sessions (
  id               TEXT PRIMARY KEY,
  token_id         TEXT NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
  chat_id          TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  organization_id  TEXT NOT NULL,
  protocol_version TEXT NOT NULL DEFAULT '',
  client_info      TEXT NOT NULL DEFAULT '{}',
  initialized      BOOLEAN NOT NULL DEFAULT FALSE,
  created_at       BIGINT NOT NULL,
  last_used_at     BIGINT NOT NULL
);
CREATE INDEX mcp_sessions_token ON mcp_sessions(token_id, last_used_at);
CREATE INDEX mcp_sessions_last_used ON mcp_sessions(last_used_at);

-- Provisioners: the hosts that run builds and the workspaces' processes (the embedded one of
-- each server, and `berth provisioner` daemons). A workspace lives on the host whose start
-- build first succeeded (workspaces.provisioner_id): its files and processes are there, so
-- every later build of it is claimed by that host only. Until then any host may run its
-- builds (a failed first build leaves nothing worth keeping).
CREATE TABLE provisioners (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  kind         TEXT NOT NULL,
  worker_id    TEXT NOT NULL,
  started_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);

ALTER TABLE workspaces ADD COLUMN provisioner_id TEXT;
ALTER TABLE provisioner_jobs ADD COLUMN provisioner_id TEXT;
