-- Bytes stored per build log and per agent log, so appends can stop at the cap
-- (store/log_cap.hpp) without summing the log.
ALTER TABLE provisioner_jobs ADD COLUMN log_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workspace_agents ADD COLUMN log_bytes BIGINT NOT NULL DEFAULT 0;
