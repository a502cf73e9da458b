//! The Runway API simulator (`spec/upstreams.md`, Runway), on the shared [`framework`]:
//! `POST /v1/image_to_video`, `POST /v1/text_to_video`, `GET /v1/tasks/{id}`,
//! `DELETE /v1/tasks/{id}`.
//!
//! - Every call needs `Authorization: Bearer <key>` (401 otherwise) and
//!   `X-Runway-Version: 2024-11-06` (400 when missing or another value).
//! - Every rule of the spec is checked ([`validate`]) and a break answers 400
//!   `{"error":"…"}` naming the field.
//! - Tasks walk `PENDING` → `THROTTLED` (when the account is over its concurrency, waiting)
//!   → `RUNNING` (`progress` 0–1) → `SUCCEEDED` (`output[]`: real MP4s behind links that
//!   expire, [`crate::framework::SimSettings::media_ttl`], 24 h by default) / `FAILED` (`failure`,
//!   `failureCode`) on the simulated clock; `DELETE` cancels an unfinished task
//!   (`CANCELLED`) and deletes a finished one (404 afterwards).
//! - Failures: a prompt with a [`RunwaySimConfig::blocked_words`] word fails
//!   `SAFETY.INPUT.TEXT`; an image on a host under the reserved `.invalid` TLD (which can
//!   never be fetched) fails `ASSET.INVALID`; the seeded failure share fails
//!   `INTERNAL.BAD_OUTPUT.CODE01`. Faults are seeded ([`crate::fault`]); an injected error
//!   answers in Runway's shape (429 with `Retry-After`).
//! - Concurrency: two unfinished-and-started tasks per account by default
//!   ([`Wire::DEFAULT_CONCURRENCY`]); more wait `THROTTLED`.
//! - Accounts: a disabled key answers 401; an account out of credit answers 429 (the
//!   daily cap) with a `Retry-After` until the next UTC midnight; a balance (credits,
//!   gen4_turbo 5/s, gen4.5 12/s) that cannot cover a task answers 400.
//!
//! [`framework`]: crate::framework

pub mod validate;

use crate::fault::FaultKey;
use crate::framework::{
    guarded, json_ok, read_json, AccountStanding, AuthFailure, BodyError, CancelOutcome,
    InjectedFault, MediaSpec, OverConcurrency, Phase, Record, Refusal, Sim, SimHandle, Wire,
    WireError,
};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{json, Value};
use validate::{Create, ValidCreate};

/// The API version every call must name (spec: `X-Runway-Version: 2024-11-06`, required).
pub const API_VERSION: &str = "2024-11-06";

/// The largest body read (a data-URI image is up to 5 MB per the SDK).
const BODY_LIMIT: usize = 16 << 20;

/// The fault-injection units of the Runway simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/image_to_video`.
    ImageToVideo,
    /// `POST /v1/text_to_video`.
    TextToVideo,
    /// `GET /v1/tasks/{id}`.
    GetTask,
    /// `DELETE /v1/tasks/{id}`.
    DeleteTask,
    /// Result downloads.
    Media,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 5] = [
        Endpoint::ImageToVideo,
        Endpoint::TextToVideo,
        Endpoint::GetTask,
        Endpoint::DeleteTask,
        Endpoint::Media,
    ];
}

impl FaultKey for Endpoint {
    fn stable_id(&self) -> u64 {
        0x52_57_00 + *self as u64
    }
}

/// What the Runway simulator keeps of a task besides its lifecycle.
#[derive(Clone, Debug, PartialEq)]
pub struct RunwayTask {
    /// The validated create body.
    pub request: ValidCreate,
    /// The `failureCode` it fails with, when it was set to fail at creation.
    pub failure_code: Option<String>,
    /// Deleted by `DELETE` after it finished: answered 404 from then on.
    pub deleted: bool,
}

/// The Runway simulator's own settings.
#[derive(Clone, Debug)]
pub struct RunwaySimConfig {
    /// A `promptText` containing one of these (case-insensitive) fails `SAFETY.INPUT.TEXT`.
    pub blocked_words: Vec<String>,
}

impl Default for RunwaySimConfig {
    fn default() -> Self {
        RunwaySimConfig {
            blocked_words: vec!["forbidden".into()],
        }
    }
}

/// Runway's error answer: a status and `{"error": "…"}`, with `Retry-After` on 429.
#[derive(Debug)]
pub struct RunwayError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl RunwayError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        RunwayError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
}

impl IntoResponse for RunwayError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(json!({ "error": self.message }))).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = http::HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        r
    }
}

impl WireError for RunwayError {
    fn from_fault(fault: InjectedFault) -> Self {
        let message = match fault.status {
            400 => "Validation of body failed",
            401 => "Invalid API secret",
            403 => "This API key does not have access to this model",
            404 => "Not found",
            429 => "You have exceeded the rate limit for this API key",
            504 => "The upstream timed out",
            _ => "An internal error occurred",
        };
        RunwayError {
            status: StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
            retry_after: fault.retry_after,
        }
    }
}

