//! The error body of every Ark 4xx/5xx: `{"error":{"code":"…","message":"…"}}`
//! (`spec/upstreams.md`, Seedance "Errors"). Both fields are read leniently: an answer
//! without them still becomes an error by its HTTP status.

use serde::{Deserialize, Serialize};

/// `{"error": {...}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    #[serde(default)]
    pub error: Option<ErrorDetail>,
}

/// `error`: Ark's code (`InvalidParameter`, `RateLimitExceeded.EndpointRPMExceeded`, …)
/// and message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The code.
    #[serde(default, deserialize_with = "super::task::null_as_default")]
    pub code: String,
    /// The message.
    #[serde(default, deserialize_with = "super::task::null_as_default")]
    pub message: String,
}
