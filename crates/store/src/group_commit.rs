//! Group commit for the SQLite backend: the writes of concurrent requests share one
//! durable commit.
//!
//! With `synchronous = FULL` every commit waits for an `fsync`, about 1 ms on the disks
//! this was measured on, and SQLite has one writer at a time, so one commit per write
//! capped the whole gateway near 1,000 writes/s however many requests were waiting
//! (`docs/benchmarks.md`). Here every write of the process runs on the writer's
//! connections — sqlx's, or rusqlite's for [`GroupWriter::write_direct`] — one batch at a
//! time. The first write of a batch opens a `BEGIN IMMEDIATE` transaction; each
//! write runs inside its own `SAVEPOINT`, so one that fails or is abandoned is rolled back
//! alone; and the transaction is committed when no other write is queued behind the one
//! finishing (or the batch is full, or old). [`WriteTx::commit`] returns only once that
//! commit is durable, so a caller is never told of a write that a crash could lose; and
//! [`WriteTx::rollback`] waits for it too, because a write that gives up after reading a
//! racing write of the same batch (the hold another request just placed) must not report
//! that write before it is durable. A write alone (no queue) commits at once, exactly as
//! before.
//!
//! SQLite may roll a whole transaction back by itself after some errors (a full disk, an
//! I/O error): a write's savepoint is then gone although it was set. That is detected when
//! the write ends, and the batch fails as a whole (every write of it is told `Err`), so no
//! later write joins a transaction that no longer exists.
//!
//! Cancellation: a caller's future may be dropped at any await (a client hangs up). The
//! steps that end a write — `RELEASE` or `ROLLBACK TO`, and the batch's `COMMIT` — run in
//! a spawned task that owns the connection, so they always finish; a write dropped before
//! its end is rolled back to its savepoint by that task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnection;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

/// Most writes one commit makes durable.
const MAX_BATCH_WRITES: usize = 64;
/// Longest a batch stays open under sustained load: bounds the wait of its first write.
const MAX_BATCH_AGE: Duration = Duration::from_millis(5);
/// Prepared statements [`GroupWriter::write_direct`] keeps (one per distinct write
/// statement; rusqlite's default of 16 is fewer than the store's hot writes).
const DIRECT_STATEMENTS: usize = 128;

/// The outcome of a batch's `COMMIT`, shared by its writes (`None` while it is open).
type BatchResult = Option<Result<(), Arc<str>>>;

/// The process's one SQLite writer.
pub(crate) struct GroupWriter {
    state: Arc<Mutex<WriterState>>,
    /// Writes queued for the connection: while any is, a finishing write leaves the batch
    /// open for it.
    queued: AtomicUsize,
    /// [`MAX_BATCH_AGE`], longer in tests that must keep a batch open on a loaded machine.
    max_batch_age: Duration,
}

struct WriterState {
    /// The second writer connection, opened by rusqlite on the same file, for
    /// [`GroupWriter::write_direct`]. A batch is a transaction on one of the two: a write
    /// of the other kind commits it first. `None` once closed (and while its `COMMIT` runs
    /// on the blocking pool, with the state locked).
    direct: Option<rusqlite::Connection>,
    /// `None` once the store is closed.
    conn: Option<SqliteConnection>,
    batch: Option<Batch>,
    /// The current write's savepoint.
    savepoint: Savepoint,
    /// A `BEGIN` may have run without its batch being recorded (its caller was cancelled,
    /// or a cleanup `ROLLBACK` failed): the connection may be inside a transaction nobody
    /// owns.
    begin_in_doubt: bool,
}

/// Where the current write's `SAVEPOINT w` stands.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Savepoint {
    /// No write is open.
    None,
    /// Sent, not confirmed (its caller may have been cancelled before it ran).
    Sent,
    /// Confirmed: if it is missing later, SQLite rolled the transaction back.
    Set,
}

impl WriterState {
    fn conn(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }
}

struct Batch {
    writes: usize,
    opened: Instant,
    done: watch::Sender<BatchResult>,
    /// The connection whose transaction this batch is.
    on: Side,
    /// A direct write's savepoint is open: set while `f` runs, so that one that panicked
    /// leaves the batch marked and the next writer rolls the whole batch back.
    direct_write_open: bool,
}

/// Which writer connection a batch runs on.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Side {
    Sqlx,
    Direct,
}

