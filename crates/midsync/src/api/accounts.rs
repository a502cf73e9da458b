//! Accounts and points (issue 13 point 4).
//!
//! Operator routes (scope `operator`, which `admin` does not imply): `POST /v1/accounts`,
//! `GET /v1/accounts`, `GET /v1/accounts/{id}`, `POST /v1/accounts/{id}/top-up`,
//! `POST /v1/accounts/{id}/adjust`, `GET /v1/accounts/{id}/ledger`. Every change writes an
//! account audit row naming the operator's key, in the same transaction
//! (`genmux_store::AccountStore`).
//!
//! Tenant route: `GET /v1/balance`, the caller's own balance and held points.
//!
//! Account ids are checked wherever they come in (`genmux_store::check_account_id`):
//! 1–63 characters of lowercase `a`–`z`, `0`–`9`, `_`, `-`, starting with a letter or digit.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::usage::{number, params};
use crate::wire::rfc3339;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use genmux_core::ErrorKind;
use genmux_store::{check_account_id, Account, Actor, LedgerEntry, Page, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", get(list_accounts).post(create_account))
        .route("/v1/accounts/{id}", get(show_account))
        .route("/v1/accounts/{id}/top-up", post(top_up))
        .route("/v1/accounts/{id}/adjust", post(adjust))
        .route("/v1/accounts/{id}/ledger", get(ledger))
        .route("/v1/balance", get(balance))
}

/// `POST /v1/accounts` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountBody {
    /// The new account's id: 1–63 characters of lowercase a–z, 0–9, `_` and `-`, starting
    /// with a letter or digit.
    #[schema(
        pattern = "^[a-z0-9][a-z0-9_-]{0,62}$",
        min_length = 1,
        max_length = 63
    )]
    pub id: String,
}

/// `POST /v1/accounts/{id}/top-up` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    /// Points to add: a whole number from 1 to 10^15.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    #[serde(deserialize_with = "whole_points")]
    pub points: i64,
    /// Why (stored on the ledger entry and the audit row): 1–500 characters, not blank,
    /// no control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: String,
}

/// `POST /v1/accounts/{id}/adjust` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Points to add (positive) or take (negative): non-zero, at most 10^15 either way. A
    /// balance never goes below zero.
    #[schema(schema_with = adjust_points_schema)]
    #[serde(deserialize_with = "whole_points")]
    pub points: i64,
    /// Why: 1–500 characters, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub reason: String,
}

/// Points as JSON writes a whole number: `5`, or `5.0` (JSON Schema's `integer` admits a
/// zero fraction, so schema-valid clients send it). A fraction, or a number past what 64
/// bits hold exactly, is refused; the error lands on `points` through the JSON path.
fn whole_points<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number of points")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| {
                E::custom(format!(
                    "{v} is too large (allowed: at most {})",
                    genmux_store::ledger::MAX_POINTS
                ))
            })
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            // Up to 2^53 every whole f64 is exact; the routes allow far less (10^15).
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if v.fract() == 0.0 && v.abs() <= EXACT {
                Ok(v as i64)
            } else {
                Err(E::custom(format!(
                    "{v} is not a whole number of points (allowed: whole numbers up to {} \
                     either way)",
                    genmux_store::ledger::MAX_POINTS
                )))
            }
        }
    }
    d.deserialize_any(Whole)
}

/// `AdjustBody::points`: −10^15…−1 or 1…10^15 (zero adjusts nothing and is refused), as
/// two integer ranges so schema-valid bodies are the accepted ones.
fn adjust_points_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let range = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
            .build()
    };
    let max = genmux_store::ledger::MAX_POINTS;
    Schema::OneOf(
        OneOfBuilder::new()
            .item(range(-max, -1))
            .item(range(1, max))
            .description(Some(
                "points to add (positive) or take (negative): non-zero, at most 10^15 either way",
            ))
            .build(),
    )
}

/// An account and its points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The account id.
    pub id: String,
    /// Points the account can still spend. Points held for running tasks are already
    /// taken out.
    pub balance: i64,
    /// Points held for tasks still running: charged on success, back to the balance on
    /// failure.
    pub held_points: i64,
    /// When the account was created (RFC 3339).
    pub created_at: String,
    /// Results the gateway keeps for the account now (issue 18); shown for one account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_assets: Option<u64>,
    /// Their size in bytes; shown for one account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        AccountView {
            id: a.id,
            balance: a.balance,
            held_points: a.held_points,
            created_at: rfc3339(a.created_at),
            stored_assets: None,
            stored_bytes: None,
        }
    }
}

