//! Kling's errors → genmux [`Error`]s, in ONE table (`spec/kling-api.md` "Errors, limits,
//! callbacks"): HTTP status and envelope `code` travel together; the code decides the kind
//! and whether a retry can help, the status is the fallback for codes the table lacks.

use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// The provider id errors carry.
pub const PROVIDER: &str = "kling";

/// What the table says about one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRow {
    /// The genmux kind.
    pub kind: ErrorKind,
    /// Whether retrying the same call may succeed.
    pub retryable: bool,
    /// The HTTP status Kling sends with it.
    pub http_status: u16,
    /// The spec's meaning.
    pub meaning: &'static str,
}

const fn row(kind: ErrorKind, retryable: bool, http_status: u16, meaning: &'static str) -> CodeRow {
    CodeRow {
        kind,
        retryable,
        http_status,
        meaning,
    }
}

/// The spec's table, code by code.
pub fn code_row(code: i64) -> Option<CodeRow> {
    use ErrorKind::*;
    Some(match code {
        // 401: not retryable as is; the client refreshes its token once.
        1000 => row(Unauthenticated, false, 401, "authentication failed"),
        1001 => row(Unauthenticated, false, 401, "authorization header empty"),
        1002 => row(Unauthenticated, false, 401, "token invalid"),
        1003 => row(Unauthenticated, false, 401, "token not yet valid"),
        1004 => row(Unauthenticated, false, 401, "token expired"),
        // 429 but an account problem: waiting does not help, another provider might.
        1100 => row(ProviderUnavailable, false, 429, "account abnormal"),
        1101 => row(ProviderUnavailable, false, 429, "account in arrears"),
        1102 => row(
            ProviderUnavailable,
            false,
            429,
            "resource pack exhausted or expired",
        ),
        1103 => row(
            PermissionDenied,
            false,
            403,
            "no access to this API or model",
        ),
        1200 => row(InvalidRequest, false, 400, "invalid request"),
        1201 => row(InvalidRequest, false, 400, "invalid parameter value"),
        1202 => row(NotFound, false, 404, "wrong method"),
        1203 => row(NotFound, false, 404, "resource (model) not found"),
        1300 => row(ContentRejected, false, 400, "platform policy"),
        1301 => row(ContentRejected, false, 400, "content safety"),
        // spec: 1302, 1303 retryable with backoff ≥ 1 s.
        1302 => row(RateLimited, true, 429, "rate limit"),
        1303 => row(RateLimited, true, 429, "concurrency over pack limit"),
        1304 => row(PermissionDenied, false, 429, "IP not in whitelist"),
        5000 => row(ProviderUnavailable, true, 500, "internal error"),
        5001 => row(ProviderUnavailable, true, 503, "maintenance"),
        5002 => row(Timeout, true, 504, "timeout"),
        _ => return None,
    })
}

/// Every code of the spec's table, for tests and docs.
pub const KNOWN_CODES: [i64; 21] = [
    1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1200, 1201, 1202, 1203, 1300, 1301, 1302,
    1303, 1304, 5000, 5001, 5002,
];

/// The smallest wait the spec asks for before retrying 1302/1303.
pub const MIN_RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(1);

/// Kind and retryability for a status whose code the table does not know.
fn status_fallback(status: u16) -> (ErrorKind, bool) {
    match status {
        400 | 422 => (ErrorKind::InvalidRequest, false),
        401 => (ErrorKind::Unauthenticated, false),
        403 => (ErrorKind::PermissionDenied, false),
        404 => (ErrorKind::NotFound, false),
        408 => (ErrorKind::Timeout, true),
        429 => (ErrorKind::RateLimited, true),
        500..=599 => (ErrorKind::ProviderUnavailable, true),
        _ => (ErrorKind::Internal, false),
    }
}

/// Whether a code is one of the authentication failures after which the client signs a
/// fresh token and tries once more.
pub fn is_auth_failure(code: i64) -> bool {
    (1000..=1004).contains(&code)
}

