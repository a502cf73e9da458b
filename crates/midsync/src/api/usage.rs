//! `GET /v1/usage/logs` and `GET /v1/usage/summary` (scope `api.read`): the billed tasks of
//! the caller's account (`spec/unified-api.md` "usage"); the summary also carries the
//! account's balance and held points (issue 13 point 4) and the results the gateway keeps
//! for it (issue 18: stored assets and bytes).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::wire::{self, ModelUsage, UsageLog, UsageLogsResponse, UsageSummaryResponse};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use genmux_store::{Page, Scope, UsageQuery};
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime, Time};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/usage/logs", get(logs))
        .route("/v1/usage/summary", get(summary))
}

/// The query parameters of `raw`; one not in `allowed` is a 400 naming it.
pub(crate) fn params(raw: Option<&str>, allowed: &[&str]) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::bad_request(format!(
                "query parameter `{k}` is not known here (allowed: {})",
                allowed.join(", ")
            )));
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

/// Query parameter `name` as a whole number from 1 to `max` (`default` when absent).
pub(crate) fn number(
    p: &BTreeMap<String, String>,
    name: &str,
    default: u32,
    max: u32,
) -> ApiResult<u32> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name}: `{v}` is not allowed (allowed: a whole number from 1 to {max})"
                ))
            }),
    }
}

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// `date_range` → `[from, to)`: `last_N_days` (the last N × 24 h), `today`, or
/// `YYYY-MM-DD_YYYY-MM-DD` (both days included, UTC). Default: the last 30 days.
pub fn date_range(
    value: Option<&str>,
    now: OffsetDateTime,
) -> ApiResult<(OffsetDateTime, OffsetDateTime)> {
    let bad = |v: &str| {
        ApiError::bad_request(format!(
            "date_range: `{v}` is not allowed (allowed: last_7_days, last_30_days, last_90_days, today, or YYYY-MM-DD_YYYY-MM-DD)"
        ))
    };
    let v = value.unwrap_or("last_30_days").trim();
    let end = now + Duration::microseconds(1);
    if v == "today" {
        let start = now.replace_time(Time::MIDNIGHT);
        return Ok((start, end));
    }
    if let Some(n) = v
        .strip_prefix("last_")
        .and_then(|r| r.strip_suffix("_days"))
    {
        let days: i64 = n
            .parse()
            .ok()
            .filter(|d| (1..=3660).contains(d))
            .ok_or_else(|| bad(v))?;
        return Ok((now - Duration::days(days), end));
    }
    let (a, b) = v.split_once('_').ok_or_else(|| bad(v))?;
    let (from, to) = (
        parse_date(a).ok_or_else(|| bad(v))?,
        parse_date(b).ok_or_else(|| bad(v))?,
    );
    if to < from {
        return Err(ApiError::bad_request(format!(
            "date_range: `{v}` ends before it starts"
        )));
    }
    let to_next = to.next_day().ok_or_else(|| bad(v))?;
    Ok((
        from.midnight().assume_utc(),
        to_next.midnight().assume_utc(),
    ))
}

