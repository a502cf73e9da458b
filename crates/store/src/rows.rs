//! Database rows as both backends return them (plain strings and integers), and their
//! conversion into the public types. `#[derive(sqlx::FromRow)]` is generic over the row
//! type, so one struct serves SQLite and PostgreSQL.

use crate::keys::{scopes_from_db, ApiKey, AuditAction, AuditEvent, KEY_PREFIX};
use crate::ledger::{EntryKind, Hold, HoldState, LedgerEntry};
use crate::outbox::{Delivery, DeliveryState, DisabledEndpoint};
use crate::task::TaskRecord;
use crate::timestamp::{from_micros, from_micros_opt};
use crate::usage::UsageRecord;
use genmux_core::{Error, Operation, Result, TaskStatus};

fn bad(column: &str, value: &str) -> Error {
    Error::internal(format!(
        "stored `{column}` = `{value}` is not a known value"
    ))
}

fn json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("stored `{column}` is not valid JSON: {e}")))
}

/// The columns of `tasks`, in [`TaskRow`] order.
pub(crate) const TASK_COLUMNS: &str = "id, account_id, api_key_id, model, operation, provider, \
    provider_task_id, provider_model, status, points, request, assets, error, callback_url, \
    callback_token, project_id, external_task_id, created_at, updated_at, next_poll_at, \
    poll_attempts, lease_owner, lease_expires_at, caller_external_id, upstream_error, \
    trace_context";

#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    id: String,
    account_id: String,
    api_key_id: Option<String>,
    model: String,
    operation: String,
    provider: String,
    provider_task_id: Option<String>,
    provider_model: Option<String>,
    status: String,
    points: i64,
    request: String,
    assets: String,
    error: Option<String>,
    callback_url: Option<String>,
    callback_token: Option<String>,
    project_id: Option<String>,
    external_task_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    next_poll_at: Option<i64>,
    poll_attempts: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    caller_external_id: Option<String>,
    upstream_error: Option<String>,
    trace_context: Option<String>,
}

pub(crate) fn operation_from_db(s: &str) -> Result<Operation> {
    Operation::ALL
        .into_iter()
        .find(|o| o.as_str() == s)
        .ok_or_else(|| bad("operation", s))
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = Error;
    fn try_from(r: TaskRow) -> Result<Self> {
        Ok(TaskRecord {
            operation: operation_from_db(&r.operation)?,
            status: TaskStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            request: json("request", &r.request)?,
            assets: json("assets", &r.assets)?,
            created_at: from_micros("created_at", r.created_at)?,
            updated_at: from_micros("updated_at", r.updated_at)?,
            next_poll_at: from_micros_opt("next_poll_at", r.next_poll_at)?,
            lease_expires_at: from_micros_opt("lease_expires_at", r.lease_expires_at)?,
            id: r.id,
            account_id: r.account_id,
            api_key_id: r.api_key_id,
            model: r.model,
            provider: r.provider,
            provider_task_id: r.provider_task_id,
            provider_model: r.provider_model,
            points: r.points,
            error: r.error,
            callback_url: r.callback_url,
            callback_token: r.callback_token,
            project_id: r.project_id,
            external_task_id: r.external_task_id,
            caller_external_id: r.caller_external_id,
            poll_attempts: r.poll_attempts,
            lease_owner: r.lease_owner,
            upstream_error: r.upstream_error,
            trace_context: r.trace_context,
        })
    }
}

/// The columns of `holds`, in [`HoldRow`] order.
pub(crate) const HOLD_COLUMNS: &str = "task_id, account_id, points, state, created_at, resolved_at";

#[derive(sqlx::FromRow)]
pub(crate) struct HoldRow {
    task_id: String,
    account_id: String,
    points: i64,
    state: String,
    created_at: i64,
    resolved_at: Option<i64>,
}

impl TryFrom<HoldRow> for Hold {
    type Error = Error;
    fn try_from(r: HoldRow) -> Result<Self> {
        Ok(Hold {
            state: HoldState::parse(&r.state).ok_or_else(|| bad("holds.state", &r.state))?,
            created_at: from_micros("created_at", r.created_at)?,
            resolved_at: from_micros_opt("resolved_at", r.resolved_at)?,
            task_id: r.task_id,
            account_id: r.account_id,
            points: r.points,
        })
    }
}

/// The columns of `ledger_entries`, in [`EntryRow`] order.
pub(crate) const ENTRY_COLUMNS: &str =
    "id, account_id, task_id, kind, amount, balance_after, reason, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct EntryRow {
    id: i64,
    account_id: String,
    task_id: Option<String>,
    kind: String,
    amount: i64,
    balance_after: i64,
    reason: Option<String>,
    created_at: i64,
}

