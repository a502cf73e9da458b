//! The SQLite backend: one file in WAL mode with a busy timeout, the embedded default.
//!
//! SQLite serializes writers. Every write of this process goes through one writer
//! ([`group_commit`]): writes that arrive together share one `BEGIN IMMEDIATE`
//! transaction and one durable commit, each inside its own savepoint. The writer has two
//! connections — sqlx's, and rusqlite's for the writes of the request path, which run all
//! their statements in one hand-off ([`crate::direct`]) — and a batch is one connection's
//! transaction. `BEGIN IMMEDIATE` takes the write lock up front: a deferred transaction
//! that reads and then writes could fail with `SQLITE_BUSY` without waiting, because its
//! read snapshot may be stale by the time it wants to write. Reads run on a pool beside the writer and see committed data
//! only, so a write that must read what a racing write left reads on its own connection.
//! Leasing is one `UPDATE … RETURNING` statement, which is atomic on its own.

use crate::db_error::db;
use crate::direct::Direct;
use crate::group_commit::{self, GroupWriter};
use genmux_core::{Error, Result};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Sqlite;

/// How long a writer waits for the lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Lease queries need no row locks: the single statement holds SQLite's write lock.
const SKIP_LOCKED: &str = "";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// All traits over one SQLite file: a pool of readers and the process's one writer.
pub(crate) struct Backend {
    pool: sqlx::Pool<Db>,
    writer: Writer,
    /// rusqlite connections for the point reads of the request path ([`read`]); `None` for
    /// an in-memory database (its one connection is the pool's).
    readers: Option<Readers>,
}

/// Idle rusqlite read connections on the file, opened on demand (issue 21: a status read
/// through sqlx costs a round trip to its connection thread, several times the read).
struct Readers {
    options: SqliteConnectOptions,
    url: String,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

/// Idle read connections kept; more are opened while more reads run at once, and closed
/// after.
const IDLE_READERS: usize = 8;

impl Readers {
    /// Runs `f` on an idle read connection (or a new one), here on the caller's thread: a
    /// read by key on a WAL file takes microseconds and never waits for the writer.
    fn read<T>(&self, f: impl FnOnce(Direct<'_>) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => open_connection(&self.options, &self.url, true)?,
        };
        let result = f(Direct(&conn));
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

/// Where this process's writes go.
enum Writer {
    /// A file database: one dedicated connection whose writes share durable commits
    /// ([`group_commit`]).
    Group(std::sync::Arc<GroupWriter>),
    /// An in-memory database lives on the pool's one connection: each write is its own
    /// transaction, queued here.
    Pooled(std::sync::Arc<tokio::sync::Mutex<()>>),
}

/// A rusqlite connection on the file, set up as sqlx sets up the others (WAL,
/// `synchronous = FULL`, the busy timeout, foreign keys, temporary files in memory): the writer's second connection
/// ([`GroupWriter::write_direct`]), or a reader (`query_only`: it cannot write by mistake).
fn open_connection(
    options: &SqliteConnectOptions,
    url: &str,
    reader: bool,
) -> Result<rusqlite::Connection> {
    let path = options.get_filename();
    let opened = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .and_then(|c| {
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = MEMORY;",
        )?;
        if reader {
            c.execute_batch("PRAGMA query_only = ON;")?;
        }
        Ok(c)
    });
    let role = if reader { "a reader" } else { "the writer" };
    opened.map_err(|e| crate::direct::error(&format!("opening {role} of SQLite `{url}`"), e))
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
            .foreign_keys(true)
            // Savepoint journals in memory: each write runs in its own savepoint (group
            // commit), and a task's insert touches ~16 pages (the table and its indexes),
            // past SQLite's 64 KiB spill threshold — every write wrote its journal to a
            // temporary file (issue 21, seen with strace). Nothing durable lives there.
            .pragma("temp_store", "memory");
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
            .connect_with(options.clone())
            .await
            .map_err(|e| db(&format!("opening SQLite database `{url}`"), e))?;
        MIGRATOR.run(&pool).await.map_err(|e| {
            Error::internal(format!("store: migrating SQLite `{url}`: {e}")).with_source(e)
        })?;
        let (writer, readers) = if in_memory {
            let turn = std::sync::Arc::new(tokio::sync::Mutex::new(()));
            (Writer::Pooled(turn), None)
        } else {
            let conn = options
                .connect()
                .await
                .map_err(|e| db(&format!("opening the writer of SQLite `{url}`"), e))?;
            let direct = open_connection(&options, url, false)?;
            let readers = Readers {
                options: options.clone(),
                url: url.to_string(),
                idle: std::sync::Mutex::new(Vec::new()),
            };
            (Writer::Group(GroupWriter::new(conn, direct)), Some(readers))
        };
        Ok(Backend {
            pool,
            writer,
            readers,
        })
    }

    /// Commits what is pending and closes every connection.
    pub(crate) async fn close(&self) {
        if let Writer::Group(w) = &self.writer {
            w.close().await;
        }
        self.pool.close().await;
    }
}

/// A write; on a file database one member of the writer's group commit.
pub(crate) enum WriteTx {
    Group(group_commit::WriteTx),
    Pooled {
        tx: sqlx::Transaction<'static, Db>,
        // Dropped after `tx`, so the next writer starts once this one is finished.
        _turn: tokio::sync::OwnedMutexGuard<()>,
    },
}

impl WriteTx {
    /// The connection to run statements on.
    pub(crate) fn conn(&mut self) -> &mut <Db as sqlx::Database>::Connection {
        match self {
            WriteTx::Group(w) => w.conn(),
            WriteTx::Pooled { tx, .. } => tx,
        }
    }