/// How a write ends.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Release,
    Rollback,
}

impl GroupWriter {
    pub(crate) fn new(conn: SqliteConnection, direct: rusqlite::Connection) -> Arc<Self> {
        Self::with_max_batch_age(conn, direct, MAX_BATCH_AGE)
    }

    fn with_max_batch_age(
        conn: SqliteConnection,
        direct: rusqlite::Connection,
        max_batch_age: Duration,
    ) -> Arc<Self> {
        direct.set_prepared_statement_cache_capacity(DIRECT_STATEMENTS);
        Arc::new(GroupWriter {
            state: Arc::new(Mutex::new(WriterState {
                direct: Some(direct),
                conn: Some(conn),
                batch: None,
                savepoint: Savepoint::None,
                begin_in_doubt: false,
            })),
            queued: AtomicUsize::new(0),
            max_batch_age,
        })
    }

    /// Starts a write: waits for the connection (in arrival order), joins the open batch
    /// or opens one, and sets the write's savepoint.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<WriteTx, sqlx::Error> {
        let queued = Queued::new(self.clone());
        let state = self.state.clone().lock_owned().await;
        queued.served();
        let mut tx = WriteTx {
            writer: self.clone(),
            state: Some(state),
        };
        let state = tx.state.as_mut().expect("a new write holds the connection");
        state.conn()?;
        if state.batch.as_ref().is_some_and(|b| b.on == Side::Direct) {
            // The open batch is the other connection's transaction: commit it first.
            commit_batch(state).await;
        }
        if state.savepoint != Savepoint::None {
            // Left by a write dropped where no runtime could end it.
            if rollback_savepoint(state).await.is_err() {
                fail_batch(state, "an abandoned write could not be rolled back").await;
            }
        }
        if state.batch.is_none() {
            if state.begin_in_doubt {
                // Harmless when no transaction is open ("no transaction is active").
                let _ = exec(state.conn()?, "ROLLBACK").await;
            }
            state.begin_in_doubt = true;
            state.savepoint = Savepoint::Sent;
            // One round trip to the connection's thread for both.
            exec(state.conn()?, "BEGIN IMMEDIATE; SAVEPOINT w").await?;
            state.begin_in_doubt = false;
            state.savepoint = Savepoint::Set;
            state.batch = Some(Batch {
                writes: 0,
                opened: Instant::now(),
                done: watch::channel(None).0,
                on: Side::Sqlx,
                direct_write_open: false,
            });
            return Ok(tx);
        }
        state.savepoint = Savepoint::Sent;
        exec(state.conn()?, "SAVEPOINT w").await?;
        state.savepoint = Savepoint::Set;
        Ok(tx)
    }

    /// Runs one write — `f`'s statements — in the batch, on the second writer connection
    /// (rusqlite, owned by this writer): the statements run right here, inside the write's
    /// own savepoint, with no round trip each to sqlx's connection thread and no
    /// rescheduling of this task between them (issue 21: those hand-offs, not SQLite, were
    /// most of a generate's writer time). The batch's `COMMIT` (the fsync) runs on the
    /// blocking pool. Returns once the batch is durable, like [`WriteTx::commit`]; `f`'s
    /// error is returned after the batch is durable too (what it read of the others is
    /// then durable), and its statements are rolled back.
    ///
    /// `f` is synchronous: a caller cancelled while waiting never stops it half-way.
    pub(crate) async fn write_direct<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&rusqlite::Connection) -> genmux_core::Result<T>,
    ) -> genmux_core::Result<T> {
        use crate::db_error::db;
        let queued = Queued::new(self.clone());
        let mut state = self.state.clone().lock_owned().await;
        queued.served();
        match state.batch.as_ref().map(|b| (b.on, b.direct_write_open)) {
            // The other connection's transaction: commit it first.
            Some((Side::Sqlx, _)) => commit_batch(&mut state).await,
            // A direct write panicked inside it: none of the batch is kept.
            Some((Side::Direct, true)) => {
                fail_batch(&mut state, "a write of the batch stopped half-way").await
            }
            _ => {}
        }
        let Some(direct) = state.direct.as_ref() else {
            return Err(db("beginning a write", sqlx::Error::PoolClosed));
        };
        if state.batch.is_none() {
            if !direct.is_autocommit() {
                // Left open by a batch whose rollback failed.
                let _ = direct.execute_batch("ROLLBACK");
            }
            // Nothing else in this process writes while the state is locked; another
            // process's lock is waited for up to the busy timeout.
            direct
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| crate::direct::error("beginning a write", e))?;
            state.batch = Some(Batch {
                writes: 0,
                opened: Instant::now(),
                done: watch::channel(None).0,
                on: Side::Direct,
                direct_write_open: false,
            });
        }
        let WriterState { direct, batch, .. } = &mut *state;
        let (Some(conn), Some(open)) = (direct.as_ref(), batch.as_mut()) else {
            return Err(db(
                "beginning a write",
                abandoned("the write's batch was not open"),
            ));
        };
        // From here to the end of the write nothing awaits: it cannot be cut short.
        open.direct_write_open = true;
        let result = match conn.execute_batch("SAVEPOINT w") {
            Ok(()) => f(conn),
            Err(e) => Err(crate::direct::error("beginning a write", e)),
        };
        let end = if result.is_ok() {
            "RELEASE w"
        } else {
            "ROLLBACK TO w; RELEASE w"
        };
        // SQLite may have rolled the whole transaction back by itself (a full disk, an
        // I/O error): then the batch is lost, not only this write.
        let ended = conn.execute_batch(end).is_ok() && !conn.is_autocommit();
        open.direct_write_open = false;
        if !ended {
            fail_batch(&mut state, "the transaction was lost while a write ended").await;
            return Err(result.err().unwrap_or_else(|| {
                genmux_core::Error::new(
                    genmux_core::ErrorKind::ProviderUnavailable,
                    "store: the write's batch was lost before it was committed; nothing of it was kept",
                )
            }));
        }
        open.writes += 1;
        let done = open.done.subscribe();
        if commit_due(self, &state, 0) {
            // Spawned: a cancelled caller cannot cut the `COMMIT` short, and the batch's
            // other writes are told its outcome.
            tokio::spawn(async move {
                let mut state = state;
                commit_batch(&mut state).await;
            });
        } else {
            drop(state);
        }
        let mut done = done;
        let outcome = done.wait_for(Option::is_some).await.map_err(|_| {
            db(
                "committing a write",
                abandoned("the batch was dropped before it was committed"),
            )
        })?;
        match outcome.clone() {
            Some(Err(msg)) => Err(genmux_core::Error::new(
                genmux_core::ErrorKind::ProviderUnavailable,
                format!("store: committing a write: {msg}; nothing of it was kept"),
            )),
            _ => result,
        }
    }

    /// Commits an open batch nobody is queued to join (a queued write was cancelled).
    async fn flush(self: Arc<Self>) {
        let mut state = self.state.clone().lock_owned().await;
        if self.queued.load(Ordering::SeqCst) == 0 {
            commit_batch(&mut state).await;
        }
    }

    /// Commits whatever is open and closes the connection; later writes fail with
    /// `PoolClosed`. For [`crate::Store::close`]; runs in a task of its own, so a
    /// cancelled caller cannot cut a `COMMIT` short.
    pub(crate) async fn close(self: &Arc<Self>) {
        let state = self.state.clone();
        let closing = tokio::spawn(async move {
            let mut state = state.lock_owned().await;
            commit_batch(&mut state).await;
            if let Some(direct) = state.direct.take() {
                if let Err((_, e)) = direct.close() {
                    tracing::warn!(error = %e, "closing the SQLite writer's second connection failed");
                }
            }
            if let Some(conn) = state.conn.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
        });
        if let Err(e) = closing.await {
            tracing::error!(error = %e, "closing the SQLite writer failed");
        }
    }
}