impl TryFrom<EntryRow> for LedgerEntry {
    type Error = Error;
    fn try_from(r: EntryRow) -> Result<Self> {
        Ok(LedgerEntry {
            kind: EntryKind::parse(&r.kind).ok_or_else(|| bad("ledger_entries.kind", &r.kind))?,
            created_at: from_micros("created_at", r.created_at)?,
            id: r.id,
            account_id: r.account_id,
            task_id: r.task_id,
            amount: r.amount,
            balance_after: r.balance_after,
            reason: r.reason,
        })
    }
}

/// The public columns of `api_keys`, in [`KeyRow`] order (never the hash).
pub(crate) const KEY_COLUMNS: &str =
    "id, account_id, name, scopes, last4, created_at, expires_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    id: String,
    account_id: String,
    name: String,
    scopes: String,
    last4: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = Error;
    fn try_from(r: KeyRow) -> Result<Self> {
        Ok(ApiKey {
            scopes: scopes_from_db(&r.scopes)?,
            prefix: format!("{KEY_PREFIX}{}", r.id),
            created_at: from_micros("created_at", r.created_at)?,
            expires_at: from_micros_opt("expires_at", r.expires_at)?,
            revoked_at: from_micros_opt("revoked_at", r.revoked_at)?,
            id: r.id,
            account_id: r.account_id,
            name: r.name,
            last4: r.last4,
        })
    }
}

/// The columns of `key_audit`, in [`AuditRow`] order.
pub(crate) const AUDIT_COLUMNS: &str = "id, action, key_id, account_id, detail, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    action: String,
    key_id: Option<String>,
    account_id: Option<String>,
    detail: String,
    created_at: i64,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = Error;
    fn try_from(r: AuditRow) -> Result<Self> {
        Ok(AuditEvent {
            action: AuditAction::parse(&r.action)
                .ok_or_else(|| bad("key_audit.action", &r.action))?,
            created_at: from_micros("created_at", r.created_at)?,
            id: r.id,
            key_id: r.key_id,
            account_id: r.account_id,
            detail: r.detail,
        })
    }
}

/// The columns of `usage_records`, in [`UsageRow`] order.
pub(crate) const USAGE_COLUMNS: &str = "task_id, account_id, api_key_id, model, points, usage, \
    input_tokens, output_tokens, created_at, caller_external_id, upstream_cost_micros, \
    margin_micros";

#[derive(sqlx::FromRow)]
pub(crate) struct UsageRow {
    task_id: String,
    account_id: String,
    api_key_id: Option<String>,
    model: String,
    points: i64,
    usage: String,
    input_tokens: i64,
    output_tokens: i64,
    created_at: i64,
    caller_external_id: Option<String>,
    upstream_cost_micros: Option<i64>,
    margin_micros: Option<i64>,
}

impl TryFrom<UsageRow> for UsageRecord {
    type Error = Error;
    fn try_from(r: UsageRow) -> Result<Self> {
        Ok(UsageRecord {
            usage: json("usage", &r.usage)?,
            created_at: from_micros("created_at", r.created_at)?,
            task_id: r.task_id,
            account_id: r.account_id,
            api_key_id: r.api_key_id,
            model: r.model,
            points: r.points,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            caller_external_id: r.caller_external_id,
            upstream_cost_micros: r.upstream_cost_micros,
            margin_micros: r.margin_micros,
        })
    }
}

/// The columns of `outbox`, in [`DeliveryRow`] order.
pub(crate) const DELIVERY_COLUMNS: &str = "webhook_id, task_id, account_id, url, body, state, \
    attempts, next_attempt_at, last_error, lease_owner, lease_expires_at, created_at, finished_at";

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    webhook_id: String,
    task_id: String,
    account_id: String,
    url: String,
    body: Vec<u8>,
    state: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = Error;
    fn try_from(r: DeliveryRow) -> Result<Self> {
        Ok(Delivery {
            state: DeliveryState::parse(&r.state).ok_or_else(|| bad("outbox.state", &r.state))?,
            next_attempt_at: from_micros_opt("next_attempt_at", r.next_attempt_at)?,
            lease_expires_at: from_micros_opt("lease_expires_at", r.lease_expires_at)?,
            created_at: from_micros("created_at", r.created_at)?,
            finished_at: from_micros_opt("finished_at", r.finished_at)?,
            webhook_id: r.webhook_id,
            task_id: r.task_id,
            account_id: r.account_id,
            url: r.url,
            body: r.body,
            attempts: r.attempts,
            last_error: r.last_error,
            lease_owner: r.lease_owner,
        })
    }
}

