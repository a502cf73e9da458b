// TaskStore over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::{begin_write, write_once, Backend, Db, SKIP_LOCKED};
use crate::db_error::ctx;
use crate::direct::Direct;
use crate::rows::{TaskRow, TASK_COLUMNS};
use crate::task::{
    NewTask, Page, Settled, Settlement, SubmissionRecord, TaskPage, TaskQuery, TaskRecord, TaskStore, TaskUpdate,
    TaskUpdateOutcome,
};
use crate::timestamp::{now, to_micros};
use async_trait::async_trait;
use genmux_core::{Error, ErrorKind, Operation, Result, Transition};
use std::sync::LazyLock;
use std::time::Duration;
use time::OffsetDateTime;

/// Statuses a poller still has to look at.
const UNFINISHED: &str = "('submitted', 'processing', 'unknown')";

/// One statement takes due, unleased (or lease-expired) tasks: on PostgreSQL the inner
/// `SELECT … FOR UPDATE SKIP LOCKED` makes concurrent pollers skip each other's rows; on
/// SQLite the statement runs under the database write lock.
static LEASE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET lease_owner = $1, lease_expires_at = $2, poll_attempts = poll_attempts + 1 \
         WHERE id IN (SELECT id FROM tasks WHERE status IN {UNFINISHED} \
             AND next_poll_at IS NOT NULL AND next_poll_at <= $3 \
             AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
             ORDER BY next_poll_at, id LIMIT $4 {SKIP_LOCKED}) \
         RETURNING {TASK_COLUMNS}"
    )
});

fn rows_to_records(rows: Vec<TaskRow>) -> Result<Vec<TaskRecord>> {
    rows.into_iter().map(TaskRecord::try_from).collect()
}

fn to_json<T: serde::Serialize>(field: &str, value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::invalid(format!("task `{field}` cannot be stored as JSON: {e}")))
}


/// `('a', 'b')` of names that come from enums (`as_str`), never from a caller: safe to
/// write into SQL as literals.
fn sql_names(names: impl Iterator<Item = &'static str>) -> String {
    let quoted: Vec<String> = names.map(|n| format!("'{n}'")).collect();
    format!("({})", quoted.join(", "))
}

/// The `WHERE` clause of [`TaskStore::list`]: `$1` account, `$2` model, `$3` from, `$4` to;
/// the kind and status filters as literal lists.
fn list_filter(q: &TaskQuery) -> String {
    let mut clause = "account_id = $1 AND ($2 IS NULL OR model = $2) \
         AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4)"
        .to_string();
    if let Some(kind) = q.kind {
        let ops = Operation::ALL
            .into_iter()
            .filter(|o| o.output() == kind)
            .map(Operation::as_str);
        clause.push_str(&format!(" AND operation IN {}", sql_names(ops)));
    }
    if !q.statuses.is_empty() {
        let statuses = q.statuses.iter().map(|s| s.as_str());
        clause.push_str(&format!(" AND status IN {}", sql_names(statuses)));
    }
    clause
}

impl Backend {
    async fn task_where(
        &self,
        clause: &str,
        a: &str,
        b: Option<&str>,
    ) -> Result<Option<TaskRecord>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE {clause}");
        let read = super::read(self, |d| {
            let args: Vec<&dyn rusqlite::ToSql> = match &b {
                Some(b) => vec![&a, b],
                None => vec![&a],
            };
            d.row("reading a task", &sql, &args, TaskRow::from_rusqlite)
        });
        if let Some(row) = read {
            return row?.map(TaskRecord::try_from).transpose();
        }
        let mut q = sqlx::query_as::<Db, TaskRow>(&sql).bind(a);
        if let Some(b) = b {
            q = q.bind(b);
        }
        q.fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading a task"))?
            .map(TaskRecord::try_from)
            .transpose()
    }
}

/// A task's points must be ≥ 0.
fn check_task_points(t: &NewTask) -> Result<()> {
    if t.points < 0 {
        return Err(Error::invalid(format!(
            "task points = {}; must be ≥ 0",
            t.points
        )));
    }
    Ok(())
}

/// The `INSERT` of a new task row: `$1`…`$19` as [`insert_task`] binds them.
static INSERT_TASK_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO tasks (id, account_id, api_key_id, model, operation, provider, \
         provider_task_id, provider_model, status, points, request, assets, error, \
         callback_url, callback_token, project_id, external_task_id, created_at, updated_at, \
         next_poll_at, poll_attempts, caller_external_id, trace_context) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[]', NULL, $12, $13, $14, $15, \
         $16, $16, $17, 0, $18, $19) RETURNING {TASK_COLUMNS}"
    )
});

