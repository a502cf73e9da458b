-- genmux store, PostgreSQL. Times are BIGINT microseconds since the Unix epoch (UTC).
-- Points are integers (ARCHITECTURE.md "Money is integers").

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    -- I1: never < 0, enforced by the database as well as by conditional updates.
    balance     BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at  BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    id            BIGSERIAL PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    task_id       TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('top_up', 'hold', 'post', 'void')),
    amount        BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries(account_id, id);
-- I2: a task has at most one hold entry and at most one post-or-void entry.
CREATE UNIQUE INDEX ledger_entries_one_hold ON ledger_entries(task_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_entries_one_resolution ON ledger_entries(task_id) WHERE kind IN ('post', 'void');

CREATE TABLE holds (
    task_id     TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    points      BIGINT NOT NULL CHECK (points >= 0),
    state       TEXT NOT NULL CHECK (state IN ('held', 'posted', 'voided')),
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX holds_account ON holds(account_id);

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    api_key_id       TEXT,
    model            TEXT NOT NULL,
    operation        TEXT NOT NULL,
    provider         TEXT NOT NULL,
    provider_task_id TEXT,
    provider_model   TEXT,
    status           TEXT NOT NULL,
    points           BIGINT NOT NULL,
    request          TEXT NOT NULL,
    assets           TEXT NOT NULL DEFAULT '[]',
    error            TEXT,
    callback_url     TEXT,
    callback_token   TEXT,
    project_id       TEXT,
    external_task_id TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    next_poll_at     BIGINT,
    poll_attempts    BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at BIGINT
);
CREATE INDEX tasks_account_created ON tasks(account_id, created_at DESC, id DESC);
CREATE INDEX tasks_provider_task ON tasks(provider, provider_task_id);
CREATE UNIQUE INDEX tasks_callback_token ON tasks(callback_token);
CREATE INDEX tasks_due ON tasks(next_poll_at) WHERE next_poll_at IS NOT NULL;

CREATE TABLE idempotency_keys (
    api_key_id    TEXT NOT NULL,
    route         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    response_status BIGINT,
    response_body BYTEA,
    created_at    BIGINT NOT NULL,
    completed_at  BIGINT,
    PRIMARY KEY (api_key_id, route, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    -- K1: SHA-256 of the secret; the plaintext is never stored.
    secret_hash BYTEA NOT NULL,
    last4       TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id, created_at);

-- K4: append-only; no row ever holds a secret.
CREATE TABLE key_audit (
    id          BIGSERIAL PRIMARY KEY,
    action      TEXT NOT NULL CHECK (action IN ('created', 'revoked', 'auth_failed')),
    key_id      TEXT,
    account_id  TEXT,
    detail      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE FUNCTION key_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'key_audit is append-only'; END;
$$;
CREATE TRIGGER key_audit_append_only BEFORE UPDATE OR DELETE ON key_audit
FOR EACH ROW EXECUTE FUNCTION key_audit_append_only();

CREATE TABLE usage_records (
    task_id       TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    api_key_id    TEXT,
    model         TEXT NOT NULL,
    points        BIGINT NOT NULL,
    usage         TEXT NOT NULL,
    input_tokens  BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE INDEX usage_records_account_created ON usage_records(account_id, created_at);

CREATE TABLE outbox (
    webhook_id       TEXT PRIMARY KEY,
    task_id          TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    url              TEXT NOT NULL,
    body             BYTEA NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'disabled', 'exhausted')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'pending';
