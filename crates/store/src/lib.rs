//! genmux-store: what the gateway keeps — tasks, the points ledger, idempotency keys, API
//! keys, usage rows and the outbound-callback outbox — on SQLite (one file, the embedded
//! default) or PostgreSQL (several gateways sharing one database).
//!
//! Every concern is a small trait ([`TaskStore`], [`Ledger`], [`IdempotencyStore`],
//! [`KeyStore`], [`UsageStore`], [`Outbox`], [`AccountStore`]); both backends implement all of them with the
//! same SQL where the dialects agree, and [`Store::open`] picks the backend from the URL and
//! runs the embedded migrations. The invariants they keep are those of
//! `design/RELIABILITY.md` (I1–I4, K1, K4).
//!
//! Times are UTC and kept to the microsecond: a time handed in comes back truncated to
//! whole microseconds.
//!
//! ```no_run
//! # async fn demo() -> genmux_core::Result<()> {
//! let store = genmux_store::Store::open("sqlite:///var/lib/genmux/genmux.db").await?;
//! store.ledger.create_account("acct_1").await?;
//! store.ledger.top_up("acct_1", 1_000).await?;
//! let hold = store.ledger.hold("acct_1", "task_1", 100).await?;
//! assert!(hold.created);
//! store.ledger.post("task_1").await?;
//! assert_eq!(store.ledger.balance("acct_1").await?, 900);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod accounts;
pub mod assets;
mod db_error;
mod direct;
pub mod gauges;
mod group_commit;
pub mod idempotency;
pub mod keys;
pub mod ledger;
pub mod outbox;
mod postgres;
mod rows;
mod sqlite;
pub mod task;
pub mod timestamp;
pub mod usage;

use genmux_core::{Error, Result};
use std::sync::Arc;

pub use accounts::{
    check_account_id, Account, AccountAuditAction, AccountAuditEvent, AccountPage, AccountStore,
    Actor, EntryPage,
};
pub use assets::{
    AssetRecord, AssetState, AssetStore, CopyJob, CopyState, NewAsset, NewCopy, StoredBlob,
    StoredBytes,
};
pub use gauges::Gauges;
pub use idempotency::{BeginOutcome, IdempotencyKey, IdempotencyStore, StaleClaim, StoredResponse};
pub use keys::{ApiKey, AuditAction, AuditEvent, CreatedKey, KeyStore, NewKey, Revocation, Scope};
pub use ledger::{EntryKind, Hold, HoldOutcome, HoldState, Ledger, LedgerEntry, Resolution};
pub use outbox::{Delivery, DeliveryState, DisabledEndpoint, GiveUpReason, NewDelivery, Outbox};
pub use task::{
    NewTask, Page, Settled, Settlement, SubmissionRecord, TaskPage, TaskQuery, TaskRecord,
    TaskStore, TaskUpdate, TaskUpdateOutcome,
};
pub use usage::{ModelUsage, UsageLogs, UsageQuery, UsageRecord, UsageStore, UsageSummary};

/// Which database a [`Store`] uses.
#[derive(Clone)]
enum Backend {
    Sqlite(Arc<sqlite::Backend>),
    Postgres(Arc<postgres::Backend>),
}

/// Every store trait over one database. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct Store {
    /// Generation tasks.
    pub tasks: Arc<dyn TaskStore>,
    /// The points ledger.
    pub ledger: Arc<dyn Ledger>,
    /// `Idempotency-Key` records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// API keys and their audit log.
    pub keys: Arc<dyn KeyStore>,
    /// Usage rows.
    pub usage: Arc<dyn UsageStore>,
    /// Outbound callbacks.
    pub outbox: Arc<dyn Outbox>,
    /// Accounts as an operator manages them, with their audit log.
    pub accounts: Arc<dyn AccountStore>,
    /// Copies of results into the blob store and their assets (issue 18).
    pub assets: Arc<dyn AssetStore>,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database named by `url` and brings its schema up to date:
    /// `sqlite://path/to/file.db` (created if missing; `sqlite::memory:` gives a private
    /// in-memory database on one connection, for tests) or
    /// `postgres://user@host:port/db` (`postgresql://` too).
    ///
    /// An unknown scheme is `InvalidRequest`; an unreachable database is
    /// `ProviderUnavailable` or `Internal` with the driver's message.
    pub async fn open(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let b = Arc::new(sqlite::Backend::open(url).await?);
            Ok(Store {
                tasks: b.clone(),
                ledger: b.clone(),
                idempotency: b.clone(),
                keys: b.clone(),
                usage: b.clone(),
                outbox: b.clone(),
                accounts: b.clone(),
                assets: b.clone(),
                backend: Backend::Sqlite(b),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let b = Arc::new(postgres::Backend::open(url).await?);
            Ok(Store {
                tasks: b.clone(),
                ledger: b.clone(),
                idempotency: b.clone(),
                keys: b.clone(),
                usage: b.clone(),
                outbox: b.clone(),
                accounts: b.clone(),
                assets: b.clone(),
                backend: Backend::Postgres(b),
            })
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(Error::invalid(format!(
                "store URL scheme `{scheme}` is not supported; use sqlite://path or postgres://…"
            )))
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The database-wide gauges at `now` ([`Gauges`]): unfinished tasks by status, due
    /// polls, pending callbacks.
    pub async fn gauges(&self, now: time::OffsetDateTime) -> Result<Gauges> {
        match &self.backend {
            Backend::Sqlite(b) => b.gauges(now).await,
            Backend::Postgres(b) => b.gauges(now).await,
        }
    }

    /// Closes every pooled connection; later calls on this store (and its clones) fail.
    /// Everything committed stays committed.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(b) => b.close().await,
            Backend::Postgres(b) => b.close().await,
        }
    }
}
