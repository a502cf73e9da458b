-- Issue 19: the W3C traceparent of the request that created a task, so the engine's later
-- work on it (polls, settlement, outbound callbacks) links to that request's trace. NULL
-- when tracing was off (and for tasks created before this migration).
ALTER TABLE tasks ADD COLUMN trace_context TEXT;
