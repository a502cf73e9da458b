//! What the router does after a failed upstream attempt, by error class: ONE table
//! (issue 14 point 3, documented in `docs/architecture.md` "Failover by error class").
//!
//! The caller's faults never get here: the catalog refuses an invalid request before any
//! provider is tried (`Catalog::quote`: 400 naming the field) and [`Router::check_served`]
//! refuses one no provider can take (422). So a refusal a provider raises for a request the
//! catalog accepted is that provider's own (its mapping, its model limits, its upstream's
//! rules), and another provider may well take the request.
//!
//! [`Router::check_served`]: crate::Router::check_served

use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// The router's next step after an attempt failed with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recovery {
    /// Transient: the provider stays a candidate. It is tried again after its
    /// `Retry-After` and a backoff, once the candidates not yet tried have had their turn
    /// (so a provider at its rate limit sends the request to the next one first, and is
    /// retried when it is the only one left).
    RetrySame,
    /// The provider cannot take this request now — our account there is refused, out of
    /// funds or quota, or the provider rejected a request the catalog accepted: it is not
    /// tried again for this submission; the next candidate is.
    NextProvider,
    /// The submission ends here. Either no provider should be asked (a content-policy
    /// refusal would be the same anywhere; a conflict says the upstream already holds a
    /// task under our id), or the upstream may have accepted the task
    /// ([`Error::maybe_accepted`]): then nothing is resent anywhere and the task comes
    /// back `unknown` for reconciliation (`RELIABILITY.md` R1).
    Stop,
}

impl Recovery {
    /// The snake_case name used in docs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Recovery::RetrySame => "retry_same",
            Recovery::NextProvider => "next_provider",
            Recovery::Stop => "stop",
        }
    }
}

