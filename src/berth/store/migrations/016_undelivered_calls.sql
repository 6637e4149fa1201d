-- Tool calls that are not safe to repeat (execute, edit_file) whose answer never reached the
-- client: its stream was cut or it cancelled, and the call went on. A 2026-07-28 client
-- re-sends such a call (streams no longer resume); the same call in the same chat then gets
-- the first call's answer instead of running twice, or, while the first still runs, a result
-- saying its outcome is not known yet. Written only when a call is cut off; kept ten minutes.
CREATE TABLE undelivered_calls (
  id          TEXT PRIMARY KEY,
  chat_id     TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  call_key    TEXT NOT NULL,     -- SHA-256 of the tool's name and its arguments
  tool        TEXT NOT NULL,
  status      TEXT NOT NULL,     -- running, done
  result      TEXT NOT NULL DEFAULT '',  -- done: the tool's structured result (JSON)
  is_error    BOOLEAN NOT NULL DEFAULT FALSE,
  started_at  BIGINT NOT NULL,
  cut_at      BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL
);
CREATE INDEX undelivered_calls_chat ON undelivered_calls(chat_id, call_key, started_at);
