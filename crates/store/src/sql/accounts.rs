// AccountStore over one backend's pool (included by `sqlite.rs` and `postgres.rs`; `super`
// is the backend module). Every change and its account audit row commit in one write
// transaction; a balance change runs `UPDATE accounts … RETURNING balance` first, as the
// ledger does, so the account row is locked before its entry is written.

use super::keys::{insert_key, revoke_key};
use super::{begin_write, Backend, Db};
use crate::accounts::{
    check_account_id, check_adjust_points, quote_value, check_reason, check_top_up_points, Account,
    AccountAuditAction, AccountAuditEvent, AccountPage, AccountStore, Actor, EntryPage,
};
use crate::db_error::ctx;
use crate::keys::{scopes_to_db, CreatedKey, NewKey};
use crate::ledger::{EntryKind, LedgerEntry, MAX_POINTS};
use crate::rows::{AccountAuditRow, AccountRow, EntryRow, ACCOUNT_AUDIT_COLUMNS, ENTRY_COLUMNS};
use crate::task::Page;
use crate::timestamp::{now, to_micros};
use async_trait::async_trait;
use genmux_core::{Error, ErrorKind, Result};

/// An account with its held points (summed over its holds still `held`). PostgreSQL's
/// SUM(bigint) is numeric: cast back so both backends return BIGINT.
const ACCOUNT_SELECT: &str = "SELECT a.id, a.balance, a.created_at, \
    CAST(COALESCE((SELECT SUM(h.points) FROM holds h WHERE h.account_id = a.id \
    AND h.state = 'held'), 0) AS BIGINT) AS held_points FROM accounts a";

fn no_account(account_id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("account `{}` does not exist", quote_value(account_id)),
    )
}

/// One account audit row, on the caller's write transaction.
#[allow(clippy::too_many_arguments)]
async fn audit(
    exec: impl sqlx::Executor<'_, Database = Db>,
    action: AccountAuditAction,
    account_id: &str,
    actor: &Actor,
    points: Option<i64>,
    balance_after: Option<i64>,
    ledger_entry_id: Option<i64>,
    reason: Option<&str>,
    detail: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO account_audit (action, account_id, actor_key_id, actor_account_id, points, \
         balance_after, ledger_entry_id, reason, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(action.as_str())
    .bind(account_id)
    .bind(&actor.key_id)
    .bind(&actor.account_id)
    .bind(points)
    .bind(balance_after)
    .bind(ledger_entry_id)
    .bind(reason)
    .bind(detail)
    .bind(at)
    .execute(exec)
    .await
    .map_err(ctx("writing an account audit row"))?;
    Ok(())
}

async fn account_of(
    exec: impl sqlx::Executor<'_, Database = Db>,
    account_id: &str,
) -> Result<Option<Account>> {
    // PostgreSQL text cannot hold NUL (the query itself would fail), and creation refuses
    // it on both backends: no such account exists.
    if account_id.contains('\0') {
        return Ok(None);
    }
    let sql = format!("{ACCOUNT_SELECT} WHERE a.id = $1");
    sqlx::query_as::<Db, AccountRow>(&sql)
        .bind(account_id)
        .fetch_optional(exec)
        .await
        .map_err(ctx("reading an account"))?
        .map(Account::try_from)
        .transpose()
}

impl Backend {
    /// Moves `points` (either sign) into or out of an account with a reason, never below
    /// zero and never past [`MAX_POINTS`], and writes its entry and audit row.
    async fn credit(
        &self,
        account_id: &str,
        kind: EntryKind,
        points: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry> {
        if account_id.contains('\0') {
            return Err(no_account(account_id));
        }
        let action = match kind {
            EntryKind::TopUp => AccountAuditAction::TopUp,
            EntryKind::Adjust => AccountAuditAction::Adjust,
            other => {
                return Err(Error::internal(format!(
                    "an operator cannot write a `{}` entry",
                    other.as_str()
                )))
            }
        };
        let at = to_micros(now());
        let mut tx = begin_write(self).await?;
        // Both bounds in one conditional update (I1: never negative): with |points| and the
        // balance at most MAX_POINTS, neither side can overflow.
        let balance = sqlx::query_scalar::<Db, i64>(
            "UPDATE accounts SET balance = balance + $1 \
             WHERE id = $2 AND balance + $1 >= 0 AND balance <= $3 - $1 RETURNING balance",
        )
        .bind(points)
        .bind(account_id)
        .bind(MAX_POINTS)
        .fetch_optional(tx.conn())
        .await
        .map_err(ctx("changing a balance"))?;
        let Some(balance) = balance else {
            // Read on the writer's connection: it sees what a racing write left.
            let current = account_of(tx.conn(), account_id).await;
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return Err(match current? {
                None => no_account(account_id),
                Some(a) if points < 0 => Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "points: an adjustment of {points} would take account `{account_id}` \
                         below zero; its balance is {} points ({} more are held for running \
                         tasks and cannot be taken); nothing was changed",
                        a.balance, a.held_points
                    ),
                ),
                // The request is well-formed; the account's state refuses it.
                Some(a) => Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "points: {points} more would take account `{account_id}` from {} past \
                         the largest balance, {MAX_POINTS}; nothing was changed",
                        a.balance
                    ),
                ),
            });
        };
        let entry_sql = format!(
            "INSERT INTO ledger_entries (account_id, task_id, kind, amount, balance_after, reason, \
             created_at) VALUES ($1, NULL, $2, $3, $4, $5, $6) RETURNING {ENTRY_COLUMNS}"
        );
        let entry = sqlx::query_as::<Db, EntryRow>(&entry_sql)
            .bind(account_id)
            .bind(kind.as_str())
            .bind(points)
            .bind(balance)
            .bind(reason)
            .bind(at)
            .fetch_one(tx.conn())
            .await
            .map_err(ctx("writing a ledger entry"))?;
        let entry = LedgerEntry::try_from(entry)?;
        audit(
            tx.conn(),
            action,
            account_id,
            actor,
            Some(points),
            Some(balance),
            Some(entry.id),
            Some(reason),
            "",
            at,
        )
        .await?;
        tx.commit()
            .await
            .map_err(ctx("committing a balance change"))?;
        Ok(entry)
    }
}