/// One movement of an account's points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntryView {
    /// Increasing id.
    pub id: i64,
    /// `top_up`, `adjust`, `hold` (a task's points taken), `post` (charged for good,
    /// 0 points: they left the balance at the hold) or `void` (refunded).
    pub kind: String,
    /// Signed change of the balance.
    pub points: i64,
    /// The balance right after.
    pub balance_after: i64,
    /// The task, for `hold`, `post` and `void`.
    pub task_id: Option<String>,
    /// The operator's reason, for `top_up` and `adjust`.
    pub reason: Option<String>,
    /// When (RFC 3339).
    pub created_at: String,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(e: LedgerEntry) -> Self {
        LedgerEntryView {
            id: e.id,
            kind: e.kind.as_str().to_string(),
            points: e.amount,
            balance_after: e.balance_after,
            task_id: e.task_id,
            reason: e.reason,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// `POST /v1/accounts` and `GET /v1/accounts/{id}` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountResponse {
    /// Always `true`.
    pub success: bool,
    /// The account.
    pub account: AccountView,
}

/// `GET /v1/accounts` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountsResponse {
    /// Always `true`.
    pub success: bool,
    /// This page's accounts, by id.
    pub accounts: Vec<AccountView>,
    /// The page number, from 1.
    pub page: u32,
    /// Accounts per page.
    pub limit: u32,
    /// Accounts over all pages.
    pub total: u64,
}

/// `POST /v1/accounts/{id}/top-up` and `…/adjust` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PointsResponse {
    /// Always `true`.
    pub success: bool,
    /// The account after the change.
    pub account: AccountView,
    /// The ledger entry written.
    pub entry: LedgerEntryView,
}

/// `GET /v1/accounts/{id}/ledger` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerResponse {
    /// Always `true`.
    pub success: bool,
    /// The account.
    pub account_id: String,
    /// This page's entries, newest first.
    pub entries: Vec<LedgerEntryView>,
    /// The page number, from 1.
    pub page: u32,
    /// Entries per page.
    pub limit: u32,
    /// The account's entries over all pages.
    pub total: u64,
}

/// `GET /v1/balance` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalanceResponse {
    /// Always `true`.
    pub success: bool,
    /// The caller's account.
    pub account_id: String,
    /// Points the account can still spend (held points already taken out).
    pub balance: i64,
    /// Points held for the account's running tasks.
    pub held_points: i64,
}

/// 400 unless `id` is a well-formed account id; the message names `field`.
pub(crate) fn valid_account_id(field: &str, id: &str) -> ApiResult<()> {
    check_account_id(field, id).map_err(|e| ApiError::bad_request(e.message()))
}

fn no_account(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "accountId: account `{id}` does not exist; an operator creates it with POST /v1/accounts"
    ))
}

/// A store error about account `id`: a missing account names `accountId`.
fn account_error(id: &str, e: genmux_core::Error) -> ApiError {
    if e.kind() == ErrorKind::NotFound {
        no_account(id)
    } else {
        ApiError::from(e)
    }
}

async fn load(state: &AppState, id: &str) -> ApiResult<Account> {
    state
        .store()
        .accounts
        .get(id)
        .await?
        .ok_or_else(|| no_account(id))
}

/// `page` and `limit` from the query (defaults 1 and 20).
fn paging(raw: Option<&str>) -> ApiResult<Page> {
    let p = params(raw, &["page", "limit"])?;
    Ok(Page {
        page: number(&p, "page", 1, i32::MAX.unsigned_abs())?,
        limit: number(&p, "limit", 20, Page::MAX_LIMIT)?,
    })
}

