//! A simulator of the Echo Video API (the crate docs are its spec), as a new provider's
//! tests need one: wire-compatible, strict (a rule of the doc broken → the doc's error),
//! a clock the test moves, faults of every class of §Errors, real MP4 results.
//!
//! It reuses the shared simulator pieces of `genmux-sim`: the clock, the accept loop that
//! can drop a connection after processing a request, and the media generator.
#![allow(dead_code)] // each test file uses a different part

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use genmux_sim::server::ConnectionKill;
use genmux_sim::SimClock;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The token the simulator accepts.
pub const TOKEN: &str = "echo-sim-token";

/// §Task: queued this long, then running this long.
const QUEUED_MS: i64 = 1_000;
const RUNNING_MS: i64 = 10_000;

/// Which calls a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /v1/videos`.
    Create,
    /// `GET /v1/videos/{id}` and `GET /v1/videos?client_ref=`.
    Read,
}

/// What the simulator does to a call.
#[derive(Clone, Debug, PartialEq)]
pub enum SimFault {
    /// Answer this §Errors status and type without processing.
    Error {
        /// HTTP status.
        status: u16,
        /// `error.type`.
        kind: &'static str,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Process, then close the connection without answering.
    Drop,
    /// Process, then answer after this long.
    Stall(Duration),
}

struct Task {
    id: String,
    client_ref: Option<String>,
    seconds: u32,
    aspect: String,
    created_ms: i64,
}

struct Sim {
    base_url: String,
    clock: SimClock,
    tasks: Mutex<Vec<Task>>,
    faults: Mutex<HashMap<Route, SimFault>>,
}

/// A running Echo simulator on a loopback port.
pub struct EchoSim {
    sim: Arc<Sim>,
    stop: watch::Sender<bool>,
}

impl EchoSim {
    /// Binds a free port and serves.
    pub async fn start() -> EchoSim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let sim = Arc::new(Sim {
            base_url,
            clock: SimClock::manual(),
            tasks: Mutex::new(Vec::new()),
            faults: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/v1/videos", axum::routing::post(create).get(find))
            .route("/v1/videos/{id}", axum::routing::get(get_task))
            .route("/media/{file}", axum::routing::get(media))
            .with_state(sim.clone());
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(genmux_sim::server::serve(listener, app, stop_rx));
        EchoSim { sim, stop }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.sim.base_url
    }

    /// Moves the clock.
    pub fn advance(&self, by: Duration) {
        self.sim.clock.advance(by);
    }

    /// Makes every call of `route` suffer `fault` until [`EchoSim::clear`].
    pub fn set_fault(&self, route: Route, fault: SimFault) {
        self.sim.faults.lock().unwrap().insert(route, fault);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.sim.faults.lock().unwrap().clear();
    }

    /// What a task was billed by the simulator's books (`None`: no such task).
    pub fn credits(&self, id: &str) -> Option<u32> {
        let now = self.sim.clock.now_ms();
        let tasks = self.sim.tasks.lock().unwrap();
        let t = tasks.iter().find(|t| t.id == id)?;
        Some(if status(t, now) == "done" {
            2 * t.seconds
        } else {
            0
        })
    }

    /// How many tasks exist.
    pub fn task_count(&self) -> usize {
        self.sim.tasks.lock().unwrap().len()
    }
}

impl Drop for EchoSim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn status(t: &Task, now: i64) -> &'static str {
    match now - t.created_ms {
        d if d < QUEUED_MS => "queued",
        d if d < QUEUED_MS + RUNNING_MS => "running",
        _ => "done",
    }
}

fn task_json(sim: &Sim, t: &Task) -> Value {
    let st = status(t, sim.clock.now_ms());
    let mut v = json!({"id": t.id, "status": st, "seconds": t.seconds});
    if let Some(r) = &t.client_ref {
        v["client_ref"] = json!(r);
    }
    if st == "done" {
        v["video_url"] = json!(format!("{}/media/{}.mp4", sim.base_url, t.id));
        v["credits_charged"] = json!(2 * t.seconds);
    }
    v
}

fn error(status: u16, kind: &str, message: impl Into<String>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        Json(json!({"error": {"type": kind, "message": message.into()}})),
    )
        .into_response()
}

/// Faults before processing, then auth.
fn before(sim: &Sim, route: Route, headers: &HeaderMap) -> Result<Option<SimFault>, Box<Response>> {
    let fault = sim.faults.lock().unwrap().get(&route).cloned();
    if let Some(SimFault::Error {
        status,
        kind,
        retry_after,
    }) = &fault
    {
        let mut r = error(*status, kind, format!("{kind} (simulated)"));
        if let Some(s) = retry_after {
            r.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&s.to_string()).unwrap(),
            );
        }
        return Err(Box::new(r));
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {TOKEN}") {
        return Err(Box::new(error(401, "auth", "missing or wrong token")));
    }
    Ok(fault)
}

