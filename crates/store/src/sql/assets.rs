// Copy jobs and assets over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::write::bind;
use super::{begin_write, Backend, Db, SKIP_LOCKED};
use crate::direct::{to_sql, Arg};
use crate::assets::{AssetRecord, AssetStore, CopyJob, CopyState, NewCopy, StoredBlob, StoredBytes};
use crate::db_error::ctx;
use crate::rows::{kind_to_db, AssetRow, CopyRow, ASSET_COLUMNS, COPY_COLUMNS};
use crate::timestamp::to_micros;
use async_trait::async_trait;
use genmux_core::{Error, Result};
use std::sync::LazyLock;
use std::time::Duration;
use time::OffsetDateTime;

/// Same shape as task leasing (see `sql/tasks.rs`).
static LEASE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE asset_copies SET lease_owner = $1, lease_expires_at = $2 \
         WHERE task_id IN (SELECT task_id FROM asset_copies WHERE state = 'pending' \
             AND next_attempt_at <= $3 \
             AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
             ORDER BY next_attempt_at, task_id LIMIT $4 {SKIP_LOCKED}) \
         RETURNING {COPY_COLUMNS}"
    )
});

const INSERT_COPY_SQL: &str = "INSERT INTO asset_copies (task_id, account_id, report, state, attempts, \
     next_attempt_at, deadline_at, created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6) \
     ON CONFLICT (task_id) DO NOTHING";
const INSERT_ASSET_SQL: &str = "INSERT INTO assets (id, task_id, account_id, idx, kind, upstream_url, state, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)";

/// Records a pending asset's blob, once.
pub(super) const MARK_STORED_SQL: &str =
    "UPDATE assets SET state = 'stored', blob_key = $1, content_type = $2, \
     size_bytes = $3, sha256 = $4, stored_at = $5, expires_at = $6 \
     WHERE id = $7 AND state = 'pending'";

/// The arguments of [`MARK_STORED_SQL`].
pub(super) fn mark_stored_args<'a>(asset_id: &'a str, b: &'a StoredBlob) -> [Arg<'a>; 7] {
    [
        (&b.blob_key).into(),
        (&b.content_type).into(),
        b.size_bytes.into(),
        (&b.sha256).into(),
        to_micros(b.stored_at).into(),
        to_micros(b.expires_at).into(),
        asset_id.into(),
    ]
}

/// Closes a pending copy job as `$1` (done or failed).
pub(super) const FINISH_COPY_SQL: &str =
    "UPDATE asset_copies SET state = $1, last_error = COALESCE($2, last_error), \
     finished_at = $3, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL \
     WHERE task_id = $4 AND state = 'pending'";

/// The arguments of [`FINISH_COPY_SQL`].
pub(super) fn finish_copy_args<'a>(
    state: CopyState,
    last_error: Option<&'a str>,
    at: i64,
    task_id: &'a str,
) -> [Arg<'a>; 4] {
    [state.as_str().into(), last_error.into(), at.into(), task_id.into()]
}