/// Create an account (operator), with a zero balance.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccountBody,
    responses((status = 201, body = AccountResponse),
        (status = 400, description = "the id is not a well-formed account id", body = crate::wire::ErrorBody),
        (status = 403, description = "the key lacks the operator scope", body = crate::wire::ErrorBody),
        (status = 409, description = "the account exists", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAccountBody>,
) -> ApiResult<(StatusCode, Json<AccountResponse>)> {
    caller.require_any(&[Scope::Operator])?;
    valid_account_id("id", &body.id)?;
    let account = state
        .store()
        .accounts
        .create(&body.id, &Actor::key(&caller.key))
        .await
        .map_err(|e| {
            if e.kind() == ErrorKind::Conflict {
                ApiError::new(
                    StatusCode::CONFLICT,
                    format!("id: account `{}` already exists", body.id),
                )
            } else {
                ApiError::from(e)
            }
        })?;
    Ok((
        StatusCode::CREATED,
        Json(AccountResponse {
            success: true,
            account: account.into(),
        }),
    ))
}

/// Every account with its balance and held points (operator), by id, paged.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 2147483647),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "default 20")),
    responses((status = 200, body = AccountsResponse), (status = 400, body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<AccountsResponse>> {
    caller.require_any(&[Scope::Operator])?;
    let page = paging(raw.as_deref())?;
    let found = state.store().accounts.list(page).await?;
    Ok(Json(AccountsResponse {
        success: true,
        accounts: found.accounts.into_iter().map(AccountView::from).collect(),
        page: page.page,
        limit: page.limit,
        total: found.total,
    }))
}

/// One account: balance, held points, creation time (operator).
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")),
    responses((status = 200, body = AccountResponse), (status = 400, body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AccountResponse>> {
    caller.require_any(&[Scope::Operator])?;
    valid_account_id("accountId", &id)?;
    let mut account: AccountView = load(&state, &id).await?.into();
    let stored = state.store().assets.stored_bytes(Some(&id)).await?;
    let stored = stored.first();
    account.stored_assets = Some(stored.map_or(0, |s| u64::try_from(s.assets).unwrap_or(0)));
    account.stored_bytes = Some(stored.map_or(0, |s| u64::try_from(s.bytes).unwrap_or(0)));
    Ok(Json(AccountResponse {
        success: true,
        account,
    }))
}

/// Add points to an account, with a reason (operator).
#[utoipa::path(post, path = "/v1/accounts/{id}/top-up", tag = "accounts", request_body = TopUpBody,
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")),
    responses((status = 200, body = PointsResponse),
        (status = 400, description = "points or reason out of range", body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody), (status = 404, body = crate::wire::ErrorBody),
        (status = 409, description = "the balance would pass 10^15; nothing is written", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn top_up(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TopUpBody>,
) -> ApiResult<Json<PointsResponse>> {
    caller.require_any(&[Scope::Operator])?;
    valid_account_id("accountId", &id)?;
    let entry = state
        .store()
        .accounts
        .top_up(&id, body.points, &body.reason, &Actor::key(&caller.key))
        .await
        .map_err(|e| account_error(&id, e))?;
    points_response(&state, &id, entry).await
}

/// Add or take points, with a reason; never below zero (operator).
#[utoipa::path(post, path = "/v1/accounts/{id}/adjust", tag = "accounts", request_body = AdjustBody,
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")),
    responses((status = 200, body = PointsResponse),
        (status = 400, description = "points zero or out of range, or a bad reason", body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody), (status = 404, body = crate::wire::ErrorBody),
        (status = 409, description = "the balance would go below zero (the message names it) or past 10^15; nothing is written", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn adjust(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AdjustBody>,
) -> ApiResult<Json<PointsResponse>> {
    caller.require_any(&[Scope::Operator])?;
    valid_account_id("accountId", &id)?;
    let entry = state
        .store()
        .accounts
        .adjust(&id, body.points, &body.reason, &Actor::key(&caller.key))
        .await
        .map_err(|e| account_error(&id, e))?;
    points_response(&state, &id, entry).await
}

async fn points_response(
    state: &AppState,
    id: &str,
    entry: LedgerEntry,
) -> ApiResult<Json<PointsResponse>> {
    Ok(Json(PointsResponse {
        success: true,
        account: load(state, id).await?.into(),
        entry: entry.into(),
    }))
}

/// An account's ledger entries, newest first, paged (operator).
#[utoipa::path(get, path = "/v1/accounts/{id}/ledger", tag = "accounts",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,62}$"),
        ("page" = Option<u32>, Query, minimum = 1, maximum = 2147483647),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "default 20")),
    responses((status = 200, body = LedgerResponse), (status = 400, body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn ledger(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<LedgerResponse>> {
    caller.require_any(&[Scope::Operator])?;
    valid_account_id("accountId", &id)?;
    let page = paging(raw.as_deref())?;
    let found = state
        .store()
        .accounts
        .entries(&id, page)
        .await
        .map_err(|e| account_error(&id, e))?;
    Ok(Json(LedgerResponse {
        success: true,
        account_id: id,
        entries: found.entries.into_iter().map(Into::into).collect(),
        page: page.page,
        limit: page.limit,
        total: found.total,
    }))
}

/// The caller's own balance and held points.
#[utoipa::path(get, path = "/v1/balance", tag = "accounts",
    responses((status = 200, body = BalanceResponse)), security(("bearer" = [])))]
pub async fn balance(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<BalanceResponse>> {
    caller.require_any(&[Scope::ApiRead, Scope::ApiGenerate])?;
    let account = load(&state, caller.account_id()).await?;
    Ok(Json(BalanceResponse {
        success: true,
        account_id: account.id,
        balance: account.balance,
        held_points: account.held_points,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::json::parse_json;

    #[test]
    fn points_are_whole_numbers_named_on_error() {
        let ok = |body: &str| parse_json::<AdjustBody>(body.as_bytes()).map(|b| b.points);
        assert_eq!(ok(r#"{"points": -5, "reason": "r"}"#).unwrap(), -5);
        assert_eq!(
            ok(r#"{"points": 5030928.0, "reason": "r"}"#).unwrap(),
            5_030_928
        );
        assert_eq!(ok(r#"{"points": -2e3, "reason": "r"}"#).unwrap(), -2000);
        for bad in [
            r#"{"points": 1.5, "reason": "r"}"#,
            r#"{"points": 1e300, "reason": "r"}"#,
            r#"{"points": 9223372036854775808, "reason": "r"}"#,
            r#"{"points": "5", "reason": "r"}"#,
        ] {
            let e = ok(bad).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.message.starts_with("points: "), "{bad}: {}", e.message);
        }
    }
}
