// Outbox over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::{write_once, Backend, Db, SKIP_LOCKED};
use crate::direct::Arg;
use crate::db_error::ctx;
use crate::outbox::{Delivery, DisabledEndpoint, GiveUpReason, NewDelivery, Outbox};
use crate::rows::{
    DeliveryRow, DisabledEndpointRow, DELIVERY_COLUMNS, DISABLED_ENDPOINT_COLUMNS,
};
use crate::timestamp::to_micros;
use async_trait::async_trait;
use genmux_core::{Error, Result};
use std::sync::LazyLock;
use std::time::Duration;
use time::OffsetDateTime;

/// Same shape as task leasing (see `sql/tasks.rs`).
static LEASE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE outbox SET lease_owner = $1, lease_expires_at = $2 \
         WHERE webhook_id IN (SELECT webhook_id FROM outbox WHERE state = 'pending' \
             AND next_attempt_at <= $3 \
             AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
             ORDER BY next_attempt_at, webhook_id LIMIT $4 {SKIP_LOCKED}) \
         RETURNING {DELIVERY_COLUMNS}"
    )
});

/// A callback to deliver, once per webhook id.
pub(super) const ENQUEUE_SQL: &str =
    "INSERT INTO outbox (webhook_id, task_id, account_id, url, body, state, attempts, \
     next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7) \
     ON CONFLICT (webhook_id) DO NOTHING";

/// The arguments of [`ENQUEUE_SQL`] (`now`: when it was queued).
pub(super) fn enqueue_args(d: &NewDelivery, now: i64) -> [Arg<'_>; 7] {
    [
        (&d.webhook_id).into(),
        (&d.task_id).into(),
        (&d.account_id).into(),
        (&d.url).into(),
        d.body.as_slice().into(),
        to_micros(d.next_attempt_at).into(),
        now.into(),
    ]
}

/// Checks a callback before it is queued.
pub(super) fn check_delivery(d: &NewDelivery) -> Result<()> {
    if d.webhook_id.is_empty() {
        return Err(Error::invalid("webhook_id is empty"));
    }
    Ok(())
}

#[async_trait]
impl Outbox for Backend {
    #[tracing::instrument(name = "genmux.store.enqueue_callback", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %d.task_id))]
    async fn enqueue(&self, d: NewDelivery) -> Result<Delivery> {
        check_delivery(&d)?;
        let now = to_micros(crate::timestamp::now());
        self.write_execute("enqueueing a callback", ENQUEUE_SQL, &enqueue_args(&d, now))
            .await?;
        self.get(&d.webhook_id).await?.ok_or_else(|| {
            Error::internal(format!(
                "callback `{}` not readable after enqueue",
                d.webhook_id
            ))
        })
    }

    async fn get(&self, webhook_id: &str) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE webhook_id = $1");
        sqlx::query_as::<Db, DeliveryRow>(&sql)
            .bind(webhook_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading a callback"))?
            .map(Delivery::try_from)
            .transpose()
    }

