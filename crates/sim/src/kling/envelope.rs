//! The `{code, message, request_id, data}` envelope and Kling's error codes.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::fault::status_for_code;

/// A Kling rejection: the envelope code (its HTTP status follows from the spec's table)
/// and a message naming the field, the value and what is allowed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KlingError {
    pub code: u32,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl KlingError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        KlingError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 1200: the request as a whole is unusable (not JSON, not an object).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        KlingError::new(1200, message)
    }

    /// 1201: a parameter value breaks a documented rule.
    pub fn invalid_param(message: impl Into<String>) -> Self {
        KlingError::new(1201, message)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(status_for_code(self.code))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A fresh `request_id`.
pub(crate) fn request_id() -> String {
    use rand::Rng;
    let n: u128 = rand::rng().random();
    format!("{n:032x}")
}

/// Success envelope.
pub(crate) fn ok(data: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({
            "code": 0,
            "message": "SUCCEED",
            "request_id": request_id(),
            "data": data,
        })),
    )
        .into_response()
}

impl IntoResponse for KlingError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (
            status,
            axum::Json(json!({
                "code": self.code,
                "message": self.message,
                "request_id": request_id(),
                "data": null,
            })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
