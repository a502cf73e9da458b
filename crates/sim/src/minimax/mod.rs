//! The MiniMax Hailuo video API (`spec/upstreams.md`, "MiniMax Hailuo") on the simulator
//! framework: `POST /v1/video_generation`, `GET /v1/query/video_generation?task_id=`,
//! `GET /v1/files/retrieve?file_id=`, with MiniMax's own error shape (HTTP 200 and
//! `base_resp.status_code`: 2013 invalid params naming the field, 1004/2049 auth, 1008
//! balance, 1002 rate limit and concurrency, 1026 sensitive input, 1027 sensitive output).
//!
//! - Statuses walk `Preparing` → `Queueing` → `Processing` → `Success` | `Fail` on the
//!   simulated clock (the first half of the queue time is `Preparing`).
//! - A finished task names a `file_id`; `files/retrieve` mints a `download_url` serving a
//!   real MP4 that expires after [`MiniMaxSimConfig::download_ttl`] (about 9 h, spec).
//! - Callbacks go as MiniMax sends them: first `{"challenge":"…"}`, which the receiver must
//!   echo with a 2xx (else nothing more is sent for the task), then
//!   `{task_id, status, file_id?, base_resp}` when the task starts processing and ends.
//! - Per-account concurrency is refused at create with 1002 (MiniMax has no queue beyond
//!   its own); an account out of credit (or whose balance, in US cents, cannot cover the
//!   video: [`price_cents`]) gets 1008; faults come from the framework's seeded
//!   plans, in MiniMax's shape ([`wire::MiniMaxError`]).
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use genmux_sim::minimax::MiniMaxSim;
//! use genmux_sim::framework::SimConfig;
//! let sim = MiniMaxSim::start(SimConfig::default()).await?;
//! println!("MINIMAX_BASE_URL={} MINIMAX_API_KEY={}", sim.base_url(), sim.api_key());
//! sim.advance(std::time::Duration::from_secs(60)).await; // tasks finish, callbacks sent
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod rules;
pub mod wire;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use crate::fault::FaultKey;
use crate::framework::{
    guarded, json_ok, read_json, AccountStanding, AuthFailure, BodyError, MediaSpec, Outgoing,
    OverConcurrency, Phase, Record, Refusal, Sim, SimConfig, SimHandle, Wire,
};
use rules::VideoRequest;
use wire::{
    success, MiniMaxError, CODE_AUTH_FAILED, CODE_INSUFFICIENT_BALANCE, CODE_INVALID_KEY,
    CODE_INVALID_PARAMS, CODE_RATE_LIMIT, CODE_SENSITIVE_OUTPUT,
};

/// `POST` — create.
pub const CREATE_PATH: &str = "/v1/video_generation";
/// `GET ?task_id=` — query.
pub const QUERY_PATH: &str = "/v1/query/video_generation";
/// `GET ?file_id=` — file retrieval.
pub const RETRIEVE_PATH: &str = "/v1/files/retrieve";
/// Largest create body accepted (images may come as data URIs).
const BODY_LIMIT: usize = 32 << 20;

/// The MiniMax simulator.
pub type MiniMaxSim = Sim<MiniMaxWire>;

/// The unit of fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/video_generation`.
    Create,
    /// `GET /v1/query/video_generation`.
    Query,
    /// `GET /v1/files/retrieve`.
    Retrieve,
    /// Downloads of result files.
    Media,
}

impl FaultKey for Endpoint {
    fn stable_id(&self) -> u64 {
        0x4D4D_0000 + *self as u64
    }
}

/// The simulator's own settings.
#[derive(Clone, Debug)]
pub struct MiniMaxSimConfig {
    /// Prompts containing any of these (case-insensitive) are refused at create with 1026.
    pub blocked_words: Vec<String>,
    /// Tasks whose prompt contains any of these run, then end `Fail` with 1027 (the output
    /// failed moderation).
    pub output_blocked_words: Vec<String>,
    /// How long a `download_url` from `files/retrieve` serves its file (spec: about 9 h).
    pub download_ttl: Duration,
}

impl Default for MiniMaxSimConfig {
    fn default() -> Self {
        MiniMaxSimConfig {
            blocked_words: Vec::new(),
            output_blocked_words: Vec::new(),
            download_ttl: Duration::from_secs(9 * 3600),
        }
    }
}

/// What the simulator keeps of a task besides its lifecycle.
#[derive(Clone, Debug)]
pub struct MiniMaxTask {
    /// The accepted request.
    pub request: VideoRequest,
    /// It ends `Fail` with 1027 after running.
    pub sensitive_output: bool,
}

/// The MiniMax wire on the framework.
#[derive(Debug)]
pub struct MiniMaxWire;

type Handle = SimHandle<MiniMaxWire>;

fn invalid(msg: String) -> MiniMaxError {
    MiniMaxError::code(CODE_INVALID_PARAMS, format!("invalid params, {msg}"))
}

