//! Callback endpoints an account's receiver disabled by answering 410 Gone
//! (`design/RELIABILITY.md` W2, issue 13 point 10): `GET /v1/webhooks/endpoints` lists them,
//! `POST /v1/webhooks/endpoints/enable` turns one back on. What "the endpoint" is — one
//! callback URL of one account — is said in `engine::delivery`.
//!
//! Callbacks that were not sent while an endpoint was disabled stay given up (their outbox
//! rows say why); enabling it affects the callbacks of tasks that finish afterwards.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::engine::delivery::endpoint_url;
use crate::wire::rfc3339;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use genmux_store::{DisabledEndpoint, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks/endpoints", get(list_endpoints))
        .route("/v1/webhooks/endpoints/enable", post(enable_endpoint))
}

/// A disabled callback endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisabledEndpointView {
    /// The callback URL (normalized: scheme and host lower-case, default port dropped).
    pub url: String,
    /// Why it was disabled.
    pub reason: String,
    /// The callback that was answered 410.
    pub webhook_id: Option<String>,
    /// When (RFC 3339, UTC).
    pub disabled_at: String,
}

impl From<&DisabledEndpoint> for DisabledEndpointView {
    fn from(e: &DisabledEndpoint) -> Self {
        DisabledEndpointView {
            url: e.url.clone(),
            reason: e.reason.clone(),
            webhook_id: e.webhook_id.clone(),
            disabled_at: rfc3339(e.disabled_at),
        }
    }
}

/// `GET /v1/webhooks/endpoints` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisabledEndpointsResponse {
    /// Always `true`.
    pub success: bool,
    /// The account.
    pub account_id: String,
    /// Its disabled endpoints, most recently disabled first (empty: every endpoint is
    /// enabled).
    pub endpoints: Vec<DisabledEndpointView>,
}

/// `POST /v1/webhooks/endpoints/enable` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnableEndpointBody {
    /// The disabled callback URL, as listed (any spelling of the same URL matches).
    #[schema(
        min_length = 1,
        pattern = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"
    )]
    pub url: String,
    /// The account (default: the caller's). Another account's endpoints need the operator
    /// scope.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub account_id: Option<String>,
}

/// `POST /v1/webhooks/endpoints/enable` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnableEndpointResponse {
    /// Always `true`.
    pub success: bool,
    /// The account.
    pub account_id: String,
    /// The endpoint, enabled again: callbacks of tasks finishing from now on are sent to it.
    pub url: String,
}

/// The account a request acts on: the caller's own, or — for an operator — the one named.
/// Issue 13 point 10: "re-enabled by the account or an operator". Until keys can carry an
/// operator scope (issue 13 point 4), a key manages its own account's endpoints only.
fn target_account(caller: &Caller, named: Option<&str>) -> ApiResult<String> {
    match named {
        None => Ok(caller.account_id().to_string()),
        Some(a) if a == caller.account_id() => Ok(a.to_string()),
        Some(a) if a.trim().is_empty() => Err(ApiError::bad_request(
            "accountId: empty (allowed: an account id, or leave it out for the caller's account)",
        )),
        Some(a) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "accountId: `{a}` is not this key's account; another account's callback endpoints are managed by an operator"
            ),
        )),
    }
}

/// `accountId` from a query string; any other parameter is a 400 naming it.
fn account_param(raw: Option<&str>) -> ApiResult<Option<String>> {
    let mut account = None;
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if k != "accountId" {
            return Err(ApiError::bad_request(format!(
                "query parameter `{k}` is not known here (allowed: accountId)"
            )));
        }
        account = Some(v.into_owned());
    }
    Ok(account)
}

/// The account's callback endpoints disabled by a 410 Gone.
#[utoipa::path(get, path = "/v1/webhooks/endpoints", tag = "callbacks",
    params(("accountId" = Option<String>, Query, description = "another account (operators only); default: the caller's")),
    responses((status = 200, body = DisabledEndpointsResponse),
        (status = 400, description = "an unknown query parameter", body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<DisabledEndpointsResponse>> {
    caller.require_any(&[Scope::ApiRead, Scope::ApiGenerate])?;
    let named = account_param(query.as_deref())?;
    let account = target_account(&caller, named.as_deref())?;
    let endpoints = state.store().outbox.disabled_endpoints(&account).await?;
    Ok(Json(DisabledEndpointsResponse {
        success: true,
        account_id: account,
        endpoints: endpoints.iter().map(DisabledEndpointView::from).collect(),
    }))
}

/// Enable a callback endpoint a 410 Gone disabled (scope `admin`).
#[utoipa::path(post, path = "/v1/webhooks/endpoints/enable", tag = "callbacks",
    request_body = EnableEndpointBody,
    responses((status = 200, body = EnableEndpointResponse),
        (status = 400, description = "`url` is empty or not an http(s) URL", body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody),
        (status = 404, description = "the URL is not a disabled endpoint of the account", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn enable_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EnableEndpointBody>,
) -> ApiResult<Json<EnableEndpointResponse>> {
    caller.require_any(&[Scope::Admin])?;
    let account = target_account(&caller, body.account_id.as_deref())?;
    let raw = body.url.trim();
    if raw.is_empty() {
        return Err(ApiError::bad_request(
            "url: empty (allowed: a disabled callback URL, as GET /v1/webhooks/endpoints lists it)",
        ));
    }
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => {
            return Err(ApiError::bad_request(format!(
                "url: `{raw}` is not an http(s) URL (allowed: a disabled callback URL, as GET /v1/webhooks/endpoints lists it)"
            )))
        }
    }
    let url = endpoint_url(raw);
    if !state.store().outbox.enable_endpoint(&account, &url).await? {
        return Err(ApiError::not_found(format!(
            "url: `{url}` is not a disabled callback endpoint of account `{account}` (GET /v1/webhooks/endpoints lists them)"
        )));
    }
    tracing::info!(account = %account, endpoint = %url, by_key = %caller.key.id,
        "callback endpoint enabled again");
    Ok(Json(EnableEndpointResponse {
        success: true,
        account_id: account,
        url,
    }))
}
