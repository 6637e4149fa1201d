-- Time to live. deadline_at is when the scheduler stops a running workspace: set to
-- completion + ttl_ms when a start build succeeds, pushed later by activity (tool calls, an
-- agent connection in use), cleared by every new build. NULL = no deadline.
ALTER TABLE workspaces ADD COLUMN deadline_at BIGINT;
CREATE INDEX workspaces_deadline ON workspaces(deadline_at) WHERE deadline_at IS NOT NULL;
-- Why a build was made: 'initiator' (someone asked for it) or 'autostop' (the deadline passed).
ALTER TABLE workspace_builds ADD COLUMN reason TEXT NOT NULL DEFAULT 'initiator';