/// Counts a write in the queue until it holds the connection; a write cancelled while
/// queued may have kept the batch before it open, so it has that batch flushed.
struct Queued {
    writer: Option<Arc<GroupWriter>>,
}

impl Queued {
    fn new(writer: Arc<GroupWriter>) -> Self {
        writer.queued.fetch_add(1, Ordering::SeqCst);
        Queued {
            writer: Some(writer),
        }
    }

    fn served(mut self) {
        if let Some(w) = self.writer.take() {
            w.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            w.queued.fetch_sub(1, Ordering::SeqCst);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(w.flush());
            }
        }
    }
}

/// One write of the batch: statements run on [`WriteTx::conn`]; it ends with
/// [`WriteTx::commit`] or [`WriteTx::rollback`] (dropped, it is rolled back).
pub(crate) struct WriteTx {
    writer: Arc<GroupWriter>,
    state: Option<OwnedMutexGuard<WriterState>>,
}

impl WriteTx {
    /// The connection to run statements on.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        // `begin` checked the connection is open, and only `close` takes it, after
        // waiting for the lock this write holds.
        self.state
            .as_mut()
            .and_then(|s| s.conn.as_mut())
            .expect("a write holds the open connection until it ends")
    }

    /// Releases the savepoint and returns once the batch holding this write has been
    /// committed; the batch's error if its `COMMIT` failed (then nothing of it was kept).
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.finish(End::Release).await
    }

    /// Rolls this write back to its savepoint (the rest of the batch is unaffected) and
    /// returns once the batch is committed: what this write read of the others is then
    /// durable. The batch's error if its `COMMIT` failed.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.finish(End::Rollback).await
    }

    async fn finish(mut self, how: End) -> Result<(), sqlx::Error> {
        let state = self.state.take().expect("a write ends once");
        let done = state.batch.as_ref().map(|b| b.done.subscribe());
        // Spawned: a cancelled caller cannot stop the end half-way.
        let ended = tokio::spawn(end(self.writer.clone(), state, how));
        let ended = match ended.await {
            Ok(r) => r,
            Err(e) => Err(abandoned(&format!("the writer task failed: {e}"))),
        };
        let Some(mut done) = done else {
            return ended.and(Err(abandoned("the write's batch was not open")));
        };
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| abandoned("the batch was dropped before it was committed"))?
            .clone();
        ended?;
        match outcome {
            Some(Err(msg)) => Err(abandoned(&format!("committing the batch: {msg}"))),
            _ => Ok(()),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(end(self.writer.clone(), state, End::Rollback));
            }
            // Without a runtime the guard is released with the savepoint open; the next
            // write rolls it back (`savepoint` is not `None`).
        }
    }
}