/// The columns of `disabled_endpoints`, in [`DisabledEndpointRow`] order.
pub(crate) const DISABLED_ENDPOINT_COLUMNS: &str =
    "account_id, url, reason, webhook_id, disabled_at";

#[derive(sqlx::FromRow)]
pub(crate) struct DisabledEndpointRow {
    account_id: String,
    url: String,
    reason: String,
    webhook_id: Option<String>,
    disabled_at: i64,
}

impl TryFrom<DisabledEndpointRow> for DisabledEndpoint {
    type Error = Error;
    fn try_from(r: DisabledEndpointRow) -> Result<Self> {
        Ok(DisabledEndpoint {
            disabled_at: from_micros("disabled_at", r.disabled_at)?,
            account_id: r.account_id,
            url: r.url,
            reason: r.reason,
            webhook_id: r.webhook_id,
        })
    }
}

/// `accounts` with its held points (see `sql/accounts.rs`), in [`AccountRow`] order.
#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: String,
    balance: i64,
    created_at: i64,
    held_points: i64,
}

impl TryFrom<AccountRow> for crate::accounts::Account {
    type Error = Error;
    fn try_from(r: AccountRow) -> Result<Self> {
        Ok(crate::accounts::Account {
            created_at: from_micros("created_at", r.created_at)?,
            id: r.id,
            balance: r.balance,
            held_points: r.held_points,
        })
    }
}

/// The columns of `account_audit`, in [`AccountAuditRow`] order.
pub(crate) const ACCOUNT_AUDIT_COLUMNS: &str = "id, action, account_id, actor_key_id, \
    actor_account_id, points, balance_after, ledger_entry_id, reason, detail, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AccountAuditRow {
    id: i64,
    action: String,
    account_id: String,
    actor_key_id: Option<String>,
    actor_account_id: Option<String>,
    points: Option<i64>,
    balance_after: Option<i64>,
    ledger_entry_id: Option<i64>,
    reason: Option<String>,
    detail: String,
    created_at: i64,
}

impl TryFrom<AccountAuditRow> for crate::accounts::AccountAuditEvent {
    type Error = Error;
    fn try_from(r: AccountAuditRow) -> Result<Self> {
        Ok(crate::accounts::AccountAuditEvent {
            action: crate::accounts::AccountAuditAction::parse(&r.action)
                .ok_or_else(|| bad("account_audit.action", &r.action))?,
            created_at: from_micros("created_at", r.created_at)?,
            id: r.id,
            account_id: r.account_id,
            actor: crate::accounts::Actor {
                key_id: r.actor_key_id,
                account_id: r.actor_account_id,
            },
            points: r.points,
            balance_after: r.balance_after,
            ledger_entry_id: r.ledger_entry_id,
            reason: r.reason,
            detail: r.detail,
        })
    }
}

/// The columns of `asset_copies`, in [`CopyRow`] order.
pub(crate) const COPY_COLUMNS: &str = "task_id, account_id, report, state, attempts, \
    next_attempt_at, deadline_at, last_error, lease_owner, lease_expires_at, created_at, \
    finished_at";

#[derive(sqlx::FromRow)]
pub(crate) struct CopyRow {
    task_id: String,
    account_id: String,
    report: String,
    state: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    deadline_at: i64,
    last_error: Option<String>,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<CopyRow> for crate::assets::CopyJob {
    type Error = Error;
    fn try_from(r: CopyRow) -> Result<Self> {
        Ok(crate::assets::CopyJob {
            state: crate::assets::CopyState::parse(&r.state)
                .ok_or_else(|| bad("asset_copies.state", &r.state))?,
            report: json("asset_copies.report", &r.report)?,
            next_attempt_at: from_micros_opt("next_attempt_at", r.next_attempt_at)?,
            deadline_at: from_micros("deadline_at", r.deadline_at)?,
            lease_expires_at: from_micros_opt("lease_expires_at", r.lease_expires_at)?,
            created_at: from_micros("created_at", r.created_at)?,
            finished_at: from_micros_opt("finished_at", r.finished_at)?,
            task_id: r.task_id,
            account_id: r.account_id,
            attempts: r.attempts,
            last_error: r.last_error,
            lease_owner: r.lease_owner,
        })
    }
}

/// The columns of `assets`, in [`AssetRow`] order.
pub(crate) const ASSET_COLUMNS: &str = "id, task_id, account_id, idx, kind, upstream_url, state, \
    blob_key, content_type, size_bytes, sha256, created_at, stored_at, expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AssetRow {
    id: String,
    task_id: String,
    account_id: String,
    idx: i64,
    kind: String,
    upstream_url: String,
    state: String,
    blob_key: Option<String>,
    content_type: Option<String>,
    size_bytes: Option<i64>,
    sha256: Option<String>,
    created_at: i64,
    stored_at: Option<i64>,
    expires_at: Option<i64>,
}