/// The Runway wire on the framework.
#[derive(Debug)]
pub struct RunwayWire;

/// A running Runway simulator.
pub type RunwaySim = Sim<RunwayWire>;

fn status_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued => "PENDING",
        Phase::Throttled => "THROTTLED",
        Phase::Running => "RUNNING",
        Phase::Succeeded => "SUCCEEDED",
        // Runway has no expiry status: a task that never ran is a failed one.
        Phase::Failed | Phase::Expired => "FAILED",
        Phase::Cancelled => "CANCELLED",
    }
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The `GET /v1/tasks/{id}` body of `task` at `now_ms`.
pub fn task_body(task: &Record<RunwayWire>, now_ms: i64) -> Value {
    let mut body = json!({
        "id": task.id,
        "status": status_word(task.phase),
        "createdAt": rfc3339(task.created_ms),
    });
    match task.phase {
        Phase::Running => body["progress"] = json!(task.progress(now_ms)),
        Phase::Succeeded => {
            body["output"] = json!(task.outputs.iter().map(|o| &o.url).collect::<Vec<_>>())
        }
        Phase::Failed | Phase::Expired => {
            let (code, words) = failure_of(task);
            body["failure"] = json!(words);
            body["failureCode"] = json!(code);
        }
        _ => {}
    }
    body
}

/// The `failureCode` and `failure` words of a failed task.
fn failure_of(task: &Record<RunwayWire>) -> (String, &'static str) {
    let code = match (&task.data.failure_code, task.phase) {
        (Some(c), _) => c.clone(),
        (None, Phase::Expired) => "INTERNAL.TIMEOUT".to_string(),
        (None, _) => "INTERNAL.BAD_OUTPUT.CODE01".to_string(),
    };
    let words = match code.split('.').next() {
        Some("SAFETY") => "Your prompt or image did not pass our content moderation.",
        Some("ASSET") => "An input asset could not be read: check that the URL is publicly reachable and points to a valid image.",
        _ => "An unexpected error occurred while generating your video. Please try again.",
    };
    (code, words)
}

/// The failure a new task is set for by its inputs (spec failure classes): blocked words
/// → `SAFETY.INPUT.TEXT`, an image that cannot be fetched → `ASSET.INVALID`.
fn planned_failure(req: &ValidCreate, config: &RunwaySimConfig) -> Option<&'static str> {
    let text = req.prompt_text.as_deref().unwrap_or("").to_lowercase();
    if config
        .blocked_words
        .iter()
        .any(|w| !w.is_empty() && text.contains(&w.to_lowercase()))
    {
        return Some("SAFETY.INPUT.TEXT");
    }
    let unreachable = req.images.iter().any(|i| {
        url::Url::parse(&i.uri)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_end_matches('.').ends_with(".invalid"))
            })
            .unwrap_or(false)
    });
    unreachable.then_some("ASSET.INVALID")
}

/// Checks the Bearer key and the version header; the account's index.
fn authorize(sim: &SimHandle<RunwayWire>, req: &Request) -> Result<usize, RunwayError> {
    let account = sim.account_for(req).map_err(|e| match e {
        AuthFailure::Missing => RunwayError::new(401, "Missing Authorization: Bearer header"),
        AuthFailure::Unknown | AuthFailure::Disabled => RunwayError::new(401, "Invalid API secret"),
    })?;
    match req.headers().get("x-runway-version").map(|v| v.to_str()) {
        Some(Ok(API_VERSION)) => Ok(account),
        Some(Ok(other)) => Err(RunwayError::bad_request(format!(
            "X-Runway-Version: `{other}` is not a supported API version (allowed: {API_VERSION})"
        ))),
        Some(Err(_)) => Err(RunwayError::bad_request(format!(
            "X-Runway-Version: not readable (allowed: {API_VERSION})"
        ))),
        None => Err(RunwayError::bad_request(format!(
            "X-Runway-Version: required header is missing (allowed: {API_VERSION})"
        ))),
    }
}

/// Seconds from `now_ms` to the next UTC midnight: when a daily cap resets.
fn until_midnight(now_ms: i64) -> u64 {
    let day = 86_400_000;
    u64::try_from(day - now_ms.rem_euclid(day))
        .unwrap_or(1000)
        .div_ceil(1000)
}

