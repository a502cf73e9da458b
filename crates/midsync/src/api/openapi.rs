//! The OpenAPI 3 document of the whole API, served at `GET /openapi.json`.

use super::tasks::ModelFilterEnums;
use crate::wire;
use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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

/// The error answers every operation of a kind can give, added where an operation's own
/// annotation does not list them (found by schemathesis, `design/RELIABILITY.md` V4):
/// - a secured route checks the key first (401), then its scope (403) and the key's rate
///   limit (429, K3);
/// - a route with a body answers 413 over the body limit (V1) and 400 when it does not
///   parse (V2); a secured one reads only `application/json` (415).
struct CommonErrors;

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn add_common_errors(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    };
    if secured {
        add(
            "401",
            "missing, malformed, unknown, revoked or expired API key",
        );
        add("403", "the key lacks the scope this route needs");
        add(
            "429",
            "the key's rate limit; `Retry-After` says when to retry",
        );
    }
    if body {
        add(
            "400",
            "the body is not valid JSON or breaks a rule; the message names the field",
        );
        add("413", "the body is larger than the gateway's limit");
        if secured {
            add("415", "the body is not `application/json`");
        }
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_common_errors(op);
            }
        }
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
        super::assets::serve,
        super::assets::link,
        super::assets::upstream,
        super::status::image_status,
        super::tasks::video_tasks,
        super::tasks::image_tasks,
        super::tasks::video_cancel,
        super::tasks::image_cancel,
        super::usage::logs,
        super::usage::summary,
        super::callbacks::inbound,
        super::keys::create_key,
        super::keys::list_keys,
        super::keys::revoke_key,
        super::keys::webhook_secret,
        super::webhooks::list_endpoints,
        super::webhooks::enable_endpoint,
        super::health::healthz,
        super::accounts::create_account,
        super::accounts::list_accounts,
        super::accounts::show_account,
        super::accounts::top_up,
        super::accounts::adjust,
        super::accounts::ledger,
        super::accounts::balance,
    ),
    components(schemas(
        wire::ErrorBody,
        wire::QuoteResponse,
        wire::Routing,
        wire::RoutingCandidate,
        wire::GenerateResponse,
        wire::StatusResponse,
        wire::TaskOutput,
        wire::TaskItem,
        wire::TaskListResponse,
        wire::UsageLog,
        wire::UsageLogsResponse,
        wire::ModelUsage,
        wire::UsageSummaryResponse,
        super::keys::CreateKeyBody,
        super::keys::ScopeName,
        super::webhooks::DisabledEndpointView,
        super::webhooks::DisabledEndpointsResponse,
        super::webhooks::EnableEndpointBody,
        super::webhooks::EnableEndpointResponse,
        super::accounts::CreateAccountBody,
        super::accounts::TopUpBody,
        super::accounts::AdjustBody,
        super::accounts::AccountView,
        super::accounts::LedgerEntryView,
        super::accounts::AccountResponse,
        super::accounts::AccountsResponse,
        super::accounts::PointsResponse,
        super::accounts::LedgerResponse,
        super::accounts::BalanceResponse,
    )),
    modifiers(&BearerAuth, &CommonErrors, &ModelFilterEnums),
    tags(
        (name = "models"),
        (name = "generation"),
        (name = "tasks"),
        (name = "usage"),
        (name = "callbacks"),
        (name = "keys"),
        (name = "health"),
        (name = "accounts"),
        (name = "assets")
    )
)]
pub struct ApiDoc;

/// The document as served: [`ApiDoc`] with the per-model `/quote` and `/generate` body
/// schemas of the builtin catalog (`super::body_schema`), which utoipa's types cannot carry.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    super::body_schema::insert_model_bodies(&mut doc, genmux_core::Catalog::builtin());
    add_generate_errors(&mut doc);
    doc
}

/// What `/generate` answers besides its annotation's list (docs/api.md "Errors"), found by
/// schemathesis (V4) once bodies were generated per model: 409 when the
/// `Idempotency-Key`'s first request is still running or the `externalTaskId` is already
/// used by a task of the account; 502/503/504 when no provider could take the task.
fn add_generate_errors(doc: &mut serde_json::Value) {
    let answers = [
        ("409", "the Idempotency-Key's first request is still being processed, or the externalTaskId is already used by a task of this account"),
        ("502", "the provider is unavailable, or the gateway's account with it refused; retry later"),
        ("503", "the provider's rate or concurrency limit; retry after the `Retry-After` delay"),
        ("504", "the provider timed out; retry later"),
    ];
    for path in ["~1unified-video~1generate", "~1unified-image~1generate"] {
        if let Some(serde_json::Value::Object(r)) =
            doc.pointer_mut(&format!("/paths/{path}/post/responses"))
        {
            for (status, description) in answers {
                r.entry(status).or_insert_with(|| {
                    serde_json::json!({
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    })
                });
            }
        }
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    // Rendered once: the builtin catalog does not change while the process runs.
    let doc = std::sync::Arc::new(document());
    Router::new().route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_document_has_per_model_bodies_and_generate_errors() {
        let doc = document();
        for kind in ["video", "image"] {
            for op in ["quote", "generate"] {
                let body = &doc["paths"][format!("/unified-{kind}/{op}")]["post"]["requestBody"]
                    ["content"]["application/json"]["schema"];
                let refs = body["oneOf"].as_array().expect("oneOf the models");
                assert!(!refs.is_empty(), "{kind} {op}");
                for r in refs {
                    let name = r["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                    assert!(doc["components"]["schemas"][name].is_object(), "{name}");
                }
            }
            let responses = &doc["paths"][format!("/unified-{kind}/generate")]["post"]["responses"];
            for status in ["409", "502", "503", "504"] {
                assert!(
                    responses[status].is_object(),
                    "{kind} generate: no {status}"
                );
            }
        }
        // the modifiers of ApiDoc still ran (serialized, then extended)
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