/// Billing history, newest first.
#[utoipa::path(get, path = "/v1/usage/logs", tag = "usage",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 2147483647),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "at most `Page::MAX_LIMIT` (1000)"),
        ("date_range" = Option<String>, Query, pattern = r"^(today|last_[1-9][0-9]{0,2}_days)$",
            description = "`today`, `last_N_days` (default `last_30_days`); `YYYY-MM-DD_YYYY-MM-DD` (both days, UTC) is accepted too"),
        ("model" = Option<String>, Query)),
    responses((status = 200, body = UsageLogsResponse), (status = 400, body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<UsageLogsResponse>> {
    caller.require_any(&[Scope::ApiRead])?;
    let p = params(raw.as_deref(), &["page", "limit", "date_range", "model"])?;
    let operator = caller.key.allows(Scope::Operator);
    // The documented range is OpenAPI's int32 (what `u32` is described as); schemathesis
    // found pages past it accepted.
    let page = number(&p, "page", 1, i32::MAX.unsigned_abs())?;
    let limit = number(&p, "limit", 20, Page::MAX_LIMIT)?;
    let (from, to) = date_range(p.get("date_range").map(String::as_str), state.clock().now())?;
    let model = p.get("model").filter(|m| !m.is_empty()).cloned();
    let found = state
        .store()
        .usage
        .logs(&UsageQuery {
            account_id: caller.account_id().to_string(),
            from,
            to,
            model,
            page: Page { page, limit },
        })
        .await?;
    Ok(Json(UsageLogsResponse {
        success: true,
        logs: found
            .logs
            .into_iter()
            .map(|r| UsageLog {
                task_id: r.task_id,
                external_task_id: r.caller_external_id,
                // What we paid and kept: the operator's business, never a tenant's.
                upstream_cost_usd: operator
                    .then_some(r.upstream_cost_micros)
                    .flatten()
                    .map(|m| m as f64 / 1e6),
                margin_usd: operator
                    .then_some(r.margin_micros)
                    .flatten()
                    .map(|m| m as f64 / 1e6),
                model: r.model,
                points_charged: r.points,
                usage: r.usage,
                created_at: wire::rfc3339(r.created_at),
            })
            .collect(),
        page,
        limit,
        total: found.total,
    }))
}

/// Totals, grouped by model.
#[utoipa::path(get, path = "/v1/usage/summary", tag = "usage",
    params(("date_range" = Option<String>, Query, pattern = r"^(today|last_[1-9][0-9]{0,2}_days)$",
            description = "as for /v1/usage/logs"),
        ("groupBy" = Option<String>, Query, pattern = "^model$", description = "`model` (the only grouping)")),
    responses((status = 200, body = UsageSummaryResponse), (status = 400, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<UsageSummaryResponse>> {
    caller.require_any(&[Scope::ApiRead])?;
    let p = params(raw.as_deref(), &["date_range", "groupBy"])?;
    if let Some(g) = p.get("groupBy").filter(|g| g.as_str() != "model") {
        return Err(ApiError::bad_request(format!(
            "groupBy: `{g}` is not allowed (allowed: model)"
        )));
    }
    let (from, to) = date_range(p.get("date_range").map(String::as_str), state.clock().now())?;
    let s = state
        .store()
        .usage
        .summary(caller.account_id(), from, to)
        .await?;
    let account = state
        .store()
        .accounts
        .get(caller.account_id())
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("account `{}` does not exist", caller.account_id()))
        })?;
    let stored = state
        .store()
        .assets
        .stored_bytes(Some(caller.account_id()))
        .await?
        .into_iter()
        .next();
    let conv = |m: &genmux_store::ModelUsage| ModelUsage {
        points_charged: m.points_charged,
        requests: u64::try_from(m.requests).unwrap_or(0),
        input_tokens: u64::try_from(m.input_tokens).unwrap_or(0),
        output_tokens: u64::try_from(m.output_tokens).unwrap_or(0),
    };
    Ok(Json(UsageSummaryResponse {
        success: true,
        total_points_charged: s.total.points_charged,
        total_requests: u64::try_from(s.total.requests).unwrap_or(0),
        total_input_tokens: u64::try_from(s.total.input_tokens).unwrap_or(0),
        total_output_tokens: u64::try_from(s.total.output_tokens).unwrap_or(0),
        by_model: s
            .by_model
            .iter()
            .map(|(k, v)| (k.clone(), conv(v)))
            .collect(),
        balance: account.balance,
        held_points: account.held_points,
        stored_assets: stored
            .as_ref()
            .map_or(0, |s| u64::try_from(s.assets).unwrap_or(0)),
        stored_bytes: stored.map_or(0, |s| u64::try_from(s.bytes).unwrap_or(0)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn date_ranges() {
        let now = datetime!(2025-03-10 12:00 UTC);
        let (f, t) = date_range(Some("last_7_days"), now).unwrap();
        assert_eq!(f, datetime!(2025-03-03 12:00 UTC));
        assert!(t > now);
        let (f, t) = date_range(Some("2025-03-01_2025-03-02"), now).unwrap();
        assert_eq!(
            (f, t),
            (
                datetime!(2025-03-01 0:00 UTC),
                datetime!(2025-03-03 0:00 UTC)
            )
        );
        for bad in [
            "yesterday",
            "2025-03-02_2025-03-01",
            "last_x_days",
            "2025-13-01_2025-13-02",
        ] {
            let e = date_range(Some(bad), now).unwrap_err();
            assert!(e.message.starts_with("date_range:"), "{bad}: {}", e.message);
        }
    }
}
