-- Issue 14 point 6: the router's in-flight limit counts each provider's unfinished tasks
-- in the store (TaskStore::count_unfinished), once per attempt at a provider with a limit,
-- from every gateway sharing the database. This partial index holds only unfinished rows,
-- so the count never reads the finished history.
CREATE INDEX tasks_unfinished_provider ON tasks(provider)
    WHERE status IN ('submitted', 'processing', 'unknown');
