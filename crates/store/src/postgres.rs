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
    /// Set by `close`: revocation listeners give their pooled connections back, or
    /// closing the pool would wait for them forever.
    closing: tokio::sync::watch::Sender<bool>,
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
        Ok(Backend {
            pool,
            closing: tokio::sync::watch::channel(false).0,
        })
    }

    /// Closes every connection (stopping revocation feeds first).
    pub(crate) async fn close(&self) {
        self.closing.send_replace(true);
        self.pool.close().await;
    }
}

/// A write: a transaction, or (from [`write_once`]) a pooled connection in autocommit.
/// PostgreSQL locks rows, not the database, so writers only wait for the rows they touch.
pub(crate) enum WriteTx {
    Tx(sqlx::Transaction<'static, Db>),
    Autocommit(sqlx::pool::PoolConnection<Db>),
}

impl WriteTx {
    /// The connection to run statements on.
    pub(crate) fn conn(&mut self) -> &mut <Db as sqlx::Database>::Connection {
        match self {
            WriteTx::Tx(tx) => tx,
            WriteTx::Autocommit(conn) => conn,
        }
    }

    /// Commits (autocommit statements are committed already).
    pub(crate) async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            WriteTx::Tx(tx) => tx.commit().await,
            WriteTx::Autocommit(_) => Ok(()),
        }
    }

    /// Rolls back. Autocommit statements cannot be: that is an error, not a silent no-op.
    pub(crate) async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            WriteTx::Tx(tx) => tx.rollback().await,
            WriteTx::Autocommit(_) => Err(sqlx::Error::Protocol(
                "an autocommit write cannot be rolled back; use begin_write".into(),
            )),
        }
    }
}

/// A write transaction (READ COMMITTED; the statements inside are conditional).
async fn begin_write(b: &Backend) -> Result<WriteTx> {
    let tx = b
        .pool
        .begin()
        .await
        .map_err(|e| db("beginning a write transaction", e))?;
    Ok(WriteTx::Tx(tx))
}

/// PostgreSQL runs the shared statements through sqlx (each its own round trip on one
/// pooled connection): no write takes SQLite's rusqlite path, so always `None`.
async fn direct<T>(
    _b: &Backend,
    _f: impl FnOnce(crate::direct::Direct<'_>) -> Result<T> + Send,
) -> Option<Result<T>> {
    None
}

/// PostgreSQL reads through sqlx: always `None`.
fn read<T>(
    _b: &Backend,
    _f: impl FnOnce(crate::direct::Direct<'_>) -> Result<T>,
) -> Option<Result<T>> {
    None
}

/// A write whose statements need no transaction of their own: autocommit on a pooled
/// connection, committed statement by statement.
async fn write_once(b: &Backend) -> Result<WriteTx> {
    let conn = b
        .pool
        .acquire()
        .await
        .map_err(|e| db("acquiring a connection", e))?;
    Ok(WriteTx::Autocommit(conn))
}

/// The channel revocations are announced on ([`crate::KeyStore::revocations`]).
const REVOKED_CHANNEL: &str = "genmux_key_revoked";
const NOTIFY_REVOKED: Option<&str> = Some("SELECT pg_notify('genmux_key_revoked', $1)");

/// Listens on [`REVOKED_CHANNEL`] over one of the pool's connections, kept for it; see
/// [`crate::KeyStore::revocations`].
async fn revocation_feed(
    b: &Backend,
) -> Result<Option<tokio::sync::mpsc::Receiver<crate::keys::Revocation>>> {
    use crate::keys::Revocation;
    let mut listener = listen_for_revocations(&b.pool)
        .await
        .map_err(|e| db("listening for revocations", e))?;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let mut closing = b.closing.subscribe();
    let pool = b.pool.clone();
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                biased;
                // The store is closing, or nobody listens any more: give the connection
                // back.
                _ = closing.wait_for(|closing| *closing) => break,
                _ = tx.closed() => break,
                r = listener.try_recv() => r,
            };
            let event = match received {
                Ok(Some(n)) => Revocation::Key(n.payload().to_string()),
                // The connection was lost and sqlx has reconnected and listens again; what
                // was announced in between is gone.
                Ok(None) => Revocation::Resync,
                Err(e) => {
                    // Reconnecting failed. Listen again on a new connection, then resync:
                    // a resync sent before listening again would leave a gap.
                    tracing::warn!(error = %e, "revocation listener lost its connection; reconnecting");
                    loop {
                        tokio::select! {
                            biased;
                            _ = closing.wait_for(|closing| *closing) => return,
                            _ = tx.closed() => return,
                            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        }
                        match listen_for_revocations(&pool).await {
                            Ok(l) => {
                                listener = l;
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "revocation listener: still reconnecting")
                            }
                        }
                    }
                    Revocation::Resync
                }
            };
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
    Ok(Some(rx))
}

/// A listener on [`REVOKED_CHANNEL`].
async fn listen_for_revocations(
    pool: &sqlx::Pool<Db>,
) -> std::result::Result<sqlx::postgres::PgListener, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(REVOKED_CHANNEL).await?;
    Ok(listener)
}

/// The backend as OpenTelemetry names it (`db.system.name`), on the store's spans.
const DB_SYSTEM: &str = "postgresql";

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
