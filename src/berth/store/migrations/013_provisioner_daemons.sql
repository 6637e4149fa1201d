-- `berth provisioner` daemons on other hosts. A site admin makes a key per daemon fleet
-- (`berth provisioner-keys create NAME --tags k=v`); a daemon authenticates with it and offers
-- its tags. A template's provisioner_tags decide which hosts build its workspaces
-- (core/tags.hpp has the rule), matched when a job is claimed.
CREATE TABLE provisioner_keys (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  tags        TEXT NOT NULL DEFAULT '{}',
  created_by  TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);

-- Canonical JSON (sorted keys), copied from the spec when the version is pushed.
ALTER TABLE template_versions ADD COLUMN provisioner_tags TEXT NOT NULL DEFAULT '{}';

-- What each provisioner offers, and (daemons) the key it registered with: a key's daemons
-- only ever act as themselves.
ALTER TABLE provisioners ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE provisioners ADD COLUMN key_id TEXT;
