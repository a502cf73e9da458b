// Ledger over one backend's pool (included by `sqlite.rs` and `postgres.rs`; `super` is
// the backend module). Every balance change runs `UPDATE accounts … RETURNING balance`
// before writing its entry, so the account row is locked first and entry ids follow the
// order in which the balance changed.

use super::{begin_write, write_once, Backend, Db};
use crate::db_error::ctx;
use crate::direct::Direct;
use crate::ledger::{EntryKind, Hold, HoldOutcome, HoldState, Ledger, LedgerEntry, Resolution};
use crate::rows::{EntryRow, HoldRow, ENTRY_COLUMNS, HOLD_COLUMNS};
use crate::timestamp::{now, to_micros};
use async_trait::async_trait;
use genmux_core::{Error, ErrorKind, Result};

use crate::ledger::MAX_POINTS;

async fn hold_of(
    exec: impl sqlx::Executor<'_, Database = Db>,
    task_id: &str,
) -> Result<Option<Hold>> {
    sqlx::query_as::<Db, HoldRow>(&HOLD_OF_SQL)
        .bind(task_id)
        .fetch_optional(exec)
        .await
        .map_err(ctx("reading a hold"))?
        .map(Hold::try_from)
        .transpose()
}

async fn account_balance(
    exec: impl sqlx::Executor<'_, Database = Db>,
    account_id: &str,
) -> Result<Option<i64>> {
    sqlx::query_scalar::<Db, i64>(BALANCE_SQL)
        .bind(account_id)
        .fetch_optional(exec)
        .await
        .map_err(ctx("reading a balance"))
}

fn no_account(account_id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("account `{account_id}` does not exist"),
    )
}

/// An existing hold answers a repeated `hold` only if it is the same charge.
fn same_hold(existing: Hold, account_id: &str, points: i64) -> Result<HoldOutcome> {
    if existing.account_id != account_id || existing.points != points {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "task `{}` already has a hold of {} points on account `{}`; a hold of {points} \
                 points on account `{account_id}` was asked",
                existing.task_id, existing.points, existing.account_id
            ),
        ));
    }
    Ok(HoldOutcome {
        hold: existing,
        created: false,
    })
}

/// Takes `points` from the account if its balance covers them (I1: never negative).
const DEBIT_SQL: &str =
    "UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1 RETURNING balance";
const BALANCE_SQL: &str = "SELECT balance FROM accounts WHERE id = $1";
/// The `hold` entry of a debit: `$3` points, `$4` the balance after.
const HOLD_ENTRY_SQL: &str =
    "INSERT INTO ledger_entries (account_id, task_id, kind, amount, balance_after, created_at) \
     VALUES ($1, $2, 'hold', $3, $4, $5)";
/// The hold row, unless the task already has one (I2).
const INSERT_HOLD_SQL: &str = "INSERT INTO holds (task_id, account_id, points, state, created_at) \
     VALUES ($1, $2, $3, 'held', $4) ON CONFLICT (task_id) DO NOTHING";

/// Takes `points` from the account if its balance covers them (I1: never negative);
/// the balance after, or `None` when it does not cover them or the account is missing.
pub(super) async fn debit(
    exec: impl sqlx::Executor<'_, Database = Db>,
    account_id: &str,
    points: i64,
) -> Result<Option<i64>> {
    sqlx::query_scalar::<Db, i64>(DEBIT_SQL)
        .bind(points)
        .bind(account_id)
        .fetch_optional(exec)
        .await
        .map_err(ctx("debiting a hold"))
}

/// [`debit`] in a direct write (SQLite).
pub(super) fn debit_direct(d: Direct<'_>, account_id: &str, points: i64) -> Result<Option<i64>> {
    d.row("debiting a hold", DEBIT_SQL, &[&points, &account_id], |r| r.get(0))
}

/// Why a debit took nothing, from the account's balance: no such account, or too few
/// points.
fn refusal(balance: Result<Option<i64>>, account_id: &str, task_id: &str, points: i64) -> Error {
    match balance {
        Err(e) => e,
        Ok(None) => no_account(account_id),
        Ok(Some(b)) => Error::new(
            ErrorKind::InsufficientPoints,
            format!("account `{account_id}` has {b} points; task `{task_id}` needs {points}"),
        ),
    }
}

/// Why [`debit`] took nothing: no such account, or too few points (with the balance).
pub(super) async fn refused_debit(
    exec: impl sqlx::Executor<'_, Database = Db>,
    account_id: &str,
    task_id: &str,
    points: i64,
) -> Error {
    refusal(account_balance(exec, account_id).await, account_id, task_id, points)
}

