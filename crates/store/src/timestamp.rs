//! Times in the database: signed microseconds since the Unix epoch (`BIGINT` on both
//! backends), so ordering and range queries are the same integer comparison everywhere.

use genmux_core::{Error, Result};
use time::OffsetDateTime;

/// The current time, truncated to what the store keeps (whole microseconds).
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// `t` in UTC, truncated to whole microseconds: what reading it back from the store gives.
pub fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.unix_timestamp_nanos().div_euclid(1_000);
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).unwrap_or(t)
}

/// Microseconds since the epoch, as stored.
pub(crate) fn to_micros(t: OffsetDateTime) -> i64 {
    // i64 microseconds cover ±292,000 years; `time` itself only goes to ±9999.
    (t.unix_timestamp_nanos().div_euclid(1_000)) as i64
}

/// Reads a stored time back; `column` names it in the error.
pub(crate) fn from_micros(column: &str, micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).map_err(|e| {
        Error::internal(format!(
            "stored time `{column}` = {micros} µs is outside the supported range: {e}"
        ))
    })
}

/// [`from_micros`] for a nullable column.
pub(crate) fn from_micros_opt(column: &str, micros: Option<i64>) -> Result<Option<OffsetDateTime>> {
    micros.map(|m| from_micros(column, m)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_truncates_to_micros() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let back = from_micros("t", to_micros(t)).unwrap();
        assert_eq!(back, truncate(t));
        assert_eq!(back.unix_timestamp_nanos(), 1_700_000_000_123_456_000);
    }

    #[test]
    fn times_before_the_epoch_round_down() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(-1_500).unwrap();
        assert_eq!(to_micros(t), -2);
    }
}
