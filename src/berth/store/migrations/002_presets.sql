-- Presets get their own rows and ids: chat tools name them by id (preset_id), and the
-- prebuild reconciler keeps desired_instances ready per preset.
CREATE TABLE template_version_presets (
  id                  TEXT PRIMARY KEY,
  template_version_id TEXT NOT NULL REFERENCES template_versions(id),
  name                TEXT NOT NULL,
  description         TEXT NOT NULL DEFAULT '',
  is_default          BOOLEAN NOT NULL DEFAULT FALSE,
  parameters          TEXT NOT NULL DEFAULT '{}',
  desired_instances   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (template_version_id, name)
);