/// [`refused_debit`] in a direct write.
pub(super) fn refused_debit_direct(
    d: Direct<'_>,
    account_id: &str,
    task_id: &str,
    points: i64,
) -> Error {
    let balance = d.row("reading a balance", BALANCE_SQL, &[&account_id], |r| r.get(0));
    refusal(balance, account_id, task_id, points)
}

/// The `hold` entry of a debit that left `balance`.
pub(super) async fn hold_entry(
    exec: impl sqlx::Executor<'_, Database = Db>,
    account_id: &str,
    task_id: &str,
    points: i64,
    balance: i64,
    at: i64,
) -> Result<()> {
    sqlx::query(HOLD_ENTRY_SQL)
        .bind(account_id)
        .bind(task_id)
        .bind(-points)
        .bind(balance)
        .bind(at)
        .execute(exec)
        .await
        .map_err(ctx("writing a ledger entry"))?;
    Ok(())
}

/// [`hold_entry`] in a direct write.
pub(super) fn hold_entry_direct(
    d: Direct<'_>,
    account_id: &str,
    task_id: &str,
    points: i64,
    balance: i64,
    at: i64,
) -> Result<()> {
    let args: [&dyn rusqlite::ToSql; 5] = [&account_id, &task_id, &-points, &balance, &at];
    d.execute("writing a ledger entry", HOLD_ENTRY_SQL, &args)?;
    Ok(())
}

/// The hold row, unless the task already has one (I2): whether it was inserted.
pub(super) async fn insert_hold(
    exec: impl sqlx::Executor<'_, Database = Db>,
    account_id: &str,
    task_id: &str,
    points: i64,
    at: i64,
) -> Result<bool> {
    let inserted = sqlx::query(INSERT_HOLD_SQL)
        .bind(task_id)
        .bind(account_id)
        .bind(points)
        .bind(at)
        .execute(exec)
        .await
        .map_err(ctx("placing a hold"))?
        .rows_affected();
    Ok(inserted == 1)
}

/// [`insert_hold`] in a direct write.
pub(super) fn insert_hold_direct(
    d: Direct<'_>,
    account_id: &str,
    task_id: &str,
    points: i64,
    at: i64,
) -> Result<bool> {
    let args: [&dyn rusqlite::ToSql; 4] = [&task_id, &account_id, &points, &at];
    Ok(d.execute("placing a hold", INSERT_HOLD_SQL, &args)? == 1)
}

/// `points` within what a hold may be.
pub(super) fn check_hold_points(points: i64) -> Result<()> {
    if !(0..=MAX_POINTS).contains(&points) {
        return Err(Error::invalid(format!(
            "hold points = {points}; allowed 0–{MAX_POINTS}"
        )));
    }
    Ok(())
}

/// The once-only gate of a resolution: of any number of racing posts and voids exactly one
/// sees the row still `held`.
static RESOLVE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE holds SET state = $1, resolved_at = $2 WHERE task_id = $3 AND state = 'held' \
         RETURNING {HOLD_COLUMNS}"
    )
});
static HOLD_OF_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {HOLD_COLUMNS} FROM holds WHERE task_id = $1"));
const CREDIT_SQL: &str = "UPDATE accounts SET balance = balance + $1 WHERE id = $2 RETURNING balance";
const RESOLUTION_ENTRY_SQL: &str =
    "INSERT INTO ledger_entries (account_id, task_id, kind, amount, balance_after, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// What a resolution that found no `held` row answers: the hold as it is, or `NotFound`.
fn not_won(existing: Option<Hold>, task_id: &str, kind: EntryKind) -> Result<Resolution> {
    match existing {
        Some(h) => Ok(Resolution::AlreadyResolved(h)),
        None => Err(Error::new(
            ErrorKind::NotFound,
            format!("task `{task_id}` has no hold to {}", kind.as_str()),
        )),
    }
}

/// The entry kind of a resolution to `to`, and the sign of the amount credited back.
fn resolution_kind(to: HoldState) -> Result<(EntryKind, i64)> {
    match to {
        HoldState::Posted => Ok((EntryKind::Post, 0)),
        HoldState::Voided => Ok((EntryKind::Void, 1)),
        HoldState::Held => Err(Error::internal(
            "a hold can only be resolved to posted or voided",
        )),
    }
}

