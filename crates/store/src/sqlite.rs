//! The SQLite backend: one file in WAL mode with a busy timeout, the embedded default.
//!
//! SQLite serializes writers. Every multi-statement write runs in a `BEGIN IMMEDIATE`
//! transaction, which takes the write lock up front: a deferred transaction that reads and
//! then writes could fail with `SQLITE_BUSY` without waiting, because its read snapshot may
//! be stale by the time it wants to write. Leasing is one `UPDATE … RETURNING` statement,
//! which is atomic on its own.

use crate::db_error::db;
use genmux_core::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Sqlite;

/// How long a writer waits for the lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Lease queries need no row locks: the single statement holds SQLite's write lock.
const SKIP_LOCKED: &str = "";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// All traits over one SQLite pool.
pub(crate) struct Backend {
    pool: sqlx::Pool<Db>,
}

impl Backend {
    /// Opens (creating if missing) the file named by `url` (`sqlite://path`) and migrates it.
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                Error::invalid(format!("store URL `{url}` is not a valid SQLite URL: {e}"))
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed ledger movement survives power loss, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| db(&format!("opening SQLite database `{url}`"), e))?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            Error::internal(format!("store: migrating SQLite `{url}`: {e}")).with_source(e)
        })?;
        Ok(Backend { pool })
    }

    /// Closes every connection (pending writes are already committed).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction that holds the write lock from its first statement.
async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| db("beginning a write transaction", e))
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
