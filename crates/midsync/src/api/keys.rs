//! Key management for the CLI (`genmux keys`): `POST /v1/keys`, `GET /v1/keys`,
//! `DELETE /v1/keys/{id}` (scope `admin`), and `GET /v1/webhooks/secret` (the account's
//! `whsec_` secret to verify outbound callbacks with).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::wire::rfc3339;
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use genmux_store::{ApiKey, NewKey, Scope};
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/keys", get(list_keys).post(create_key))
        .route("/v1/keys/{id}", delete(revoke_key))
        .route("/v1/webhooks/secret", get(webhook_secret))
}

/// `POST /v1/keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKeyBody {
    /// A label.
    pub name: String,
    /// `api.read`, `api.generate`, `admin`; at least one.
    #[schema(value_type = Vec<ScopeName>, min_items = 1)]
    pub scopes: Vec<String>,
    /// The account to create it for (default: the caller's); created if missing.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub account_id: Option<String>,
}

/// The scope names a key can carry (the OpenAPI schema of [`CreateKeyBody::scopes`]; the
/// body itself is parsed by `Scope::parse`, whose errors name the index).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) enum ScopeName {
    #[schema(rename = "api.read")]
    ApiRead,
    #[schema(rename = "api.generate")]
    ApiGenerate,
    #[schema(rename = "admin")]
    Admin,
}

fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "accountId": k.account_id,
        "display": k.masked(),
        "scopes": k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "createdAt": rfc3339(k.created_at),
        "expiresAt": k.expires_at.map(rfc3339),
        "revokedAt": k.revoked_at.map(rfc3339),
    })
}

/// Create an API key (shown once).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKeyBody,
    responses((status = 200, body = Object), (status = 403, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Admin])?;
    if body.scopes.is_empty() {
        return Err(ApiError::bad_request(
            "scopes: at least one is required (allowed: api.read, api.generate, admin)",
        ));
    }
    let scopes = body
        .scopes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Scope::parse(s)
                .map_err(|e| ApiError::bad_request(format!("scopes[{i}]: {}", e.message())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The store's own message says `account_id`; the caller wrote `accountId`.
    if body
        .account_id
        .as_deref()
        .is_some_and(|a| a.trim().is_empty())
    {
        return Err(ApiError::bad_request(
            "accountId: empty (allowed: a non-empty account id, or leave it out for the caller's account)",
        ));
    }
    let account = body
        .account_id
        .unwrap_or_else(|| caller.account_id().to_string());
    state.store().ledger.create_account(&account).await?;
    let created = state
        .store()
        .keys
        .create(NewKey {
            account_id: account,
            name: body.name,
            scopes,
            expires_at: None,
        })
        .await?;
    let mut v = key_json(&created.key);
    v["key"] = json!(created.plaintext);
    v["success"] = json!(true);
    Ok(Json(v))
}

/// The caller's account's keys (masked).
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Admin])?;
    let keys = state.store().keys.list(caller.account_id()).await?;
    Ok(Json(json!({
        "success": true,
        "keys": keys.iter().map(key_json).collect::<Vec<_>>(),
    })))
}

/// Revoke a key of the caller's account.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Admin])?;
    let key = state.store().keys.get(&id).await?;
    match key {
        Some(k) if k.account_id == caller.account_id() => {
            let revoked = state.store().keys.revoke(&id).await?;
            // Stop reusing its cached authentications now, not after the TTL.
            state.auth_cache().forget(&id);
            Ok(Json(json!({"success": true, "id": id, "revoked": revoked})))
        }
        _ => Err(ApiError::not_found(format!(
            "key `{id}` not found for this account"
        ))),
    }
}

/// The account's secret for verifying outbound callbacks (Standard Webhooks).
#[utoipa::path(get, path = "/v1/webhooks/secret", tag = "keys",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::ApiRead, Scope::ApiGenerate])?;
    Ok(Json(json!({
        "success": true,
        "secret": state.webhook_secret(caller.account_id()).to_whsec(),
    })))
}
