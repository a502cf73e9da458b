-- Issue 13 point 10 (design/RELIABILITY.md W2, docs/api.md "Callbacks"): a callback endpoint
-- that answered 410 Gone is disabled. "The endpoint" is one callback URL of one account
-- (as normalized by the gateway's URL parser): other accounts sending to the same URL, and
-- other URLs of the same host, are not affected. No delivery to a disabled endpoint is
-- attempted until the account (or an operator) enables it again, which deletes the row.
CREATE TABLE disabled_endpoints (
    account_id   TEXT NOT NULL,
    url          TEXT NOT NULL,
    -- Why, for the account and the operator ("HTTP 410 Gone to msg_… at …").
    reason       TEXT NOT NULL,
    -- The delivery that got the 410.
    webhook_id   TEXT,
    disabled_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, url)
);

-- Issue 13 point 10: the upstream's own failure text (its message, its request id) is kept
-- for operators here; `error` holds what the caller is told.
ALTER TABLE tasks ADD COLUMN upstream_error TEXT;