/// A resolution in a direct write (SQLite): the statements of [`Backend::resolve`].
pub(super) fn resolve_direct(d: Direct<'_>, task_id: &str, to: HoldState, at: i64) -> Result<Resolution> {
    let (kind, sign) = resolution_kind(to)?;
    let won = d.row(
        "resolving a hold",
        &RESOLVE_SQL,
        &[&to.as_str(), &at, &task_id],
        HoldRow::from_rusqlite,
    )?;
    let Some(row) = won else {
        let existing = d
            .row("reading a hold", &HOLD_OF_SQL, &[&task_id], HoldRow::from_rusqlite)?
            .map(Hold::try_from)
            .transpose()?;
        return not_won(existing, task_id, kind);
    };
    let hold = Hold::try_from(row)?;
    let amount = sign * hold.points;
    let balance_after: i64 = d
        .row("crediting a void", CREDIT_SQL, &[&amount, &hold.account_id], |r| r.get(0))?
        .ok_or_else(|| no_account(&hold.account_id))?;
    let args: [&dyn rusqlite::ToSql; 6] =
        [&hold.account_id, &task_id, &kind.as_str(), &amount, &balance_after, &at];
    d.execute("writing a ledger entry", RESOLUTION_ENTRY_SQL, &args)?;
    Ok(Resolution::Applied(hold))
}

