//! One error type for every crate of the workspace.
//!
//! `docs ARCHITECTURE.md` "Errors have a kind": each provider maps its wire errors into an
//! [`ErrorKind`] in one table, and the server maps kinds to HTTP statuses in one place.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, independent of which provider or store said so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request breaks a rule of the catalog or the wire format.
    InvalidRequest,
    /// The request is valid but no provider (or this provider) can serve it.
    Unsupported,
    /// Missing, malformed, revoked or expired credentials.
    Unauthenticated,
    /// Credentials are valid but lack the scope or access.
    PermissionDenied,
    /// The account cannot cover the price.
    InsufficientPoints,
    /// Too many requests (caller limit, provider limit or upstream 429).
    RateLimited,
    /// The upstream refused the content (policy / safety).
    ContentRejected,
    /// The upstream is down, overloaded, in maintenance or failing with 5xx.
    ProviderUnavailable,
    /// A deadline passed.
    Timeout,
    /// The task, key, account or model does not exist.
    NotFound,
    /// The request conflicts with current state (idempotency key in use, duplicate id).
    Conflict,
    /// A bug or an unexpected answer; details are logged, never sent to callers.
    Internal,
}

impl ErrorKind {
    /// Whether errors of this kind are worth retrying by default.
    ///
    /// Providers may override per error (Kling's 1303 concurrency limit is retryable, its
    /// 1102 "resource pack exhausted" is a 429 that is not).
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::ProviderUnavailable | ErrorKind::Timeout
        )
    }

    /// The stable snake_case name used in logs, metrics and API bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::InsufficientPoints => "insufficient_points",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ContentRejected => "content_rejected",
            ErrorKind::ProviderUnavailable => "provider_unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The workspace error: a kind, a message for humans, the provider that raised it, whether a
/// retry may succeed, and the underlying cause.
///
/// ```
/// use genmux_core::{Error, ErrorKind};
/// let err = Error::new(ErrorKind::RateLimited, "concurrency limit reached")
///     .with_provider("kling")
///     .with_retry_after(std::time::Duration::from_secs(2));
/// assert!(err.is_retryable());
/// assert_eq!(err.to_string(), "rate_limited (kling): concurrency limit reached");
/// ```
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    provider: Option<String>,
    retryable: bool,
    retry_after: Option<Duration>,
    maybe_accepted: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// `Result` with the workspace [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind`; retryable iff the kind is retryable by default.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            provider: None,
            retryable: kind.default_retryable(),
            retry_after: None,
            maybe_accepted: false,
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::InvalidRequest`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Names the provider that raised the error.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Overrides the retryable flag.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Records the upstream's `Retry-After` hint (also marks the error retryable).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self.retryable = true;
        self
    }

    /// Marks that the request was sent and the upstream may have accepted it (a timeout or a
    /// dropped connection after the body left). Such a submission must never be retried:
    /// `ARCHITECTURE.md` "Retries live in one layer".
    pub fn with_maybe_accepted(mut self) -> Self {
        self.maybe_accepted = true;
        self.retryable = false;
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (safe to show callers for every kind but `Internal`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The provider that raised the error, if any.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The upstream's `Retry-After` hint.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether the upstream may have accepted the submission despite the error.
    pub fn maybe_accepted(&self) -> bool {
        self.maybe_accepted
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{} ({}): {}", self.kind, p, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maybe_accepted_is_never_retryable() {
        let e = Error::new(ErrorKind::Timeout, "read timed out").with_maybe_accepted();
        assert!(!e.is_retryable());
        assert!(e.maybe_accepted());
    }

    #[test]
    fn default_retryable_follows_kind() {
        assert!(Error::new(ErrorKind::ProviderUnavailable, "x").is_retryable());
        assert!(!Error::invalid("x").is_retryable());
    }
}
