//! `POST /unified-video/quote` (and `/unified-image/quote`): the price of exactly the
//! generate body, from [`genmux_core::Catalog::quote`] — the function `/generate` charges
//! with, so a quote always equals the charge (`spec/unified-api.md` "Decision").

use super::auth::Caller;
use super::json::RawJson;
use super::request::{validate_generation, Refusal};
use crate::wire::{QuoteResponse, Routing, RoutingCandidate};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use genmux_core::MediaKind;
use genmux_store::Scope;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/unified-video/quote", post(video_quote))
        .route("/unified-image/quote", post(image_quote))
}

async fn quote(state: AppState, caller: Caller, kind: MediaKind, body: &[u8]) -> Response {
    if let Err(e) = caller.require_any(&[Scope::ApiGenerate, Scope::ApiRead]) {
        return e.into_response();
    }
    // The same validation as /generate, URLs included (issue 13 point 9).
    match validate_generation(&state, kind, body).await {
        Ok(q) => {
            let routing = caller
                .key
                .allows(Scope::Operator)
                .then(|| routing_preview(&state, &q));
            Json(QuoteResponse {
                success: true,
                model: q.model,
                points_charged: Some(q.points),
                billed_units: Some(q.billed_units),
                error: None,
                routing,
            })
            .into_response()
        }
        // spec/unified-api.md: an invalid combination answers `success: false` and why.
        Err(Refusal {
            error,
            model: Some(model),
        }) => (
            error.status,
            Json(QuoteResponse {
                success: false,
                model,
                points_charged: None,
                billed_units: None,
                error: Some(error.message),
                routing: None,
            }),
        )
            .into_response(),
        Err(r) => r.error.into_response(),
    }
}

/// Issue 14 point 4: for operators, the candidates in the order the router would try them,
/// each with its upstream cost and the margin the quoted points leave.
fn routing_preview(state: &AppState, quote: &genmux_core::Quote) -> Routing {
    let per_usd = genmux_core::pricing::POINTS_PER_USD as f64;
    let price_usd = quote.points as f64 / per_usd;
    let round = |usd: f64| (usd * 1e6).round() / 1e6;
    Routing {
        price_usd: round(price_usd),
        candidates: state
            .router()
            .route_preview(quote)
            .into_iter()
            .map(|c| {
                let cost = (c.cost_micros != i64::MAX).then(|| c.cost_micros as f64 / 1e6);
                RoutingCandidate {
                    provider: c.provider,
                    provider_model: c.provider_model,
                    upstream_cost_usd: cost.map(round),
                    margin_usd: cost.map(|c| round(price_usd - c)),
                }
            })
            .collect(),
    }
}

/// Price a video generation body.
#[utoipa::path(post, path = "/unified-video/quote", tag = "generation",
    request_body(content = Object, description = "exactly the /generate body"),
    responses((status = 200, body = QuoteResponse),
        (status = 400, description = "invalid body (the error names the field; URLs are checked as at generate), or an invalid combination (then also `model`)", body = crate::wire::ErrorBody),
        (status = 401, body = crate::wire::ErrorBody), (status = 403, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn video_quote(
    State(state): State<AppState>,
    caller: Caller,
    RawJson(body): RawJson,
) -> Response {
    quote(state, caller, MediaKind::Video, &body).await
}

/// Price an image generation body.
#[utoipa::path(post, path = "/unified-image/quote", tag = "generation",
    request_body(content = Object, description = "exactly the /generate body"),
    responses((status = 200, body = QuoteResponse),
        (status = 400, description = "invalid body (the error names the field; URLs are checked as at generate), or an invalid combination (then also `model`)", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_quote(
    State(state): State<AppState>,
    caller: Caller,
    RawJson(body): RawJson,
) -> Response {
    quote(state, caller, MediaKind::Image, &body).await
}