/// A resolution's statements on `conn`, inside the caller's transaction. Nothing is
/// written when the hold was resolved before (or is missing).
pub(super) async fn resolve_on(
    conn: &mut <Db as sqlx::Database>::Connection,
    task_id: &str,
    to: HoldState,
    at: i64,
) -> Result<Resolution> {
    let (kind, sign) = resolution_kind(to)?;
    let won = sqlx::query_as::<Db, HoldRow>(&RESOLVE_SQL)
        .bind(to.as_str())
        .bind(at)
        .bind(task_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ctx("resolving a hold"))?;
    let Some(row) = won else {
        // Read on the writer's connection: the winner may be in the same transaction
        // batch, not yet visible to other readers.
        let existing = hold_of(&mut *conn, task_id).await?;
        return not_won(existing, task_id, kind);
    };
    let hold = Hold::try_from(row)?;
    let amount = sign * hold.points;
    let balance_after = sqlx::query_scalar::<Db, i64>(CREDIT_SQL)
        .bind(amount)
        .bind(&hold.account_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(ctx("crediting a void"))?;
    sqlx::query(RESOLUTION_ENTRY_SQL)
        .bind(&hold.account_id)
        .bind(task_id)
        .bind(kind.as_str())
        .bind(amount)
        .bind(balance_after)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(ctx("writing a ledger entry"))?;
    Ok(Resolution::Applied(hold))
}

impl Backend {
    async fn resolve(&self, task_id: &str, to: HoldState) -> Result<Resolution> {
        resolution_kind(to)?;
        let at = to_micros(now());
        if let Some(r) = super::direct(self, |d| resolve_direct(d, task_id, to, at)).await {
            return r;
        }
        let mut tx = begin_write(self).await?;
        match resolve_on(tx.conn(), task_id, to, at).await {
            Ok(r) if r.applied() => {
                tx.commit().await.map_err(ctx("committing a resolution"))?;
                Ok(r)
            }
            other => {
                tx.rollback().await.map_err(ctx("rolling back"))?;
                other
            }
        }
    }
}

#[async_trait]
impl Ledger for Backend {
    async fn create_account(&self, account_id: &str) -> Result<()> {
        // One documented form, so no two accounts differ only by case or whitespace
        // (issue 13 point 10).
        crate::accounts::check_account_id("account_id", account_id)?;
        let mut w = write_once(self).await?;
        sqlx::query(
            "INSERT INTO accounts (id, balance, created_at) VALUES ($1, 0, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(account_id)
        .bind(to_micros(now()))
        .execute(w.conn())
        .await
        .map_err(ctx("creating an account"))?;
        w.commit().await.map_err(ctx("committing a write"))?;
        Ok(())
    }

    async fn top_up(&self, account_id: &str, points: i64) -> Result<i64> {
        if points <= 0 || points > MAX_POINTS {
            return Err(Error::invalid(format!(
                "top-up points = {points}; allowed 1–{MAX_POINTS}"
            )));
        }
        let at = to_micros(now());
        let mut tx = begin_write(self).await?;
        let balance = sqlx::query_scalar::<Db, i64>(
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND balance <= $3 - $1 \
             RETURNING balance",
        )
        .bind(points)
        .bind(account_id)
        .bind(MAX_POINTS)
        .fetch_optional(tx.conn())
        .await
        .map_err(ctx("topping up"))?;
        let Some(balance) = balance else {
            let current = account_balance(tx.conn(), account_id).await;
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return match current? {
                None => Err(no_account(account_id)),
                Some(b) => Err(Error::invalid(format!(
                    "top-up of {points} points would take account `{account_id}` from {b} past \
                     the largest balance, {MAX_POINTS}"
                ))),
            };
        };
        sqlx::query(
            "INSERT INTO ledger_entries (account_id, task_id, kind, amount, balance_after, created_at) \
             VALUES ($1, NULL, 'top_up', $2, $3, $4)",
        )
        .bind(account_id)
        .bind(points)
        .bind(balance)
        .bind(at)
        .execute(tx.conn())
        .await
        .map_err(ctx("writing a ledger entry"))?;
        tx.commit().await.map_err(ctx("committing a top-up"))?;
        Ok(balance)
    }

    #[tracing::instrument(name = "genmux.store.hold", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %task_id))]
    async fn hold(&self, account_id: &str, task_id: &str, points: i64) -> Result<HoldOutcome> {
        check_hold_points(points)?;
        if task_id.is_empty() {
            return Err(Error::invalid("task_id is empty"));
        }
        // Fast path for a repeated hold (an idempotent replay): nothing to write.
        if let Some(existing) = hold_of(&self.pool, task_id).await? {
            return same_hold(existing, account_id, points);
        }
        let at = to_micros(now());
        let mut tx = begin_write(self).await?;
        // Never negative (I1): the debit happens only if the balance covers it.
        let Some(balance) = debit(tx.conn(), account_id, points).await? else {
            // A concurrent identical hold may have taken the points first: answer with it.
            // Read on the writer's connection (see `resolve`).
            let existing = hold_of(tx.conn(), task_id).await;
            let refused = match existing {
                Ok(None) => Some(refused_debit(tx.conn(), account_id, task_id, points).await),
                _ => None,
            };
            tx.rollback().await.map_err(ctx("rolling back"))?;
            if let Some(existing) = existing? {
                return same_hold(existing, account_id, points);
            }
            return Err(refused.unwrap_or_else(|| {
                Error::internal(format!("hold of task `{task_id}` refused without a reason"))
            }));
        };
        // At most one hold per task (I2): a racing hold for the same task waits here for the
        // first to commit, inserts nothing, and undoes its debit below.
        if !insert_hold(tx.conn(), account_id, task_id, points, at).await? {
            let existing = hold_of(tx.conn(), task_id).await;
            tx.rollback().await.map_err(ctx("rolling back"))?;
            let existing = existing?.ok_or_else(|| {
                Error::internal(format!("hold of task `{task_id}` vanished during a race"))
            })?;
            return same_hold(existing, account_id, points);
        }
        hold_entry(tx.conn(), account_id, task_id, points, balance, at).await?;
        let hold = hold_of(tx.conn(), task_id)
            .await?
            .ok_or_else(|| Error::internal(format!("hold of task `{task_id}` not readable")))?;
        tx.commit().await.map_err(ctx("committing a hold"))?;
        Ok(HoldOutcome {
            hold,
            created: true,
        })
    }

    #[tracing::instrument(name = "genmux.store.post", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %task_id))]
    async fn post(&self, task_id: &str) -> Result<Resolution> {
        self.resolve(task_id, HoldState::Posted).await
    }

    #[tracing::instrument(name = "genmux.store.void", level = "debug", skip_all, fields(db.system.name = super::DB_SYSTEM, genmux.task = %task_id))]
    async fn void(&self, task_id: &str) -> Result<Resolution> {
        self.resolve(task_id, HoldState::Voided).await
    }

    async fn orphan_holds(
        &self,
        older_than: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<Hold>> {
        let created_before = time::Duration::try_from(older_than)
            .ok()
            .and_then(|d| now().checked_sub(d))
            .ok_or_else(|| {
                Error::invalid(format!("older_than = {older_than:?} is out of range"))
            })?;
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM holds h WHERE state = 'held' AND created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = h.task_id) \
             ORDER BY created_at, task_id LIMIT $2"
        );
        sqlx::query_as::<Db, HoldRow>(&sql)
            .bind(to_micros(created_before))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing orphan holds"))?
            .into_iter()
            .map(Hold::try_from)
            .collect()
    }

    async fn get_hold(&self, task_id: &str) -> Result<Option<Hold>> {
        hold_of(&self.pool, task_id).await
    }

    async fn balance(&self, account_id: &str) -> Result<i64> {
        account_balance(&self.pool, account_id)
            .await?
            .ok_or_else(|| no_account(account_id))
    }

    async fn entries(&self, account_id: &str) -> Result<Vec<LedgerEntry>> {
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE account_id = $1 ORDER BY id");
        sqlx::query_as::<Db, EntryRow>(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading ledger entries"))?
            .into_iter()
            .map(LedgerEntry::try_from)
            .collect()
    }
}
