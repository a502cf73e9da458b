//! Runway's errors → genmux [`Error`]s, in ONE table (`spec/upstreams.md`, Runway "Errors"
//! and the task `failureCode` classes): an HTTP answer is classed by its status; a
//! `FAILED` task by the dotted prefix of its `failureCode`.
//!
//! | answer | kind | retryable | whose problem |
//! |---|---|---|---|
//! | 400 `{"error":"…"}` | `invalid_request` | no | the request's values |
//! | 401 | `unauthenticated` | no | our secret |
//! | 403 | `permission_denied` | no | our account / the model |
//! | 404 | `not_found` | no | the task id |
//! | 429 (daily cap or rate) | `rate_limited` | yes, after `Retry-After` | our account's pace |
//! | 504 on a create | `timeout`, maybe accepted | never resent | unknown: the task may exist |
//! | 504 on a query | `timeout` | yes | Runway |
//! | other 5xx | `provider_unavailable` | yes | Runway |
//! | task `SAFETY.*` | `content_rejected` | no — never retried nor failed over | the caller's content |
//! | task `INTERNAL.*` | `provider_unavailable` | yes (elsewhere) | Runway |
//! | task `ASSET.INVALID` | `invalid_request` | no | the caller's image |
//! | any other task failure code | `provider_unavailable` | no | unknown (*unverified* codes) |

use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// The provider id errors carry.
pub const PROVIDER: &str = "runway";

/// Which call an HTTP answer was to: a create may have made a task, a query cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `POST /v1/image_to_video`, `POST /v1/text_to_video`.
    Create,
    /// `GET` or `DELETE /v1/tasks/{id}`.
    Task,
}

/// Kind and retryability of an HTTP error status.
pub fn status_row(status: u16) -> (ErrorKind, bool) {
    match status {
        400 | 422 => (ErrorKind::InvalidRequest, false),
        401 => (ErrorKind::Unauthenticated, false),
        // *unverified*: the spec names no balance error; a 402 would be one.
        402 => (ErrorKind::InsufficientPoints, false),
        403 => (ErrorKind::PermissionDenied, false),
        404 => (ErrorKind::NotFound, false),
        408 | 504 => (ErrorKind::Timeout, true),
        409 => (ErrorKind::Conflict, false),
        429 => (ErrorKind::RateLimited, true),
        500..=599 => (ErrorKind::ProviderUnavailable, true),
        _ => (ErrorKind::Internal, false),
    }
}

/// The error for a Runway HTTP answer: its status, its `error` text (or a snippet of the
/// body), and the `Retry-After` header if any. A 504 to a create is maybe-accepted: the
/// gateway in front of Runway gave up, Runway itself may have made the task.
pub fn api_error(status: u16, call: Call, message: &str, retry_after: Option<Duration>) -> Error {
    let (kind, retryable) = status_row(status);
    let err = Error::new(kind, format!("Runway HTTP {status}: {message}"))
        .with_provider(PROVIDER)
        .with_retryable(retryable);
    if status == 504 && call == Call::Create {
        return err.with_maybe_accepted();
    }
    match retry_after {
        // Only a retryable answer carries its wait (`with_retry_after` marks it retryable).
        Some(after) if retryable => err.with_retry_after(after),
        _ => err,
    }
}

/// The class of a `FAILED` task's `failureCode` (spec: dotted, `SAFETY.INPUT.*`,
/// `SAFETY.OUTPUT.*`, `INTERNAL.BAD_OUTPUT.*`, `ASSET.INVALID`; "never retry `SAFETY.*`").
pub fn failure_row(code: Option<&str>) -> (ErrorKind, bool) {
    let code = code.unwrap_or("").trim();
    let first = code.split('.').next().unwrap_or("");
    match first {
        "SAFETY" => (ErrorKind::ContentRejected, false),
        "INTERNAL" => (ErrorKind::ProviderUnavailable, true),
        "ASSET" => (ErrorKind::InvalidRequest, false),
        _ => (ErrorKind::ProviderUnavailable, false),
    }
}

/// A `FAILED` task as an error of its class, with Runway's words and code.
pub fn task_failure(task_id: &str, failure: Option<&str>, code: Option<&str>) -> Error {
    let (kind, retryable) = failure_row(code);
    let words = failure
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("Runway reported the task failed without a reason");
    let text = match code.filter(|c| !c.trim().is_empty()) {
        Some(c) => format!("Runway task {task_id} failed ({c}): {words}"),
        None => format!("Runway task {task_id} failed: {words}"),
    };
    Error::new(kind, text)
        .with_provider(PROVIDER)
        .with_retryable(retryable)
}

pub use genmux_core::transport::parse_retry_after;

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    #[test]
    fn every_status_of_the_spec() {
        for (status, kind, retryable) in [
            (400, InvalidRequest, false),
            (401, Unauthenticated, false),
            (403, PermissionDenied, false),
            (404, NotFound, false),
            (429, RateLimited, true),
            (500, ProviderUnavailable, true),
            (502, ProviderUnavailable, true),
            (503, ProviderUnavailable, true),
            (418, Internal, false),
        ] {
            for call in [Call::Create, Call::Task] {
                let e = api_error(status, call, "runway says no", None);
                assert_eq!((e.kind(), e.is_retryable()), (kind, retryable), "{status}");
                assert!(!e.maybe_accepted(), "{status}");
                assert_eq!(e.provider(), Some("runway"));
                assert_eq!(e.message(), format!("Runway HTTP {status}: runway says no"));
            }
        }
    }

    #[test]
    fn a_gateway_timeout_on_a_create_may_have_made_the_task() {
        let e = api_error(504, Call::Create, "upstream timed out", None);
        assert_eq!(e.kind(), Timeout);
        assert!(e.maybe_accepted() && !e.is_retryable());
        let e = api_error(504, Call::Task, "upstream timed out", None);
        assert!(!e.maybe_accepted() && e.is_retryable());
    }

    #[test]
    fn retry_after_is_kept_only_where_a_retry_helps() {
        let e = api_error(429, Call::Create, "slow down", Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e = api_error(503, Call::Task, "busy", Some(Duration::from_secs(30)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
        let e = api_error(400, Call::Create, "bad", Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), None);
        assert!(!e.is_retryable());
    }

    #[test]
    fn failure_codes_by_class() {
        for (code, kind, retryable) in [
            (Some("SAFETY.INPUT.TEXT"), ContentRejected, false),
            (Some("SAFETY.INPUT.IMAGE"), ContentRejected, false),
            (Some("SAFETY.OUTPUT.VIDEO"), ContentRejected, false),
            (
                Some("INTERNAL.BAD_OUTPUT.CODE01"),
                ProviderUnavailable,
                true,
            ),
            (Some("INTERNAL"), ProviderUnavailable, true),
            (Some("ASSET.INVALID"), InvalidRequest, false),
            (Some("SOMETHING.NEW"), ProviderUnavailable, false),
            (None, ProviderUnavailable, false),
        ] {
            assert_eq!(failure_row(code), (kind, retryable), "{code:?}");
            let e = task_failure("t1", Some("because"), code);
            assert_eq!((e.kind(), e.is_retryable()), (kind, retryable));
        }
        // A prefix must be the whole first segment.
        assert_eq!(failure_row(Some("SAFETYNET.X")).0, ProviderUnavailable);
        let e = task_failure("t1", None, Some("SAFETY.INPUT.TEXT"));
        assert_eq!(
            e.message(),
            "Runway task t1 failed (SAFETY.INPUT.TEXT): Runway reported the task failed without a reason"
        );
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
