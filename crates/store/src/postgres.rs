//! The PostgreSQL backend, for several gateways sharing one database.
//!
//! Transactions run at READ COMMITTED. Every check-then-write is a conditional `UPDATE`
//! (`… WHERE balance >= $n`, `… WHERE state = 'held'`), which PostgreSQL re-evaluates on
//! the newest row version after waiting for a concurrent writer, so two racing
//! transactions cannot both pass it. Leasing uses `FOR UPDATE SKIP LOCKED` so pollers on
//! different machines never take the same row.

use crate::db_error::db;
use genmux_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

type Db = sqlx::Postgres;

/// Lease queries lock the rows they take and skip rows another poller is taking.
const SKIP_LOCKED: &str = "FOR UPDATE SKIP LOCKED";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// All traits over one PostgreSQL pool.
pub(crate) struct Backend {
    pool: sqlx::Pool<Db>,
}

impl Backend {
    /// Connects to `url` (`postgres://…`) and migrates (sqlx holds an advisory lock, so
    /// several gateways starting at once migrate once).
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("store URL is not a valid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // No ping before each acquire: it was an extra round trip per acquire, 16 % of a
            // generate's CPU (docs/benchmarks.md). A broken connection still fails its
            // statement, and sqlx drops it then.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| db("connecting to PostgreSQL", e))?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            Error::internal(format!("store: migrating PostgreSQL: {e}")).with_source(e)
        })?;
        Ok(Backend { pool })
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Nothing to queue for: PostgreSQL locks rows, not the database, so writers of this
    /// process only wait for the rows they touch (the SQLite backend queues here).
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        None
    }
}

/// A write transaction (the field is only used on SQLite).
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, Db>,
    // Dropped after `tx`, so the next writer starts once this one is finished.
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The connection to run statements on.
    pub(crate) fn conn(&mut self) -> &mut <Db as sqlx::Database>::Connection {
        &mut self.tx
    }

    /// Commits.
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back.
    pub(crate) async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// A write transaction (READ COMMITTED; the statements inside are conditional).
async fn begin_write(b: &Backend) -> Result<WriteTx> {
    let tx = b
        .pool
        .begin()
        .await
        .map_err(|e| db("beginning a write transaction", e))?;
    Ok(WriteTx { tx, _writer: None })
}

mod tasks {
    include!("sql/tasks.rs");
}
mod ledger {
    include!("sql/ledger.rs");
}
mod idempotency {
    include!("sql/idempotency.rs");
}
mod keys {
    include!("sql/keys.rs");
}
mod usage {
    include!("sql/usage.rs");
}
mod outbox {
    include!("sql/outbox.rs");
}
