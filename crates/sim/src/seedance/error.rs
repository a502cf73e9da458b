//! Ark's error answer: HTTP 4xx/5xx with `{"error":{"code":"…","message":"…"}}`
//! (`spec/upstreams.md`, Seedance "Errors"), every code at its documented status.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::framework::{InjectedFault, WireError};

/// The codes of the spec, each with its HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArkCode {
    /// 400: a parameter has a wrong value or type.
    InvalidParameter,
    /// 400: a required parameter is absent.
    MissingParameter,
    /// 401: no key, or a key Ark does not know (*unverified* code).
    AuthenticationError,
    /// 403: the account may not call this (*unverified* code).
    AccessDenied,
    /// 403: the model is not activated for this account.
    ModelNotOpen,
    /// 404: an `ep-…` endpoint id that does not exist.
    InvalidEndpointNotFound,
    /// 404: a model Ark does not have (*unverified* code).
    ModelNotFound,
    /// 429: too many requests, or tasks at once.
    RateLimitExceeded,
    /// 429: the account's quota is spent.
    QuotaExceeded,
    /// 429: Ark is overloaded.
    ServerOverloaded,
    /// 400: the prompt was refused.
    InputTextSensitiveContentDetected,
    /// 400: an input image was refused.
    InputImageSensitiveContentDetected,
    /// The generated video was refused (the code of a failed task).
    OutputVideoSensitiveContentDetected,
    /// 500 (*unverified* code).
    InternalServiceError,
    /// 404: a task id Ark does not have (or no longer keeps: 7 days). Not in the spec's
    /// list; the code is assumed.
    ResourceNotFound,
}

impl ArkCode {
    /// Every code of the spec, in its order.
    pub const ALL: [ArkCode; 14] = [
        ArkCode::InvalidParameter,
        ArkCode::MissingParameter,
        ArkCode::AuthenticationError,
        ArkCode::AccessDenied,
        ArkCode::ModelNotOpen,
        ArkCode::InvalidEndpointNotFound,
        ArkCode::ModelNotFound,
        ArkCode::RateLimitExceeded,
        ArkCode::QuotaExceeded,
        ArkCode::ServerOverloaded,
        ArkCode::InputTextSensitiveContentDetected,
        ArkCode::InputImageSensitiveContentDetected,
        ArkCode::OutputVideoSensitiveContentDetected,
        ArkCode::InternalServiceError,
    ];

    /// The code as Ark spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ArkCode::InvalidParameter => "InvalidParameter",
            ArkCode::MissingParameter => "MissingParameter",
            ArkCode::AuthenticationError => "AuthenticationError",
            ArkCode::AccessDenied => "AccessDenied",
            ArkCode::ModelNotOpen => "ModelNotOpen",
            ArkCode::InvalidEndpointNotFound => "InvalidEndpoint.NotFound",
            ArkCode::ModelNotFound => "ModelNotFound",
            ArkCode::RateLimitExceeded => "RateLimitExceeded.EndpointRPMExceeded",
            ArkCode::QuotaExceeded => "QuotaExceeded",
            ArkCode::ServerOverloaded => "ServerOverloaded",
            ArkCode::InputTextSensitiveContentDetected => "InputTextSensitiveContentDetected",
            ArkCode::InputImageSensitiveContentDetected => "InputImageSensitiveContentDetected",
            ArkCode::OutputVideoSensitiveContentDetected => "OutputVideoSensitiveContentDetected",
            ArkCode::InternalServiceError => "InternalServiceError",
            ArkCode::ResourceNotFound => "ResourceNotFound",
        }
    }

    /// The HTTP status Ark answers it with (spec "Errors").
    pub fn status(self) -> u16 {
        match self {
            ArkCode::InvalidParameter
            | ArkCode::MissingParameter
            | ArkCode::InputTextSensitiveContentDetected
            | ArkCode::InputImageSensitiveContentDetected
            | ArkCode::OutputVideoSensitiveContentDetected => 400,
            ArkCode::AuthenticationError => 401,
            ArkCode::AccessDenied | ArkCode::ModelNotOpen => 403,
            ArkCode::InvalidEndpointNotFound
            | ArkCode::ModelNotFound
            | ArkCode::ResourceNotFound => 404,
            ArkCode::RateLimitExceeded | ArkCode::QuotaExceeded | ArkCode::ServerOverloaded => 429,
            ArkCode::InternalServiceError => 500,
        }
    }

    /// A message in Ark's manner for when nothing more specific is known.
    fn default_message(self) -> &'static str {
        match self {
            ArkCode::InvalidParameter => "A parameter specified in the request is not valid.",
            ArkCode::MissingParameter => "A required parameter is missing from the request.",
            ArkCode::AuthenticationError => "The API key in the request is missing or invalid.",
            ArkCode::AccessDenied => "You do not have access to this resource.",
            ArkCode::ModelNotOpen => {
                "Your account has not activated the model service. Activate it in the console."
            }
            ArkCode::InvalidEndpointNotFound => "The endpoint does not exist.",
            ArkCode::ModelNotFound => "The model does not exist or you do not have access to it.",
            ArkCode::RateLimitExceeded => {
                "The request rate has exceeded the limit of this endpoint. Retry later."
            }
            ArkCode::QuotaExceeded => "Your account has exhausted its quota.",
            ArkCode::ServerOverloaded => "The service is overloaded. Retry later.",
            ArkCode::InputTextSensitiveContentDetected => {
                "The request failed because the input text may contain sensitive information."
            }
            ArkCode::InputImageSensitiveContentDetected => {
                "The request failed because the input image may contain sensitive information."
            }
            ArkCode::OutputVideoSensitiveContentDetected => {
                "The generated video may contain sensitive information."
            }
            ArkCode::InternalServiceError => {
                "The service encountered an unexpected internal error."
            }
            ArkCode::ResourceNotFound => "The specified task does not exist.",
        }
    }
}

