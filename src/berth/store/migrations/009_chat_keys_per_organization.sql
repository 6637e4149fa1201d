-- A chat key names one chat per owner and organization: a token scoped to one organization
-- must never reach the chat (and workspace) a key names in another.
DROP INDEX chats_owner_key;
CREATE UNIQUE INDEX chats_owner_org_key ON chats(owner_id, organization_id, chat_key)
  WHERE chat_key IS NOT NULL;
