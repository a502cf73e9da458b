-- Crash recovery (design/RELIABILITY.md R4): an Idempotency-Key remembers the task id its
-- request is creating, so a request taken over after a crash can find that task.
ALTER TABLE idempotency_keys ADD COLUMN task_id TEXT;
-- Orphan holds (a hold whose task row was never written) are found by state and age.
CREATE INDEX holds_state_created ON holds(state, created_at);
