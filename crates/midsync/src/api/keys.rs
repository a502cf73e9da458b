//! Key management for the CLI (`genmux keys`): `POST /v1/keys`, `GET /v1/keys`,
//! `DELETE /v1/keys/{id}` (scope `admin`), and `GET /v1/webhooks/secret` (the account's
//! `whsec_` secret to verify outbound callbacks with).
//!
//! A tenant's `admin` key manages its own account's keys only. Creating, listing or revoking
//! keys of another account needs the `operator` scope, and the account must exist (an
//! operator creates it first with `POST /v1/accounts`): before, any admin key could mint an
//! admin key for any account — creating it if missing — and take it over (issue 13,
//! "Account takeover"). For a tenant, another account's key id answers 404 like an unknown
//! one, and the webhook secret is always the caller's account's. Every creation and
//! revocation through the API writes an account audit row naming the caller's key.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::wire::rfc3339;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use genmux_store::{Actor, ApiKey, NewKey, Scope};
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
    /// `api.read`, `api.generate`, `admin`, `operator`; at least one. Only an `operator`
    /// key may grant `operator`, and only to keys of its own account.
    #[schema(value_type = Vec<ScopeName>, min_items = 1)]
    pub scopes: Vec<String>,
    /// The account to create it for (default: the caller's). Another account than the
    /// caller's needs the `operator` scope, and the account must exist.
    #[serde(default)]
    #[schema(
        pattern = "^[a-z0-9][a-z0-9_-]{0,62}$",
        min_length = 1,
        max_length = 63
    )]
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
    #[schema(rename = "operator")]
    Operator,
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
    responses((status = 200, body = Object),
        (status = 400, description = "a bad scope or account id", body = crate::wire::ErrorBody),
        (status = 403, description = "another account's key without the operator scope, or the operator scope asked by a key that may not grant it", body = crate::wire::ErrorBody),
        (status = 404, description = "the account does not exist", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Admin, Scope::Operator])?;
    if body.scopes.is_empty() {
        return Err(ApiError::bad_request(
            "scopes: at least one is required (allowed: api.read, api.generate, admin, operator)",
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
    let own = caller.account_id();
    let account = match body.account_id {
        None => own.to_string(),
        Some(a) => {
            super::accounts::valid_account_id("accountId", &a)?;
            a
        }
    };
    let operator = caller.key.allows(Scope::Operator);
    if account != own && !operator {
        return Err(other_account(&account, own));
    }
    if let Some(i) = scopes.iter().position(|s| *s == Scope::Operator) {
        if !operator {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("scopes[{i}]: only an operator key may grant the operator scope"),
            ));
        }
        if account != own {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "scopes[{i}]: the operator scope is granted only to keys of the operator's \
                     own account (`{own}`), not to `{account}`"
                ),
            ));
        }
    }
    // Never creates the account: a key for an account that does not exist is refused
    // (issue 13: `POST /v1/keys` used to create any account it named).
    let created = state
        .store()
        .accounts
        .create_key(
            NewKey {
                account_id: account.clone(),
                name: body.name,
                scopes,
                expires_at: None,
            },
            &Actor::key(&caller.key),
        )
        .await
        .map_err(|e| {
            if e.kind() == genmux_core::ErrorKind::NotFound {
                ApiError::not_found(format!(
                    "accountId: account `{account}` does not exist; an operator creates it \
                     first with POST /v1/accounts"
                ))
            } else {
                ApiError::from(e)
            }
        })?;
    let mut v = key_json(&created.key);
    v["key"] = json!(created.plaintext);
    v["success"] = json!(true);
    Ok(Json(v))
}

/// The keys of the caller's account (masked); an operator may name another account.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    params(("accountId" = Option<String>, Query, pattern = "^[a-z0-9][a-z0-9_-]{0,62}$",
        description = "another account than the caller's (operator only)")),
    responses((status = 200, body = Object), (status = 400, body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Admin, Scope::Operator])?;
    let p = super::usage::params(raw.as_deref(), &["accountId"])?;
    let account = match p.get("accountId") {
        None => caller.account_id().to_string(),
        Some(a) => {
            super::accounts::valid_account_id("accountId", a)?;
            a.clone()
        }
    };
    if account != caller.account_id() {
        if !caller.key.allows(Scope::Operator) {
            return Err(other_account(&account, caller.account_id()));
        }
        if state.store().accounts.get(&account).await?.is_none() {
            return Err(ApiError::not_found(format!(
                "accountId: account `{account}` does not exist"
            )));
        }
    }
    let keys = state.store().keys.list(&account).await?;
    Ok(Json(json!({
        "success": true,
        "keys": keys.iter().map(key_json).collect::<Vec<_>>(),
    })))
}

/// 403 for a tenant key naming another account.
fn other_account(account: &str, own: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "accountId: `{account}` is not this key's account (`{own}`); an admin key manages \
             its own account's keys only, and keys of other accounts need the operator scope"
        ),
    )
}

/// Revoke a key of the caller's account (an operator: of any account).
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 200, body = Object),
        (status = 404, description = "no such key in the caller's account (another account's key answers the same)", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require_any(&[Scope::Admin, Scope::Operator])?;
    let not_found = || ApiError::not_found(format!("key `{id}` not found for this account"));
    // Key ids are alphanumeric (`gmx_<id>_<secret>`): anything else names no key, and is
    // not sent to the database (PostgreSQL refuses NUL in text).
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    let key = state.store().keys.get(&id).await?;
    // Another account's key answers like a missing one: a tenant learns nothing about it.
    let allowed = key
        .as_ref()
        .is_some_and(|k| k.account_id == caller.account_id() || caller.key.allows(Scope::Operator));
    if !allowed {
        return Err(not_found());
    }
    let revoked = state
        .store()
        .accounts
        .revoke_key(&id, &Actor::key(&caller.key))
        .await?;
    // Stop reusing its cached authentications now, not after the TTL.
    state.auth_cache().forget(&id);
    Ok(Json(json!({"success": true, "id": id, "revoked": revoked})))
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
