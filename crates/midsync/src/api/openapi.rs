//! The OpenAPI 3 document of the whole API, served at `GET /openapi.json`.

use crate::wire;
use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gmx_<id>_<secret>")
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "genmux unified API",
        description = "One API over many AI video and image generation providers (spec/unified-api.md)."
    ),
    paths(
        super::models::video_models,
        super::models::image_models,
        super::quote::video_quote,
        super::quote::image_quote,
        super::generate::video_generate,
        super::generate::image_generate,
        super::status::video_status,
        super::status::image_status,
        super::usage::logs,
        super::usage::summary,
        super::callbacks::inbound,
        super::keys::create_key,
        super::keys::list_keys,
        super::keys::revoke_key,
        super::keys::webhook_secret,
    ),
    components(schemas(
        wire::ErrorBody,
        wire::QuoteResponse,
        wire::GenerateResponse,
        wire::StatusResponse,
        wire::TaskOutput,
        wire::UsageLog,
        wire::UsageLogsResponse,
        wire::ModelUsage,
        wire::UsageSummaryResponse,
        super::keys::CreateKeyBody,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "models"),
        (name = "generation"),
        (name = "tasks"),
        (name = "usage"),
        (name = "callbacks"),
        (name = "keys")
    )
)]
pub struct ApiDoc;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