/// The error for a Kling answer: HTTP `status`, envelope `code` and `message`, Kling's
/// `request_id`, and the `Retry-After` header if any. The message keeps Kling's own words.
pub fn api_error(
    status: u16,
    code: Option<i64>,
    message: &str,
    request_id: Option<&str>,
    retry_after: Option<Duration>,
) -> Error {
    let (kind, retryable) = match code.and_then(code_row) {
        Some(r) => (r.kind, r.retryable),
        None => status_fallback(status),
    };
    let mut text = match code {
        Some(c) => format!("Kling {c}: {message}"),
        None => format!("Kling HTTP {status}: {message}"),
    };
    if let Some(id) = request_id.filter(|s| !s.is_empty()) {
        text.push_str(&format!(" (request_id {id})"));
    }
    let mut err = Error::new(kind, text)
        .with_provider(PROVIDER)
        .with_retryable(retryable);
    if retryable {
        // Only a retryable answer carries its wait: `with_retry_after` marks an error
        // retryable, and a 1102 "pack exhausted" must stay final even if a 429 has the header.
        let floor = if kind == ErrorKind::RateLimited {
            MIN_RATE_LIMIT_BACKOFF
        } else {
            Duration::ZERO
        };
        match retry_after {
            Some(after) => err = err.with_retry_after(after.max(floor)),
            None if !floor.is_zero() => err = err.with_retry_after(floor),
            None => {}
        }
    }
    err
}

pub use genmux_core::transport::parse_retry_after;

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// The spec table, restated: (HTTP, code, kind, retryable).
    const TABLE: [(u16, i64, ErrorKind, bool); 21] = [
        (401, 1000, Unauthenticated, false),
        (401, 1001, Unauthenticated, false),
        (401, 1002, Unauthenticated, false),
        (401, 1003, Unauthenticated, false),
        (401, 1004, Unauthenticated, false),
        (429, 1100, ProviderUnavailable, false),
        (429, 1101, ProviderUnavailable, false),
        (429, 1102, ProviderUnavailable, false),
        (403, 1103, PermissionDenied, false),
        (400, 1200, InvalidRequest, false),
        (400, 1201, InvalidRequest, false),
        (404, 1202, NotFound, false),
        (404, 1203, NotFound, false),
        (400, 1300, ContentRejected, false),
        (400, 1301, ContentRejected, false),
        (429, 1302, RateLimited, true),
        (429, 1303, RateLimited, true),
        (429, 1304, PermissionDenied, false),
        (500, 5000, ProviderUnavailable, true),
        (503, 5001, ProviderUnavailable, true),
        (504, 5002, Timeout, true),
    ];

    #[test]
    fn every_row_of_the_spec_table() {
        for (status, code, kind, retryable) in TABLE {
            let row = code_row(code).unwrap();
            assert_eq!(
                (row.kind, row.retryable, row.http_status),
                (kind, retryable, status),
                "code {code}"
            );
            let err = api_error(status, Some(code), "kling says no", Some("req-9"), None);
            assert_eq!(err.kind(), kind, "code {code}");
            assert_eq!(err.is_retryable(), retryable, "code {code}");
            assert_eq!(err.provider(), Some("kling"));
            assert_eq!(
                err.message(),
                format!("Kling {code}: kling says no (request_id req-9)")
            );
            assert!(!err.maybe_accepted());
        }
        assert_eq!(KNOWN_CODES.to_vec(), TABLE.map(|r| r.1).to_vec());
    }

    #[test]
    fn retry_after_only_on_retryable_rows_with_a_one_second_floor() {
        let e = api_error(429, Some(1303), "busy", None, Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e = api_error(429, Some(1302), "slow down", None, None);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        let e = api_error(429, Some(1302), "slow down", None, Some(Duration::ZERO));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        let e = api_error(
            429,
            Some(1102),
            "pack exhausted",
            None,
            Some(Duration::from_secs(7)),
        );
        assert!(!e.is_retryable());
        assert_eq!(e.retry_after(), None);
        let e = api_error(
            503,
            Some(5001),
            "maintenance",
            None,
            Some(Duration::from_secs(30)),
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    }

    #[test]
    fn unknown_codes_fall_back_on_the_status() {
        for (status, kind, retryable) in [
            (400, InvalidRequest, false),
            (401, Unauthenticated, false),
            (403, PermissionDenied, false),
            (404, NotFound, false),
            (429, RateLimited, true),
            (502, ProviderUnavailable, true),
            (418, Internal, false),
        ] {
            let e = api_error(status, Some(9999), "new code", None, None);
            assert_eq!(
                (e.kind(), e.is_retryable()),
                (kind, retryable),
                "status {status}"
            );
        }
        let e = api_error(502, None, "<html>bad gateway</html>", None, None);
        assert_eq!(e.message(), "Kling HTTP 502: <html>bad gateway</html>");
    }

    #[test]
    fn auth_failures_are_1000_to_1004() {
        assert!((1000..=1004).all(is_auth_failure));
        assert!(!is_auth_failure(1100) && !is_auth_failure(999));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3", 0), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 120 ", 0),
            Some(Duration::from_secs(120))
        );
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
        assert_eq!(parse_retry_after("-1", 0), None);
    }
}
