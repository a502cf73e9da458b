//! `POST /unified-video/quote` (and `/unified-image/quote`): the price of exactly the
//! generate body, from [`genmux_core::Catalog::quote`] — the function `/generate` charges
//! with, so a quote always equals the charge (`spec/unified-api.md` "Decision").

use super::auth::Caller;
use super::error::ApiError;
use super::json::RawJson;
use super::request::{check_served, parse_generation};
use crate::wire::QuoteResponse;
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
    let req = match parse_generation(&state, kind, body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let checked = state
        .router()
        .catalog()
        .quote(&req)
        .map_err(ApiError::from)
        .and_then(|q| check_served(&state, &q).map(|()| q));
    match checked {
        Ok(q) => Json(QuoteResponse {
            success: true,
            model: q.model,
            points_charged: Some(q.points),
            billed_units: Some(q.billed_units),
            error: None,
        })
        .into_response(),
        // spec/unified-api.md: an invalid combination answers `success: false` and why.
        Err(err) => (
            err.status,
            Json(QuoteResponse {
                success: false,
                model: req.model,
                points_charged: None,
                billed_units: None,
                error: Some(err.message),
            }),
        )
            .into_response(),
    }
}

/// Price a video generation body.
#[utoipa::path(post, path = "/unified-video/quote", tag = "generation",
    request_body(content = Object, description = "exactly the /generate body"),
    responses((status = 200, body = QuoteResponse),
        (status = 400, description = "invalid body (the error names the field), or an invalid combination (then also `model`)", body = crate::wire::ErrorBody),
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
        (status = 400, description = "invalid body (the error names the field), or an invalid combination (then also `model`)", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_quote(
    State(state): State<AppState>,
    caller: Caller,
    RawJson(body): RawJson,
) -> Response {
    quote(state, caller, MediaKind::Image, &body).await
}