/// The stored name of a media kind (`video`, `image`).
pub(crate) fn kind_to_db(kind: genmux_core::MediaKind) -> &'static str {
    match kind {
        genmux_core::MediaKind::Video => "video",
        genmux_core::MediaKind::Image => "image",
    }
}

impl TryFrom<AssetRow> for crate::assets::AssetRecord {
    type Error = Error;
    fn try_from(r: AssetRow) -> Result<Self> {
        let blob = match (
            r.blob_key,
            r.content_type,
            r.size_bytes,
            r.sha256,
            r.stored_at,
            r.expires_at,
        ) {
            (
                Some(blob_key),
                Some(content_type),
                Some(size_bytes),
                Some(sha256),
                Some(stored),
                Some(expires),
            ) => Some(crate::assets::StoredBlob {
                blob_key,
                content_type,
                size_bytes,
                sha256,
                stored_at: from_micros("stored_at", stored)?,
                expires_at: from_micros("expires_at", expires)?,
            }),
            _ => None,
        };
        Ok(crate::assets::AssetRecord {
            state: crate::assets::AssetState::parse(&r.state)
                .ok_or_else(|| bad("assets.state", &r.state))?,
            kind: match r.kind.as_str() {
                "video" => genmux_core::MediaKind::Video,
                "image" => genmux_core::MediaKind::Image,
                other => return Err(bad("assets.kind", other)),
            },
            index: u32::try_from(r.idx).map_err(|_| bad("assets.idx", &r.idx.to_string()))?,
            created_at: from_micros("created_at", r.created_at)?,
            blob,
            id: r.id,
            task_id: r.task_id,
            account_id: r.account_id,
            upstream_url: r.upstream_url,
        })
    }
}

/// The value of column `name`, expected at `index` (the statements select a row's columns
/// in its field order, `*_COLUMNS`): looking a column up by name compares it with every
/// column before it (26 fields of a task: ~350 comparisons, 9 % of a status request's CPU
/// in the profile of issue 21), so the name is only checked at `index`, and searched for
/// if another statement put it elsewhere.
fn column<T: rusqlite::types::FromSql>(
    r: &rusqlite::Row<'_>,
    index: usize,
    name: &str,
) -> rusqlite::Result<T> {
    if r.as_ref().column_name(index).is_ok_and(|n| n == name) {
        r.get(index)
    } else {
        r.get(name)
    }
}

/// `from_rusqlite` for row structs the SQLite writer reads through rusqlite
/// ([`crate::direct`]): each field from the column of its name, as `sqlx::FromRow` does.
macro_rules! from_rusqlite {
    ($($row:ident { $($field:ident),* $(,)? })*) => {$(
        impl $row {
            #[allow(unused_assignments)] // the index after the last field
            pub(crate) fn from_rusqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut index = 0;
                Ok($row { $($field: {
                    let value = column(r, index, stringify!($field))?;
                    index += 1;
                    value
                }),* })
            }
        }
        impl crate::direct::DirectRow for $row {
            fn from_rusqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                $row::from_rusqlite(r)
            }
        }
    )*};
}

from_rusqlite! {
    TaskRow {
        id, account_id, api_key_id, model, operation, provider, provider_task_id,
        provider_model, status, points, request, assets, error, callback_url, callback_token,
        project_id, external_task_id, created_at, updated_at, next_poll_at, poll_attempts,
        lease_owner, lease_expires_at, caller_external_id, upstream_error, trace_context,
    }
    HoldRow { task_id, account_id, points, state, created_at, resolved_at }
    DeliveryRow {
        webhook_id, task_id, account_id, url, body, state, attempts, next_attempt_at,
        last_error, lease_owner, lease_expires_at, created_at, finished_at,
    }
    CopyRow {
        task_id, account_id, report, state, attempts, next_attempt_at, deadline_at,
        last_error, lease_owner, lease_expires_at, created_at, finished_at,
    }
    AssetRow {
        id, task_id, account_id, idx, kind, upstream_url, state, blob_key, content_type,
        size_bytes, sha256, created_at, stored_at, expires_at,
    }
}
