//! xAI's errors → genmux [`Error`]s, in ONE table (`spec/upstreams.md`, "xAI Grok Imagine
//! video"): the HTTP status of an answer decides the kind and whether a retry can help;
//! a task that ends `status: failed` is classed by its `error.code` in the same file.
//!
//! | HTTP | kind | retryable | note |
//! |---|---|---|---|
//! | 400, 413, 422 | `invalid_request` | no | spec: 400 `{"error":"…"}` on bad parameters |
//! | 401 | `unauthenticated` | no | bad or missing key |
//! | 402 | `provider_unavailable` | no | account out of funds (*unverified*) |
//! | 403 | `permission_denied` | no | key lacks access, or the team's credits are spent (*unverified*) |
//! | 404 | `not_found` | no | unknown `request_id` |
//! | 408, 504 | `timeout` | status query: yes; submission: maybe-accepted | the upstream may have created the task |
//! | 429 | `rate_limited` | yes, after `Retry-After` | spec: "HTTP 429 when rate-limited" |
//! | 500, 502, 503 (other 5xx) | `provider_unavailable` | yes | |
//! | anything else | `internal` | no | |

use crate::wire::ErrorBody;
use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// The provider id errors carry.
pub const PROVIDER: &str = "xai";

/// Which call an answer came from: a submission that may have created a task is never
/// retried (`ARCHITECTURE.md` "Retries live in one layer").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `POST /v1/videos/generations`.
    Create,
    /// `GET /v1/videos/{request_id}`.
    Query,
}

/// The table's row for an HTTP status: kind and whether a retry can help.
pub fn status_row(status: u16) -> (ErrorKind, bool) {
    use ErrorKind::*;
    match status {
        400 | 413 | 422 => (InvalidRequest, false),
        401 => (Unauthenticated, false),
        // Waiting does not refill the account; another provider may take the request.
        402 => (ProviderUnavailable, false),
        403 => (PermissionDenied, false),
        404 => (NotFound, false),
        408 | 504 => (Timeout, true),
        429 => (RateLimited, true),
        500..=599 => (ProviderUnavailable, true),
        _ => (Internal, false),
    }
}

/// The error for an HTTP answer outside 2xx: its `status`, raw `body` (any of the shapes
/// of [`ErrorBody`], or not JSON at all) and `Retry-After`. The message keeps xAI's own
/// words. A `408`/`504` to a submission is maybe-accepted: a gateway timed out while xAI
/// may have created the task.
pub fn api_error(status: u16, body: &[u8], retry_after: Option<Duration>, call: Call) -> Error {
    let (kind, retryable) = status_row(status);
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let words = match &parsed {
        Some(b) => b.message().to_string(),
        None => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "(no body)".to_string()
            } else {
                text.chars().take(300).collect()
            }
        }
    };
    let text = match parsed.as_ref().and_then(ErrorBody::code) {
        Some(code) => format!("xAI HTTP {status} ({code}): {words}"),
        None => format!("xAI HTTP {status}: {words}"),
    };
    let err = Error::new(kind, text)
        .with_provider(PROVIDER)
        .with_retryable(retryable);
    if kind == ErrorKind::Timeout && call == Call::Create {
        return err.with_maybe_accepted();
    }
    match retry_after {
        // Only a retryable answer carries its wait: `with_retry_after` marks an error
        // retryable, and a 403 must stay final even if it has the header.
        Some(after) if retryable => err.with_retry_after(after),
        _ => err,
    }
}

/// The kind of a task that ended `status: failed`, by its `error.code`. The spec names no
/// codes (*unverified*: confirm against a real failed task): a code or message naming
/// moderation, policy or safety is a content refusal; anything else is the upstream's
/// failure.
pub fn failed_task_kind(code: Option<&str>, message: Option<&str>) -> ErrorKind {
    let says = |words: &[&str]| {
        [code, message].into_iter().flatten().any(|t| {
            let t = t.to_ascii_lowercase();
            words.iter().any(|w| t.contains(w))
        })
    };
    if says(&["moderat", "policy", "safety", "nsfw", "content_filter"]) {
        ErrorKind::ContentRejected
    } else {
        ErrorKind::ProviderUnavailable
    }
}

