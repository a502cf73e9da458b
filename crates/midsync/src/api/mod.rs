//! The HTTP API of `spec/unified-api.md` as an axum app: [`app`] builds it from an
//! [`AppState`]; routes are grouped by resource, each module with its `router()`.

pub mod accounts;
pub mod assets;
pub mod auth;
mod body_schema;
pub mod callbacks;
pub mod error;
pub mod generate;
pub mod health;
pub mod json;
pub mod keys;
pub mod models;
pub mod openapi;
pub mod quote;
mod request;
pub mod status;
pub mod tasks;
pub mod usage;
pub mod webhooks;

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

/// Most bytes of a body declared over the limit that are read (and dropped) before the
/// 413 is sent, and how long that may take.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Answers a body whose `Content-Length` is over the limit with the JSON 413 — after
/// reading the body (up to [`DRAIN_MAX`], for at most [`DRAIN_TIMEOUT`]) and dropping it.
/// Answering without reading would close the connection with unread bytes, and the kernel
/// then resets it, which can destroy the 413 before the client reads it: the client sees
/// "broken pipe" instead of the limit (V1).
async fn drain_oversized(
    limit: usize,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::body::HttpBody;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => {
            if n <= DRAIN_MAX {
                let mut body = req.into_body();
                let drain = async {
                    while let Some(Ok(_)) =
                        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx))
                            .await
                    {}
                };
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
            }
            json::too_large(limit).into_response()
        }
        _ => next.run(req).await,
    }
}

/// The whole API: models, quote, generate, status, the task list and cancel (under
/// `/unified-video` and `/unified-image`), usage, provider callbacks, keys and
/// `/openapi.json`.
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
        .merge(tasks::router())
        .merge(usage::router())
        .merge(callbacks::router())
        .merge(keys::router())
        .merge(webhooks::router())
        .merge(accounts::router())
        .merge(assets::router())
        .merge(openapi::router())
        .merge(health::router())
        .route("/metrics", axum::routing::get(crate::telemetry::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(
            move |r: Response| async move { json_413(limit, r) },
        ))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                drain_oversized(limit, req, next)
            },
        ))
        // Outermost: the request's span and metrics cover every answer, 413s included.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::telemetry::observe_request,
        ))
        .with_state(state)
}