/// Ends a write, then commits the batch if no write is queued to join it (or it is full
/// or old). Runs in its own task: a cancelled caller cannot stop it half-way.
async fn end(
    writer: Arc<GroupWriter>,
    mut state: OwnedMutexGuard<WriterState>,
    how: End,
) -> Result<(), sqlx::Error> {
    if state.batch.is_none() {
        // `begin` failed before its batch was recorded.
        let _ = rollback_savepoint(&mut state).await;
        state.savepoint = Savepoint::None;
        if state.begin_in_doubt {
            if let Ok(conn) = state.conn() {
                if exec(conn, "ROLLBACK").await.is_ok() {
                    state.begin_in_doubt = false;
                }
            }
        }
        return Err(abandoned("the write's batch was not open"));
    }
    if how == End::Release && commit_due(&writer, &state, 1) {
        // The last write of the batch: release and commit in one round trip.
        return release_and_commit(&mut state).await;
    }
    let result = match how {
        End::Release => match exec(state.conn()?, "RELEASE w").await {
            Ok(()) => {
                state.savepoint = Savepoint::None;
                if let Some(b) = state.batch.as_mut() {
                    b.writes += 1;
                }
                Ok(())
            }
            Err(e) => rollback_savepoint(&mut state).await.and(Err(e)),
        },
        End::Rollback => rollback_savepoint(&mut state).await,
    };
    if state.savepoint != Savepoint::None {
        // The savepoint could not be undone, or it was gone although it had been set
        // (SQLite rolled the transaction back): none of the batch is kept.
        fail_batch(&mut state, "the transaction was lost while a write ended").await;
        return result.and(Err(abandoned("the batch's transaction was lost")));
    }
    if commit_due(&writer, &state, 0) {
        commit_batch(&mut state).await;
    }
    result
}

/// Whether the open batch, with `adding` more writes, is to be committed now: no write
/// is queued to join it, or it is full, or old.
fn commit_due(writer: &GroupWriter, state: &WriterState, adding: usize) -> bool {
    state.batch.as_ref().is_some_and(|b| {
        writer.queued.load(Ordering::SeqCst) == 0
            || b.writes + adding >= MAX_BATCH_WRITES
            || b.opened.elapsed() >= writer.max_batch_age
    })
}

