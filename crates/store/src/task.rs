//! Generation tasks: what was asked, where it runs upstream, how far it got, and who is
//! polling it.

use async_trait::async_trait;
use genmux_core::{Asset, MediaKind, Operation, Result, TaskStatus};
use std::time::Duration;
use time::OffsetDateTime;

/// A task to record, right after the upstream accepted it (or after a submission whose
/// acceptance is uncertain, with status [`TaskStatus::Unknown`]).
#[derive(Clone, Debug, PartialEq)]
pub struct NewTask {
    /// Our task id (also the ledger hold id).
    pub id: String,
    /// The paying account.
    pub account_id: String,
    /// The API key that created it, if any.
    pub api_key_id: Option<String>,
    /// The catalog model id.
    pub model: String,
    /// The operation requested.
    pub operation: Operation,
    /// The provider that created it (task affinity: status goes back to it).
    pub provider: String,
    /// The upstream's task id; `None` while a submission is unknown.
    pub provider_task_id: Option<String>,
    /// The upstream's model name.
    pub provider_model: Option<String>,
    /// Status at creation.
    pub status: TaskStatus,
    /// Points held for it (the quote).
    pub points: i64,
    /// The normalized request, as JSON.
    pub request: serde_json::Value,
    /// Where to POST the finished task, if the caller asked.
    pub callback_url: Option<String>,
    /// The secret path token of our inbound callback URL for this task.
    pub callback_token: Option<String>,
    /// The caller's own tracking id.
    pub project_id: Option<String>,
    /// The id sent upstream as the provider's external id — minted by the gateway, never the
    /// caller's (finds a submission of unknown outcome, R1, X3).
    pub external_task_id: Option<String>,
    /// The caller's own `externalTaskId`: unique among the account's tasks (a second use is
    /// a `Conflict`), never sent upstream.
    pub caller_external_id: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// When the poller should first look at it; `None` = never poll (callback only).
    pub next_poll_at: Option<OffsetDateTime>,
    /// The W3C `traceparent` of the request that created it, so the engine's later work
    /// on it (polls, settlement, callbacks) links to that trace (issue 19); `None` when
    /// tracing is off.
    pub trace_context: Option<String>,
}

/// A stored task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    /// Our task id.
    pub id: String,
    /// The paying account.
    pub account_id: String,
    /// The API key that created it.
    pub api_key_id: Option<String>,
    /// The catalog model id.
    pub model: String,
    /// The operation requested.
    pub operation: Operation,
    /// The provider that created it.
    pub provider: String,
    /// The upstream's task id.
    pub provider_task_id: Option<String>,
    /// The upstream's model name.
    pub provider_model: Option<String>,
    /// Current status; moves only through [`TaskStatus::transition`].
    pub status: TaskStatus,
    /// Points held for it.
    pub points: i64,
    /// The normalized request, as JSON.
    pub request: serde_json::Value,
    /// Results, once succeeded.
    pub assets: Vec<Asset>,
    /// Failure reason, once failed.
    pub error: Option<String>,
    /// Outbound callback URL.
    pub callback_url: Option<String>,
    /// Inbound callback token.
    pub callback_token: Option<String>,
    /// The caller's tracking id.
    pub project_id: Option<String>,
    /// The id sent upstream as the provider's external id (the gateway's).
    pub external_task_id: Option<String>,
    /// The caller's own `externalTaskId`, unique within the account.
    pub caller_external_id: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// Next poll; `None` once final or when never polled.
    pub next_poll_at: Option<OffsetDateTime>,
    /// How many times a poller leased it.
    pub poll_attempts: i64,
    /// The worker holding the polling lease.
    pub lease_owner: Option<String>,
    /// When that lease ends; after it another worker may take the task.
    pub lease_expires_at: Option<OffsetDateTime>,
    /// For operators: the upstream's own text about a failure (its message and request
    /// id), which callers are not shown; [`TaskRecord::error`] is what they are told
    /// (issue 13 point 10).
    pub upstream_error: Option<String>,
    /// The `traceparent` of the request that created it ([`NewTask::trace_context`]).
    pub trace_context: Option<String>,
}

/// An observed status (from a poll or a provider callback) and what came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskUpdate {
    /// The status the provider reported.
    pub status: TaskStatus,
    /// Results (stored when the task moves; empty keeps what is stored).
    pub assets: Vec<Asset>,
    /// Failure reason shown to the caller (stored when the task moves).
    pub error: Option<String>,
    /// The upstream's own failure text, for operators (stored when the task moves).
    pub upstream_error: Option<String>,
    /// The upstream task id, once known (stored when the task moves).
    pub provider_task_id: Option<String>,
    /// The upstream model name, once known (stored when the task moves).
    pub provider_model: Option<String>,
}

impl TaskUpdate {
    /// An update that reports `status` and nothing else.
    pub fn status(status: TaskStatus) -> Self {
        TaskUpdate {
            status,
            assets: Vec::new(),
            error: None,
            upstream_error: None,
            provider_task_id: None,
            provider_model: None,
        }
    }
}