/// An Ark error answer (or, for 504, what a gateway in front of Ark answers).
#[derive(Clone, Debug, PartialEq)]
pub struct ArkError {
    /// HTTP status.
    pub status: u16,
    /// Ark's code; `None` for an answer that is not Ark's own (a gateway's 504).
    pub code: Option<ArkCode>,
    /// The message.
    pub message: String,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
}

impl ArkError {
    /// `code` at its status with `message`.
    pub fn new(code: ArkCode, message: impl Into<String>) -> Self {
        ArkError {
            status: code.status(),
            code: Some(code),
            message: message.into(),
            retry_after: None,
        }
    }

    /// `code` with its default message.
    pub fn of(code: ArkCode) -> Self {
        ArkError::new(code, code.default_message())
    }

    /// `InvalidParameter` naming `field`: `The parameter `{field}` specified in the
    /// request is not valid: {why}`.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        ArkError::new(
            ArkCode::InvalidParameter,
            format!("The parameter `{field}` specified in the request is not valid: {why}"),
        )
    }

    /// `MissingParameter` naming `field`.
    pub fn missing(field: &str) -> Self {
        ArkError::new(
            ArkCode::MissingParameter,
            format!("The required parameter `{field}` is missing from the request."),
        )
    }

    /// Adds a `Retry-After`.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ArkError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = match self.code {
            Some(code) => (
                status,
                axum::Json(json!({"error": {"code": code.as_str(), "message": self.message}})),
            )
                .into_response(),
            None => (status, self.message).into_response(),
        };
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

impl WireError for ArkError {
    /// A seeded fault in Ark's shape, by the plan's code (Kling's numbering, the
    /// framework's): 1000–1004 a refused key, 1100–1102 an exhausted quota, 1103 a model
    /// not activated, 1200/1201 an invalid parameter, 1203 an unknown model, 1300/1301 a
    /// content refusal, 1302/1303 a rate limit with its `Retry-After`, 5000 an internal
    /// error, 5001 Ark's overload answer (429 `ServerOverloaded`, the spec's status for
    /// it), 5002 a gateway in front of Ark giving up (504, plain text, no Ark code).
    fn from_fault(fault: InjectedFault) -> Self {
        let code = match fault.code {
            _ if fault.is_content_policy() => ArkCode::InputTextSensitiveContentDetected,
            1000..=1004 => ArkCode::AuthenticationError,
            1100..=1102 => ArkCode::QuotaExceeded,
            1103 => ArkCode::ModelNotOpen,
            1304 => ArkCode::AccessDenied,
            1200..=1202 => ArkCode::InvalidParameter,
            1203 => ArkCode::ModelNotFound,
            1302 | 1303 => ArkCode::RateLimitExceeded,
            5001 => ArkCode::ServerOverloaded,
            5002 => {
                return ArkError {
                    status: 504,
                    code: None,
                    message: "upstream request timeout".into(),
                    retry_after: None,
                }
            }
            _ => ArkCode::InternalServiceError,
        };
        let e = ArkError::of(code);
        match fault.retry_after {
            Some(secs) if code == ArkCode::RateLimitExceeded => e.with_retry_after(secs),
            _ => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_code_answers_arks_body_at_the_specs_status() {
        let statuses = [
            400, 400, 401, 403, 403, 404, 404, 429, 429, 429, 400, 400, 400, 500,
        ];
        for (code, status) in ArkCode::ALL.into_iter().zip(statuses) {
            let r = ArkError::of(code).into_response();
            assert_eq!(r.status().as_u16(), status, "{code:?}");
            let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code.as_str());
            assert!(v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        let r = ArkError::from_fault(InjectedFault {
            status: 429,
            code: 1302,
            retry_after: Some(3),
        })
        .into_response();
        assert_eq!(r.headers()["retry-after"], "3");
    }
}
