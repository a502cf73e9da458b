-- Issue 18: results kept by the gateway. A task whose upstream reported success gets one
-- copy job (leased like polls and callbacks, so replicas and restarts neither lose nor
-- double a copy) and one row per asset; the blob itself lives in the object store under
-- `blob_key`. The upstream's report (with its URLs, for operators only) is kept in
-- `report` until the copy decides the task: success once every asset is stored, failure
-- if the upstream's URLs died first.
CREATE TABLE asset_copies (
    task_id          TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    report           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    deadline_at      BIGINT NOT NULL,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX asset_copies_due ON asset_copies(next_attempt_at) WHERE state = 'pending';

CREATE TABLE assets (
    id            TEXT PRIMARY KEY,
    task_id       TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    idx           BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    upstream_url  TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'expired')),
    blob_key      TEXT,
    content_type  TEXT,
    size_bytes    BIGINT,
    sha256        TEXT,
    created_at    BIGINT NOT NULL,
    stored_at     BIGINT,
    expires_at    BIGINT,
    UNIQUE (task_id, idx)
);
CREATE INDEX assets_expiry ON assets(expires_at) WHERE state = 'stored';
CREATE INDEX assets_account ON assets(account_id, state);
