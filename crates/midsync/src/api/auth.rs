//! Bearer API keys: `Authorization: Bearer gmx_<id>_<secret>` checked against the key store,
//! then the per-key rate limit (K3); each route states the scope it needs (K2).

use super::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use genmux_store::{ApiKey, Scope};

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key used.
    pub key: ApiKey,
}

impl Caller {
    /// The paying account.
    pub fn account_id(&self) -> &str {
        &self.key.account_id
    }

    /// 403 unless the key grants one of `scopes` (`admin` grants all).
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), ApiError> {
        if scopes.iter().any(|s| self.key.allows(*s)) {
            return Ok(());
        }
        let need = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        let has = self
            .key
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this API key lacks the {need} scope (it has: {has})"),
        ))
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let raw = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing Authorization header; send `Authorization: Bearer <api key>`",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "Authorization header is not text"))?;
    let (scheme, token) = raw.trim().split_once(' ').ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization header must be `Bearer <api key>`",
        )
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization header must be `Bearer <api key>`",
        ));
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let key = state
            .store()
            .keys
            .authenticate(token)
            .await
            .map_err(|e| match e.kind() {
                genmux_core::ErrorKind::Unauthenticated => ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    format!("API key rejected: {}", e.message()),
                ),
                _ => ApiError::from(e),
            })?;
        state.check_key_rate(&key.id)?;
        Ok(Caller { key })
    }
}
