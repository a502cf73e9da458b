// IdempotencyStore over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::{write_once, Backend, Db};
use crate::db_error::ctx;
use crate::idempotency::{
    BeginOutcome, IdempotencyKey, IdempotencyStore, StaleClaim, StoredResponse,
};
use crate::timestamp::{now, to_micros};
use async_trait::async_trait;
use genmux_core::{Error, Result};
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct IdemRow {
    fingerprint: String,
    state: String,
    response_status: Option<i64>,
    response_body: Option<Vec<u8>>,
}

#[async_trait]
impl IdempotencyStore for Backend {
    async fn begin(&self, key: &IdempotencyKey, fingerprint: &str) -> Result<BeginOutcome> {
        // The primary key makes the insert the atomic claim: one caller inserts, the rest
        // find the row (on PostgreSQL they wait for the claiming transaction first).
        let mut w = write_once(self).await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (account_id, route, idem_key, fingerprint, state, created_at) \
             VALUES ($1, $2, $3, $4, 'in_progress', $5) ON CONFLICT DO NOTHING",
        )
        .bind(&key.account_id)
        .bind(&key.route)
        .bind(&key.key)
        .bind(fingerprint)
        .bind(to_micros(now()))
        .execute(w.conn())
        .await
        .map_err(ctx("claiming an idempotency key"))?
        .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        if claimed == 1 {
            return Ok(BeginOutcome::New);
        }
        let row = sqlx::query_as::<Db, IdemRow>(
            "SELECT fingerprint, state, response_status, response_body FROM idempotency_keys \
             WHERE account_id = $1 AND route = $2 AND idem_key = $3",
        )
        .bind(&key.account_id)
        .bind(&key.route)
        .bind(&key.key)
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx("reading an idempotency key"))?;
        let Some(row) = row else {
            // Abandoned between our insert attempt and this read: the key is free again.
            return Box::pin(self.begin(key, fingerprint)).await;
        };
        if row.fingerprint != fingerprint {
            return Ok(BeginOutcome::Mismatch);
        }
        match (row.state.as_str(), row.response_status, row.response_body) {
            ("in_progress", _, _) => Ok(BeginOutcome::InProgress),
            ("done", Some(status), Some(body)) => Ok(BeginOutcome::Done(StoredResponse {
                status: u16::try_from(status).map_err(|_| {
                    Error::internal(format!(
                        "stored response status {status} is not an HTTP status"
                    ))
                })?,
                body,
            })),
            (state, _, _) => Err(Error::internal(format!(
                "idempotency record in state `{state}` has no stored response"
            ))),
        }
    }

    async fn complete(&self, key: &IdempotencyKey, response: &StoredResponse) -> Result<bool> {
        let mut w = write_once(self).await?;
        let n = sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2, \
             completed_at = $3 WHERE account_id = $4 AND route = $5 AND idem_key = $6 \
             AND state = 'in_progress'",
        )
        .bind(i64::from(response.status))
        .bind(&response.body)
        .bind(to_micros(now()))
        .bind(&key.account_id)
        .bind(&key.route)
        .bind(&key.key)
        .execute(w.conn())
        .await
        .map_err(ctx("completing an idempotency key"))?
        .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n == 1)
    }

    async fn abandon(&self, key: &IdempotencyKey) -> Result<bool> {
        let mut w = write_once(self).await?;
        let n = sqlx::query(
            "DELETE FROM idempotency_keys WHERE account_id = $1 AND route = $2 AND idem_key = $3 \
             AND state = 'in_progress'",
        )
        .bind(&key.account_id)
        .bind(&key.route)
        .bind(&key.key)
        .execute(w.conn())
        .await
        .map_err(ctx("abandoning an idempotency key"))?
        .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n == 1)
    }

    async fn attach_task(&self, key: &IdempotencyKey, task_id: &str) -> Result<bool> {
        let mut w = write_once(self).await?;
        let n = sqlx::query(
            "UPDATE idempotency_keys SET task_id = $1 WHERE account_id = $2 AND route = $3 \
             AND idem_key = $4 AND state = 'in_progress'",
        )
        .bind(task_id)
        .bind(&key.account_id)
        .bind(&key.route)
        .bind(&key.key)
        .execute(w.conn())
        .await
        .map_err(ctx("attaching a task to an idempotency key"))?
        .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n == 1)
    }

    async fn take_over_stale(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        older_than: std::time::Duration,
    ) -> Result<Option<StaleClaim>> {
        let at = now();
        let started_before = time::Duration::try_from(older_than)
            .ok()
            .and_then(|d| at.checked_sub(d))
            .ok_or_else(|| {
                Error::invalid(format!("older_than = {older_than:?} is out of range"))
            })?;
        // The conditional update is the claim: once one caller moved `created_at` to now,
        // the others no longer match.
        let mut w = write_once(self).await?;
        let row = sqlx::query_as::<Db, (Option<String>,)>(
            "UPDATE idempotency_keys SET created_at = $1 WHERE account_id = $2 AND route = $3 \
             AND idem_key = $4 AND state = 'in_progress' AND fingerprint = $5 \
             AND created_at < $6 RETURNING task_id",
        )
        .bind(to_micros(at))
        .bind(&key.account_id)
        .bind(&key.route)
        .bind(&key.key)
        .bind(fingerprint)
        .bind(to_micros(started_before))
        .fetch_optional(w.conn())
        .await
        .map_err(ctx("taking over a stale idempotency key"))?;
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(row.map(|(task_id,)| StaleClaim { task_id }))
    }

    async fn purge_older_than(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let mut w = write_once(self).await?;
        let n = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(to_micros(cutoff))
            .execute(w.conn())
            .await
            .map_err(ctx("purging idempotency keys"))?
            .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n)
    }
}
