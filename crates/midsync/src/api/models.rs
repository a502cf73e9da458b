//! `GET /unified-video/models` and `GET /unified-image/models`: the catalog rendered as the
//! document a front end builds its form from (`spec/unified-api.md`). Public: it holds no
//! account data.

use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use genmux_core::MediaKind;
use serde_json::Value;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/unified-video/models", get(video_models))
        .route("/unified-image/models", get(image_models))
}

fn document(state: &AppState, kind: MediaKind) -> Value {
    let mut doc = state.router().catalog().models_document(Some(kind));
    if let Value::Object(o) = &mut doc {
        o.insert("success".into(), Value::Bool(true));
        // Issue 13 point 6: a sandbox says so wherever a client looks first.
        o.insert("sandbox".into(), Value::Bool(state.config().sandbox));
    }
    doc
}

/// Video models, their fields and price hints.
#[utoipa::path(get, path = "/unified-video/models", tag = "models",
    responses((status = 200, description = "`models`, `modelParams`, `pricingHints`", body = Object)))]
pub async fn video_models(State(state): State<AppState>) -> Json<Value> {
    Json(document(&state, MediaKind::Video))
}

/// Image models, their fields and price hints.
#[utoipa::path(get, path = "/unified-image/models", tag = "models",
    responses((status = 200, description = "`models`, `modelParams`, `pricingHints`", body = Object)))]
pub async fn image_models(State(state): State<AppState>) -> Json<Value> {
    Json(document(&state, MediaKind::Image))
}
