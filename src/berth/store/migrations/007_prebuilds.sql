-- Prebuilt workspaces. An unclaimed prebuild is owned by the system user and names the preset
-- it was built for; a claim moves it to its new owner and clears prebuild_preset_id in one
-- transaction, so each is claimed once.
ALTER TABLE workspaces ADD COLUMN prebuild_preset_id TEXT REFERENCES template_version_presets(id);
CREATE INDEX workspaces_prebuild ON workspaces(prebuild_preset_id)
  WHERE prebuild_preset_id IS NOT NULL;
-- Consecutive failed prebuild builds per preset: the reconciler backs off, and stops at a limit.
CREATE TABLE prebuild_failures (
  preset_id      TEXT PRIMARY KEY REFERENCES template_version_presets(id),
  consecutive    INTEGER NOT NULL,
  last_failed_at BIGINT NOT NULL,
  last_error     TEXT NOT NULL
);
