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
    // SQLite has one writer at a time. Writers of this process queue here instead of in
    // SQLite's busy handler, which polls with sleeps of up to 100 ms; other processes
    // sharing the file still wait through the busy timeout.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
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
        // An in-memory database lives and dies with its one connection: keep exactly one,
        // forever. A file database gets a pool (readers run beside the one writer in WAL).
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        };
        // No ping before each acquire: it was 4.6 % of a generate's CPU (docs/benchmarks.md).
        // A broken connection still fails its statement, and sqlx drops it then.
        let pool = pool
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| db(&format!("opening SQLite database `{url}`"), e))?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            Error::internal(format!("store: migrating SQLite `{url}`: {e}")).with_source(e)
        })?;
        Ok(Backend {
            pool,
            writer: std::sync::Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// Closes every connection (pending writes are already committed).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// This process's turn to write, for a write that is one autocommit statement rather
    /// than a [`begin_write`] transaction. Hold it until the statement has finished.
    /// Autocommit writes that skipped the queue met the lock inside SQLite's busy handler,
    /// which sleeps (~1.3 ms each, the p99 tail in docs/benchmarks.md).
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        Some(self.writer.clone().lock_owned().await)
    }
}

/// A write transaction; on SQLite it also holds the in-process writer lock.
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

/// A write transaction that holds the write lock from its first statement.
async fn begin_write(b: &Backend) -> Result<WriteTx> {
    let writer = b.writer.clone().lock_owned().await;
    let tx = b
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| db("beginning a write transaction", e))?;
    Ok(WriteTx {
        tx,
        _writer: Some(writer),
    })
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
