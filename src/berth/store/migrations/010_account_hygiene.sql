-- A suspended user's tokens stop working (their workspaces are left as they are).
ALTER TABLE users ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT FALSE;