/// `RELEASE` the write's savepoint and `COMMIT` the batch in one round trip, and tell the
/// batch's writes. On an error nothing of the batch is kept (it is rolled back).
async fn release_and_commit(state: &mut WriterState) -> Result<(), sqlx::Error> {
    match exec(state.conn()?, "RELEASE w; COMMIT").await {
        Ok(()) => {
            state.savepoint = Savepoint::None;
            if let Some(batch) = state.batch.take() {
                tracing::trace!(writes = batch.writes + 1, "SQLite group commit");
                batch.done.send_replace(Some(Ok(())));
            }
            Ok(())
        }
        Err(e) => {
            fail_batch(state, &e.to_string()).await;
            Err(e)
        }
    }
}

/// `ROLLBACK TO` and `RELEASE` the write's savepoint. Leaves `savepoint` as it was when
/// that fails, or when the savepoint was confirmed and is gone.
async fn rollback_savepoint(state: &mut WriterState) -> Result<(), sqlx::Error> {
    if state.savepoint == Savepoint::None {
        return Ok(());
    }
    match exec(state.conn()?, "ROLLBACK TO w; RELEASE w").await {
        Ok(()) => {}
        // Its `SAVEPOINT` never ran (the caller was cancelled before it was sent).
        Err(e) if state.savepoint == Savepoint::Sent && no_such_savepoint(&e) => {}
        Err(e) => return Err(e),
    }
    state.savepoint = Savepoint::None;
    Ok(())
}

fn no_such_savepoint(e: &sqlx::Error) -> bool {
    e.to_string().contains("no such savepoint")
}

/// Commits the open batch and tells its writes.
async fn commit_batch(state: &mut WriterState) {
    let Some(on) = state.batch.as_ref().map(|b| b.on) else {
        return;
    };
    if on == Side::Direct {
        return commit_direct(state).await;
    }
    // Only ended writes are committed: one abandoned without a runtime to end it is
    // rolled back first.
    if rollback_savepoint(state).await.is_err() {
        fail_batch(state, "an abandoned write could not be rolled back").await;
        return;
    }
    let committed = match state.conn() {
        Ok(conn) => exec(conn, "COMMIT").await,
        Err(e) => Err(e),
    };
    match committed {
        Ok(()) => {
            if let Some(batch) = state.batch.take() {
                tracing::trace!(writes = batch.writes, "SQLite group commit");
                batch.done.send_replace(Some(Ok(())));
            }
        }
        Err(e) => fail_batch(state, &e.to_string()).await,
    }
}

/// Commits the open batch of the second connection, on the blocking pool (the fsync),
/// and tells its writes.
async fn commit_direct(state: &mut WriterState) {
    let Some(db) = state.direct.take() else {
        return fail_batch(state, "the writer is closed").await;
    };
    let committed = tokio::task::spawn_blocking(move || {
        let r = db.execute_batch("COMMIT");
        (db, r)
    })
    .await;
    match committed {
        Ok((db, r)) => {
            state.direct = Some(db);
            match r {
                Ok(()) => {
                    if let Some(batch) = state.batch.take() {
                        tracing::trace!(writes = batch.writes, "SQLite group commit");
                        batch.done.send_replace(Some(Ok(())));
                    }
                }
                Err(e) => fail_batch(state, &e.to_string()).await,
            }
        }
        // The thread died with the connection: nothing of the batch is known to be kept,
        // and direct writes fail from now on (`PoolClosed`).
        Err(e) => fail_batch(state, &format!("committing failed: {e}")).await,
    }
}

/// Rolls the whole batch back and tells its writes why.
async fn fail_batch(state: &mut WriterState, why: &str) {
    let rolled_back = match state.batch.as_ref().map(|b| b.on) {
        Some(Side::Direct) => match state.direct.as_ref() {
            // "no transaction is active" when SQLite already rolled it back.
            Some(db) => db.execute_batch("ROLLBACK").is_ok() || db.is_autocommit(),
            None => false,
        },
        _ => match state.conn() {
            Ok(conn) => exec(conn, "ROLLBACK").await.is_ok(),
            Err(_) => false,
        },
    };
    // "no transaction is active" also lands here: the next batch's BEGIN cleans up.
    if state.batch.as_ref().is_none_or(|b| b.on == Side::Sqlx) {
        state.begin_in_doubt = !rolled_back;
    }
    state.savepoint = Savepoint::None;
    if let Some(batch) = state.batch.take() {
        batch.done.send_replace(Some(Err(why.into())));
    }
}

