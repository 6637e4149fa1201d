-- Berth schema, version 1. Portable SQL: TEXT UUIDs, BIGINT Unix milliseconds, BOOLEAN,
-- composite keys instead of auto-increment, so PostgreSQL accepts the same statements.

CREATE TABLE organizations (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL DEFAULT '',
  created_at   BIGINT NOT NULL
);

CREATE TABLE users (
  id         TEXT PRIMARY KEY,
  username   TEXT NOT NULL UNIQUE,
  email      TEXT NOT NULL DEFAULT '',
  site_admin BOOLEAN NOT NULL DEFAULT FALSE,
  is_system  BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL
);

CREATE TABLE organization_members (
  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role            TEXT NOT NULL DEFAULT 'member',
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);

-- Tokens are "berth_<id>_<secret>"; only SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  hashed_secret TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  expires_at    BIGINT,
  last_used_at  BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE templates (
  id                TEXT PRIMARY KEY,
  organization_id   TEXT NOT NULL REFERENCES organizations(id),
  name              TEXT NOT NULL,
  display_name      TEXT NOT NULL DEFAULT '',
  description       TEXT NOT NULL DEFAULT '',
  isolation         TEXT NOT NULL,
  agents_allowed    BOOLEAN NOT NULL DEFAULT TRUE,
  active_version_id TEXT,
  created_by        TEXT REFERENCES users(id),
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  deleted           BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX templates_org_name ON templates(organization_id, name) WHERE NOT deleted;

-- `spec` is the validated template as canonical JSON (parameters, presets, agents, scripts);
-- `source` is the template.yaml the user pushed, kept verbatim.
CREATE TABLE template_versions (
  id                 TEXT PRIMARY KEY,
  template_id        TEXT NOT NULL REFERENCES templates(id),
  number             INTEGER NOT NULL,
  source             TEXT NOT NULL,
  spec               TEXT NOT NULL,
  readme             TEXT NOT NULL DEFAULT '',
  has_external_agent BOOLEAN NOT NULL DEFAULT FALSE,
  created_by         TEXT REFERENCES users(id),
  created_at         BIGINT NOT NULL,
  UNIQUE (template_id, number)
);

CREATE TABLE workspaces (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  owner_id        TEXT NOT NULL REFERENCES users(id),
  template_id     TEXT NOT NULL REFERENCES templates(id),
  name            TEXT NOT NULL,
  ttl_ms          BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  deleted         BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX workspaces_owner_name ON workspaces(owner_id, name) WHERE NOT deleted;

-- Job status is derived from the timestamps and `error` (core/status.hpp), never stored.
CREATE TABLE provisioner_jobs (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  kind            TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  started_at      BIGINT,
  completed_at    BIGINT,
  canceled_at     BIGINT,
  error           TEXT,
  error_code      TEXT,
  worker_id       TEXT,
  heartbeat_at    BIGINT,
  deadline_at     BIGINT
);
CREATE INDEX provisioner_jobs_pending ON provisioner_jobs(created_at) WHERE started_at IS NULL;
CREATE INDEX provisioner_jobs_running ON provisioner_jobs(deadline_at)
  WHERE started_at IS NOT NULL AND completed_at IS NULL;

CREATE TABLE workspace_builds (
  id                  TEXT PRIMARY KEY,
  workspace_id        TEXT NOT NULL REFERENCES workspaces(id),
  template_version_id TEXT NOT NULL REFERENCES template_versions(id),
  build_number        INTEGER NOT NULL,
  transition          TEXT NOT NULL,
  job_id              TEXT NOT NULL UNIQUE REFERENCES provisioner_jobs(id),
  initiator_id        TEXT NOT NULL REFERENCES users(id),
  parameters          TEXT NOT NULL DEFAULT '{}',
  preset              TEXT NOT NULL DEFAULT '',
  created_at          BIGINT NOT NULL,
  UNIQUE (workspace_id, build_number)
);

CREATE TABLE provisioner_job_logs (
  job_id     TEXT NOT NULL REFERENCES provisioner_jobs(id) ON DELETE CASCADE,
  seq        BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  stage      TEXT NOT NULL,
  level      TEXT NOT NULL,
  output     TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- Agents belong to the start build that created them, as upstream's agents belong to a
-- build's resources. Connection status is derived from the three *_connected_at columns.
CREATE TABLE workspace_agents (
  id                        TEXT PRIMARY KEY,
  build_id                  TEXT NOT NULL REFERENCES workspace_builds(id),
  workspace_id              TEXT NOT NULL REFERENCES workspaces(id),
  name                      TEXT NOT NULL,
  display_order             INTEGER NOT NULL DEFAULT 0,
  is_chat                   BOOLEAN NOT NULL DEFAULT FALSE,
  external                  BOOLEAN NOT NULL DEFAULT FALSE,
  directory                 TEXT NOT NULL DEFAULT '',
  startup_script            TEXT NOT NULL DEFAULT '',
  startup_script_timeout_ms BIGINT NOT NULL,
  env                       TEXT NOT NULL DEFAULT '{}',
  connection_timeout_s      INTEGER NOT NULL,
  auth_token_hash           TEXT NOT NULL UNIQUE,
  created_at                BIGINT NOT NULL,
  first_connected_at        BIGINT,
  last_connected_at         BIGINT,
  disconnected_at           BIGINT,
  lifecycle_state           TEXT NOT NULL DEFAULT 'created',
  started_at                BIGINT,
  ready_at                  BIGINT,
  pid                       INTEGER,
  UNIQUE (build_id, name)
);
CREATE INDEX workspace_agents_workspace ON workspace_agents(workspace_id);

CREATE TABLE workspace_agent_logs (
  agent_id   TEXT NOT NULL REFERENCES workspace_agents(id) ON DELETE CASCADE,
  seq        BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  output     TEXT NOT NULL,
  PRIMARY KEY (agent_id, seq)
);

CREATE TABLE site_config (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
