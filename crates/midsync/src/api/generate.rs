//! `POST /unified-video/generate` (and `/unified-image/generate`): validate → quote →
//! `Idempotency-Key` → ledger hold and task row (one transaction) → router submit →
//! submission recorded → answer
//! (`ARCHITECTURE.md` "The request path").
//!
//! Money rules (`design/RELIABILITY.md`): the hold's id is the task id, so a task has at
//! most one hold (I2); a submission that fails before the upstream accepted it voids the
//! hold; one whose acceptance is unknown keeps the hold and is reconciled by the poller,
//! never resubmitted (R1). An `Idempotency-Key` yields at most one task and one upstream
//! submission (I4, T1–T3).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::json::RawJson;
use super::request::{prefix, validate_generation};
use crate::telemetry::Movement;
use crate::wire::GenerateResponse;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use genmux_core::{async_trait, Error, ErrorKind, MediaKind, Quote, TaskStatus};
use genmux_router::SubmitObserver;
use genmux_store::{
    BeginOutcome, IdempotencyKey, NewTask, Scope, StoredResponse, SubmissionRecord,
};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use tracing::Instrument;

/// The header naming a request's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/unified-video/generate", post(video_generate))
        .route("/unified-image/generate", post(image_generate))
}

/// Create a video generation task.
#[utoipa::path(post, path = "/unified-video/generate", tag = "generation",
    request_body(content = Object, description = "model, prompt, duration, … (see GET /unified-video/models)"),
    params(("Idempotency-Key" = Option<String>, Header, description = "≤ 255 chars; a replay returns the first answer")),
    responses((status = 200, body = GenerateResponse),
        (status = 400, body = crate::wire::ErrorBody), (status = 401, body = crate::wire::ErrorBody),
        (status = 402, description = "insufficient points", body = crate::wire::ErrorBody),
        (status = 403, body = crate::wire::ErrorBody), (status = 409, body = crate::wire::ErrorBody),
        (status = 413, body = crate::wire::ErrorBody), (status = 422, body = crate::wire::ErrorBody),
        (status = 429, body = crate::wire::ErrorBody), (status = 502, body = crate::wire::ErrorBody),
        (status = 503, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn video_generate(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawJson(body): RawJson,
) -> Response {
    generate(state, caller, MediaKind::Video, &headers, &body).await
}

/// Create an image generation task.
#[utoipa::path(post, path = "/unified-image/generate", tag = "generation",
    request_body(content = Object, description = "model, prompt, … (see GET /unified-image/models)"),
    params(("Idempotency-Key" = Option<String>, Header, description = "≤ 255 chars")),
    responses((status = 200, body = GenerateResponse), (status = 400, body = crate::wire::ErrorBody),
        (status = 402, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_generate(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawJson(body): RawJson,
) -> Response {
    generate(state, caller, MediaKind::Image, &headers, &body).await
}

fn json_response(status: StatusCode, body: Vec<u8>, replayed: bool) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// Validates everything that needs no write: body, catalog rules, price, URLs — the one
/// validation `/quote` runs too (`request::validate_generation`, issue 13 point 9).
async fn prepare(
    state: &AppState,
    caller: &Caller,
    kind: MediaKind,
    body: &[u8],
) -> ApiResult<Quote> {
    caller.require_any(&[Scope::ApiGenerate])?;
    validate_generation(state, kind, body)
        .await
        .map_err(|r| r.error)
}

fn fingerprint(quote: &Quote) -> String {
    let bytes = serde_json::to_vec(&quote.request).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

async fn generate(
    state: AppState,
    caller: Caller,
    kind: MediaKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    // T3: a request that fails validation stores nothing, so validation comes before the
    // idempotency record.
    let quote_span = tracing::debug_span!(
        "genmux.quote",
        genmux.model = tracing::field::Empty,
        genmux.price_points = tracing::field::Empty,
    );
    let quote = match prepare(&state, &caller, kind, body)
        .instrument(quote_span.clone())
        .await
    {
        Ok(q) => {
            quote_span.record("genmux.model", q.model.as_str());
            quote_span.record("genmux.price_points", q.points);
            q
        }
        Err(e) => return e.into_response(),
    };
    let idem = match headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(v) => {
            let Ok(text) = v.to_str() else {
                return ApiError::bad_request("Idempotency-Key header is not text").into_response();
            };
            let route = format!("POST {}/generate", prefix(kind));
            // Scoped per account, not per API key (issue 13 point 10; Stripe's rule): the
            // same key and body from another key of the account replays the first answer
            // instead of creating and charging a second task.
            match IdempotencyKey::new(caller.account_id(), route, text) {
                Ok(k) => Some(k),
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    };
    let task_id = new_task_id();
    // The request's span (and so every log line of it) names the task.
    tracing::Span::current().record("genmux.task", task_id.as_str());
    if let Some(key) = &idem {
        let fp = fingerprint(&quote);
        match state.store().idempotency.begin(key, &fp).await {
            Ok(BeginOutcome::New) => {}
            Ok(BeginOutcome::InProgress) => match take_over(&state, key, &fp).await {
                Ok(TakeOver::Fresh) => {
                    return ApiError::new(
                        StatusCode::CONFLICT,
                        "a request with this Idempotency-Key is still being processed; retry shortly",
                    )
                    .into_response()
                }
                Ok(TakeOver::Answer(status, bytes)) => return json_response(status, bytes, true),
                Ok(TakeOver::Process) => {}
                Err(e) => return e.into_response(),
            },
            Ok(BeginOutcome::Done(stored)) => {
                let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
                return json_response(status, stored.body, true);
            }
            Ok(BeginOutcome::Mismatch) => {
                return ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "this Idempotency-Key was already used with a different request body; use a new key",
                )
                .into_response()
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
        // Before anything else is written: a request taking this key over after a crash
        // finds the task this one creates (R4, I4).
        if let Err(e) = state.store().idempotency.attach_task(key, &task_id).await {
            if let Err(ae) = state.store().idempotency.abandon(key).await {
                tracing::error!(error = %ae, "could not release an Idempotency-Key");
            }
            return ApiError::from(e).into_response();
        }
    }
    match create_task(&state, &caller, quote, task_id).await {
        Ok((status, bytes)) => {
            if let Some(key) = &idem {
                let stored = StoredResponse {
                    status: status.as_u16(),
                    body: bytes.clone(),
                };
                if let Err(e) = state.store().idempotency.complete(key, &stored).await {
                    tracing::error!(error = %e, "could not store the idempotent response");
                }
            }
            json_response(status, bytes, false)
        }
        Err(e) => {
            // Nothing was created (or the hold was voided): a retry with the same key must be
            // processed, so the key is released.
            if let Some(key) = &idem {
                if let Err(e) = state.store().idempotency.abandon(key).await {
                    tracing::error!(error = %e, "could not release an Idempotency-Key");
                }
            }
            e.into_response()
        }
    }
}

fn new_task_id() -> String {
    format!("task_{}", uuid::Uuid::now_v7().simple())
}

/// What to do with a key whose first request is still on record as running.
enum TakeOver {
    /// It started recently: 409.
    Fresh,
    /// Its request died after recording its task: answer with that task (stored for
    /// replays), never a second one (I4).
    Answer(StatusCode, Vec<u8>),
    /// Its request died before recording a task: this request owns the key and processes.
    Process,
}

/// R4: a key in progress for longer than `idempotency_takeover` belongs to a request whose
/// process died. Exactly one retry takes it over.
async fn take_over(state: &AppState, key: &IdempotencyKey, fp: &str) -> ApiResult<TakeOver> {
    let store = state.store();
    // Aged by the store's clock, which stamped the key (replicas' clocks may disagree).
    let older_than = state.config().idempotency_takeover;
    let Some(claim) = store
        .idempotency
        .take_over_stale(key, fp, older_than)
        .await?
    else {
        return Ok(TakeOver::Fresh);
    };
    let task = match &claim.task_id {
        Some(id) => store.tasks.get(id).await?,
        None => None,
    };
    let Some(task) = task else {
        // No task row: nothing was sent upstream (the task row precedes the submission).
        // A hold it may have placed is voided by the repair sweep.
        tracing::warn!(key = %key.key, "taking over an Idempotency-Key whose request stopped before creating a task");
        return Ok(TakeOver::Process);
    };
    tracing::warn!(key = %key.key, task = %task.id, "answering an Idempotency-Key whose request stopped after creating its task");
    let (_, bytes) = task_response(state, &task)?;
    let stored = StoredResponse {
        status: StatusCode::OK.as_u16(),
        body: bytes.clone(),
    };
    store.idempotency.complete(key, &stored).await?;
    Ok(TakeOver::Answer(StatusCode::OK, bytes))
}

async fn create_task(
    state: &AppState,
    caller: &Caller,
    quote: Quote,
    task_id: String,
) -> ApiResult<(StatusCode, Vec<u8>)> {
    let store = state.store();
    let account = caller.account_id().to_string();
    // X3: the upstream gets our task id as its external / idempotency id; the caller's own
    // externalTaskId stays here, unique within the account.
    let caller_external_id = quote.request.external_task_id.clone();
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let now = state.clock().now();
    let first_provider = state
        .router()
        .pick_first(&quote)
        .map(|p| p.0.to_string())
        .or_else(|| state.router().provider_ids().next().map(str::to_string))
        .unwrap_or_default();
    // R4: the task is recorded before anything is sent upstream, as `unknown` and first
    // polled on the normal schedule (issue 21: not after the unknown grace, which only
    // decides when "not found" means "never accepted" — a submission cut off by a crash
    // whose callback was lost too is found after the first delay, not 10 minutes later).
    // If this process dies while the submission is in
    // flight, the poller reconciles it by its external id like any unknown submission
    // (found → settled; never found → failed and refunded), and the upstream's callback
    // finds it by its token. Recorded after the submission, a crash in between would leave
    // an upstream task nobody tracks and a hold nobody resolves.
    let first_poll = state.config().poll.first_delay.max(
        state
            .router()
            .polling(&first_provider, &quote.model)
            .min_interval(),
    );
    let intent = NewTask {
        id: task_id.clone(),
        account_id: account.clone(),
        api_key_id: Some(caller.key.id.clone()),
        model: quote.model.clone(),
        operation: quote.operation,
        provider: first_provider,
        provider_task_id: None,
        provider_model: None,
        status: TaskStatus::Unknown,
        points: quote.points,
        request: serde_json::to_value(&quote.request)
            .map_err(|e| ApiError::from(Error::internal(format!("request to JSON: {e}"))))?,
        callback_url: quote.request.callback_url.clone(),
        callback_token: Some(token.clone()),
        project_id: quote.request.project_id.clone(),
        external_task_id: Some(task_id.clone()),
        caller_external_id: caller_external_id.clone(),
        created_at: now,
        next_poll_at: Some(now + first_poll),
        // Issue 19: the engine's later work on the task links back to this request.
        trace_context: genmux_core::telemetry::current_traceparent(),
    };
    let intent_provider = intent.provider.clone();
    // The hold and the task row in one transaction: one durable commit, and never one
    // without the other.
    if let Err(e) = store.tasks.insert_with_hold(intent).await {
        if e.kind() == ErrorKind::Conflict {
            if let Some(ext) = &caller_external_id {
                if let Some(other) = store
                    .tasks
                    .find_by_caller_external_id(&account, ext)
                    .await?
                {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        format!(
                            "externalTaskId: `{ext}` is already used by task {} of this account; give each task its own externalTaskId",
                            other.id
                        ),
                    ));
                }
            }
        }
        if e.kind() != ErrorKind::InsufficientPoints {
            return Err(ApiError::from(e));
        }
        // The ledger's message names the task id of the refused hold, which was never
        // created; the caller is told the price and the balance only.
        let balance = match store.ledger.balance(&account).await {
            Ok(b) => format!("the account has {b} points"),
            Err(_) => "the account cannot cover it".to_string(),
        };
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            format!(
                "insufficient points: this request costs {} points; {balance}",
                quote.points
            ),
        ));
    }
    state.metrics().points(Movement::Held, quote.points);
    let observer = AttemptRecorder {
        state,
        task_id: &task_id,
        token: &token,
        named: std::sync::Mutex::new(intent_provider),
    };
    let routed = match state.router().submit_observed(&quote, &observer).await {
        Ok(r) => r,
        Err(e) => {
            // Not accepted anywhere: the caller gets an error, not a task; refund — but only
            // if the row was still unsubmitted. A provider that answered with an error yet
            // kept the task may have moved it by callback meanwhile: that task is real, its
            // hold belongs to its settlement, and the caller gets it. Should this process
            // die first, the poller settles the row (refunding it if no provider has it).
            match store.tasks.discard_unsubmitted(&task_id).await {
                Ok(true) => match store.ledger.void(&task_id).await {
                    Ok(r) if r.applied() => state.metrics().points(Movement::Voided, quote.points),
                    Ok(_) => {}
                    Err(ve) => {
                        tracing::error!(task = %task_id, error = %ve, "could not void the hold of a refused submission");
                    }
                },
                Ok(false) => {
                    if let Some(task) = store.tasks.get(&task_id).await? {
                        tracing::warn!(task = %task_id, provider = %task.provider, error = %e,
                            "submission refused, but the provider reported the task: answering with it");
                        return task_response(state, &task);
                    }
                }
                Err(de) => {
                    // The row stays `unknown`: the poller looks it up and refunds it.
                    tracing::error!(task = %task_id, error = %de, "could not discard a refused task");
                }
            }
            return Err(ApiError::from(e));
        }
    };
    let now = state.clock().now();
    let status = routed.submission.status;
    let provider_task_id =
        Some(routed.submission.provider_task_id.clone()).filter(|s| !s.is_empty());
    let submission = SubmissionRecord {
        provider: routed.provider.clone(),
        provider_task_id: provider_task_id.clone(),
        provider_model: Some(routed.submission.provider_model.clone()),
        status,
        external_task_id: Some(routed.external_id.clone()),
        // The first poll, no sooner than the offering's least interval between polls
        // (spec/upstreams.md, Runway: "no more than every 5 s").
        next_poll_at: Some(
            now + state.config().poll.first_delay.max(
                state
                    .router()
                    .polling(&routed.provider, &quote.model)
                    .min_interval(),
            ),
        ),
    };
    // The upstream holds the task now: the hold must stay, and the outcome be recorded.
    let mut last_err = None;
    for _ in 0..3 {
        match store
            .tasks
            .record_submission(&task_id, submission.clone())
            .await
        {
            Ok(_) => {
                last_err = None;
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    if let Some(e) = last_err {
        // The task row exists as `unknown`: the poller reconciles it by its external id.
        tracing::error!(task = %task_id, provider = %routed.provider, error = %e,
            "upstream accepted a task whose submission could not be recorded; it will be reconciled");
    }
    if status == TaskStatus::Unknown {
        tracing::warn!(task = %task_id, provider = %routed.provider,
            "submission outcome unknown; the poller will reconcile it");
    } else {
        tracing::info!(task = %task_id, provider = %routed.provider, points = quote.points,
            attempts = routed.attempts, "task submitted");
    }
    let resp = GenerateResponse {
        success: true,
        task_id,
        provider_task_id: provider_task_id.unwrap_or_default(),
        model: quote.model.clone(),
        provider_model: routed.submission.provider_model.clone(),
        points_charged: quote.points,
        status,
        estimated_time_sec: routed.submission.estimated_time_sec.or_else(|| {
            state
                .router()
                .catalog()
                .model(&quote.model)
                .and_then(|m| m.estimated_time_sec)
        }),
    };
    let bytes = serde_json::to_vec(&resp)
        .map_err(|e| ApiError::from(Error::internal(format!("response to JSON: {e}"))))?;
    Ok((StatusCode::OK, bytes))
}

/// The answer for a task the store already holds: the task of an `Idempotency-Key` whose
/// request stopped after creating it, or of a refused submission whose provider reported
/// the task anyway.
fn task_response(
    state: &AppState,
    task: &genmux_store::TaskRecord,
) -> ApiResult<(StatusCode, Vec<u8>)> {
    let resp = GenerateResponse {
        success: true,
        task_id: task.id.clone(),
        provider_task_id: task.provider_task_id.clone().unwrap_or_default(),
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        points_charged: task.points,
        status: task.status,
        estimated_time_sec: state
            .router()
            .catalog()
            .model(&task.model)
            .and_then(|m| m.estimated_time_sec),
    };
    let bytes = serde_json::to_vec(&resp)
        .map_err(|e| ApiError::from(Error::internal(format!("response to JSON: {e}"))))?;
    Ok((StatusCode::OK, bytes))
}

/// The gateway's view of each submission attempt: the callback URL to hand the provider,
/// and, before a failover sends the request somewhere else, the task row renamed to that
/// provider. The row must name the provider that may hold the task: should this process
/// die while that attempt is in flight, the poller looks the task up there by its
/// external id and the provider's callback URL is accepted only for it (R4). The first
/// attempt normally goes where the row already says, so it costs no write.
struct AttemptRecorder<'a> {
    state: &'a AppState,
    task_id: &'a str,
    token: &'a str,
    /// The provider the task row names.
    named: std::sync::Mutex<String>,
}

#[async_trait]
impl SubmitObserver for AttemptRecorder<'_> {
    fn callback_url(&self, provider: &str) -> Option<String> {
        Some(self.state.inbound_callback_url(provider, self.token))
    }

    fn external_id(&self) -> Option<String> {
        // Our task id: unique across tenants, and what the poller looks an unknown
        // submission up by (R1, X3).
        Some(self.task_id.to_string())
    }

    async fn before_send(&self, provider: &str) -> genmux_core::Result<()> {
        if *self.named.lock().unwrap_or_else(|p| p.into_inner()) == provider {
            return Ok(());
        }
        let renamed = self
            .state
            .store()
            .tasks
            .retarget_unsubmitted(self.task_id, provider)
            .await?;
        if !renamed {
            // The row moved on while this request was routing it: a provider tried before
            // reported the task by callback, or the poller settled it after the unknown
            // grace. Nothing more may be sent for it.
            return Err(Error::new(
                ErrorKind::ProviderUnavailable,
                format!(
                    "task {} was settled while its submission was still being routed; not sending it to {provider}",
                    self.task_id
                ),
            ));
        }
        *self.named.lock().unwrap_or_else(|p| p.into_inner()) = provider.to_string();
        Ok(())
    }
}