/// Faults after processing: the work is done, the answer lost or late.
async fn after(
    fault: Option<SimFault>,
    kill: Option<ConnectionKill>,
    response: Response,
) -> Response {
    match fault {
        Some(SimFault::Drop) => match kill {
            Some(kill) => {
                kill.trigger();
                std::future::pending::<Response>().await
            }
            None => StatusCode::BAD_GATEWAY.into_response(),
        },
        Some(SimFault::Stall(d)) => {
            tokio::time::sleep(d).await;
            response
        }
        _ => response,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    model: String,
    prompt: String,
    seconds: u32,
    #[serde(default)]
    aspect_ratio: Option<String>,
    #[serde(default)]
    client_ref: Option<String>,
}

async fn create(
    State(sim): State<Arc<Sim>>,
    kill: Option<Extension<ConnectionKill>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = match before(&sim, Route::Create, &headers) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let body: CreateBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(400, "invalid_request", format!("body: {e}")),
    };
    // §Create, rule by rule.
    if body.model != "echo-video-1" {
        return error(
            400,
            "invalid_request",
            format!("model {:?} is unknown (allowed: echo-video-1)", body.model),
        );
    }
    let chars = body.prompt.chars().count();
    if !(1..=2500).contains(&chars) {
        return error(
            400,
            "invalid_request",
            format!("prompt is {chars} characters (allowed: 1 to 2500)"),
        );
    }
    if body.prompt.to_lowercase().contains("forbidden") {
        return error(
            400,
            "content_policy",
            "the prompt breaks the content policy",
        );
    }
    if body.seconds != 5 {
        return error(
            400,
            "invalid_request",
            format!("seconds {} is not allowed (allowed: 5)", body.seconds),
        );
    }
    let aspect = body.aspect_ratio.unwrap_or_else(|| "16:9".into());
    if !matches!(aspect.as_str(), "16:9" | "9:16") {
        return error(
            400,
            "invalid_request",
            format!("aspect_ratio {aspect:?} is not allowed (allowed: 16:9, 9:16)"),
        );
    }
    let response = {
        let mut tasks = sim.tasks.lock().unwrap();
        if let Some(r) = &body.client_ref {
            if r.is_empty() || r.chars().count() > 64 {
                return error(
                    400,
                    "invalid_request",
                    "client_ref must be 1 to 64 characters",
                );
            }
            if tasks.iter().any(|t| t.client_ref.as_ref() == Some(r)) {
                return error(
                    400,
                    "invalid_request",
                    format!("client_ref {r:?} is already used"),
                );
            }
        }
        let task = Task {
            id: format!("echo_{}", tasks.len() + 1),
            client_ref: body.client_ref,
            seconds: body.seconds,
            aspect,
            created_ms: sim.clock.now_ms(),
        };
        let v = task_json(&sim, &task);
        tasks.push(task);
        (StatusCode::CREATED, Json(v)).into_response()
    };
    after(fault, kill.map(|Extension(k)| k), response).await
}

async fn get_task(
    State(sim): State<Arc<Sim>>,
    kill: Option<Extension<ConnectionKill>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let fault = match before(&sim, Route::Read, &headers) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let response = {
        let tasks = sim.tasks.lock().unwrap();
        match tasks.iter().find(|t| t.id == id) {
            Some(t) => Json(task_json(&sim, t)).into_response(),
            None => error(404, "not_found", format!("no task {id:?}")),
        }
    };
    after(fault, kill.map(|Extension(k)| k), response).await
}

async fn find(
    State(sim): State<Arc<Sim>>,
    kill: Option<Extension<ConnectionKill>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let fault = match before(&sim, Route::Read, &headers) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Some(client_ref) = q.get("client_ref") else {
        return error(400, "invalid_request", "client_ref is required");
    };
    let response = {
        let tasks = sim.tasks.lock().unwrap();
        let data: Vec<Value> = tasks
            .iter()
            .filter(|t| t.client_ref.as_ref() == Some(client_ref))
            .map(|t| task_json(&sim, t))
            .collect();
        Json(json!({ "data": data })).into_response()
    };
    after(fault, kill.map(|Extension(k)| k), response).await
}

async fn media(State(sim): State<Arc<Sim>>, Path(file): Path<String>) -> Response {
    let now = sim.clock.now_ms();
    let tasks = sim.tasks.lock().unwrap();
    let found = file
        .strip_suffix(".mp4")
        .and_then(|id| tasks.iter().find(|t| t.id == id))
        .filter(|t| status(t, now) == "done");
    match found {
        Some(t) => {
            let (w, h) = genmux_sim::media::size_for_aspect(&t.aspect);
            let seed = t.created_ms as u64;
            let bytes = genmux_sim::media::mp4(w, h, u64::from(t.seconds) * 1000, seed);
            ([("content-type", "video/mp4")], bytes).into_response()
        }
        None => error(404, "not_found", format!("no video {file:?}")),
    }
}