/// Runs `sql` on `conn`. Boxed with its lifetime named, so the futures of this module
/// can be spawned (sqlx's `Executor` impls trip the compiler's `Send` check otherwise).
fn exec<'c>(
    conn: &'c mut SqliteConnection,
    sql: &'static str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        sqlx::Executor::execute(&mut *conn, sql).await?;
        Ok(())
    })
}

fn abandoned(why: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!("SQLite group commit: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;

    fn direct(path: &std::path::Path) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(path).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c
    }

    /// A fresh directory for one test's database.
    fn scratch_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("genmux-gc-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A writer over a new table `t` in `dir`, committing batches older than `max_age`.
    async fn writer_aged(dir: &std::path::Path, max_age: Duration) -> Arc<GroupWriter> {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("w.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .connect()
            .await
            .unwrap();
        exec(&mut conn, "CREATE TABLE t (x INTEGER)").await.unwrap();
        GroupWriter::with_max_batch_age(conn, direct(&dir.join("w.db")), max_age)
    }

    /// [`writer_aged`] for tests that hold a batch open: a batch held by a queued write
    /// must not be committed for its age while a loaded machine runs the test slowly.
    async fn writer(dir: &std::path::Path) -> Arc<GroupWriter> {
        writer_aged(dir, Duration::from_secs(600)).await
    }

    async fn insert(w: &mut WriteTx, x: i64) {
        sqlx::query("INSERT INTO t (x) VALUES ($1)")
            .bind(x)
            .execute(w.conn())
            .await
            .unwrap();
    }

    /// SQLite rolling the transaction back by itself (as it may on a full disk) while a
    /// batch is open fails the whole batch — the earlier write is told `Err`, not `Ok` —
    /// and the next batch starts clean.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_lost_mid_batch_fails_every_write_of_it() {
        let dir = scratch_dir();
        let w = writer(&dir).await;
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        // A second write queues behind the first, so the first leaves the batch open.
        let second = tokio::spawn({
            let w = w.clone();
            async move { w.begin().await }
        });
        while w.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let first = tokio::spawn(first.commit());
        let mut second = second.await.unwrap().unwrap();
        insert(&mut second, 2).await;
        // A third write queues behind the second.
        let third = tokio::spawn({
            let w = w.clone();
            async move { w.begin().await }
        });
        while w.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // What SQLite does on its own after some errors; the second write then gives up.
        exec(second.conn(), "ROLLBACK").await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(10), second.rollback())
            .await
            .expect("no hang");
        assert!(second.is_err(), "its batch is gone");
        assert!(
            tokio::time::timeout(Duration::from_secs(10), first)
                .await
                .expect("no hang")
                .unwrap()
                .is_err(),
            "the first write was in the lost transaction: not durable, so not Ok"
        );
        // The third write starts a new batch (it does not join the lost one, which would
        // have committed it alone and then told it `Err`).
        let mut third = third.await.unwrap().unwrap();
        insert(&mut third, 3).await;
        tokio::time::timeout(Duration::from_secs(10), third.commit())
            .await
            .expect("no hang")
            .unwrap();
        let mut check = w.begin().await.unwrap();
        let rows: Vec<i64> = sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(check.conn())
            .await
            .unwrap();
        check.rollback().await.unwrap();
        assert_eq!(rows, vec![3]);
        w.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn direct_insert(c: &rusqlite::Connection, x: i64) -> genmux_core::Result<()> {
        crate::direct::Direct(c).execute("inserting", "INSERT INTO t (x) VALUES ($1)", &[&x])?;
        Ok(())
    }

    async fn rows(w: &Arc<GroupWriter>) -> Vec<i64> {
        let mut check = w.begin().await.unwrap();
        let rows: Vec<i64> = sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(check.conn())
            .await
            .unwrap();
        check.rollback().await.unwrap();
        rows
    }

    /// Direct writes queued behind a sqlx write run after its batch (the other
    /// connection's transaction) is committed; one that fails is rolled back alone (its
    /// statements before the failure included), and every other write is committed once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn direct_writes_follow_sqlx_writes_and_a_failed_one_is_rolled_back_alone() {
        let dir = scratch_dir();
        let w = writer(&dir).await;
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        let failing = tokio::spawn({
            let w = w.clone();
            async move {
                w.write_direct(|c| {
                    direct_insert(c, 2)?;
                    Err::<(), _>(genmux_core::Error::invalid("refused after a statement"))
                })
                .await
            }
        });
        let ok = tokio::spawn({
            let w = w.clone();
            async move { w.write_direct(|c| direct_insert(c, 3)).await }
        });
        // Both queue behind the first write, so they join its batch.
        while w.queued.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        first.commit().await.unwrap();
        let failed = failing.await.unwrap();
        assert_eq!(
            failed.unwrap_err().kind(),
            genmux_core::ErrorKind::InvalidRequest,
            "the write's own error"
        );
        ok.await.unwrap().unwrap();
        let many: Vec<_> = (10..60)
            .map(|x| {
                let w = w.clone();
                tokio::spawn(async move { w.write_direct(|c| direct_insert(c, x)).await })
            })
            .collect();
        for m in many {
            m.await.unwrap().unwrap();
        }
        let mut want = vec![1, 3];
        want.extend(10..60);
        assert_eq!(rows(&w).await, want);
        w.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// SQLite rolling the transaction back under a direct write (as after a full disk)
    /// fails that write and the direct writes of its batch; the write of the other
    /// connection's batch before it is kept, and the next write starts clean.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_lost_under_a_direct_write_fails_its_batch() {
        let dir = scratch_dir();
        let w = writer(&dir).await;
        // A sqlx write holds the writer while two direct writes queue behind it.
        let mut first = w.begin().await.unwrap();
        insert(&mut first, 1).await;
        let kept = tokio::spawn({
            let w = w.clone();
            async move { w.write_direct(|c| direct_insert(c, 2)).await }
        });
        while w.queued.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        let lost = tokio::spawn({
            let w = w.clone();
            async move {
                w.write_direct(|c| {
                    direct_insert(c, 3)?;
                    c.execute_batch("ROLLBACK")
                        .map_err(|e| crate::direct::error("rolling back", e))
                })
                .await
            }
        });
        while w.queued.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        // Committed before the direct writes open their batch on the other connection.
        first.commit().await.unwrap();
        assert!(lost.await.unwrap().is_err(), "its transaction is gone");
        assert!(
            tokio::time::timeout(Duration::from_secs(10), kept)
                .await
                .expect("no hang")
                .unwrap()
                .is_err(),
            "the write before it was in the lost transaction: not durable, so not Ok"
        );
        w.write_direct(|c| direct_insert(c, 4)).await.unwrap();
        assert_eq!(rows(&w).await, vec![1, 4]);
        w.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Direct and sqlx writes from many tasks, some cancelled at random points (a client
    /// hanging up mid-request), never leave the writer stuck, and every write reported
    /// `Ok` is kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_writes_never_leave_the_writer_stuck() {
        let dir = scratch_dir();
        // The production batch age: batches close for age under this load, as they would.
        let w = writer_aged(&dir, MAX_BATCH_AGE).await;
        let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for x in 0..2000i64 {
            let (w, kept) = (w.clone(), kept.clone());
            tasks.push(tokio::spawn(async move {
                let write = async {
                    if x % 3 == 0 {
                        let mut tx = w.begin().await.unwrap();
                        insert(&mut tx, x).await;
                        tx.commit().await.is_ok()
                    } else {
                        w.write_direct(|c| direct_insert(c, x)).await.is_ok()
                    }
                };
                // Every seventh write is abandoned after a few microseconds.
                let limit = if x % 7 == 0 {
                    Duration::from_micros(50 + (x as u64 % 500))
                } else {
                    Duration::from_secs(60)
                };
                if let Ok(true) = tokio::time::timeout(limit, write).await {
                    kept.lock().unwrap().push(x);
                }
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("the writer is not stuck")
                .unwrap();
        }
        let stored = tokio::time::timeout(Duration::from_secs(60), rows(&w))
            .await
            .expect("the writer is not stuck");
        let mut kept = kept.lock().unwrap().clone();
        kept.sort();
        for x in &kept {
            assert!(
                stored.binary_search(x).is_ok(),
                "write {x} was reported Ok but is missing"
            );
        }
        w.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