#[async_trait]
impl AssetStore for Backend {
    #[tracing::instrument(name = "genmux.store.begin_copy", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %c.task_id))]
    async fn begin_copy(&self, c: NewCopy) -> Result<CopyJob> {
        if c.assets.is_empty() {
            return Err(Error::invalid(format!(
                "copy of task `{}` has no assets to copy",
                c.task_id
            )));
        }
        let report = serde_json::to_string(&c.report)
            .map_err(|e| Error::internal(format!("copy report of `{}`: {e}", c.task_id)))?;
        let now = to_micros(crate::timestamp::now());
        let (next_attempt_at, deadline_at) = (to_micros(c.next_attempt_at), to_micros(c.deadline_at));
        let job_args = [
            Arg::from(&c.task_id),
            (&c.account_id).into(),
            (&report).into(),
            next_attempt_at.into(),
            deadline_at.into(),
            now.into(),
        ];
        fn asset_args<'a>(c: &'a NewCopy, a: &'a crate::assets::NewAsset, now: i64) -> [Arg<'a>; 7] {
            [
                Arg::from(&a.id),
                (&c.task_id).into(),
                (&c.account_id).into(),
                i64::from(a.index).into(),
                kind_to_db(a.kind).into(),
                (&a.upstream_url).into(),
                now.into(),
            ]
        }
        // The assets come with their job, in the same transaction: a job that exists has
        // all of its assets.
        let direct = super::direct(self, |d| {
            if d.execute("starting a copy job", INSERT_COPY_SQL, &to_sql(&job_args))? == 1 {
                for a in &c.assets {
                    d.execute("recording an asset to copy", INSERT_ASSET_SQL, &to_sql(&asset_args(&c, a, now)))?;
                }
            }
            Ok(())
        })
        .await;
        match direct {
            Some(r) => r?,
            None => {
                let mut w = begin_write(self).await?;
                let created = bind(sqlx::query(INSERT_COPY_SQL), &job_args)
                    .execute(w.conn())
                    .await
                    .map_err(ctx("starting a copy job"))?
                    .rows_affected()
                    == 1;
                if created {
                    for a in &c.assets {
                        bind(sqlx::query(INSERT_ASSET_SQL), &asset_args(&c, a, now))
                            .execute(w.conn())
                            .await
                            .map_err(ctx("recording an asset to copy"))?;
                    }
                }
                w.commit().await.map_err(ctx("committing a copy job"))?;
            }
        }
        self.copy_of(&c.task_id).await?.ok_or_else(|| {
            Error::internal(format!(
                "copy job of `{}` not readable after writing it",
                c.task_id
            ))
        })
    }

    async fn copy_of(&self, task_id: &str) -> Result<Option<CopyJob>> {
        let sql = format!("SELECT {COPY_COLUMNS} FROM asset_copies WHERE task_id = $1");
        if let Some(row) =
            super::read(self, |d| d.row("reading a copy job", &sql, &[&task_id], CopyRow::from_rusqlite))
        {
            return row?.map(CopyJob::try_from).transpose();
        }
        sqlx::query_as::<Db, CopyRow>(&sql)
            .bind(task_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading a copy job"))?
            .map(CopyJob::try_from)
            .transpose()
    }

    async fn lease_copies(
        &self,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<CopyJob>> {
        let rows: Vec<CopyRow> = self
            .lease_rows("leasing due copy jobs", &LEASE_SQL, worker_id, now, limit, lease_for)
            .await?;
        let mut out = rows
            .into_iter()
            .map(CopyJob::try_from)
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| (a.next_attempt_at, &a.task_id).cmp(&(b.next_attempt_at, &b.task_id)));
        Ok(out)
    }

    async fn retry_copy(
        &self,
        task_id: &str,
        worker_id: &str,
        next_attempt_at: OffsetDateTime,
        last_error: &str,
    ) -> Result<bool> {
        let n = self
            .write_execute(
                "rescheduling a copy job",
                "UPDATE asset_copies SET attempts = attempts + 1, next_attempt_at = $1, \
                 last_error = $2, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE task_id = $3 AND state = 'pending' AND lease_owner = $4",
                &[
                    to_micros(next_attempt_at).into(),
                    last_error.into(),
                    task_id.into(),
                    worker_id.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn renew_copy_lease(
        &self,
        task_id: &str,
        worker_id: &str,
        until: OffsetDateTime,
    ) -> Result<bool> {
        let n = self
            .write_execute(
                "renewing a copy lease",
                "UPDATE asset_copies SET lease_expires_at = $1 \
                 WHERE task_id = $2 AND state = 'pending' AND lease_owner = $3",
                &[to_micros(until).into(), task_id.into(), worker_id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn finish_copy(
        &self,
        task_id: &str,
        state: CopyState,
        last_error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if state == CopyState::Pending {
            return Err(Error::invalid(
                "finish_copy: state must be `done` or `failed`, not `pending`",
            ));
        }
        let n = self
            .write_execute(
                "finishing a copy job",
                FINISH_COPY_SQL,
                &finish_copy_args(state, last_error, to_micros(now), task_id),
            )
            .await?;
        Ok(n == 1)
    }

    async fn assets_of(&self, task_id: &str) -> Result<Vec<AssetRecord>> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE task_id = $1 ORDER BY idx");
        if let Some(rows) = super::read(self, |d| {
            d.rows("reading a task's assets", &sql, &[&task_id], AssetRow::from_rusqlite)
        }) {
            return rows?.into_iter().map(AssetRecord::try_from).collect();
        }
        sqlx::query_as::<Db, AssetRow>(&sql)
            .bind(task_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading a task's assets"))?
            .into_iter()
            .map(AssetRecord::try_from)
            .collect()
    }

    async fn asset(&self, asset_id: &str) -> Result<Option<AssetRecord>> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1");
        sqlx::query_as::<Db, AssetRow>(&sql)
            .bind(asset_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading an asset"))?
            .map(AssetRecord::try_from)
            .transpose()
    }

    async fn mark_stored(&self, asset_id: &str, b: &StoredBlob) -> Result<bool> {
        let n = self
            .write_execute("recording a stored asset", MARK_STORED_SQL, &mark_stored_args(asset_id, b))
            .await?;
        Ok(n == 1)
    }

    async fn refresh_upstream_url(&self, asset_id: &str, upstream_url: &str) -> Result<bool> {
        let n = self
            .write_execute(
                "refreshing an asset's upstream URL",
                "UPDATE assets SET upstream_url = $1 WHERE id = $2 AND state = 'pending'",
                &[upstream_url.into(), asset_id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn expired(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<AssetRecord>> {
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE state = 'stored' AND expires_at <= $1 \
             ORDER BY expires_at, id LIMIT $2"
        );
        sqlx::query_as::<Db, AssetRow>(&sql)
            .bind(to_micros(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing expired assets"))?
            .into_iter()
            .map(AssetRecord::try_from)
            .collect()
    }

    async fn mark_expired(&self, asset_id: &str) -> Result<bool> {
        let n = self
            .write_execute(
                "marking an asset expired",
                "UPDATE assets SET state = 'expired' WHERE id = $1 AND state = 'stored'",
                &[asset_id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn stored_bytes(&self, account_id: Option<&str>) -> Result<Vec<StoredBytes>> {
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back to fit an i64.
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT account_id, COUNT(*), CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) \
             FROM assets WHERE state = 'stored' AND ($1 IS NULL OR account_id = $1) \
             GROUP BY account_id ORDER BY account_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("summing stored bytes"))?;
        Ok(rows
            .into_iter()
            .map(|(account_id, assets, bytes)| StoredBytes {
                account_id,
                assets,
                bytes,
            })
            .collect())
    }
}
