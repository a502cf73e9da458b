//! Group commit for the SQLite backend: the writes of concurrent requests share one
//! durable commit.
//!
//! With `synchronous = FULL` every commit waits for an `fsync`, about 1 ms on the disks
//! this was measured on, and SQLite has one writer at a time, so one commit per write
//! capped the whole gateway near 1,000 writes/s however many requests were waiting
//! (`docs/benchmarks.md`). Here every write of the process runs on one dedicated
//! connection. The first write of a batch opens a `BEGIN IMMEDIATE` transaction; each
//! write runs inside its own `SAVEPOINT`, so one that fails or is abandoned is rolled back
//! alone; and the transaction is committed when no other write is queued behind the one
//! finishing (or the batch is full, or old). [`WriteTx::commit`] returns only once that
//! commit is durable, so a caller is never told of a write that a crash could lose. A
//! write alone (no queue) commits at once, exactly as before.
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

/// The outcome of a batch's `COMMIT`, shared by its writes (`None` while it is open).
type BatchResult = Option<Result<(), Arc<str>>>;

/// The process's one SQLite writer.
pub(crate) struct GroupWriter {
    state: Arc<Mutex<WriterState>>,
    /// Writes queued for the connection: while any is, a finishing write leaves the batch
    /// open for it.
    queued: AtomicUsize,
}

struct WriterState {
    /// `None` once the store is closed.
    conn: Option<SqliteConnection>,
    batch: Option<Batch>,
    /// A write's savepoint may be open (set from `SAVEPOINT` until its end has run).
    savepoint_open: bool,
    /// A `BEGIN` was sent but its batch not recorded (the caller was cancelled or it
    /// failed): the connection may be inside a transaction nobody owns.
    begin_in_doubt: bool,
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
}

/// How a write ends.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Release,
    Rollback,
}