/// The failure reason of a task that ended `failed`, as the snapshot reports it: the kind
/// first (so the gateway and the caller can tell a content refusal from an outage), then
/// xAI's code and words.
pub fn failed_task_reason(code: Option<&str>, message: Option<&str>) -> String {
    let kind = failed_task_kind(code, message);
    let words = message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or("xAI reported the task failed without a reason");
    match code.filter(|c| !c.trim().is_empty()) {
        Some(c) => format!("{kind}: xAI {c}: {words}"),
        None => format!("{kind}: xAI: {words}"),
    }
}

pub use genmux_core::transport::parse_retry_after;

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// The table, restated: (HTTP, kind, retryable).
    const TABLE: [(u16, ErrorKind, bool); 12] = [
        (400, InvalidRequest, false),
        (401, Unauthenticated, false),
        (402, ProviderUnavailable, false),
        (403, PermissionDenied, false),
        (404, NotFound, false),
        (408, Timeout, true),
        (422, InvalidRequest, false),
        (429, RateLimited, true),
        (500, ProviderUnavailable, true),
        (502, ProviderUnavailable, true),
        (503, ProviderUnavailable, true),
        (504, Timeout, true),
    ];

    #[test]
    fn every_row_of_the_table() {
        for (status, kind, retryable) in TABLE {
            let e = api_error(status, br#"{"error":"xai says no"}"#, None, Call::Query);
            assert_eq!((e.kind(), e.is_retryable()), (kind, retryable), "{status}");
            assert_eq!(e.provider(), Some("xai"));
            assert_eq!(e.message(), format!("xAI HTTP {status}: xai says no"));
            assert!(!e.maybe_accepted(), "{status}");
        }
        assert_eq!(api_error(418, b"", None, Call::Query).kind(), Internal);
    }

    #[test]
    fn a_gateway_timeout_to_a_submission_is_maybe_accepted() {
        for status in [408, 504] {
            let e = api_error(status, b"upstream timed out", None, Call::Create);
            assert_eq!(e.kind(), Timeout);
            assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
        }
        let e = api_error(503, b"", None, Call::Create);
        assert!(!e.maybe_accepted() && e.is_retryable());
    }

    #[test]
    fn retry_after_only_on_retryable_rows() {
        let wait = Some(Duration::from_secs(7));
        let e = api_error(429, br#"{"error":"slow down"}"#, wait, Call::Create);
        assert_eq!(e.retry_after(), wait);
        let e = api_error(403, br#"{"error":"credits spent"}"#, wait, Call::Create);
        assert!(!e.is_retryable());
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn messages_keep_xais_words_and_code() {
        let e = api_error(
            400,
            br#"{"code":"invalid_argument","error":"duration must be 1-15"}"#,
            None,
            Call::Create,
        );
        assert_eq!(
            e.message(),
            "xAI HTTP 400 (invalid_argument): duration must be 1-15"
        );
        let e = api_error(502, b"<html>bad gateway</html>", None, Call::Query);
        assert_eq!(e.message(), "xAI HTTP 502: <html>bad gateway</html>");
        let e = api_error(500, b"", None, Call::Query);
        assert_eq!(e.message(), "xAI HTTP 500: (no body)");
    }

    #[test]
    fn failed_tasks_are_classed_by_code() {
        assert_eq!(
            failed_task_kind(Some("content_moderation"), None),
            ContentRejected
        );
        assert_eq!(
            failed_task_kind(None, Some("Content policy violation")),
            ContentRejected
        );
        assert_eq!(
            failed_task_kind(Some("internal_error"), Some("generation crashed")),
            ProviderUnavailable
        );
        assert_eq!(
            failed_task_reason(Some("internal_error"), Some("boom")),
            "provider_unavailable: xAI internal_error: boom"
        );
        assert_eq!(
            failed_task_reason(None, None),
            "provider_unavailable: xAI: xAI reported the task failed without a reason"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 3 ", 0), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_767),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