fn authenticate(sim: &Handle, req: &Request) -> Result<usize, MiniMaxError> {
    sim.account_for(req).map_err(|e| match e {
        AuthFailure::Missing => MiniMaxError::code(
            CODE_AUTH_FAILED,
            "authentication failed: no Authorization: Bearer header",
        ),
        AuthFailure::Unknown => MiniMaxError::code(CODE_INVALID_KEY, "invalid api key"),
        AuthFailure::Disabled => MiniMaxError::code(
            CODE_AUTH_FAILED,
            "authentication failed: the account is disabled",
        ),
    })
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.trim().is_empty())
}

/// The `file_id` of task `task_id`'s video: a number, as MiniMax's are.
pub fn file_id_of(task_id: &str) -> String {
    let h = task_id.bytes().fold(0xF11E_u64, |h, b| {
        h.wrapping_mul(131).wrapping_add(b as u64)
    });
    (100_000_000_000_000 + h % 900_000_000_000_000).to_string()
}

fn content_seed(task_id: &str) -> u64 {
    task_id
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
}

/// The challenge MiniMax sends first to a task's callback URL.
fn challenge_of(task_id: &str) -> String {
    format!("{:016x}", content_seed(task_id) ^ 0x6368_616c_6c65_6e67)
}

/// What a video costs an account with a balance, in US cents: spec "about $0.28 per 6 s
/// and $0.56 per 10 s at 768P" (*unverified*); 1080P (6 s only) assumed $0.49.
pub fn price_cents(request: &VideoRequest) -> i64 {
    match (request.resolution.as_str(), request.duration) {
        ("1080P", _) => 49,
        (_, 10) => 56,
        _ => 28,
    }
}

/// The output size MiniMax names for a resolution (the served file is a small preview).
fn dimensions(resolution: &str) -> (u32, u32) {
    if resolution == "1080P" {
        (1920, 1080)
    } else {
        (1366, 768)
    }
}

/// MiniMax's status word for `task` in `phase` at `now_ms`.
fn status_word(task: &Record<MiniMaxWire>, phase: Phase, now_ms: i64) -> &'static str {
    match phase {
        Phase::Queued if now_ms < task.created_ms + (task.ready_ms - task.created_ms) / 2 => {
            "Preparing"
        }
        Phase::Queued | Phase::Throttled => "Queueing",
        Phase::Running => "Processing",
        Phase::Succeeded if !task.data.sensitive_output => "Success",
        Phase::Succeeded | Phase::Failed | Phase::Cancelled | Phase::Expired => "Fail",
    }
}

/// `base_resp` of a task's query answer or callback: a moderated output's 1027.
fn task_base_resp(task: &Record<MiniMaxWire>, word: &str) -> Value {
    if word == "Fail" && task.data.sensitive_output {
        json!({"status_code": CODE_SENSITIVE_OUTPUT, "status_msg": "output video sensitive"})
    } else {
        success()
    }
}

fn query_body(task: &Record<MiniMaxWire>, now_ms: i64) -> Value {
    let word = status_word(task, task.phase, now_ms);
    let done = word == "Success";
    let (w, h) = if done {
        dimensions(&task.data.request.resolution)
    } else {
        (0, 0)
    };
    json!({
        "task_id": task.id,
        "status": word,
        "file_id": if done { file_id_of(&task.id) } else { String::new() },
        "video_width": w,
        "video_height": h,
        "base_resp": task_base_resp(task, word),
    })
}

async fn create(State(sim): State<Handle>, req: Request) -> Response {
    let s = sim.clone();
    guarded(&sim, Endpoint::Create, req, async move |req| {
        let account = authenticate(&s, &req)?;
        let body = read_json(req, BODY_LIMIT).await.map_err(|e| match e {
            BodyError::TooLarge(n) => invalid(format!("the body: larger than {n} bytes")),
            BodyError::NotJson(m) => invalid(format!("the body: not JSON ({m})")),
        })?;
        let cfg = &s.config().wire;
        let request = rules::validate_create(&body, &cfg.blocked_words)?;
        if s.standing(account) == AccountStanding::OutOfCredit {
            return Err(MiniMaxError::code(
                CODE_INSUFFICIENT_BALANCE,
                "insufficient balance",
            ));
        }
        let sensitive_output = request.prompt.as_deref().is_some_and(|p| {
            let lower = p.to_lowercase();
            cfg.output_blocked_words
                .iter()
                .any(|w| !w.is_empty() && lower.contains(&w.to_lowercase()))
        });
        let callback_url = request.callback_url.clone();
        let charge = price_cents(&request);
        let task = s
            .create(
                account,
                Endpoint::Create,
                callback_url,
                MiniMaxTask {
                    request,
                    sensitive_output,
                },
                charge,
            )
            .map_err(|refusal| match refusal {
                Refusal::OverLimit(over) => MiniMaxError::code(
                    CODE_RATE_LIMIT,
                    format!(
                        "rate limit: {} tasks in progress, the account's concurrency limit is {}",
                        over.used, over.limit
                    ),
                ),
                Refusal::Insufficient { balance, needed } => MiniMaxError::code(
                    CODE_INSUFFICIENT_BALANCE,
                    format!("insufficient balance: {balance} left, this video costs {needed}"),
                ),
            })?;
        Ok(json_ok(json!({"task_id": task.id, "base_resp": success()})))
    })
    .await
}