impl GroupWriter {
    pub(crate) fn new(conn: SqliteConnection) -> Arc<Self> {
        Arc::new(GroupWriter {
            state: Arc::new(Mutex::new(WriterState {
                conn: Some(conn),
                batch: None,
                savepoint_open: false,
                begin_in_doubt: false,
            })),
            queued: AtomicUsize::new(0),
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
        if state.savepoint_open {
            // Left by a write dropped where no runtime could finish it.
            rollback_savepoint(state).await?;
        }
        if state.batch.is_none() {
            if state.begin_in_doubt {
                // Harmless when no transaction is open ("no transaction is active").
                let _ = exec(state.conn()?, "ROLLBACK").await;
            }
            state.begin_in_doubt = true;
            state.savepoint_open = true;
            // One round trip to the connection's thread for both.
            exec(state.conn()?, "BEGIN IMMEDIATE; SAVEPOINT w").await?;
            state.begin_in_doubt = false;
            state.batch = Some(Batch {
                writes: 0,
                opened: Instant::now(),
                done: watch::channel(None).0,
            });
            return Ok(tx);
        }
        state.savepoint_open = true;
        exec(state.conn()?, "SAVEPOINT w").await?;
        Ok(tx)
    }

    /// Commits an open batch nobody is queued to join (a queued write was cancelled, or
    /// the store is closing).
    async fn flush(self: Arc<Self>) {
        let mut state = self.state.clone().lock_owned().await;
        if self.queued.load(Ordering::SeqCst) == 0 {
            commit_batch(&mut state).await;
        }
    }

    /// Commits whatever is open and closes the connection; later writes fail with
    /// `PoolClosed`. For [`crate::Store::close`].
    pub(crate) async fn close(self: &Arc<Self>) {
        let mut state = self.state.clone().lock_owned().await;
        commit_batch(&mut state).await;
        if let Some(conn) = state.conn.take() {
            let _ = sqlx::Connection::close(conn).await;
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
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        let state = self.state.take().expect("a write ends once");
        let mut done = match &state.batch {
            Some(b) => b.done.subscribe(),
            None => return Err(abandoned("the write's batch was not open")),
        };
        let ended = tokio::spawn(end(self.writer.clone(), state, End::Release));
        match ended.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(abandoned(&format!("the writer task failed: {e}"))),
        }
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| abandoned("the batch was dropped before it was committed"))?
            .clone();
        match outcome {
            Some(Err(msg)) => Err(abandoned(&format!("committing the batch: {msg}"))),
            _ => Ok(()),
        }
    }

    /// Rolls this write back to its savepoint; the rest of the batch is unaffected.
    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let state = self.state.take().expect("a write ends once");
        match tokio::spawn(end(self.writer.clone(), state, End::Rollback)).await {
            Ok(r) => r,
            Err(e) => Err(abandoned(&format!("the writer task failed: {e}"))),
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
            // write rolls it back (`savepoint_open`).
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
    if how == End::Release && commit_due(&writer, &state, 1) {
        // The last write of the batch: release and commit in one round trip.
        return release_and_commit(&mut state).await;
    }
    let result = match how {
        End::Release => match release(&mut state).await {
            Ok(_) => {
                state.savepoint_open = false;
                if let Some(b) = state.batch.as_mut() {
                    b.writes += 1;
                }
                Ok(())
            }
            Err(e) => rollback_savepoint(&mut state).await.and(Err(e)),
        },
        End::Rollback => rollback_savepoint(&mut state).await,
    };
    if result.is_err() && state.savepoint_open {
        // The savepoint could not be undone: the batch is suspect, so none of it is kept.
        fail_batch(&mut state, "a write could not be rolled back").await;
        return result;
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
            || b.opened.elapsed() >= MAX_BATCH_AGE
    })
}

/// `RELEASE` the write's savepoint and `COMMIT` the batch in one round trip, and tell the
/// batch's writes. On an error nothing of the batch is kept (it is rolled back).
async fn release_and_commit(state: &mut WriterState) -> Result<(), sqlx::Error> {
    let Some(batch) = state.batch.take() else {
        return Err(abandoned("the write's batch was not open"));
    };
    match exec(state.conn()?, "RELEASE w; COMMIT").await {
        Ok(()) => {
            state.savepoint_open = false;
            batch.done.send_replace(Some(Ok(())));
            Ok(())
        }
        Err(e) => {
            let msg: Arc<str> = e.to_string().into();
            let _ = exec(state.conn()?, "ROLLBACK").await;
            state.savepoint_open = false;
            batch.done.send_replace(Some(Err(msg)));
            Err(e)
        }
    }
}

async fn release(state: &mut WriterState) -> Result<(), sqlx::Error> {
    exec(state.conn()?, "RELEASE w").await?;
    Ok(())
}

/// `ROLLBACK TO` and `RELEASE` the write's savepoint, if one is open.
async fn rollback_savepoint(state: &mut WriterState) -> Result<(), sqlx::Error> {
    if !state.savepoint_open {
        return Ok(());
    }
    match exec(state.conn()?, "ROLLBACK TO w; RELEASE w").await {
        Ok(_) => {}
        // Its `SAVEPOINT` never ran (the caller was cancelled before it was sent).
        Err(e) if e.to_string().contains("no such savepoint") => {}
        Err(e) => return Err(e),
    }
    state.savepoint_open = false;
    Ok(())
}

/// Commits the open batch and tells its writes.
async fn commit_batch(state: &mut WriterState) {
    if state.batch.is_none() {
        return;
    }
    // Only ended writes are committed: one abandoned without a runtime to end it is
    // rolled back first.
    if rollback_savepoint(state).await.is_err() {
        fail_batch(state, "an abandoned write could not be rolled back").await;
        return;
    }
    let Some(batch) = state.batch.take() else {
        return;
    };
    let committed = match state.conn() {
        Ok(conn) => exec(conn, "COMMIT").await.map(|_| ()),
        Err(e) => Err(e),
    };
    match committed {
        Ok(_) => {
            batch.done.send_replace(Some(Ok(())));
        }
        Err(e) => {
            let msg: Arc<str> = e.to_string().into();
            // A failed COMMIT may leave the transaction open: end it so the next batch
            // starts clean. Nothing of this batch was kept.
            if let Ok(conn) = state.conn() {
                let _ = exec(conn, "ROLLBACK").await;
            }
            batch.done.send_replace(Some(Err(msg)));
        }
    }
}

/// Rolls the whole batch back and tells its writes why.
async fn fail_batch(state: &mut WriterState, why: &str) {
    if let Ok(conn) = state.conn() {
        let _ = exec(conn, "ROLLBACK").await;
    }
    state.savepoint_open = false;
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
