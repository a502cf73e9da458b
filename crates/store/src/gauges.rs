//! What the gateway's gauges read from the database (issue 19): tasks not yet final by
//! status, polls due and how late the oldest is, callbacks waiting and how late the oldest
//! is. Each is one indexed query (the partial indexes on unfinished tasks, due polls and
//! pending callbacks), so a scrape never reads the finished history. Every replica sharing
//! a database reads the same figures: aggregate them with `max`, not `sum`.

use genmux_core::TaskStatus;
use time::OffsetDateTime;

/// A snapshot of the database-wide gauges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gauges {
    /// Unfinished tasks (`submitted`, `processing`, `unknown`) by status; a status with no
    /// task is listed with 0.
    pub unfinished: Vec<(TaskStatus, i64)>,
    /// Tasks whose next poll is due (at or before `now`).
    pub polls_due: i64,
    /// When the longest-waiting due poll came due.
    pub oldest_due_poll: Option<OffsetDateTime>,
    /// Outbound callbacks still to deliver (`pending`).
    pub callbacks_pending: i64,
    /// When the longest-waiting pending callback came due (at or before `now`).
    pub oldest_due_callback: Option<OffsetDateTime>,
}

/// The statuses [`Gauges::unfinished`] counts.
pub const UNFINISHED: [TaskStatus; 3] = [
    TaskStatus::Submitted,
    TaskStatus::Processing,
    TaskStatus::Unknown,
];