/// Where a submission went, recorded on a task written before it was sent
/// ([`TaskStore::record_submission`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SubmissionRecord {
    /// The provider that accepted it (after failover, not necessarily the first one tried).
    pub provider: String,
    /// The upstream's task id; `None` while the outcome is unknown.
    pub provider_task_id: Option<String>,
    /// The upstream's model name.
    pub provider_model: Option<String>,
    /// The status the submission left the task in (`submitted`, or `unknown`).
    pub status: TaskStatus,
    /// The `external_task_id` actually sent.
    pub external_task_id: Option<String>,
    /// When the poller should first look at it.
    pub next_poll_at: Option<OffsetDateTime>,
}

/// What [`TaskStore::update`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskUpdateOutcome {
    /// The task moved to a new status; the record after the change. Exactly one concurrent
    /// update observes `Moved` for a given move (the caller settles the ledger on it).
    Moved(TaskRecord),
    /// Nothing was written (same status, stale or backwards observation, or the task was
    /// already final); the record as stored.
    Unchanged(TaskRecord),
}

impl TaskUpdateOutcome {
    /// The task record, whichever way it went.
    pub fn record(&self) -> &TaskRecord {
        match self {
            TaskUpdateOutcome::Moved(r) | TaskUpdateOutcome::Unchanged(r) => r,
        }
    }
}

/// One page of a listing: `page` from 1, at most `limit` items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 1.
    pub page: u32,
    /// Items per page, 1–1000.
    pub limit: u32,
}

impl Page {
    /// Largest accepted page size.
    pub const MAX_LIMIT: u32 = 1000;

    /// Checks the bounds and returns `(limit, offset)` for SQL.
    pub fn limit_offset(self) -> Result<(i64, i64)> {
        if self.page == 0 {
            return Err(genmux_core::Error::invalid(
                "page = 0 is not allowed; pages are numbered from 1",
            ));
        }
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(genmux_core::Error::invalid(format!(
                "limit = {} is out of range; allowed 1–{}",
                self.limit,
                Self::MAX_LIMIT
            )));
        }
        let limit = i64::from(self.limit);
        Ok((limit, (i64::from(self.page) - 1) * limit))
    }
}

/// A listing of one account's tasks (`GET /unified-video/tasks`, issue 13 point 5), newest
/// first. Every filter is optional; they combine with AND.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskQuery {
    /// The account whose tasks are listed (never another's).
    pub account_id: String,
    /// Only tasks whose result is of this kind (by their operation's output).
    pub kind: Option<MediaKind>,
    /// Only tasks in one of these statuses; empty: every status.
    pub statuses: Vec<TaskStatus>,
    /// Only this catalog model.
    pub model: Option<String>,
    /// Only tasks created at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only tasks created before this time.
    pub to: Option<OffsetDateTime>,
    /// Which page.
    pub page: Page,
}

impl TaskQuery {
    /// Every task of `account_id`, first page of `limit`.
    pub fn account(account_id: impl Into<String>, limit: u32) -> Self {
        TaskQuery {
            account_id: account_id.into(),
            kind: None,
            statuses: Vec::new(),
            model: None,
            from: None,
            to: None,
            page: Page { page: 1, limit },
        }
    }
}

/// One page of [`TaskStore::list`].
#[derive(Clone, Debug, PartialEq)]
pub struct TaskPage {
    /// The tasks of this page, newest first (by creation time, then id).
    pub tasks: Vec<TaskRecord>,
    /// Tasks matching the query over all pages.
    pub total: u64,
}

/// A final report applied to a task: its hold resolved, and — when the hold ends as asked —
/// its usage, its callback and its final state, all in one write ([`TaskStore::settle`],
/// issue 21: one durable commit instead of four or five).
#[derive(Clone, Debug)]
pub struct Settlement {
    /// The task.
    pub task_id: String,
    /// What its hold is to become: `Posted` for a success, `Voided` otherwise.
    pub hold: crate::HoldState,
    /// Appended when the hold ends as asked (a success's usage row).
    pub usage: Option<crate::UsageRecord>,
    /// Queued when the hold ends as asked (the caller's callback, carrying the final state).
    pub delivery: Option<crate::NewDelivery>,
    /// Applied when the hold ends as asked.
    pub update: TaskUpdate,
    /// Set when the task's results were copied (issue 18): its copy job is closed as done
    /// at this time, with the rest.
    pub copy_done_at: Option<OffsetDateTime>,
    /// Assets recorded `pending` → `stored` with the rest (the copier's last downloads:
    /// their records commit with the settlement instead of in a write of their own).
    /// Written only when the hold ends as asked; an asset no longer pending is left as is.
    pub stored_assets: Vec<(String, crate::StoredBlob)>,
}

/// What [`TaskStore::settle`] did.
#[derive(Clone, Debug)]
pub struct Settled {
    /// The hold after the call (resolved now, or earlier).
    pub resolution: crate::Resolution,
    /// The task update's outcome when the hold ends as asked; `None` when an earlier
    /// settlement resolved it the other way: then nothing else was written, and the caller
    /// decides what the task becomes.
    pub outcome: Option<TaskUpdateOutcome>,
}

