//! Maps `sqlx` errors into the workspace [`genmux_core::Error`].

use genmux_core::{Error, ErrorKind};

/// Wraps a database error: `what` says which operation failed (for the log and message).
/// A unique-constraint violation is a [`ErrorKind::Conflict`]; everything else is
/// [`ErrorKind::Internal`] with the `sqlx` error as its source. A busy or unreachable
/// database is [`ErrorKind::ProviderUnavailable`] so callers may retry.
pub(crate) fn db(what: &str, err: sqlx::Error) -> Error {
    let kind = match &err {
        sqlx::Error::Database(d) if d.is_unique_violation() => ErrorKind::Conflict,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            ErrorKind::ProviderUnavailable
        }
        _ => ErrorKind::Internal,
    };
    Error::new(kind, format!("store: {what}: {err}")).with_source(err)
}

/// Returns a closure for `map_err` naming the operation.
pub(crate) fn ctx(what: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |e| db(what, e)
}
