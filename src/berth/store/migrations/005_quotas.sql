-- Quotas. A template may cost credits per day while a workspace of it runs; a user's running
-- workspaces in an organization may use at most their budget. The budget is the user's own
-- row, else the organization's '*' row (every member), else unlimited.
CREATE TABLE quota_allowances (
  organization_id TEXT NOT NULL REFERENCES organizations(id),
  subject         TEXT NOT NULL,  -- a user id, or '*'
  budget          BIGINT NOT NULL,
  PRIMARY KEY (organization_id, subject)
);
-- The credits a start build committed when the provisioner admitted it (0 for stop/delete).
ALTER TABLE workspace_builds ADD COLUMN daily_cost BIGINT NOT NULL DEFAULT 0;
