//! MiniMax's answers as the simulator writes them (`spec/upstreams.md`, "MiniMax Hailuo"):
//! every answer carries `base_resp {status_code, status_msg}`, and MiniMax's own errors
//! come as **HTTP 200** with a non-zero code. Only the HTTP layer in front of it answers
//! 5xx (with a plain body).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::framework::{InjectedFault, WireError};

/// spec: 1000 unknown error (*unverified*).
pub const CODE_UNKNOWN: i64 = 1000;
/// spec: 1001 timeout (*unverified*).
pub const CODE_TIMEOUT: i64 = 1001;
/// spec: 1002 rate limit.
pub const CODE_RATE_LIMIT: i64 = 1002;
/// spec: 1004 authentication failed.
pub const CODE_AUTH_FAILED: i64 = 1004;
/// spec: 1008 insufficient balance.
pub const CODE_INSUFFICIENT_BALANCE: i64 = 1008;
/// spec: 1026 sensitive input.
pub const CODE_SENSITIVE_INPUT: i64 = 1026;
/// spec: 1027 sensitive output.
pub const CODE_SENSITIVE_OUTPUT: i64 = 1027;
/// spec: 2013 invalid parameters.
pub const CODE_INVALID_PARAMS: i64 = 2013;
/// spec: 2049 invalid API key.
pub const CODE_INVALID_KEY: i64 = 2049;

/// `base_resp` of a successful answer.
pub fn success() -> Value {
    json!({"status_code": 0, "status_msg": "success"})
}

/// An error answer: MiniMax's (HTTP 200 + `base_resp`) or the HTTP layer's (5xx).
#[derive(Clone, Debug, PartialEq)]
pub enum MiniMaxError {
    /// HTTP 200 with `base_resp.status_code = code` (and `Retry-After` for rate limits).
    Code {
        /// The code.
        code: i64,
        /// MiniMax's words.
        message: String,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// A failure of the HTTP layer: this status with a plain text body.
    Http(u16),
}

impl MiniMaxError {
    /// A MiniMax error answer.
    pub fn code(code: i64, message: impl Into<String>) -> Self {
        MiniMaxError::Code {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The `base_resp` code, for MiniMax's own errors.
    pub fn status_code(&self) -> Option<i64> {
        match self {
            MiniMaxError::Code { code, .. } => Some(*code),
            MiniMaxError::Http(_) => None,
        }
    }
}

impl IntoResponse for MiniMaxError {
    fn into_response(self) -> Response {
        match self {
            MiniMaxError::Code {
                code,
                message,
                retry_after,
            } => {
                let mut r = (
                    StatusCode::OK,
                    axum::Json(json!({
                        "base_resp": {"status_code": code, "status_msg": message},
                    })),
                )
                    .into_response();
                if let Some(secs) = retry_after {
                    r.headers_mut()
                        .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
                }
                r
            }
            MiniMaxError::Http(status) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                (
                    status,
                    status
                        .canonical_reason()
                        .unwrap_or("upstream error")
                        .to_string(),
                )
                    .into_response()
            }
        }
    }
}

impl WireError for MiniMaxError {
    /// Injected faults (Kling-numbered, `crate::fault::FaultPlan::error_code`) in MiniMax's
    /// shape: auth 1000–1004 → 1004; account 1100–1102 → 1008 insufficient balance; 1103
    /// and 1304 (no access) → 2049; invalid 1200–1203 → 2013; policy 1300/1301 → 1026;
    /// rate and concurrency 1302/1303 (429) → 1002 with `Retry-After`; 5000 → HTTP 500,
    /// 5001 → HTTP 503 (the HTTP layer); 5002 → 1001 timeout; anything else → 1000.
    fn from_fault(fault: InjectedFault) -> Self {
        let code = |code: i64, message: &str| MiniMaxError::Code {
            code,
            message: message.to_string(),
            retry_after: None,
        };
        if fault.is_content_policy() {
            return code(CODE_SENSITIVE_INPUT, "input new_sensitive");
        }
        match (fault.status, fault.code) {
            (_, 1302 | 1303) => MiniMaxError::Code {
                code: CODE_RATE_LIMIT,
                message: "rate limit exceeded".into(),
                retry_after: fault.retry_after.or(Some(1)),
            },
            (_, 1000..=1004) => code(CODE_AUTH_FAILED, "authentication failed"),
            (_, 1100..=1102) => code(CODE_INSUFFICIENT_BALANCE, "insufficient balance"),
            (_, 1103 | 1304) => code(CODE_INVALID_KEY, "invalid api key"),
            (_, 1200..=1203) => code(CODE_INVALID_PARAMS, "invalid params"),
            (_, 5000) => MiniMaxError::Http(500),
            (_, 5001) => MiniMaxError::Http(503),
            (_, 5002) => code(CODE_TIMEOUT, "timeout"),
            _ => code(CODE_UNKNOWN, "unknown error"),
        }
    }
}
