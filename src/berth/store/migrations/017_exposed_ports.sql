-- Ports of a workspace that answer at a preview URL (expose_port). Only these answer; each has
-- a secret (kept as its SHA-256) that opens a private port's preview without a session. A
-- workspace's rows go when it is deleted: its URLs die with it.
CREATE TABLE exposed_ports (
  workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  port          INTEGER NOT NULL,
  is_public     BOOLEAN NOT NULL DEFAULT FALSE,
  token_hash    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, port)
);
CREATE INDEX exposed_ports_token ON exposed_ports(token_hash);
