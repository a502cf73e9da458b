//! `GET /unified-video/models` and `GET /unified-image/models`: the catalog rendered as the
//! document a front end builds its form from (`spec/unified-api.md`), restricted to what the
//! configured providers serve.
//!
//! Issue 13: the seed says these routes need Authorization, so they take any valid key
//! unless the operator opens them (`models_public`, for public forms). A model, or an
//! option such as `cameraControl`, that no configured provider serves is not offered; an
//! `admin` key asking `?all=true` also gets `unserved`: every catalog model and field left
//! out, with the reason.

use super::auth::Caller;
use super::error::ApiError;
use crate::AppState;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use genmux_core::MediaKind;
use genmux_store::Scope;
use serde_json::{json, Value};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/unified-video/models", get(video_models))
        .route("/unified-image/models", get(image_models))
}

/// The caller of a models route: a key unless the routes are public.
pub struct ModelsReader(Option<Caller>);

impl FromRequestParts<AppState> for ModelsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let has_credential = parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION);
        if state.config().models_public && !has_credential {
            return Ok(ModelsReader(None));
        }
        Caller::from_request_parts(parts, state)
            .await
            .map(|c| ModelsReader(Some(c)))
    }
}

fn wants_all(query: Option<&str>) -> Result<bool, ApiError> {
    let Some(q) = query else { return Ok(false) };
    let mut all = false;
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("all", "true") => all = true,
            ("all", "false") => all = false,
            ("all", other) => {
                return Err(ApiError::bad_request(format!(
                    "all: `{other}` is not allowed (allowed: true, false)"
                )))
            }
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "`{other}` is not a query parameter of this route (allowed: all)"
                )))
            }
        }
    }
    Ok(all)
}

/// What the catalog describes for `kind` and no configured provider serves, with why.
fn unserved(state: &AppState, kind: MediaKind) -> Vec<Value> {
    let router = state.router();
    let configured = router.provider_ids().collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    for m in router.catalog().models().filter(|m| m.kind == kind) {
        if !router.offers(&m.id, None) {
            let named: Vec<&str> = m.providers.iter().map(|p| p.provider.as_str()).collect();
            out.push(json!({
                "model": m.id,
                "reason": format!(
                    "served by {} in the catalog; none of them is configured (configured: {configured})",
                    named.join(", ")
                ),
            }));
            continue;
        }
        let mut tops: Vec<&str> = m
            .fields
            .iter()
            .map(|f| f.name.split(['.', '[']).next().unwrap_or(&f.name))
            .collect();
        tops.dedup();
        for field in tops {
            if !router.offers(&m.id, Some(field)) {
                out.push(json!({
                    "model": m.id,
                    "field": field,
                    "reason": format!("no configured provider serving {} takes {field}", m.id),
                }));
            }
        }
    }
    out
}

fn document(
    state: &AppState,
    reader: ModelsReader,
    kind: MediaKind,
    query: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    let all = wants_all(query)?;
    if all {
        match &reader.0 {
            Some(c) => c.require_any(&[Scope::Admin])?,
            None => {
                return Err(ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "all=true lists what this gateway cannot serve: it needs an admin key",
                ))
            }
        }
    }
    let router = state.router();
    let catalog = router.catalog();
    let mut doc =
        catalog.models_document_where(Some(kind), &|model, field| router.offers(model, field));
    if let Some(base) = &state.config().sample_media {
        catalog.point_examples_at_samples(&mut doc, base);
    }
    if let Value::Object(o) = &mut doc {
        o.insert("success".into(), Value::Bool(true));
        if all {
            o.insert("unserved".into(), Value::Array(unserved(state, kind)));
        }
        // Issue 13 point 6: a sandbox says so wherever a client looks first.
        o.insert("sandbox".into(), Value::Bool(state.config().sandbox));
    }
    Ok(Json(doc))
}

/// Video models, their fields and price hints.
#[utoipa::path(get, path = "/unified-video/models", tag = "models",
    params(("all" = Option<bool>, Query, description = "admin keys: also list `unserved` models and fields with the reason")),
    responses((status = 200, description = "`models`, `modelParams`, `pricingHints`", body = Object),
        (status = 400, description = "a query parameter other than `all`, or `all` not true/false", body = crate::wire::ErrorBody),
        (status = 401, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn video_models(
    State(state): State<AppState>,
    reader: ModelsReader,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    document(&state, reader, MediaKind::Video, query.as_deref())
}

/// Image models, their fields and price hints.
#[utoipa::path(get, path = "/unified-image/models", tag = "models",
    params(("all" = Option<bool>, Query, description = "admin keys: also list `unserved` models and fields with the reason")),
    responses((status = 200, description = "`models`, `modelParams`, `pricingHints`", body = Object),
        (status = 400, description = "a query parameter other than `all`, or `all` not true/false", body = crate::wire::ErrorBody),
        (status = 401, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_models(
    State(state): State<AppState>,
    reader: ModelsReader,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    document(&state, reader, MediaKind::Image, query.as_deref())
}
