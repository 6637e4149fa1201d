-- API token scopes. organization_id: the token acts only in that organization (and never as
-- a site admin). read_only: the token may only read.
ALTER TABLE api_tokens ADD COLUMN organization_id TEXT REFERENCES organizations(id);
ALTER TABLE api_tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