/// A failed task `INSERT` as the caller is told it: a taken id (or callback token), or a
/// taken `externalTaskId`, is a `Conflict` naming which.
fn insert_task_error(e: Error, t: &NewTask) -> Error {
    if e.kind() != ErrorKind::Conflict {
        return e;
    }
    // The index on (account_id, caller_external_id) is named for its column on both
    // backends, and both name it in the violation's message.
    if e.to_string().contains("caller_external_id") {
        Error::new(
            ErrorKind::Conflict,
            format!(
                "externalTaskId: `{}` is already used by another task of this account; each task needs its own",
                t.caller_external_id.as_deref().unwrap_or_default()
            ),
        )
    } else {
        Error::new(
            ErrorKind::Conflict,
            format!("task id `{}` (or its callback token) already exists", t.id),
        )
    }
}

/// The `INSERT` of a new task row; a taken id (or callback token) is a `Conflict`.
async fn insert_task(exec: impl sqlx::Executor<'_, Database = Db>, t: &NewTask) -> Result<TaskRecord> {
    let row = sqlx::query_as::<Db, TaskRow>(&INSERT_TASK_SQL)
        .bind(&t.id)
        .bind(&t.account_id)
        .bind(&t.api_key_id)
        .bind(&t.model)
        .bind(t.operation.as_str())
        .bind(&t.provider)
        .bind(&t.provider_task_id)
        .bind(&t.provider_model)
        .bind(t.status.as_str())
        .bind(t.points)
        .bind(to_json("request", &t.request)?)
        .bind(&t.callback_url)
        .bind(&t.callback_token)
        .bind(&t.project_id)
        .bind(&t.external_task_id)
        .bind(to_micros(t.created_at))
        .bind(t.next_poll_at.map(to_micros))
        .bind(&t.caller_external_id)
        .bind(&t.trace_context)
        .fetch_one(exec)
        .await
        .map_err(|e| insert_task_error(crate::db_error::db("inserting a task", e), t))?;
    TaskRecord::try_from(row)
}

/// [`insert_task`] in a direct write (SQLite).
fn insert_task_direct(d: Direct<'_>, t: &NewTask) -> Result<TaskRecord> {
    let request = to_json("request", &t.request)?;
    let args: [&dyn rusqlite::ToSql; 19] = [
        &t.id,
        &t.account_id,
        &t.api_key_id,
        &t.model,
        &t.operation.as_str(),
        &t.provider,
        &t.provider_task_id,
        &t.provider_model,
        &t.status.as_str(),
        &t.points,
        &request,
        &t.callback_url,
        &t.callback_token,
        &t.project_id,
        &t.external_task_id,
        &to_micros(t.created_at),
        &t.next_poll_at.map(to_micros),
        &t.caller_external_id,
        &t.trace_context,
    ];
    let row = d
        .row("inserting a task", &INSERT_TASK_SQL, &args, TaskRow::from_rusqlite)
        .map_err(|e| insert_task_error(e, t))?
        .ok_or_else(|| Error::internal("store: inserting a task returned no row"))?;
    TaskRecord::try_from(row)
}

/// A task row and its hold in one direct write (SQLite): the statements of
/// [`TaskStore::insert_with_hold`].
fn insert_with_hold_direct(d: Direct<'_>, t: &NewTask, at: i64) -> Result<TaskRecord> {
    let Some(balance) = super::ledger::debit_direct(d, &t.account_id, t.points)? else {
        return Err(super::ledger::refused_debit_direct(d, &t.account_id, &t.id, t.points));
    };
    if !super::ledger::insert_hold_direct(d, &t.account_id, &t.id, t.points, at)? {
        return Err(hold_taken(t));
    }
    super::ledger::hold_entry_direct(d, &t.account_id, &t.id, t.points, balance, at)?;
    insert_task_direct(d, t)
}

fn no_task(task_id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("task `{task_id}` does not exist"),
    )
}

fn hold_taken(t: &NewTask) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("task id `{}` already has a hold", t.id),
    )
}

/// A submission's outcome, recorded on a task still `unknown` and unsubmitted.
static RECORD_SUBMISSION_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET provider = $1, provider_task_id = $2, \
         provider_model = COALESCE($3, provider_model), status = $4, \
         external_task_id = COALESCE($5, external_task_id), next_poll_at = $6, updated_at = $7 \
         WHERE id = $8 AND status = 'unknown' AND provider_task_id IS NULL \
         RETURNING {TASK_COLUMNS}"
    )
});

