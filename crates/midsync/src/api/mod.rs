//! The HTTP API of `spec/unified-api.md` as an axum app: [`app`] builds it from an
//! [`AppState`]; routes are grouped by resource, each module with its `router()`.

pub mod auth;
pub mod callbacks;
pub mod error;
pub mod generate;
pub mod json;
pub mod keys;
pub mod models;
pub mod openapi;
pub mod quote;
mod request;
pub mod status;
pub mod usage;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use error::ApiError;
use tower_http::limit::RequestBodyLimitLayer;

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this method is not allowed on this route",
    )
}

/// `RequestBodyLimitLayer` answers 413 in plain text before any handler runs; this puts the
/// answer in the API's error shape.
fn json_413(limit: usize, resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return json::too_large(limit).into_response();
    }
    resp
}

/// The whole API: models, quote, generate, status (under `/unified-video` and
/// `/unified-image`), usage, provider callbacks, keys and `/openapi.json`.
///
/// Every error answers `{"success": false, "error": "..."}`; a body over the configured
/// limit answers 413 before it is parsed (V1).
pub fn app(state: AppState) -> axum::Router {
    let limit = state.config().body_limit;
    axum::Router::new()
        .merge(models::router())
        .merge(quote::router())
        .merge(generate::router())
        .merge(status::router())
        .merge(usage::router())
        .merge(callbacks::router())
        .merge(keys::router())
        .merge(openapi::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(
            move |r: Response| async move { json_413(limit, r) },
        ))
        .with_state(state)
}
