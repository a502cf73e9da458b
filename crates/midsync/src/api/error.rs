//! The one error type of the HTTP API: core error kinds → HTTP statuses, and every error
//! body `{"success": false, "error": "..."}` (`ARCHITECTURE.md` "Errors have a kind").

use crate::wire::ErrorBody;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use genmux_core::{Error, ErrorKind};
use std::time::Duration;

/// An HTTP error answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// The message sent to the caller.
    pub message: String,
    /// `Retry-After`, for 429 and 503.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

/// The status a core error kind answers with. Errors an upstream provider raised about
/// *our* account (its credentials, its points, its permissions) are the gateway's problem,
/// not the caller's: they answer 502, never 401/402/403.
pub fn status_of(err: &Error) -> StatusCode {
    let upstream = err.provider().is_some();
    match err.kind() {
        ErrorKind::InvalidRequest | ErrorKind::Unsupported | ErrorKind::ContentRejected => {
            StatusCode::BAD_REQUEST
        }
        ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied
        | ErrorKind::InsufficientPoints
            if upstream =>
        {
            StatusCode::BAD_GATEWAY
        }
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::InsufficientPoints => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::RateLimited if upstream => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::ProviderUnavailable if upstream => StatusCode::BAD_GATEWAY,
        ErrorKind::ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::NotFound if upstream => StatusCode::BAD_GATEWAY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a caller is told about an error an upstream provider raised (issue 13 point 10):
/// what to change in the request, or whether to retry — never the provider's own text,
/// which names its fields rather than ours and can carry its request ids, account state
/// and internal details. That text goes to the operator instead: the log line carrying the
/// reference the caller is given (and, for a task that failed, the task record's
/// `upstream_error`).
pub fn upstream_caller_message(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ContentRejected => {
            "the provider refused the content of this request; change the prompt or images"
        }
        ErrorKind::InvalidRequest => {
            "the provider refused this request as invalid; check its fields against the model's \
             parameters (GET /unified-video/models or /unified-image/models) and change them"
        }
        ErrorKind::Unsupported => {
            "the provider cannot serve this combination of options; change them or choose \
             another model"
        }
        ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied
        | ErrorKind::InsufficientPoints => {
            "the provider refused the gateway's own account (credentials, access or funds), \
             not your request; retry later, and tell the operator if it persists"
        }
        ErrorKind::RateLimited => {
            "the provider is at its rate or concurrency limit; retry after the Retry-After delay"
        }
        ErrorKind::ProviderUnavailable => "the provider is unavailable; retry later",
        ErrorKind::Timeout => "the provider did not answer in time; retry later",
        ErrorKind::NotFound => {
            "the provider does not know this task or model; tell the operator if it persists"
        }
        ErrorKind::Conflict => {
            "the provider reported a conflict with an earlier request; retry with a new request"
        }
        ErrorKind::Internal => "the provider answered something the gateway cannot read",
    }
}

/// A reference a caller can quote and an operator can find in the logs.
fn new_reference() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = status_of(&err);
        let message = if err.kind() == ErrorKind::Internal {
            // Internal details are logged, never sent.
            let reference = new_reference();
            tracing::error!(error = %err, reference = %reference, "internal error");
            format!("internal error (reference {reference}); it has been logged")
        } else if let Some(provider) = err.provider() {
            // An upstream's own words (Kling's message and request_id, a midsync body) stay
            // with the operator; the caller learns what to do about this kind of error.
            let reference = new_reference();
            tracing::warn!(reference = %reference, provider = %provider, kind = %err.kind(),
                upstream = %err.message(), "provider error: upstream text withheld from the caller");
            format!(
                "{} (reference {reference})",
                upstream_caller_message(err.kind())
            )
        } else {
            // The gateway's own errors (catalog validation, auth, limits, …) are precise.
            err.message().to_string()
        };
        let retry_after = if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            err.retry_after()
        } else {
            None
        };
        ApiError {
            status,
            message,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            success: false,
            error: self.message,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// `Result` of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses() {
        let cases = [
            (ErrorKind::InvalidRequest, None, 400),
            (ErrorKind::Unauthenticated, None, 401),
            (ErrorKind::InsufficientPoints, None, 402),
            (ErrorKind::PermissionDenied, None, 403),
            (ErrorKind::NotFound, None, 404),
            (ErrorKind::Conflict, None, 409),
            (ErrorKind::RateLimited, None, 429),
            (ErrorKind::Internal, None, 500),
            (ErrorKind::ProviderUnavailable, None, 503),
            (ErrorKind::ProviderUnavailable, Some("kling"), 502),
            (ErrorKind::Unauthenticated, Some("kling"), 502),
            (ErrorKind::InsufficientPoints, Some("midsync"), 502),
            (ErrorKind::Timeout, None, 504),
        ];
        for (kind, provider, want) in cases {
            let mut e = Error::new(kind, "m");
            if let Some(p) = provider {
                e = e.with_provider(p);
            }
            assert_eq!(status_of(&e).as_u16(), want, "{kind:?} {provider:?}");
        }
    }

    #[test]
    fn internal_details_are_not_sent() {
        let e: ApiError = Error::internal("password=hunter2 in db url").into();
        assert!(!e.message.contains("hunter2"));
        assert!(e.message.starts_with("internal error (reference "));
    }

    /// Issue 13 point 10: an upstream's text never reaches the caller; every kind gets
    /// its own advice and a reference; the gateway's own messages stay precise.
    #[test]
    fn upstream_text_is_withheld() {
        let secret = "Kling 1301: prompt hit rule #42 (request_id req-SECRET-9)";
        for kind in [
            ErrorKind::InvalidRequest,
            ErrorKind::Unsupported,
            ErrorKind::ContentRejected,
            ErrorKind::Unauthenticated,
            ErrorKind::PermissionDenied,
            ErrorKind::InsufficientPoints,
            ErrorKind::RateLimited,
            ErrorKind::ProviderUnavailable,
            ErrorKind::Timeout,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Internal,
        ] {
            let e: ApiError = Error::new(kind, secret).with_provider("kling").into();
            assert!(!e.message.contains("SECRET"), "{kind:?}: {}", e.message);
            assert!(!e.message.contains("rule #42"), "{kind:?}: {}", e.message);
            assert!(e.message.contains("(reference "), "{kind:?}: {}", e.message);
        }
        let e: ApiError = Error::new(ErrorKind::ContentRejected, secret)
            .with_provider("kling")
            .into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e
            .message
            .starts_with("the provider refused the content of this request; change the prompt or images (reference "));
        // ours: kept word for word
        let e: ApiError = Error::invalid("duration: 7 is not allowed (allowed: 5, 10)").into();
        assert_eq!(e.message, "duration: 7 is not allowed (allowed: 5, 10)");
        // Retry-After survives the rewording
        let e: ApiError = Error::new(ErrorKind::RateLimited, secret)
            .with_provider("kling")
            .with_retry_after(Duration::from_secs(3))
            .into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let e: ApiError = Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_millis(1500))
            .into();
        let resp = e.into_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
    }
}
