// One statement as a write of its own, over one backend (included by `sqlite.rs` and
// `postgres.rs`): on SQLite a direct write on the writer connection (one hand-off,
// issue 21), on PostgreSQL one autocommit statement through sqlx. The arguments are
// [`Arg`]s so both backends bind the same list.

use super::{write_once, Backend, Db};
use crate::db_error::ctx;
use crate::direct::{to_sql, Arg, DirectRow};
use crate::timestamp::to_micros;
use genmux_core::{Error, Result};
use std::time::Duration;
use time::OffsetDateTime;

type Args<'q> = <Db as sqlx::Database>::Arguments<'q>;

pub(super) fn bind<'q>(
    mut q: sqlx::query::Query<'q, Db, Args<'q>>,
    args: &[Arg<'q>],
) -> sqlx::query::Query<'q, Db, Args<'q>> {
    for a in args {
        q = match *a {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
        };
    }
    q
}

fn bind_as<'q, R>(
    mut q: sqlx::query::QueryAs<'q, Db, R, Args<'q>>,
    args: &[Arg<'q>],
) -> sqlx::query::QueryAs<'q, Db, R, Args<'q>> {
    for a in args {
        q = match *a {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Blob(v) => q.bind(v),
        };
    }
    q
}

impl Backend {
    /// Runs `sql` as a write of its own; the rows it changed.
    pub(super) async fn write_execute(
        &self,
        what: &'static str,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<u64> {
        if let Some(r) = super::direct(self, |d| d.execute(what, sql, &to_sql(args))).await {
            return r.map(|n| n as u64);
        }
        let mut w = write_once(self).await?;
        let n = bind(sqlx::query(sql), args)
            .execute(w.conn())
            .await
            .map_err(ctx(what))?
            .rows_affected();
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(n)
    }

    /// Runs `sql` (a write `… RETURNING`) as a write of its own; the rows it returned.
    pub(super) async fn write_rows<R>(
        &self,
        what: &'static str,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>>
    where
        R: DirectRow + for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    {
        if let Some(r) =
            super::direct(self, |d| d.rows(what, sql, &to_sql(args), R::from_rusqlite)).await
        {
            return r;
        }
        let mut w = write_once(self).await?;
        let rows = bind_as(sqlx::query_as::<Db, R>(sql), args)
            .fetch_all(w.conn())
            .await
            .map_err(ctx(what))?;
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(rows)
    }

    /// Runs a lease statement (tasks, copy jobs, callbacks: `$1` the worker, `$2` the
    /// lease's end, `$3` now, `$4` how many) as a write of its own; the rows it leased.
    pub(super) async fn lease_rows<R>(
        &self,
        what: &'static str,
        sql: &str,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<R>>
    where
        R: DirectRow + for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = time::Duration::try_from(lease_for)
            .ok()
            .and_then(|l| now.checked_add(l))
            .ok_or_else(|| Error::invalid(format!("lease_for = {lease_for:?} is too long")))?;
        let args = [
            Arg::from(worker_id),
            to_micros(until).into(),
            to_micros(now).into(),
            i64::from(limit).into(),
        ];
        self.write_rows(what, sql, &args).await
    }
}
