//! The two endpoints of the xAI video API and their JSON answers.

use super::rules::validate_create;
use super::{XaiEndpoint, XaiError, XaiTask, XaiWire};
use crate::framework::{
    guarded, json_ok, AccountStanding, AuthFailure, Phase, Record, Refusal, SimHandle,
};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{json, Value};

/// Largest create body: room for an inline `data:` image.
const MAX_BODY_BYTES: usize = 20 << 20;
/// `Retry-After` seconds answered over the account's concurrency.
const BUSY_RETRY_AFTER_SECS: u64 = 5;

pub(super) fn router() -> axum::Router<SimHandle<XaiWire>> {
    axum::Router::new()
        .route("/v1/videos/generations", post(create))
        .route("/v1/videos/{request_id}", get(query))
        // Everything else answers in xAI's shape too.
        .fallback(|| async { XaiError::new(404, "no such endpoint") })
        .method_not_allowed_fallback(|| async { XaiError::new(405, "method not allowed") })
}

fn account(sim: &SimHandle<XaiWire>, req: &Request) -> Result<usize, XaiError> {
    sim.account_for(req).map_err(|e| match e {
        AuthFailure::Missing => {
            XaiError::new(401, "no API key: send Authorization: Bearer <XAI_API_KEY>")
        }
        AuthFailure::Unknown => XaiError::new(401, "incorrect API key provided"),
        AuthFailure::Disabled => XaiError::new(403, "this API key or team is disabled"),
    })
}

fn out_of_credit() -> XaiError {
    XaiError::new(
        403,
        "the team has used all its credits or reached its spending limit",
    )
}

async fn create(State(sim): State<SimHandle<XaiWire>>, req: Request) -> Response {
    let s = sim.clone();
    guarded(&sim, XaiEndpoint::Create, req, async move |req| {
        let account = account(&s, &req)?;
        if s.standing(account) == AccountStanding::OutOfCredit {
            return Err(out_of_credit());
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                XaiError::new(
                    413,
                    format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
                )
            })?;
        let job = validate_create(&bytes).map_err(|m| XaiError::new(400, m))?;
        let moderated = {
            let prompt = job.prompt.to_lowercase();
            s.config()
                .wire
                .moderated_words
                .iter()
                .any(|w| !w.is_empty() && prompt.contains(&w.to_lowercase()))
        };
        let charge = job.cost_in_usd_ticks();
        let task = s
            .create(
                account,
                XaiEndpoint::Create,
                None,
                XaiTask { job, moderated },
                charge,
            )
            .map_err(|refusal| match refusal {
                Refusal::OverLimit(over) => XaiError {
                    status: 429,
                    message: format!(
                        "too many concurrent video generations: {} of {} running",
                        over.used, over.limit
                    ),
                    retry_after: Some(BUSY_RETRY_AFTER_SECS),
                },
                Refusal::Insufficient { .. } => out_of_credit(),
            })?;
        Ok(json_ok(json!({ "request_id": task.id })))
    })
    .await
}

async fn query(
    State(sim): State<SimHandle<XaiWire>>,
    Path(request_id): Path<String>,
    req: Request,
) -> Response {
    let s = sim.clone();
    guarded(&sim, XaiEndpoint::Get, req, async move |req| {
        let account = account(&s, &req)?;
        let now = s.now_ms();
        let body = s.with_tasks(|b| {
            b.tasks
                .get_owned(account, &request_id)
                .map(|t| status_body(t, now))
        });
        body.map(json_ok)
            .ok_or_else(|| XaiError::new(404, format!("no video request with id {request_id}")))
    })
    .await
}

/// The answer of `GET /v1/videos/{request_id}` for a task as it is at `now_ms`.
fn status_body(t: &Record<XaiWire>, now_ms: i64) -> Value {
    let job = &t.data.job;
    match t.phase {
        Phase::Queued | Phase::Throttled | Phase::Running => json!({
            "status": "pending",
            "model": job.model,
            "progress": (t.progress(now_ms) * 100.0).floor() as u32,
        }),
        Phase::Succeeded => {
            let url = t.outputs.first().map(|o| o.url.clone());
            json!({
                "status": "done",
                "model": job.model,
                "progress": 100,
                "video": {
                    "url": url,
                    "duration": job.duration,
                    "respect_moderation": !t.data.moderated,
                },
                "usage": { "cost_in_usd_ticks": job.cost_in_usd_ticks() },
            })
        }
        Phase::Expired => json!({
            "status": "expired",
            "model": job.model,
        }),
        Phase::Failed | Phase::Cancelled => json!({
            "status": "failed",
            "model": job.model,
            "progress": 0,
            "error": {
                "code": "internal_error",
                "message": "video generation failed",
            },
        }),
    }
}
