//! Statements run through rusqlite on the SQLite writer connection
//! ([`crate::group_commit::GroupWriter::write_direct`]): one write's statements in one
//! hand-off instead of one round trip to sqlx's connection thread each (issue 21).
//!
//! The SQL is the same text both backends run (`$N` parameters); [`bind`] binds by the
//! parameter's number, not its position, since a statement may name `$10` before `$8`.

use genmux_core::{Error, ErrorKind, Result};
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, Row};

/// Maps a rusqlite error like [`crate::db_error::db`] maps sqlx's: a unique or primary-key
/// violation is a `Conflict`; a busy or locked database is `ProviderUnavailable` (retry);
/// anything else `Internal`.
pub(crate) fn error(what: &str, err: rusqlite::Error) -> Error {
    let kind = match err.sqlite_error() {
        Some(e)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            ErrorKind::Conflict
        }
        Some(e)
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            ErrorKind::ProviderUnavailable
        }
        _ => ErrorKind::Internal,
    };
    Error::new(kind, format!("store: {what}: {err}")).with_source(err)
}

/// The writer connection inside one write.
#[derive(Clone, Copy)]
pub(crate) struct Direct<'c>(pub(crate) &'c Connection);

impl Direct<'_> {
    fn prepare(&self, what: &str, sql: &str, args: &[&dyn ToSql]) -> Result<CachedStatement<'_>> {
        let mut st = self.0.prepare_cached(sql).map_err(|e| error(what, e))?;
        bind(&mut st, args).map_err(|e| error(what, e))?;
        Ok(st)
    }

    /// Runs a statement; the rows it changed.
    pub(crate) fn execute(&self, what: &str, sql: &str, args: &[&dyn ToSql]) -> Result<usize> {
        self.prepare(what, sql, args)?
            .raw_execute()
            .map_err(|e| error(what, e))
    }

    /// Every row of a statement (a `SELECT`, or a write `… RETURNING`), mapped.
    pub(crate) fn rows<T>(
        &self,
        what: &str,
        sql: &str,
        args: &[&dyn ToSql],
        mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.prepare(what, sql, args)?;
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| error(what, e))? {
            out.push(map(row).map_err(|e| error(what, e))?);
        }
        Ok(out)
    }

    /// The first row of a statement, if any; a write `… RETURNING` is run to its end.
    pub(crate) fn row<T>(
        &self,
        what: &str,
        sql: &str,
        args: &[&dyn ToSql],
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.rows(what, sql, args, map)?.into_iter().next())
    }
}

/// Binds `args[N - 1]` to each `$N` of the statement.
fn bind(st: &mut CachedStatement<'_>, args: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for index in 1..=st.parameter_count() {
        let number = st
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok());
        let arg = number
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n));
        match arg {
            Some(arg) => st.raw_bind_parameter(index, arg)?,
            None => return Err(rusqlite::Error::InvalidParameterCount(index, args.len())),
        }
    }
    Ok(())
}

/// A statement argument both backends bind: SQLite's direct writes through rusqlite
/// ([`ToSql`]), PostgreSQL's through sqlx (`sql/write.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Blob(Option<&'a [u8]>),
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(v) => v.to_sql(),
            Arg::Int(v) => v.to_sql(),
            Arg::Blob(v) => v.to_sql(),
        }
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(v))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref())
    }
}
impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(Some(v))
    }
}

/// `args` as rusqlite takes them.
pub(crate) fn to_sql<'a>(args: &'a [Arg<'a>]) -> Vec<&'a dyn ToSql> {
    args.iter().map(|a| a as &dyn ToSql).collect()
}

/// A row type the SQLite writer reads through rusqlite (`rows.rs`).
pub(crate) trait DirectRow: Sized {
    fn from_rusqlite(r: &Row<'_>) -> rusqlite::Result<Self>;
}