/// A status transition, compare-and-set on the status it was computed from (`$9`).
static UPDATE_TASK_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE tasks SET status = $1, assets = COALESCE($2, assets), error = COALESCE($3, error), \
         provider_task_id = COALESCE($4, provider_task_id), \
         provider_model = COALESCE($5, provider_model), updated_at = $6, \
         next_poll_at = CASE WHEN $7 = 1 THEN NULL ELSE next_poll_at END, \
         lease_owner = CASE WHEN $7 = 1 THEN NULL ELSE lease_owner END, \
         lease_expires_at = CASE WHEN $7 = 1 THEN NULL ELSE lease_expires_at END, \
         upstream_error = COALESCE($10, upstream_error) \
         WHERE id = $8 AND status = $9 RETURNING {TASK_COLUMNS}"
    )
});

static TASK_BY_ID_SQL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"));

/// [`TaskStore::update`] in one direct write (SQLite): the current row is read on the
/// writer connection, so no other write can move it before the update.
fn update_direct(
    d: Direct<'_>,
    task_id: &str,
    update: &TaskUpdate,
    assets: &Option<String>,
) -> Result<TaskUpdateOutcome> {
    let current = d
        .row("reading a task", &TASK_BY_ID_SQL, &[&task_id], TaskRow::from_rusqlite)?
        .map(TaskRecord::try_from)
        .transpose()?
        .ok_or_else(|| no_task(task_id))?;
    let next = match current.status.transition(update.status) {
        Transition::Unchanged => return Ok(TaskUpdateOutcome::Unchanged(current)),
        Transition::Moved(next) => next,
    };
    let args: [&dyn rusqlite::ToSql; 10] = [
        &next.as_str(),
        assets,
        &update.error,
        &update.provider_task_id,
        &update.provider_model,
        &to_micros(now()),
        &i64::from(next.is_final()),
        &task_id,
        &current.status.as_str(),
        &update.upstream_error,
    ];
    let moved = d
        .row("updating a task", &UPDATE_TASK_SQL, &args, TaskRow::from_rusqlite)?
        .ok_or_else(|| Error::internal(format!("store: task `{task_id}` moved under the writer")))?;
    Ok(TaskUpdateOutcome::Moved(TaskRecord::try_from(moved)?))
}

/// The inserts of a settlement whose hold ended as asked, in order: the usage row, the
/// callback, the stored assets, the closing of the copy job (what they are for, SQL,
/// arguments).
fn settlement_rows<'a>(
    s: &'a Settlement,
    at: i64,
    usage: Option<&'a String>,
) -> Vec<(&'static str, &'static str, Vec<crate::direct::Arg<'a>>)> {
    let mut rows = Vec::new();
    if let (Some(record), Some(json)) = (&s.usage, usage) {
        let args = super::usage::append_args(record, json);
        rows.push(("appending usage", super::usage::APPEND_SQL, args.to_vec()));
    }
    if let Some(delivery) = &s.delivery {
        let args = super::outbox::enqueue_args(delivery, at);
        rows.push(("enqueueing a callback", super::outbox::ENQUEUE_SQL, args.to_vec()));
    }
    for (asset_id, blob) in &s.stored_assets {
        let args = super::assets::mark_stored_args(asset_id, blob);
        rows.push(("recording a stored asset", super::assets::MARK_STORED_SQL, args.to_vec()));
    }
    if let Some(done_at) = s.copy_done_at {
        let args = super::assets::finish_copy_args(
            crate::CopyState::Done,
            None,
            to_micros(done_at),
            &s.task_id,
        );
        rows.push(("finishing a copy job", super::assets::FINISH_COPY_SQL, args.to_vec()));
    }
    rows
}

/// [`TaskStore::settle`] in one direct write (SQLite): every step in one transaction.
fn settle_direct(
    d: Direct<'_>,
    s: &Settlement,
    at: i64,
    usage: Option<&String>,
    assets: &Option<String>,
) -> Result<Settled> {
    use crate::direct::to_sql;
    let resolution = super::ledger::resolve_direct(d, &s.task_id, s.hold, at)?;
    if resolution.hold().state != s.hold {
        return Ok(Settled {
            resolution,
            outcome: None,
        });
    }
    for (what, sql, args) in settlement_rows(s, at, usage) {
        d.execute(what, sql, &to_sql(&args))?;
    }
    let outcome = update_direct(d, &s.task_id, &s.update, assets)?;
    Ok(Settled {
        resolution,
        outcome: Some(outcome),
    })
}

