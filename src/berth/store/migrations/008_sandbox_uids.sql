-- Each workspace of a root server runs its sandbox as a host uid of its own
-- (provisioner/sandbox.hpp: base + sandbox_number), so that no workspace is host root and
-- process limits count per workspace. Numbers are handed out once and never reused.
ALTER TABLE workspaces ADD COLUMN sandbox_number INTEGER;
CREATE UNIQUE INDEX workspaces_sandbox_number ON workspaces(sandbox_number)
  WHERE sandbox_number IS NOT NULL;