async fn create(sim: SimHandle<RunwayWire>, endpoint: Create, req: Request) -> Response {
    let fault_key = match endpoint {
        Create::ImageToVideo => Endpoint::ImageToVideo,
        Create::TextToVideo => Endpoint::TextToVideo,
    };
    let s = sim.clone();
    guarded(&sim, fault_key, req, async move |req| {
        let account = authorize(&s, &req)?;
        let body = read_json(req, BODY_LIMIT).await.map_err(|e| match e {
            BodyError::TooLarge(n) => RunwayError::new(413, format!("body: larger than {n} bytes")),
            BodyError::NotJson(m) => RunwayError::bad_request(format!("body: not valid JSON ({m})")),
        })?;
        let valid = validate::create(endpoint, &body).map_err(RunwayError::bad_request)?;
        if s.standing(account) == AccountStanding::OutOfCredit {
            return Err(RunwayError {
                retry_after: Some(until_midnight(s.now_ms())),
                ..RunwayError::new(429, "You have reached your daily task limit")
            });
        }
        let failure = planned_failure(&valid, &s.config().wire);
        let charge = validate::credits_per_second(&valid.model) * i64::from(valid.duration);
        let data = RunwayTask {
            request: valid,
            failure_code: failure.map(str::to_string),
            deleted: false,
        };
        let task = s
            .create(account, fault_key, None, data, charge)
            .map_err(|r| match r {
                Refusal::Insufficient { balance, needed } => RunwayError::bad_request(format!(
                    "You do not have enough credits to run this task ({needed} needed, {balance} left)"
                )),
                // Runway throttles rather than refuses (OverConcurrency::Throttle).
                Refusal::OverLimit(l) => RunwayError::new(
                    429,
                    format!("Too many concurrent tasks ({} of {})", l.used, l.limit),
                ),
            })?;
        if failure.is_some() {
            s.with_tasks(|b| {
                if let Some(i) = b.tasks.index_of(&task.id) {
                    b.tasks.at_mut(i).outcome = crate::framework::Outcome::Fail;
                }
            });
        }
        Ok(json_ok(json!({ "id": task.id })))
    })
    .await
}

fn not_found(id: &str) -> RunwayError {
    RunwayError::new(404, format!("Task {id} not found"))
}

async fn get_task(
    State(sim): State<SimHandle<RunwayWire>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let s = sim.clone();
    guarded(&sim, Endpoint::GetTask, req, async move |req| {
        let account = authorize(&s, &req)?;
        let now = s.now_ms();
        s.with_tasks(|b| match b.tasks.get_owned(account, &id) {
            Some(t) if !t.data.deleted => Ok(json_ok(task_body(t, now))),
            _ => Err(not_found(&id)),
        })
    })
    .await
}

async fn delete_task(
    State(sim): State<SimHandle<RunwayWire>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let s = sim.clone();
    guarded(&sim, Endpoint::DeleteTask, req, async move |req| {
        let account = authorize(&s, &req)?;
        let deleted = s.with_tasks(|b| {
            b.tasks
                .get_owned(account, &id)
                .is_some_and(|t| t.data.deleted)
        });
        if deleted {
            return Err(not_found(&id));
        }
        match s.cancel(account, &id) {
            // spec: "cancel or delete" — an unfinished task is cancelled…
            CancelOutcome::Cancelled => Ok(StatusCode::NO_CONTENT.into_response()),
            // …a finished one deleted.
            CancelOutcome::AlreadyFinal(_) => {
                s.with_tasks(|b| {
                    if let Some(i) = b.tasks.index_of(&id) {
                        b.tasks.at_mut(i).data.deleted = true;
                    }
                });
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            CancelOutcome::NotFound => Err(not_found(&id)),
        }
    })
    .await
}

impl Wire for RunwayWire {
    const NAME: &'static str = "runway";
    const PROVIDER: &'static str = "runway";
    // spec: THROTTLED (over concurrency, waits).
    const OVER_CONCURRENCY: OverConcurrency = OverConcurrency::Throttle;
    /// Two tasks run at once per account by default (an assumption: the spec names the
    /// limit, not its value), so `THROTTLED` shows in `genmux sim`; `--concurrency`
    /// changes it.
    const DEFAULT_CONCURRENCY: Option<u32> = Some(2);
    const MEDIA_ENDPOINT: Endpoint = Endpoint::Media;
    type Endpoint = Endpoint;
    type Data = RunwayTask;
    type Error = RunwayError;
    type Config = RunwaySimConfig;

    fn routes() -> axum::Router<SimHandle<Self>> {
        axum::Router::new()
            .route(
                "/v1/image_to_video",
                post(|State(sim): State<SimHandle<RunwayWire>>, req: Request| {
                    create(sim, Create::ImageToVideo, req)
                }),
            )
            .route(
                "/v1/text_to_video",
                post(|State(sim): State<SimHandle<RunwayWire>>, req: Request| {
                    create(sim, Create::TextToVideo, req)
                }),
            )
            .route("/v1/tasks/{id}", get(get_task).delete(delete_task))
    }

    fn outputs(task: &Record<Self>) -> Vec<MediaSpec> {
        let r = &task.data.request;
        vec![MediaSpec::video_for_aspect(
            &r.ratio,
            u64::from(r.duration) * 1000,
        )]
    }

    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)> {
        vec![
            ("RUNWAY_BASE_URL", sim.base_url().to_string()),
            ("RUNWAYML_API_SECRET", sim.api_key().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_is_when_the_daily_cap_resets() {
        assert_eq!(until_midnight(0), 86_400);
        assert_eq!(until_midnight(86_400_000 - 1500), 2);
    }

    #[test]
    fn created_at_is_rfc3339() {
        assert_eq!(rfc3339(1_649_367_553_000), "2022-04-07T21:39:13Z");
    }
}
