-- Chats: a conversation of one user in one organization, and the workspace bound to it.
-- chat_key names a chat a client can come back to (/mcp?chat=KEY); NULL for the chat of a
-- single MCP session.
CREATE TABLE chats (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  owner_id        TEXT NOT NULL REFERENCES users(id),
  chat_key        TEXT,
  title           TEXT NOT NULL DEFAULT '',
  workspace_id    TEXT REFERENCES workspaces(id),
  build_id        TEXT REFERENCES workspace_builds(id),
  agent_id        TEXT REFERENCES workspace_agents(id),
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX chats_owner_key ON chats(owner_id, chat_key) WHERE chat_key IS NOT NULL;
CREATE INDEX chats_workspace ON chats(workspace_id);
