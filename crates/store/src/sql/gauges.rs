// Gauge queries over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::{Backend, Db};
use crate::db_error::ctx;
use crate::gauges::{Gauges, UNFINISHED};
use crate::timestamp::{from_micros_opt, to_micros};
use genmux_core::Result;
use time::OffsetDateTime;

impl Backend {
    /// See [`crate::Store::gauges`].
    pub(crate) async fn gauges(&self, now: OffsetDateTime) -> Result<Gauges> {
        let now = to_micros(now);
        // The partial index `tasks_unfinished_provider` holds exactly these rows.
        let by_status: Vec<(String, i64)> = sqlx::query_as::<Db, (String, i64)>(
            "SELECT status, COUNT(*) FROM tasks \
             WHERE status IN ('submitted', 'processing', 'unknown') GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("counting unfinished tasks"))?;
        let (polls_due, oldest_poll): (i64, Option<i64>) = sqlx::query_as::<Db, (i64, Option<i64>)>(
            "SELECT COUNT(*), MIN(next_poll_at) FROM tasks \
             WHERE next_poll_at IS NOT NULL AND next_poll_at <= $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(ctx("reading due polls"))?;
        let (callbacks_pending, oldest_callback): (i64, Option<i64>) =
            sqlx::query_as::<Db, (i64, Option<i64>)>(
                "SELECT COUNT(*), MIN(CASE WHEN next_attempt_at <= $1 THEN next_attempt_at END) \
                 FROM outbox WHERE state = 'pending'",
            )
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(ctx("reading pending callbacks"))?;
        Ok(Gauges {
            unfinished: UNFINISHED
                .iter()
                .map(|s| {
                    let n = by_status
                        .iter()
                        .find(|(name, _)| name == s.as_str())
                        .map_or(0, |(_, n)| *n);
                    (*s, n)
                })
                .collect(),
            polls_due,
            oldest_due_poll: from_micros_opt("next_poll_at", oldest_poll)?,
            callbacks_pending,
            oldest_due_callback: from_micros_opt("next_attempt_at", oldest_callback)?,
        })
    }
}
