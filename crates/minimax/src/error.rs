//! MiniMax's errors → genmux [`Error`]s, in ONE table (`spec/upstreams.md`, MiniMax
//! "Errors"). MiniMax answers its own errors with **HTTP 200** and
//! `base_resp.status_code ≠ 0`; the code decides the kind. A failure of the HTTP layer in
//! front of it (a 5xx from a proxy, a 429, a 401) has no `base_resp` and is classed by its
//! status. `Retry-After` is honoured wherever it comes with a retryable answer.

use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// The provider id errors carry.
pub const PROVIDER: &str = "minimax";

/// What the table says about one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRow {
    /// The genmux kind.
    pub kind: ErrorKind,
    /// Whether retrying the same call may succeed.
    pub retryable: bool,
    /// The spec's meaning.
    pub meaning: &'static str,
    /// Whether the spec marks the code *unverified*.
    pub unverified: bool,
}

const fn row(kind: ErrorKind, retryable: bool, meaning: &'static str) -> CodeRow {
    CodeRow {
        kind,
        retryable,
        meaning,
        unverified: false,
    }
}

const fn guess(kind: ErrorKind, retryable: bool, meaning: &'static str) -> CodeRow {
    CodeRow {
        kind,
        retryable,
        meaning,
        unverified: true,
    }
}

/// The spec's table, code by code.
pub fn code_row(code: i64) -> Option<CodeRow> {
    use ErrorKind::*;
    Some(match code {
        // *unverified*: "unknown error" — read as a passing upstream failure.
        1000 => guess(ProviderUnavailable, true, "unknown error"),
        // *unverified*: the upstream timed out. Answered with a code and no task_id, so
        // nothing was created: retryable like Kling's 5002, not maybe-accepted.
        1001 => guess(Timeout, true, "timeout"),
        1002 => row(RateLimited, true, "rate limit"),
        1004 => row(Unauthenticated, false, "authentication failed"),
        // Our MiniMax account is out of money: waiting does not help, another provider
        // may (the router's `NextProvider`, like Kling's 1101 "in arrears"). Not
        // `InsufficientPoints`, which is the *caller's* balance at this gateway.
        1008 => row(ProviderUnavailable, false, "insufficient balance"),
        // *unverified*: internal error.
        1013 => guess(ProviderUnavailable, true, "internal error"),
        1026 => row(ContentRejected, false, "sensitive input"),
        1027 => row(ContentRejected, false, "sensitive output"),
        2013 => row(InvalidRequest, false, "invalid parameters"),
        2049 => row(Unauthenticated, false, "invalid API key"),
        _ => return None,
    })
}

/// Every code of the spec's table, for tests and docs.
pub const KNOWN_CODES: [i64; 10] = [1000, 1001, 1002, 1004, 1008, 1013, 1026, 1027, 2013, 2049];

/// The error for a `base_resp` with a non-zero `code` (under HTTP 200). A code the table
/// lacks is the upstream refusing for a reason the spec does not name: not retried here,
/// the next provider is tried.
pub fn api_error(code: i64, message: &str, retry_after: Option<Duration>) -> Error {
    let (kind, retryable) = match code_row(code) {
        Some(r) => (r.kind, r.retryable),
        None => (ErrorKind::ProviderUnavailable, false),
    };
    finish(
        kind,
        retryable,
        format!("MiniMax {code}: {}", words(message)),
        retry_after,
    )
}

/// The error for an answer of the HTTP layer (no `base_resp`): its status and a snippet
/// of its body.
pub fn http_error(status: u16, body_snippet: &str, retry_after: Option<Duration>) -> Error {
    let (kind, retryable) = match status {
        400 | 413 | 422 => (ErrorKind::InvalidRequest, false),
        401 => (ErrorKind::Unauthenticated, false),
        403 => (ErrorKind::PermissionDenied, false),
        404 => (ErrorKind::NotFound, false),
        408 | 504 => (ErrorKind::Timeout, true),
        429 => (ErrorKind::RateLimited, true),
        500..=599 => (ErrorKind::ProviderUnavailable, true),
        _ => (ErrorKind::Internal, false),
    };
    finish(
        kind,
        retryable,
        format!("MiniMax HTTP {status}: {}", words(body_snippet)),
        retry_after,
    )
}

