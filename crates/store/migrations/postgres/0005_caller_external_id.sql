-- Issue 13, design/RELIABILITY.md X3: upstreams see only ids the gateway minted
-- (`external_task_id` is now always ours). A caller's own `externalTaskId` is its handle on
-- our side: stored here, unique among the account's tasks (other accounts are independent),
-- and shown in status and usage.
ALTER TABLE tasks ADD COLUMN caller_external_id TEXT;
CREATE UNIQUE INDEX tasks_caller_external_id ON tasks(account_id, caller_external_id)
    WHERE caller_external_id IS NOT NULL;
ALTER TABLE usage_records ADD COLUMN caller_external_id TEXT;