/// [`TaskStore::settle`]'s statements on `conn`, inside the caller's transaction.
async fn settle_on(
    conn: &mut <Db as sqlx::Database>::Connection,
    s: &Settlement,
    at: i64,
    usage: Option<&String>,
    assets: &Option<String>,
) -> Result<Settled> {
    let resolution = super::ledger::resolve_on(&mut *conn, &s.task_id, s.hold, at).await?;
    if resolution.hold().state != s.hold {
        return Ok(Settled {
            resolution,
            outcome: None,
        });
    }
    for (what, sql, args) in settlement_rows(s, at, usage) {
        super::write::bind(sqlx::query(sql), &args)
            .execute(&mut *conn)
            .await
            .map_err(ctx(what))?;
    }
    // Compare-and-set on the status read: if another update moved the task in between,
    // read again and re-apply the transition rule to the new status.
    loop {
        let current = sqlx::query_as::<Db, TaskRow>(&TASK_BY_ID_SQL)
            .bind(&s.task_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(ctx("reading a task"))?
            .map(TaskRecord::try_from)
            .transpose()?
            .ok_or_else(|| no_task(&s.task_id))?;
        let next = match current.status.transition(s.update.status) {
            Transition::Unchanged => {
                return Ok(Settled {
                    resolution,
                    outcome: Some(TaskUpdateOutcome::Unchanged(current)),
                })
            }
            Transition::Moved(next) => next,
        };
        let moved = sqlx::query_as::<Db, TaskRow>(&UPDATE_TASK_SQL)
            .bind(next.as_str())
            .bind(assets)
            .bind(&s.update.error)
            .bind(&s.update.provider_task_id)
            .bind(&s.update.provider_model)
            .bind(to_micros(now()))
            .bind(i64::from(next.is_final()))
            .bind(&s.task_id)
            .bind(current.status.as_str())
            .bind(&s.update.upstream_error)
            .fetch_optional(&mut *conn)
            .await
            .map_err(ctx("updating a task"))?;
        if let Some(row) = moved {
            return Ok(Settled {
                resolution,
                outcome: Some(TaskUpdateOutcome::Moved(TaskRecord::try_from(row)?)),
            });
        }
    }
}

#[async_trait]
impl TaskStore for Backend {
    #[tracing::instrument(name = "genmux.store.insert_task", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %t.id))]
    async fn insert(&self, t: NewTask) -> Result<TaskRecord> {
        check_task_points(&t)?;
        let mut w = write_once(self).await?;
        let record = insert_task(w.conn(), &t).await?;
        w.commit().await.map_err(ctx("committing a task"))?;
        Ok(record)
    }

    // Issue 19: the "hold" step of a generate's trace (the hold and the task row commit together).
    #[tracing::instrument(name = "genmux.store.hold", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %t.id))]
    async fn insert_with_hold(&self, t: NewTask) -> Result<TaskRecord> {
        check_task_points(&t)?;
        super::ledger::check_hold_points(t.points)?;
        let at = to_micros(now());
        if let Some(r) = super::direct(self, |d| insert_with_hold_direct(d, &t, at)).await {
            return r;
        }
        let mut tx = begin_write(self).await?;
        let Some(balance) = super::ledger::debit(tx.conn(), &t.account_id, t.points).await? else {
            let refused =
                super::ledger::refused_debit(tx.conn(), &t.account_id, &t.id, t.points).await;
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return Err(refused);
        };
        if !super::ledger::insert_hold(tx.conn(), &t.account_id, &t.id, t.points, at).await? {
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return Err(hold_taken(&t));
        }
        super::ledger::hold_entry(tx.conn(), &t.account_id, &t.id, t.points, balance, at).await?;
        let record = match insert_task(tx.conn(), &t).await {
            Ok(r) => r,
            Err(e) => {
                tx.rollback().await.map_err(ctx("rolling back"))?;
                return Err(e);
            }
        };
        tx.commit()
            .await
            .map_err(ctx("committing a task and its hold"))?;
        Ok(record)
    }

    #[tracing::instrument(name = "genmux.store.record_submission", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %task_id))]
    async fn record_submission(
        &self,
        task_id: &str,
        sub: SubmissionRecord,
    ) -> Result<Option<TaskRecord>> {
        let (at, next_poll_at) = (to_micros(now()), sub.next_poll_at.map(to_micros));
        let recorded = match super::direct(self, |d| {
            let args: [&dyn rusqlite::ToSql; 8] = [
                &sub.provider,
                &sub.provider_task_id,
                &sub.provider_model,
                &sub.status.as_str(),
                &sub.external_task_id,
                &next_poll_at,
                &at,
                &task_id,
            ];
            d.row("recording a submission", &RECORD_SUBMISSION_SQL, &args, TaskRow::from_rusqlite)
        })
        .await
        {
            Some(r) => r?,
            None => {
                let mut w = write_once(self).await?;
                let recorded = sqlx::query_as::<Db, TaskRow>(&RECORD_SUBMISSION_SQL)
                    .bind(&sub.provider)
                    .bind(&sub.provider_task_id)
                    .bind(&sub.provider_model)
                    .bind(sub.status.as_str())
                    .bind(&sub.external_task_id)
                    .bind(next_poll_at)
                    .bind(at)
                    .bind(task_id)
                    .fetch_optional(w.conn())
                    .await
                    .map_err(ctx("recording a submission"))?;
                w.commit().await.map_err(ctx("committing a submission"))?;
                recorded
            }
        };
        match recorded {
            Some(row) => TaskRecord::try_from(row).map(Some),
            // Moved on already (or no such task): what is there now.
            None => self.get(task_id).await,
        }
    }

    #[tracing::instrument(name = "genmux.store.settle", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %s.task_id))]
    async fn settle(&self, s: Settlement) -> Result<Settled> {
        let usage = s.usage.as_ref().map(super::usage::checked_usage).transpose()?;
        if let Some(delivery) = &s.delivery {
            super::outbox::check_delivery(delivery)?;
        }
        let assets = if s.update.assets.is_empty() {
            None
        } else {
            Some(to_json("assets", &s.update.assets)?)
        };
        let at = to_micros(now());
        if let Some(r) =
            super::direct(self, |d| settle_direct(d, &s, at, usage.as_ref(), &assets)).await
        {
            return r;
        }
        // PostgreSQL: the same steps in one transaction, one statement per round trip.
        let mut tx = begin_write(self).await?;
        let settled = settle_on(tx.conn(), &s, at, usage.as_ref(), &assets).await;
        match &settled {
            Ok(Settled {
                outcome: Some(_), ..
            }) => tx.commit().await.map_err(ctx("committing a settlement"))?,
            _ => tx.rollback().await.map_err(ctx("rolling back"))?,
        }
        settled
    }

    async fn retarget_unsubmitted(&self, task_id: &str, provider: &str) -> Result<bool> {
        let n = self
            .write_execute(
                "naming the provider of an unsubmitted task",
                "UPDATE tasks SET provider = $1, updated_at = $2 \
                 WHERE id = $3 AND status = 'unknown' AND provider_task_id IS NULL",
                &[provider.into(), to_micros(now()).into(), task_id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn discard_unsubmitted(&self, task_id: &str) -> Result<bool> {
        let n = self
            .write_execute(
                "discarding an unsubmitted task",
                "DELETE FROM tasks WHERE id = $1 AND status = 'unknown' AND provider_task_id IS NULL",
                &[task_id.into()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskRecord>> {
        self.task_where("id = $1", task_id, None).await
    }

    async fn count_unfinished(
        &self,
        provider: &str,
        except: Option<&str>,
        at_most: u32,
    ) -> Result<u32> {
        // The partial index `tasks_unfinished_provider` (migration 0008) has exactly this
        // predicate, so the count reads unfinished rows only, never the task history; the
        // inner LIMIT stops it at `at_most` rows.
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE provider = $1 \
             AND status IN {UNFINISHED} AND id <> $2 LIMIT $3) AS unfinished"
        );
        let n: i64 = sqlx::query_scalar::<Db, i64>(&sql)
            .bind(provider)
            .bind(except.unwrap_or(""))
            .bind(i64::from(at_most))
            .fetch_one(&self.pool)
            .await
            .map_err(ctx("counting unfinished tasks"))?;
        Ok(u32::try_from(n).unwrap_or(at_most))
    }

    async fn list_by_account(&self, account_id: &str, page: Page) -> Result<Vec<TaskRecord>> {
        let (limit, offset) = page.limit_offset()?;
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query_as::<Db, TaskRow>(&sql)
            .bind(account_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing tasks"))?;
        rows_to_records(rows)
    }

    async fn list(&self, q: &TaskQuery) -> Result<TaskPage> {
        let (limit, offset) = q.page.limit_offset()?;
        if let (Some(from), Some(to)) = (q.from, q.to) {
            if from > to {
                return Err(Error::invalid(format!(
                    "date range starts ({from}) after it ends ({to})"
                )));
            }
        }
        let filter = list_filter(q);
        let (from, to) = (q.from.map(to_micros), q.to.map(to_micros));
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE {filter} \
             ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
        );
        let rows = sqlx::query_as::<Db, TaskRow>(&sql)
            .bind(&q.account_id)
            .bind(&q.model)
            .bind(from)
            .bind(to)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing tasks"))?;
        let total = sqlx::query_scalar::<Db, i64>(&format!(
            "SELECT COUNT(*) FROM tasks WHERE {filter}"
        ))
        .bind(&q.account_id)
        .bind(&q.model)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await
        .map_err(ctx("counting tasks"))?;
        Ok(TaskPage {
            tasks: rows_to_records(rows)?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    #[tracing::instrument(name = "genmux.store.update_task", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %task_id))]
    async fn update(&self, task_id: &str, update: TaskUpdate) -> Result<TaskUpdateOutcome> {
        let assets = if update.assets.is_empty() {
            None
        } else {
            Some(to_json("assets", &update.assets)?)
        };
        if let Some(r) = super::direct(self, |d| update_direct(d, task_id, &update, &assets)).await {
            return r;
        }
        // Compare-and-set on the status read: if another update moved the task in between,
        // read again and re-apply the transition rule to the new status.
        loop {
            let current = self.get(task_id).await?.ok_or_else(|| no_task(task_id))?;
            let next = match current.status.transition(update.status) {
                Transition::Unchanged => return Ok(TaskUpdateOutcome::Unchanged(current)),
                Transition::Moved(next) => next,
            };
            let mut w = write_once(self).await?;
            let moved = sqlx::query_as::<Db, TaskRow>(&UPDATE_TASK_SQL)
                .bind(next.as_str())
                .bind(&assets)
                .bind(&update.error)
                .bind(&update.provider_task_id)
                .bind(&update.provider_model)
                .bind(to_micros(now()))
                .bind(i64::from(next.is_final()))
                .bind(task_id)
                .bind(current.status.as_str())
                .bind(&update.upstream_error)
                .fetch_optional(w.conn())
                .await
                .map_err(ctx("updating a task"))?;
            w.commit().await.map_err(ctx("committing a write"))?;
            if let Some(row) = moved {
                return Ok(TaskUpdateOutcome::Moved(TaskRecord::try_from(row)?));
            }
        }
    }

    async fn find_by_provider_task(
        &self,
        provider: &str,
        provider_task_id: &str,
    ) -> Result<Option<TaskRecord>> {
        self.task_where(
            "provider = $1 AND provider_task_id = $2",
            provider,
            Some(provider_task_id),
        )
        .await
    }

    async fn find_by_caller_external_id(
        &self,
        account_id: &str,
        external_id: &str,
    ) -> Result<Option<TaskRecord>> {
        self.task_where(
            "account_id = $1 AND caller_external_id = $2",
            account_id,
            Some(external_id),
        )
        .await
    }

    async fn find_by_callback_token(&self, token: &str) -> Result<Option<TaskRecord>> {
        self.task_where("callback_token = $1", token, None).await
    }

    async fn lease_due(
        &self,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<TaskRecord>> {
        let rows: Vec<TaskRow> = self
            .lease_rows("leasing due tasks", &LEASE_SQL, worker_id, now, limit, lease_for)
            .await?;
        let mut tasks = rows_to_records(rows)?;
        // RETURNING gives no order; hand out the most overdue first.
        tasks.sort_by(|a, b| (a.next_poll_at, &a.id).cmp(&(b.next_poll_at, &b.id)));
        Ok(tasks)
    }

    async fn reschedule(
        &self,
        task_id: &str,
        worker_id: &str,
        next_poll_at: Option<OffsetDateTime>,
    ) -> Result<bool> {
        let done = self
            .write_execute(
                "rescheduling a task",
                "UPDATE tasks SET next_poll_at = $1, lease_owner = NULL, lease_expires_at = NULL, \
                 updated_at = $2 WHERE id = $3 AND lease_owner = $4",
                &[
                    next_poll_at.map(to_micros).into(),
                    to_micros(now()).into(),
                    task_id.into(),
                    worker_id.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }
}