fn words(message: &str) -> &str {
    if message.trim().is_empty() {
        "no message"
    } else {
        message
    }
}

fn finish(kind: ErrorKind, retryable: bool, text: String, retry_after: Option<Duration>) -> Error {
    let err = Error::new(kind, text)
        .with_provider(PROVIDER)
        .with_retryable(retryable);
    // Only a retryable answer carries its wait: `with_retry_after` marks an error
    // retryable, and a 1008 "insufficient balance" must stay final whatever headers came.
    match retry_after {
        Some(after) if retryable => err.with_retry_after(after),
        _ => err,
    }
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date (RFC 9110 §10.2.3),
/// relative to `now` (Unix seconds). A date in the past means "now".
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = at.unix_timestamp() - now;
    Some(Duration::from_secs(u64::try_from(delta).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// The spec's table, restated: (code, kind, retryable).
    const TABLE: [(i64, ErrorKind, bool); 10] = [
        (1000, ProviderUnavailable, true),
        (1001, Timeout, true),
        (1002, RateLimited, true),
        (1004, Unauthenticated, false),
        (1008, ProviderUnavailable, false),
        (1013, ProviderUnavailable, true),
        (1026, ContentRejected, false),
        (1027, ContentRejected, false),
        (2013, InvalidRequest, false),
        (2049, Unauthenticated, false),
    ];

    #[test]
    fn every_row_of_the_spec_table() {
        for (code, kind, retryable) in TABLE {
            let err = api_error(code, "minimax says no", None);
            assert_eq!(
                (err.kind(), err.is_retryable()),
                (kind, retryable),
                "code {code}"
            );
            assert_eq!(err.provider(), Some("minimax"));
            assert_eq!(err.message(), format!("MiniMax {code}: minimax says no"));
            assert!(!err.maybe_accepted());
        }
        assert_eq!(KNOWN_CODES.to_vec(), TABLE.map(|r| r.0).to_vec());
        let unverified: Vec<i64> = KNOWN_CODES
            .into_iter()
            .filter(|c| code_row(*c).unwrap().unverified)
            .collect();
        assert_eq!(unverified, [1000, 1001, 1013]);
    }

    #[test]
    fn retry_after_only_on_retryable_answers() {
        let e = api_error(1002, "rate limit", Some(Duration::from_secs(3)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = api_error(1002, "rate limit", None);
        assert!(e.is_retryable() && e.retry_after().is_none());
        let e = api_error(1008, "insufficient balance", Some(Duration::from_secs(3)));
        assert!(!e.is_retryable());
        assert_eq!(e.retry_after(), None);
        let e = http_error(429, "", Some(Duration::from_secs(9)));
        assert_eq!(
            (e.kind(), e.retry_after()),
            (RateLimited, Some(Duration::from_secs(9)))
        );
    }

    #[test]
    fn unknown_codes_are_refusals_of_this_provider() {
        let e = api_error(3001, "", None);
        assert_eq!((e.kind(), e.is_retryable()), (ProviderUnavailable, false));
        assert_eq!(e.message(), "MiniMax 3001: no message");
    }

    #[test]
    fn http_layer_failures_by_status() {
        for (status, kind, retryable) in [
            (400, InvalidRequest, false),
            (401, Unauthenticated, false),
            (403, PermissionDenied, false),
            (404, NotFound, false),
            (429, RateLimited, true),
            (500, ProviderUnavailable, true),
            (502, ProviderUnavailable, true),
            (503, ProviderUnavailable, true),
            (504, Timeout, true),
            (302, Internal, false),
        ] {
            let e = http_error(status, "<html>", None);
            assert_eq!(
                (e.kind(), e.is_retryable()),
                (kind, retryable),
                "HTTP {status}"
            );
            assert_eq!(e.message(), format!("MiniMax HTTP {status}: <html>"));
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 3 ", 0), Some(Duration::from_secs(3)));
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_767),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
