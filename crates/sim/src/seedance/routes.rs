//! The two endpoints of the spec, each through the framework's fault wrapper (seeded
//! faults answered in Ark's shape): Bearer authentication, the strict body check, the
//! account's standing, tokens and concurrency, then the task.

use axum::extract::{Path, Request, State};
use axum::routing::{get, post};
use serde_json::json;

use super::error::{ArkCode, ArkError};
use super::rules;
use super::task::{query_body, ArkTask};
use super::validate::{self, CreateBody};
use super::{SeedanceEndpoint, SeedanceWire, API_PREFIX};
use crate::framework::{
    guarded, json_ok, read_json, AccountStanding, AuthFailure, BodyError, Outcome, Refusal,
    SimHandle,
};

type Handle = SimHandle<SeedanceWire>;

/// Bodies larger than this are refused (images may come inline as data URIs).
const BODY_LIMIT: usize = 32 << 20;

/// The task routes under Ark's `/api/v3` and at the root: `ARK_BASE_URL` may name either
/// (the sandbox hands out the simulator's address as it is).
pub(super) fn routes() -> axum::Router<Handle> {
    let mut router = axum::Router::new();
    for prefix in [API_PREFIX, ""] {
        let tasks = format!("{prefix}/contents/generations/tasks");
        router = router
            .route(&tasks, post(create))
            .route(&format!("{tasks}/{{id}}"), get(query));
    }
    router
}

fn auth(sim: &Handle, req: &Request) -> Result<usize, ArkError> {
    sim.account_for(req).map_err(|e| match e {
        AuthFailure::Missing => ArkError::new(
            ArkCode::AuthenticationError,
            "The API key is missing. Send it as `Authorization: Bearer <ARK_API_KEY>`.",
        ),
        AuthFailure::Unknown => ArkError::new(
            ArkCode::AuthenticationError,
            "The API key in the request is invalid.",
        ),
        AuthFailure::Disabled => ArkError::new(
            ArkCode::AccessDenied,
            "The account of this API key is suspended.",
        ),
    })
}

async fn create(State(sim): State<Handle>, req: Request) -> axum::response::Response {
    let s = sim.clone();
    guarded(&sim, SeedanceEndpoint::Create, req, async move |req| {
        let account = auth(&s, &req)?;
        let body = read_json(req, BODY_LIMIT).await.map_err(|e| match e {
            BodyError::TooLarge(n) => {
                ArkError::invalid("body", format!("the request body exceeds {n} bytes"))
            }
            BodyError::NotJson(why) => {
                ArkError::invalid("body", format!("the request body is not valid JSON: {why}"))
            }
        })?;
        let body = validate::create_body(&body, &s.config().wire)?;
        if s.standing(account) == AccountStanding::OutOfCredit {
            return Err(ArkError::of(ArkCode::QuotaExceeded));
        }
        let data = decide(&body, &s);
        let expires_early = body.execution_expires_after.is_some_and(|secs| {
            let needed = s.settings().queue + s.settings().render;
            u128::try_from(secs).unwrap_or(0) * 1000 < needed.as_millis()
        });
        let fails = data.failure.is_some();
        // An account with a balance holds tokens: the task's are taken at create and
        // given back if it ends without a video (Ark charges successes).
        let tokens = rules::completion_tokens(&data.body.resolution, data.seconds);
        let task = s
            .create(
                account,
                SeedanceEndpoint::Create,
                body.callback_url.clone(),
                data,
                tokens,
            )
            .map_err(|refusal| match refusal {
                Refusal::OverLimit(over) => ArkError::new(
                    ArkCode::RateLimitExceeded,
                    format!(
                        "Too many tasks at once: this account runs {} of its {} concurrent tasks. Retry when one finishes.",
                        over.used, over.limit
                    ),
                ),
                Refusal::Insufficient { balance, needed } => ArkError::new(
                    ArkCode::QuotaExceeded,
                    format!(
                        "Your account has exhausted its quota: {balance} tokens left, this task needs {needed}."
                    ),
                ),
            })?;
        if fails || expires_early {
            // Output moderation fails the task after it ran; a deadline shorter than the
            // queue and render times expires it unrun.
            s.with_tasks(|b| {
                if let Some(i) = b.tasks.index_of(&task.id) {
                    b.tasks.at_mut(i).outcome = if expires_early {
                        Outcome::Expire
                    } else {
                        Outcome::Fail
                    };
                }
            });
        }
        Ok(json_ok(json!({"id": task.id})))
    })
    .await
}

/// What the model decides for a checked body: seconds when −1 was asked, the seed when −1
/// was asked, the ratio when `adaptive` was, and whether output moderation fails it.
fn decide(body: &CreateBody, sim: &Handle) -> ArkTask {
    let prompt = body.prompt.clone().unwrap_or_default();
    let fingerprint = prompt
        .bytes()
        .chain(sim.now_ms().to_le_bytes())
        .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    // "−1 = model decides": a length the prompt suggests, within the model's range.
    let seconds = if body.duration == -1 {
        let (lo, hi) = rules::model(&body.model)
            .map(|m| (m.min_seconds, m.max_seconds))
            .unwrap_or((4, 12));
        lo + (prompt.chars().count() as i64) % (hi - lo + 1)
    } else {
        body.duration
    };
    let seed = if body.seed == -1 {
        (fingerprint % (rules::MAX_SEED as u64 + 1)) as i64
    } else {
        body.seed
    };
    // `adaptive` follows the first frame's shape, which the simulator does not read: it
    // answers 16:9, the model's choice for text to video.
    let ratio = if body.ratio == "adaptive" {
        "16:9".to_string()
    } else {
        body.ratio.clone()
    };
    let lower = prompt.to_lowercase();
    let failure = sim
        .config()
        .wire
        .output_blocked_words
        .iter()
        .any(|w| lower.contains(&w.to_lowercase()))
        .then_some(ArkCode::OutputVideoSensitiveContentDetected);
    ArkTask {
        body: body.clone(),
        seconds,
        seed,
        ratio,
        failure,
    }
}

async fn query(
    State(sim): State<Handle>,
    Path(id): Path<String>,
    req: Request,
) -> axum::response::Response {
    let s = sim.clone();
    guarded(&sim, SeedanceEndpoint::Query, req, async move |req| {
        let account = auth(&s, &req)?;
        let now = s.now_ms();
        s.with_tasks(|b| {
            b.tasks
                .get_owned(account, &id)
                // spec: "task ids are kept 7 days".
                .filter(|t| now - t.created_ms <= rules::TASK_RETENTION_MS)
                .map(|t| json_ok(query_body(t, t.phase, t.updated_ms)))
                .ok_or_else(|| {
                    ArkError::new(
                        ArkCode::ResourceNotFound,
                        format!("The task `{id}` does not exist."),
                    )
                })
        })
    })
    .await
}