/// The table: what to do after an attempt failed with `error`. `max_retry_after` is the
/// longest `Retry-After` worth waiting for ([`RetryConfig::max_retry_after`]); a transient
/// error asking for longer moves on to the next provider instead.
///
/// | error | recovery |
/// |---|---|
/// | the upstream may have accepted it (timeout or dropped connection after the body left) | `Stop` → `unknown` |
/// | `content_rejected` (Kling 1300/1301, a policy refusal) | `Stop` |
/// | `conflict` (the upstream holds a task under our id) | `Stop` |
/// | retryable `rate_limited`, `provider_unavailable`, `timeout` (429, Kling 1302/1303, 5xx, 5000–5002, a timeout before sending) with `Retry-After` ≤ `max_retry_after` or none | `RetrySame` |
/// | the same with a longer `Retry-After` | `NextProvider` |
/// | `unauthenticated`, `permission_denied` (401/403, Kling 1000–1004, 1103, 1304) | `NextProvider` |
/// | `insufficient_points` (the upstream account is out of funds: HTTP 402) | `NextProvider` |
/// | non-retryable `provider_unavailable` (Kling 1100–1102: account abnormal, in arrears, resource pack exhausted) | `NextProvider` |
/// | `invalid_request`, `unsupported`, `not_found` raised by a provider for a request the catalog accepted | `NextProvider` |
/// | `internal` (an answer the provider could not read, before acceptance) | `NextProvider` |
///
/// Any other error a provider marked retryable is `RetrySame`, any other not retryable
/// `NextProvider`: the provider's own table decides what a retry can fix.
///
/// [`RetryConfig::max_retry_after`]: crate::RetryConfig::max_retry_after
///
/// ```
/// use genmux_core::{Error, ErrorKind};
/// use genmux_router::{recovery, Recovery};
/// use std::time::Duration;
/// let cap = Duration::from_secs(30);
/// // Kling 1102 "resource pack exhausted": our account there is spent.
/// let spent = Error::new(ErrorKind::ProviderUnavailable, "Kling 1102").with_retryable(false);
/// assert_eq!(recovery(&spent, cap), Recovery::NextProvider);
/// // Kling 1303 "concurrency over the pack limit", retry after 2 s.
/// let busy = Error::new(ErrorKind::RateLimited, "Kling 1303").with_retry_after(Duration::from_secs(2));
/// assert_eq!(recovery(&busy, cap), Recovery::RetrySame);
/// let policy = Error::new(ErrorKind::ContentRejected, "Kling 1301");
/// assert_eq!(recovery(&policy, cap), Recovery::Stop);
/// ```
pub fn recovery(error: &Error, max_retry_after: Duration) -> Recovery {
    if error.maybe_accepted() {
        return Recovery::Stop;
    }
    match error.kind() {
        ErrorKind::ContentRejected | ErrorKind::Conflict => Recovery::Stop,
        _ if error.is_retryable() => match error.retry_after() {
            Some(wait) if wait > max_retry_after => Recovery::NextProvider,
            _ => Recovery::RetrySame,
        },
        // Not retryable: an account, credential, quota or permission refusal, or the
        // provider's own rejection of a request the catalog accepted.
        ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied
        | ErrorKind::InsufficientPoints
        | ErrorKind::ProviderUnavailable
        | ErrorKind::RateLimited
        | ErrorKind::Timeout
        | ErrorKind::InvalidRequest
        | ErrorKind::Unsupported
        | ErrorKind::NotFound
        | ErrorKind::Internal => Recovery::NextProvider,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(30);

    /// Kling's answer for `code`, through Kling's own error table.
    fn kling(code: i64) -> Error {
        let status = genmux_kling::error::code_row(code)
            .expect("a code of the spec's table")
            .http_status;
        genmux_kling::error::api_error(status, Some(code), "kling says no", None, None)
    }

    #[test]
    fn every_kling_code_has_its_class() {
        use Recovery::*;
        let table = [
            (1000, NextProvider),
            (1001, NextProvider),
            (1002, NextProvider),
            (1003, NextProvider),
            (1004, NextProvider),
            (1100, NextProvider),
            (1101, NextProvider),
            (1102, NextProvider),
            (1103, NextProvider),
            (1200, NextProvider),
            (1201, NextProvider),
            (1202, NextProvider),
            (1203, NextProvider),
            (1300, Stop),
            (1301, Stop),
            (1302, RetrySame),
            (1303, RetrySame),
            (1304, NextProvider),
            (5000, RetrySame),
            (5001, RetrySame),
            (5002, RetrySame),
        ];
        assert_eq!(
            table.map(|r| r.0).to_vec(),
            genmux_kling::error::KNOWN_CODES.to_vec(),
            "every code of Kling's table has a row here"
        );
        for (code, want) in table {
            assert_eq!(recovery(&kling(code), CAP), want, "Kling {code}");
        }
    }

    #[test]
    fn upstream_http_statuses_have_their_class() {
        use ErrorKind::*;
        use Recovery::*;
        // midsync's table (crates/midsync/src/mapping.rs error_from_response).
        for (kind, retryable, want) in [
            (InvalidRequest, false, NextProvider),     // 400, 413, 422
            (Unauthenticated, false, NextProvider),    // 401
            (InsufficientPoints, false, NextProvider), // 402
            (PermissionDenied, false, NextProvider),   // 403
            (NotFound, false, NextProvider),           // 404
            (Conflict, false, Stop),                   // 409
            (RateLimited, true, RetrySame),            // 429
            (ProviderUnavailable, true, RetrySame),    // 5xx
            (Timeout, true, RetrySame),                // 504 before acceptance
            (Internal, false, NextProvider),           // unreadable answer
            (Unsupported, false, NextProvider),        // the provider's mapping refuses
            (ContentRejected, false, Stop),            // 400 with policy words
        ] {
            let e = Error::new(kind, "x").with_retryable(retryable);
            assert_eq!(recovery(&e, CAP), want, "{kind}");
        }
    }

    #[test]
    fn maybe_accepted_always_stops() {
        for kind in [ErrorKind::Timeout, ErrorKind::ProviderUnavailable] {
            let e = Error::new(kind, "read timed out").with_maybe_accepted();
            assert_eq!(recovery(&e, CAP), Recovery::Stop);
        }
    }

    #[test]
    fn a_retry_after_beyond_the_cap_moves_on() {
        let e = Error::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(30));
        assert_eq!(recovery(&e, CAP), Recovery::RetrySame);
        let e = Error::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(31));
        assert_eq!(recovery(&e, CAP), Recovery::NextProvider);
        // A policy refusal stops whatever it says about waiting.
        let e =
            Error::new(ErrorKind::ContentRejected, "x").with_retry_after(Duration::from_secs(1));
        assert_eq!(recovery(&e, CAP), Recovery::Stop);
    }
}