/// Where tasks are kept.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Records a new task. A task id that already exists is a `Conflict`.
    async fn insert(&self, task: NewTask) -> Result<TaskRecord>;

    /// Records a new task and places its hold of `task.points` on `task.account_id` in one
    /// transaction (one durable commit where [`TaskStore::insert`] after
    /// [`crate::Ledger::hold`] takes two): both are written or neither is.
    /// `InsufficientPoints` (naming the balance) or `NotFound` (no such account) when the
    /// debit is refused; `Conflict` for a task id that exists or already has a hold.
    async fn insert_with_hold(&self, task: NewTask) -> Result<TaskRecord>;

    /// Records where the submission of a task inserted before sending it (status `unknown`,
    /// no upstream id yet) went. Writes only while the task is still in that state: a task
    /// the poller or a provider callback already moved keeps what they wrote. Returns the
    /// record after the call, `None` for an unknown id.
    async fn record_submission(
        &self,
        task_id: &str,
        submission: SubmissionRecord,
    ) -> Result<Option<TaskRecord>>;

    /// Applies a final report ([`Settlement`]): resolves the task's hold to
    /// `settlement.hold` (once: a hold resolved earlier stays as it is); when the hold then
    /// is in that state, appends the usage row, queues the callback, closes the copy job and
    /// applies the update — all in one transaction. `NotFound` when the task has no hold
    /// (then nothing was written).
    async fn settle(&self, settlement: Settlement) -> Result<Settled>;

    /// Names `provider` as the one a task inserted before sending it (still `unknown`, no
    /// upstream id) is about to be sent to, before a failover's next attempt: should the
    /// process die while that attempt is in flight, the poller and the provider's callback
    /// look for the task there, not at the provider that refused it (R4). Returns whether
    /// the row was still in that state (and was changed).
    async fn retarget_unsubmitted(&self, task_id: &str, provider: &str) -> Result<bool>;

    /// Deletes a task inserted before sending it whose submission was refused everywhere
    /// (still `unknown`, no upstream id): the caller got an error, not a task. Returns
    /// whether a row was deleted.
    async fn discard_unsubmitted(&self, task_id: &str) -> Result<bool>;

    /// The task with this id, if any.
    async fn get(&self, task_id: &str) -> Result<Option<TaskRecord>>;

    /// How many of `provider`'s tasks are unfinished (`submitted`, `processing` or
    /// `unknown`: what that provider may be running for us), leaving out task `except`, and
    /// counting no further than `at_most` (the answer is the smaller of the two, so a
    /// check against a limit reads at most that many rows however many tasks run).
    /// The router's in-flight limit counts these across every gateway sharing the
    /// database and across restarts (issue 14 point 6): a task stops counting the moment it
    /// settles, wherever it settles. `except` leaves out the submission being routed,
    /// whose own row (written before its first attempt) must not count against it.
    async fn count_unfinished(
        &self,
        provider: &str,
        except: Option<&str>,
        at_most: u32,
    ) -> Result<u32>;

    /// An account's tasks, newest first.
    async fn list_by_account(&self, account_id: &str, page: Page) -> Result<Vec<TaskRecord>>;

    /// The tasks of `query.account_id` matching its filters, newest first (creation time,
    /// then id, descending), one page, with the total over all pages. `InvalidRequest` for
    /// a page out of bounds or a range that ends before it starts.
    async fn list(&self, query: &TaskQuery) -> Result<TaskPage>;

    /// Applies an observed status through [`TaskStatus::transition`]: a finished task never
    /// moves back, and a stale observation is a no-op ([`TaskUpdateOutcome::Unchanged`]),
    /// not an error. Reaching a final status clears the poll schedule and the lease.
    /// An unknown task id is `NotFound`.
    async fn update(&self, task_id: &str, update: TaskUpdate) -> Result<TaskUpdateOutcome>;

    /// The task a provider knows by `provider_task_id`.
    async fn find_by_provider_task(
        &self,
        provider: &str,
        provider_task_id: &str,
    ) -> Result<Option<TaskRecord>>;

    /// The account's task created with the caller's own `externalTaskId` `external_id`.
    async fn find_by_caller_external_id(
        &self,
        account_id: &str,
        external_id: &str,
    ) -> Result<Option<TaskRecord>>;

    /// The task whose inbound callback URL carries `token`.
    async fn find_by_callback_token(&self, token: &str) -> Result<Option<TaskRecord>>;

    /// Leases up to `limit` unfinished tasks whose `next_poll_at <= now` and that nobody
    /// else holds (or whose lease expired), for `lease_for`, to `worker_id`; counts a poll
    /// attempt on each. Two workers never hold the same task at once.
    async fn lease_due(
        &self,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<TaskRecord>>;

    /// Sets the next poll time (`None`: stop polling) and releases the lease. Only the
    /// lease holder may do this: returns `false` (and writes nothing) if `worker_id` does
    /// not hold the task's lease.
    async fn reschedule(
        &self,
        task_id: &str,
        worker_id: &str,
        next_poll_at: Option<OffsetDateTime>,
    ) -> Result<bool>;
}
