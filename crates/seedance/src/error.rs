//! Ark's errors → genmux [`Error`]s, in ONE table (`spec/upstreams.md`, Seedance
//! "Errors"): HTTP status and `error.code` travel together; the code decides the kind and
//! whether a retry can help, the status is the fallback for codes the table lacks.
//!
//! What each kind makes the router do (`genmux_router::recovery`): credentials, model
//! access and account quota are refused for this provider only → the next provider
//! (midsync) is tried; rate limits and overload are retried here after `Retry-After`
//! (other candidates first); a sensitive-content refusal is the caller's own and ends the
//! submission (it would be refused anywhere).

use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// The provider id errors carry.
pub const PROVIDER: &str = "seedance";

/// What the table says about one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRow {
    /// The genmux kind.
    pub kind: ErrorKind,
    /// Whether retrying the same call may succeed.
    pub retryable: bool,
    /// The HTTP status Ark sends with it.
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

/// The spec's table, code by code. A dotted code the table does not list is read by its
/// family (the part before the first dot: `RateLimitExceeded.EndpointTPMExceeded` is a
/// `RateLimitExceeded`), and any `…SensitiveContentDetected` code is a content refusal —
/// Ark names its codes that way, and the spec lists only some of them.
pub fn code_row(code: &str) -> Option<CodeRow> {
    use ErrorKind::*;
    let exact = match code {
        "InvalidParameter" => Some(row(InvalidRequest, false, 400, "invalid parameter")),
        "MissingParameter" => Some(row(InvalidRequest, false, 400, "missing parameter")),
        // *unverified* in the spec.
        "AuthenticationError" => Some(row(Unauthenticated, false, 401, "API key refused")),
        // *unverified*; an account-level refusal: another provider may serve.
        "AccessDenied" => Some(row(PermissionDenied, false, 403, "access denied")),
        "ModelNotOpen" => Some(row(
            PermissionDenied,
            false,
            403,
            "the model is not activated for this account",
        )),
        "InvalidEndpoint.NotFound" => Some(row(NotFound, false, 404, "endpoint not found")),
        // *unverified*.
        "ModelNotFound" => Some(row(NotFound, false, 404, "model not found")),
        "RateLimitExceeded.EndpointRPMExceeded" => Some(row(
            RateLimited,
            true,
            429,
            "requests per minute (or tasks at once) over the account's limit",
        )),
        // The account's quota is spent: waiting a few seconds does not help; another
        // provider might.
        "QuotaExceeded" => Some(row(
            ProviderUnavailable,
            false,
            429,
            "the account's quota is exhausted",
        )),
        "ServerOverloaded" => Some(row(
            ProviderUnavailable,
            true,
            429,
            "Ark is overloaded; retry later",
        )),
        "InputTextSensitiveContentDetected" => Some(row(
            ContentRejected,
            false,
            400,
            "the prompt was refused by content moderation",
        )),
        "InputImageSensitiveContentDetected" => Some(row(
            ContentRejected,
            false,
            400,
            "an input image was refused by content moderation",
        )),
        "OutputVideoSensitiveContentDetected" => Some(row(
            ContentRejected,
            false,
            400,
            "the generated video was refused by content moderation",
        )),
        // *unverified*.
        "InternalServiceError" => Some(row(ProviderUnavailable, true, 500, "internal error")),
        _ => None,
    };
    exact.or_else(|| {
        if code.ends_with("SensitiveContentDetected") {
            return Some(row(
                ContentRejected,
                false,
                400,
                "refused by content moderation",
            ));
        }
        let (family, _) = code.split_once('.')?;
        match family {
            "RateLimitExceeded" => Some(row(RateLimited, true, 429, "rate limit")),
            "InvalidParameter" | "MissingParameter" => {
                Some(row(InvalidRequest, false, 400, "invalid parameter"))
            }
            "InvalidEndpoint" | "ModelNotFound" => Some(row(NotFound, false, 404, "not found")),
            _ => None,
        }
    })
}

/// Every code of the spec's table, for tests and docs.
pub const KNOWN_CODES: [&str; 14] = [
    "InvalidParameter",
    "MissingParameter",
    "AuthenticationError",
    "AccessDenied",
    "ModelNotOpen",
    "InvalidEndpoint.NotFound",
    "ModelNotFound",
    "RateLimitExceeded.EndpointRPMExceeded",
    "QuotaExceeded",
    "ServerOverloaded",
    "InputTextSensitiveContentDetected",
    "InputImageSensitiveContentDetected",
    "OutputVideoSensitiveContentDetected",
    "InternalServiceError",
];

/// Kind and retryability for a status whose code the table does not know.
fn status_fallback(status: u16) -> (ErrorKind, bool) {
    match status {
        400 | 422 => (ErrorKind::InvalidRequest, false),
        401 => (ErrorKind::Unauthenticated, false),
        402 => (ErrorKind::InsufficientPoints, false),
        403 => (ErrorKind::PermissionDenied, false),
        404 => (ErrorKind::NotFound, false),
        408 => (ErrorKind::Timeout, true),
        429 => (ErrorKind::RateLimited, true),
        504 => (ErrorKind::Timeout, true),
        500..=599 => (ErrorKind::ProviderUnavailable, true),
        _ => (ErrorKind::Internal, false),
    }
}