    /// Commits; returns once the write is durable.
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            WriteTx::Group(w) => w.commit().await,
            WriteTx::Pooled { tx, .. } => tx.commit().await,
        }
    }

    /// Rolls back.
    pub(crate) async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            WriteTx::Group(w) => w.rollback().await,
            WriteTx::Pooled { tx, .. } => tx.rollback().await,
        }
    }
}

/// A write transaction that holds the write lock from its first statement.
async fn begin_write(b: &Backend) -> Result<WriteTx> {
    match &b.writer {
        Writer::Group(w) => w
            .begin()
            .await
            .map(WriteTx::Group)
            .map_err(|e| db("beginning a write", e)),
        Writer::Pooled(turn) => {
            let turn = turn.clone().lock_owned().await;
            let tx = b
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| db("beginning a write transaction", e))?;
            Ok(WriteTx::Pooled { tx, _turn: turn })
        }
    }
}

/// Runs one write's statements through rusqlite on the writer connection, in one hand-off
/// to it ([`GroupWriter::write_direct`], issue 21); on SQLite always `Some`. The writes
/// of the request path go this way; the others run their statements through sqlx.
async fn direct<T>(
    b: &Backend,
    f: impl FnOnce(Direct<'_>) -> Result<T> + Send,
) -> Option<Result<T>> {
    Some(match &b.writer {
        Writer::Group(w) => w.write_direct(|c| f(Direct(c))).await,
        Writer::Pooled(_) => direct_pooled(b, f).await,
    })
}

/// Runs a read's statements through rusqlite on a read connection ([`Readers::read`]);
/// `None` on an in-memory database (read through the pool there).
fn read<T>(b: &Backend, f: impl FnOnce(Direct<'_>) -> Result<T>) -> Option<Result<T>> {
    b.readers.as_ref().map(|r| r.read(f))
}

/// [`direct`] on an in-memory database: the write is its own transaction on the pool's
/// one connection.
async fn direct_pooled<T>(
    b: &Backend,
    f: impl FnOnce(Direct<'_>) -> Result<T> + Send,
) -> Result<T> {
    let mut tx = begin_write(b).await?;
    let result = {
        let mut handle = tx
            .conn()
            .lock_handle()
            .await
            .map_err(|e| db("taking the writer connection", e))?;
        // SAFETY: the handle is the open pool connection of `tx`, which outlives `conn`;
        // rusqlite does not close a handle it does not own; `conn` is dropped (its
        // statements finalized) before `handle` lets sqlx's thread use the connection again.
        let conn = unsafe { rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr()) }
            .map_err(|e| crate::direct::error("opening the writer connection", e))?;
        let result = f(Direct(&conn));
        drop(conn);
        result
    };
    match result {
        Ok(v) => {
            tx.commit().await.map_err(|e| db("committing a write", e))?;
            Ok(v)
        }
        Err(e) => {
            tx.rollback().await.map_err(|re| db("rolling back", re))?;
            Err(e)
        }
    }
}

/// A write whose statements need no transaction of their own (on PostgreSQL they run in
/// autocommit); on SQLite every write goes through the one writer.
async fn write_once(b: &Backend) -> Result<WriteTx> {
    begin_write(b).await
}

/// No revocation feed: one process owns the file and forgets its own revocations.
const NOTIFY_REVOKED: Option<&str> = None;

async fn revocation_feed(
    _b: &Backend,
) -> Result<Option<tokio::sync::mpsc::Receiver<crate::keys::Revocation>>> {
    Ok(None)
}

/// The backend as OpenTelemetry names it (`db.system.name`), on the store's spans.
const DB_SYSTEM: &str = "sqlite";

mod write {
    include!("sql/write.rs");
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
mod gauges {
    include!("sql/gauges.rs");
}
mod accounts {
    include!("sql/accounts.rs");
}
mod assets {
    include!("sql/assets.rs");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read connections see what the writer committed, are reused, and cannot write.
    #[tokio::test]
    async fn readers_see_committed_writes_and_cannot_write() {
        let dir = std::env::temp_dir().join(format!("genmux-readers-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("r.db").display());
        let b = Backend::open(&url).await.unwrap();
        let count = |b: &Backend| {
            read(b, |d| {
                d.row("counting", "SELECT count(*) FROM accounts", &[], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap()
            .unwrap()
            .unwrap()
        };
        let before = count(&b);
        let n = direct(&b, |d| {
            d.execute(
                "adding an account",
                "INSERT INTO accounts (id, balance, created_at) VALUES ($1, 0, 0)",
                &[&"acct_r"],
            )
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(count(&b), before + 1);
        let idle = b.readers.as_ref().unwrap().idle.lock().unwrap().len();
        assert_eq!(idle, 1, "one connection, reused");
        let refused = read(&b, |d| {
            d.execute("writing on a reader", "DELETE FROM accounts", &[])
        })
        .unwrap();
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(count(&b), before + 1);
        b.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
