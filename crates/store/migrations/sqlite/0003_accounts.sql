-- Accounts and points (issue 13 point 4 and point 10).

-- Ledger entries get the `adjust` kind (an operator's correction, either way) and the
-- operator's reason. SQLite cannot change a CHECK constraint in place: the table is
-- rebuilt with the same ids, and its indexes are made again.
CREATE TABLE ledger_entries_0003 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    task_id       TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('top_up', 'hold', 'post', 'void', 'adjust')),
    amount        BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    -- Required for adjustments; top-ups made through the operator API carry one too.
    reason        TEXT CHECK (kind <> 'adjust' OR reason IS NOT NULL),
    created_at    BIGINT NOT NULL
);
INSERT INTO ledger_entries_0003 (id, account_id, task_id, kind, amount, balance_after, reason, created_at)
SELECT id, account_id, task_id, kind, amount, balance_after, NULL, created_at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_0003 RENAME TO ledger_entries;
CREATE INDEX ledger_entries_account ON ledger_entries(account_id, id);
-- I2: a task has at most one hold entry and at most one post-or-void entry.
CREATE UNIQUE INDEX ledger_entries_one_hold ON ledger_entries(task_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_entries_one_resolution ON ledger_entries(task_id) WHERE kind IN ('post', 'void');

-- Every operator action on an account (creation, top-up, adjustment, a key created for
-- it or revoked), who did it and why. Append-only, like key_audit (K4); never holds a secret.
CREATE TABLE account_audit (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    action           TEXT NOT NULL CHECK (action IN ('account_created', 'top_up', 'adjust', 'key_created', 'key_revoked', 'unknown_voided')),
    account_id       TEXT NOT NULL,
    actor_key_id     TEXT,
    actor_account_id TEXT,
    points           BIGINT,
    balance_after    BIGINT,
    ledger_entry_id  BIGINT,
    reason           TEXT,
    detail           TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX account_audit_account ON account_audit(account_id, id);
CREATE TRIGGER account_audit_no_update BEFORE UPDATE ON account_audit
BEGIN SELECT RAISE(ABORT, 'account_audit is append-only'); END;
CREATE TRIGGER account_audit_no_delete BEFORE DELETE ON account_audit
BEGIN SELECT RAISE(ABORT, 'account_audit is append-only'); END;

-- Idempotency-Key records are scoped per account, not per API key (issue 13 point 10).
-- Records already kept under a key id move to that key's account; where two keys of one
-- account used the same route and key, the oldest record stays.
ALTER TABLE idempotency_keys RENAME COLUMN api_key_id TO account_id;
DELETE FROM idempotency_keys WHERE EXISTS (
    SELECT 1 FROM idempotency_keys o
    JOIN api_keys ko ON ko.id = o.account_id
    JOIN api_keys ks ON ks.id = idempotency_keys.account_id
    WHERE ko.account_id = ks.account_id
      AND o.route = idempotency_keys.route
      AND o.idem_key = idempotency_keys.idem_key
      AND (o.created_at < idempotency_keys.created_at
           OR (o.created_at = idempotency_keys.created_at AND o.account_id < idempotency_keys.account_id)));
UPDATE idempotency_keys
SET account_id = (SELECT k.account_id FROM api_keys k WHERE k.id = idempotency_keys.account_id)
WHERE EXISTS (SELECT 1 FROM api_keys k WHERE k.id = idempotency_keys.account_id);

-- The operator scope: the key `genmux serve` created on first start keeps managing every
-- account, which any admin key could (wrongly) do before. Scopes are stored sorted, and
-- `operator` sorts last.
UPDATE api_keys SET scopes = scopes || ' operator'
WHERE account_id = 'default' AND name = 'admin (bootstrap)' AND revoked_at IS NULL
  AND (' ' || scopes || ' ') NOT LIKE '% operator %';