/// The error for an Ark answer: HTTP `status`, `error.code` and `error.message` (empty
/// when the body had none), and the `Retry-After` header if any. The message keeps Ark's
/// own words.
pub fn api_error(status: u16, code: &str, message: &str, retry_after: Option<Duration>) -> Error {
    let (kind, retryable) = match code_row(code) {
        Some(r) => (r.kind, r.retryable),
        None => status_fallback(status),
    };
    let text = if code.is_empty() {
        format!("Ark HTTP {status}: {message}")
    } else {
        format!("Ark {status} {code}: {message}")
    };
    let mut err = Error::new(kind, text)
        .with_provider(PROVIDER)
        .with_retryable(retryable);
    // Only a retryable answer carries its wait: `with_retry_after` marks an error
    // retryable, and an exhausted quota must stay final even if its 429 has the header.
    if let Some(after) = retry_after.filter(|_| retryable) {
        err = err.with_retry_after(after);
    }
    err
}

pub use genmux_core::transport::parse_retry_after;

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// The spec table, restated: (HTTP, code, kind, retryable).
    const TABLE: [(u16, &str, ErrorKind, bool); 14] = [
        (400, "InvalidParameter", InvalidRequest, false),
        (400, "MissingParameter", InvalidRequest, false),
        (401, "AuthenticationError", Unauthenticated, false),
        (403, "AccessDenied", PermissionDenied, false),
        (403, "ModelNotOpen", PermissionDenied, false),
        (404, "InvalidEndpoint.NotFound", NotFound, false),
        (404, "ModelNotFound", NotFound, false),
        (
            429,
            "RateLimitExceeded.EndpointRPMExceeded",
            RateLimited,
            true,
        ),
        (429, "QuotaExceeded", ProviderUnavailable, false),
        (429, "ServerOverloaded", ProviderUnavailable, true),
        (
            400,
            "InputTextSensitiveContentDetected",
            ContentRejected,
            false,
        ),
        (
            400,
            "InputImageSensitiveContentDetected",
            ContentRejected,
            false,
        ),
        (
            400,
            "OutputVideoSensitiveContentDetected",
            ContentRejected,
            false,
        ),
        (500, "InternalServiceError", ProviderUnavailable, true),
    ];

    #[test]
    fn every_row_of_the_spec_table() {
        for (status, code, kind, retryable) in TABLE {
            let row = code_row(code).unwrap();
            assert_eq!(
                (row.kind, row.retryable, row.http_status),
                (kind, retryable, status),
                "{code}"
            );
            let err = api_error(status, code, "ark says no", None);
            assert_eq!(err.kind(), kind, "{code}");
            assert_eq!(err.is_retryable(), retryable, "{code}");
            assert_eq!(err.provider(), Some("seedance"));
            assert_eq!(err.message(), format!("Ark {status} {code}: ark says no"));
            assert!(!err.maybe_accepted());
        }
        assert_eq!(KNOWN_CODES.to_vec(), TABLE.map(|r| r.1).to_vec());
    }

    #[test]
    fn families_and_moderation_codes_beyond_the_spec() {
        let r = code_row("RateLimitExceeded.EndpointTPMExceeded").unwrap();
        assert_eq!((r.kind, r.retryable), (RateLimited, true));
        let r = code_row("InvalidParameter.UnsupportedImageFormat").unwrap();
        assert_eq!(r.kind, InvalidRequest);
        let r = code_row("OutputAudioSensitiveContentDetected").unwrap();
        assert_eq!(r.kind, ContentRejected);
        assert_eq!(code_row("SomethingNew"), None);
        assert_eq!(code_row(""), None);
    }

    #[test]
    fn retry_after_only_on_retryable_rows() {
        let wait = Some(Duration::from_secs(7));
        let e = api_error(429, "RateLimitExceeded.EndpointRPMExceeded", "slow", wait);
        assert_eq!(e.retry_after(), wait);
        let e = api_error(429, "ServerOverloaded", "busy", wait);
        assert_eq!(e.retry_after(), wait);
        let e = api_error(429, "QuotaExceeded", "spent", wait);
        assert!(!e.is_retryable());
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn unknown_codes_fall_back_on_the_status() {
        for (status, kind, retryable) in [
            (400, InvalidRequest, false),
            (401, Unauthenticated, false),
            (402, InsufficientPoints, false),
            (403, PermissionDenied, false),
            (404, NotFound, false),
            (429, RateLimited, true),
            (502, ProviderUnavailable, true),
            (504, Timeout, true),
            (418, Internal, false),
        ] {
            let e = api_error(status, "BrandNewCode", "new", None);
            assert_eq!(
                (e.kind(), e.is_retryable()),
                (kind, retryable),
                "status {status}"
            );
        }
        let e = api_error(502, "", "<html>bad gateway</html>", None);
        assert_eq!(e.message(), "Ark HTTP 502: <html>bad gateway</html>");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3", 0), Some(Duration::from_secs(3)));
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