    async fn lease_due(
        &self,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = self
            .lease_rows("leasing due callbacks", &LEASE_SQL, worker_id, now, limit, lease_for)
            .await?;
        let mut out = rows
            .into_iter()
            .map(Delivery::try_from)
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (a.next_attempt_at, &a.webhook_id).cmp(&(b.next_attempt_at, &b.webhook_id))
        });
        Ok(out)
    }

    async fn mark_delivered(&self, webhook_id: &str, now: OffsetDateTime) -> Result<bool> {
        let n = self
            .write_execute(
                "marking a callback delivered",
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, finished_at = $1, \
                 next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE webhook_id = $2 AND state = 'pending'",
                &[to_micros(now).into(), webhook_id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn reschedule(
        &self,
        webhook_id: &str,
        worker_id: &str,
        next_attempt_at: OffsetDateTime,
        last_error: &str,
    ) -> Result<bool> {
        let n = self
            .write_execute(
                "rescheduling a callback",
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE webhook_id = $3 AND state = 'pending' AND lease_owner = $4",
                &[
                    to_micros(next_attempt_at).into(),
                    last_error.into(),
                    webhook_id.into(),
                    worker_id.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn give_up(
        &self,
        webhook_id: &str,
        reason: GiveUpReason,
        last_error: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut w = write_once(self).await?;
        let state = match reason {
            GiveUpReason::Disabled => "disabled",
            GiveUpReason::Exhausted => "exhausted",
        };
        let n = sqlx::query(
            "UPDATE outbox SET state = $1, attempts = attempts + 1, last_error = $2, finished_at = $3, \
             next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL \
             WHERE webhook_id = $4 AND state = 'pending'",
        )
        .bind(state)
        .bind(last_error)
        .bind(to_micros(now))
        .bind(webhook_id)
        .execute(w.conn())
        .await
        .map_err(ctx("giving up a callback"))?
        .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n == 1)
    }

    async fn skip_disabled(
        &self,
        webhook_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut w = write_once(self).await?;
        let n = sqlx::query(
            "UPDATE outbox SET state = 'disabled', last_error = $1, finished_at = $2, \
             next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL \
             WHERE webhook_id = $3 AND state = 'pending'",
        )
        .bind(reason)
        .bind(to_micros(now))
        .bind(webhook_id)
        .execute(w.conn())
        .await
        .map_err(ctx("skipping a callback to a disabled endpoint"))?
        .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n == 1)
    }

    async fn disable_endpoint(&self, e: DisabledEndpoint) -> Result<DisabledEndpoint> {
        if e.account_id.is_empty() || e.url.is_empty() {
            return Err(Error::invalid(
                "a disabled endpoint needs an account id and a URL",
            ));
        }
        let mut w = write_once(self).await?;
        sqlx::query(
            "INSERT INTO disabled_endpoints (account_id, url, reason, webhook_id, disabled_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, url) DO NOTHING",
        )
        .bind(&e.account_id)
        .bind(&e.url)
        .bind(&e.reason)
        .bind(&e.webhook_id)
        .bind(to_micros(e.disabled_at))
        .execute(w.conn())
        .await
        .map_err(ctx("disabling a callback endpoint"))?;
        w.commit().await.map_err(ctx("committing a write"))?;
        self.disabled_endpoint(&e.account_id, &e.url)
            .await?
            .ok_or_else(|| {
                Error::internal(format!(
                    "disabled endpoint `{}` not readable after writing it",
                    e.url
                ))
            })
    }

    async fn disabled_endpoint(
        &self,
        account_id: &str,
        url: &str,
    ) -> Result<Option<DisabledEndpoint>> {
        let sql = format!(
            "SELECT {DISABLED_ENDPOINT_COLUMNS} FROM disabled_endpoints \
             WHERE account_id = $1 AND url = $2"
        );
        sqlx::query_as::<Db, DisabledEndpointRow>(&sql)
            .bind(account_id)
            .bind(url)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading a disabled endpoint"))?
            .map(DisabledEndpoint::try_from)
            .transpose()
    }

    async fn disabled_endpoints(&self, account_id: &str) -> Result<Vec<DisabledEndpoint>> {
        let sql = format!(
            "SELECT {DISABLED_ENDPOINT_COLUMNS} FROM disabled_endpoints \
             WHERE account_id = $1 ORDER BY disabled_at DESC, url"
        );
        sqlx::query_as::<Db, DisabledEndpointRow>(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing disabled endpoints"))?
            .into_iter()
            .map(DisabledEndpoint::try_from)
            .collect()
    }

    async fn enable_endpoint(&self, account_id: &str, url: &str) -> Result<bool> {
        let mut w = write_once(self).await?;
        let n = sqlx::query("DELETE FROM disabled_endpoints WHERE account_id = $1 AND url = $2")
            .bind(account_id)
            .bind(url)
            .execute(w.conn())
            .await
            .map_err(ctx("enabling a callback endpoint"))?
            .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n == 1)
    }
}
