-- The request that queued each job (X-Request-Id, or the id the server gave it), so a build's
-- log lines carry the id of the REST or MCP call that asked for it. '' for jobs the server
-- queued on its own (prebuilds, autostop) and for jobs older than this migration.
ALTER TABLE provisioner_jobs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