async fn query(State(sim): State<Handle>, req: Request) -> Response {
    let s = sim.clone();
    guarded(&sim, Endpoint::Query, req, async move |req| {
        let account = authenticate(&s, &req)?;
        let task_id =
            query_param(&req, "task_id").ok_or_else(|| invalid("task_id: required".into()))?;
        let now = s.now_ms();
        s.with_tasks(|b| {
            b.tasks
                .get_owned(account, &task_id)
                .map(|t| json_ok(query_body(t, now)))
                .ok_or_else(|| invalid(format!("task_id: no task `{task_id}`")))
        })
    })
    .await
}

async fn retrieve(State(sim): State<Handle>, req: Request) -> Response {
    let s = sim.clone();
    guarded(&sim, Endpoint::Retrieve, req, async move |req| {
        let account = authenticate(&s, &req)?;
        let file_id =
            query_param(&req, "file_id").ok_or_else(|| invalid("file_id: required".into()))?;
        let number: u64 = file_id
            .trim()
            .parse()
            .map_err(|_| invalid(format!("file_id: `{file_id}` is not a file id (a number)")))?;
        let now = s.now_ms();
        let found = s.with_tasks(|b| {
            b.tasks
                .iter()
                .find(|t| {
                    t.account == account
                        && file_id_of(&t.id) == file_id.trim()
                        && status_word(t, t.phase, now) == "Success"
                })
                .and_then(|t| {
                    let spec = t.outputs.first()?.spec.clone();
                    Some((t.id.clone(), spec, t.finished_ms.unwrap_or(now)))
                })
        });
        let (task_id, spec, finished_ms) =
            found.ok_or_else(|| invalid(format!("file_id: no file `{file_id}`")))?;
        // spec: the download URL is valid about 9 hours; each retrieval mints a new one.
        let link = s.new_link(spec, content_seed(&task_id), s.config().wire.download_ttl);
        Ok(json_ok(json!({
            "file": {
                "file_id": number,
                "bytes": 0,
                "created_at": finished_ms / 1000,
                "filename": "output.mp4",
                "purpose": "video_generation",
                "download_url": link.url,
            },
            "base_resp": success(),
        })))
    })
    .await
}

impl Wire for MiniMaxWire {
    const NAME: &'static str = "minimax";
    const PROVIDER: &'static str = "minimax";
    const OVER_CONCURRENCY: OverConcurrency = OverConcurrency::Reject;
    const MEDIA_ENDPOINT: Endpoint = Endpoint::Media;
    type Endpoint = Endpoint;
    type Data = MiniMaxTask;
    type Error = MiniMaxError;
    type Config = MiniMaxSimConfig;

    fn routes() -> axum::Router<SimHandle<Self>> {
        axum::Router::new()
            .route(CREATE_PATH, post(create))
            .route(QUERY_PATH, get(query))
            .route(RETRIEVE_PATH, get(retrieve))
    }

    /// A 15-digit number, as MiniMax's task ids are.
    fn task_id(rng: &mut StdRng) -> String {
        rng.random_range(100_000_000_000_000u64..1_000_000_000_000_000)
            .to_string()
    }

    fn outputs(task: &Record<Self>) -> Vec<MediaSpec> {
        vec![MediaSpec::video_for_aspect(
            "16:9",
            u64::from(task.data.request.duration) * 1000,
        )]
    }

    /// spec: the first POST carries `{"challenge":"…"}` (to be echoed, else nothing more
    /// is sent), later ones `{task_id, status, file_id?, base_resp}`. The challenge goes
    /// before the first status callback: when the task starts processing, or when it ends
    /// without ever running.
    fn callbacks(
        task: &Record<Self>,
        phase: Phase,
        at_ms: i64,
        _config: &SimConfig<Self>,
    ) -> Vec<Outgoing> {
        let Some(url) = task.callback_url.clone() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let first = phase == Phase::Running || (phase.is_final() && task.started_ms.is_none());
        if first {
            let challenge = json!({"challenge": challenge_of(&task.id)});
            out.push(Outgoing {
                expect_echo: Some(challenge.clone()),
                ..Outgoing::json(&task.id, &url, challenge)
            });
        }
        if matches!(phase, Phase::Queued | Phase::Throttled) {
            return out;
        }
        let word = status_word(task, phase, at_ms);
        let mut body = json!({
            "task_id": task.id,
            "status": word,
            "base_resp": task_base_resp(task, word),
        });
        if word == "Success" {
            body["file_id"] = json!(file_id_of(&task.id));
        }
        out.push(Outgoing::json(&task.id, &url, body));
        out
    }

    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)> {
        vec![
            ("MINIMAX_BASE_URL", sim.base_url().to_string()),
            ("MINIMAX_API_KEY", sim.api_key().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_numbers_and_stable() {
        let f = file_id_of("106916112212032");
        assert_eq!(f.len(), 15);
        assert!(f.parse::<u64>().is_ok());
        assert_eq!(f, file_id_of("106916112212032"));
        assert_ne!(f, file_id_of("106916112212033"));
    }
}