#[async_trait]
impl AccountStore for Backend {
    async fn create(&self, account_id: &str, actor: &Actor) -> Result<Account> {
        check_account_id("accountId", account_id)?;
        let at = to_micros(now());
        let mut tx = begin_write(self).await?;
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, balance, created_at) VALUES ($1, 0, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(account_id)
        .bind(at)
        .execute(tx.conn())
        .await
        .map_err(ctx("creating an account"))?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("accountId: account `{account_id}` already exists"),
            ));
        }
        audit(
            tx.conn(),
            AccountAuditAction::Created,
            account_id,
            actor,
            None,
            None,
            None,
            None,
            "",
            at,
        )
        .await?;
        let account = account_of(tx.conn(), account_id)
            .await?
            .ok_or_else(|| Error::internal(format!("account `{account_id}` not readable")))?;
        tx.commit()
            .await
            .map_err(ctx("committing an account"))?;
        Ok(account)
    }

    async fn get(&self, account_id: &str) -> Result<Option<Account>> {
        account_of(&self.pool, account_id).await
    }

    async fn list(&self, page: Page) -> Result<AccountPage> {
        let (limit, offset) = page.limit_offset()?;
        let sql = format!("{ACCOUNT_SELECT} ORDER BY a.id LIMIT $1 OFFSET $2");
        let accounts = sqlx::query_as::<Db, AccountRow>(&sql)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing accounts"))?
            .into_iter()
            .map(Account::try_from)
            .collect::<Result<Vec<_>>>()?;
        let total = sqlx::query_scalar::<Db, i64>("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .map_err(ctx("counting accounts"))?;
        Ok(AccountPage {
            accounts,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn top_up(
        &self,
        account_id: &str,
        points: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry> {
        check_top_up_points("points", points)?;
        check_reason("reason", reason)?;
        self.credit(account_id, EntryKind::TopUp, points, reason, actor)
            .await
    }

    async fn adjust(
        &self,
        account_id: &str,
        points: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry> {
        check_adjust_points("points", points)?;
        check_reason("reason", reason)?;
        self.credit(account_id, EntryKind::Adjust, points, reason, actor)
            .await
    }

    async fn entries(&self, account_id: &str, page: Page) -> Result<EntryPage> {
        let (limit, offset) = page.limit_offset()?;
        if account_of(&self.pool, account_id).await?.is_none() {
            return Err(no_account(account_id));
        }
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE account_id = $1 \
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let entries = sqlx::query_as::<Db, EntryRow>(&sql)
            .bind(account_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading ledger entries"))?
            .into_iter()
            .map(LedgerEntry::try_from)
            .collect::<Result<Vec<_>>>()?;
        let total = sqlx::query_scalar::<Db, i64>(
            "SELECT COUNT(*) FROM ledger_entries WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await
        .map_err(ctx("counting ledger entries"))?;
        Ok(EntryPage {
            entries,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn create_key(&self, new: NewKey, actor: &Actor) -> Result<CreatedKey> {
        let at = to_micros(now());
        let mut tx = begin_write(self).await?;
        let (id, secret) = insert_key(tx.conn(), &new).await?;
        audit(
            tx.conn(),
            AccountAuditAction::KeyCreated,
            &new.account_id,
            actor,
            None,
            None,
            None,
            None,
            &format!(
                "key={id} name={:?} scopes={}",
                new.name,
                scopes_to_db(&new.scopes)
            ),
            at,
        )
        .await?;
        tx.commit().await.map_err(ctx("committing an API key"))?;
        self.created_key(&id, &secret).await
    }

    async fn revoke_key(&self, key_id: &str, actor: &Actor) -> Result<bool> {
        let at = to_micros(now());
        let mut tx = begin_write(self).await?;
        let Some(account) = revoke_key(tx.conn(), key_id).await? else {
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return self.not_revoked(key_id).await;
        };
        audit(
            tx.conn(),
            AccountAuditAction::KeyRevoked,
            &account,
            actor,
            None,
            None,
            None,
            None,
            &format!("key={key_id}"),
            at,
        )
        .await?;
        tx.commit()
            .await
            .map_err(ctx("committing a revocation"))?;
        Ok(true)
    }

    async fn record_unknown_voided(
        &self,
        account_id: &str,
        task_id: &str,
        points: i64,
        detail: &str,
    ) -> Result<()> {
        let mut tx = begin_write(self).await?;
        audit(
            tx.conn(),
            AccountAuditAction::UnknownVoided,
            account_id,
            &Actor::default(),
            Some(points),
            None,
            None,
            None,
            &format!("task {task_id}: {detail}"),
            to_micros(now()),
        )
        .await?;
        tx.commit()
            .await
            .map_err(ctx("committing an account audit row"))
    }

    async fn audit_log(&self, account_id: Option<&str>) -> Result<Vec<AccountAuditEvent>> {
        let sql = format!(
            "SELECT {ACCOUNT_AUDIT_COLUMNS} FROM account_audit \
             WHERE ($1 IS NULL OR account_id = $1) ORDER BY id"
        );
        sqlx::query_as::<Db, AccountAuditRow>(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading the account audit log"))?
            .into_iter()
            .map(AccountAuditEvent::try_from)
            .collect()
    }
}
