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

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = status_of(&err);
        let message = if err.kind() == ErrorKind::Internal {
            // Internal details are logged, never sent.
            let reference = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(error = %err, reference = %reference, "internal error");
            format!("internal error (reference {reference}); it has been logged")
        } else if status == StatusCode::BAD_GATEWAY {
            tracing::warn!(error = %err, "upstream refused the gateway");
            format!(
                "the upstream provider refused the request: {}",
                err.message()
            )
        } else {
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
