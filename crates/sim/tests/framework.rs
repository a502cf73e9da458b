//! The simulator framework through a minimal wire defined here: a provider with a create,
//! a query, a cancel, a challenge-first callback and throttling — the framework's parts
//! (lifecycle, concurrency, faults in the provider's shape, expiring media, callbacks)
//! seen over real HTTP.

use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use genmux_sim::fault::{FaultKey, FaultPlan};
use genmux_sim::framework::{
    guarded, json_ok, read_json, AuthFailure, CancelOutcome, InjectedFault, MediaSpec, Outgoing,
    OverConcurrency, Phase, Record, Sim, SimConfig, SimHandle, Wire, WireError,
};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Ep {
    Create,
    Query,
    Media,
}

impl FaultKey for Ep {
    fn stable_id(&self) -> u64 {
        *self as u64 + 9000
    }
}

struct Probe;

struct ProbeError(u16, String);

impl IntoResponse for ProbeError {
    fn into_response(self) -> Response {
        (
            http::StatusCode::from_u16(self.0).unwrap(),
            axum::Json(json!({"problem": self.1})),
        )
            .into_response()
    }
}

impl WireError for ProbeError {
    fn from_fault(fault: InjectedFault) -> Self {
        ProbeError(fault.status, "injected".into())
    }
}

fn auth(sim: &SimHandle<Probe>, req: &Request) -> Result<usize, ProbeError> {
    sim.account_for(req).map_err(|e| match e {
        AuthFailure::Missing | AuthFailure::Unknown => ProbeError(401, "bad key".into()),
        AuthFailure::Disabled => ProbeError(403, "disabled".into()),
    })
}

fn status_word(p: Phase) -> &'static str {
    match p {
        Phase::Queued => "queued",
        Phase::Throttled => "throttled",
        Phase::Running => "running",
        Phase::Succeeded => "done",
        Phase::Failed => "failed",
        Phase::Cancelled => "cancelled",
        Phase::Expired => "expired",
    }
}

fn body_of(t: &Record<Probe>, phase: Phase) -> Value {
    json!({
        "id": t.id,
        "status": status_word(phase),
        "urls": t.outputs.iter().map(|o| o.url.clone()).collect::<Vec<_>>(),
    })
}

impl Wire for Probe {
    const NAME: &'static str = "probe";
    const PROVIDER: &'static str = "probe";
    const OVER_CONCURRENCY: OverConcurrency = OverConcurrency::Throttle;
    const MEDIA_ENDPOINT: Ep = Ep::Media;
    type Endpoint = Ep;
    type Data = String;
    type Error = ProbeError;
    type Config = ();

    fn routes() -> axum::Router<SimHandle<Self>> {
        axum::Router::new()
            .route(
                "/tasks",
                post(|State(sim): State<SimHandle<Probe>>, req: Request| async move {
                    let s = sim.clone();
                    guarded(&sim, Ep::Create, req, async move |req| {
                        let account = auth(&s, &req)?;
                        let body = read_json(req, 1 << 20)
                            .await
                            .map_err(|e| ProbeError(400, format!("{e:?}")))?;
                        let prompt = body["prompt"]
                            .as_str()
                            .ok_or_else(|| ProbeError(400, "prompt must be a string".into()))?;
                        let cb = body["callback"].as_str().map(str::to_string);
                        let t = s
                            .create(account, Ep::Create, cb, prompt.to_string(), 0)
                            .map_err(|e| ProbeError(429, format!("{e:?}")))?;
                        Ok(json_ok(json!({"id": t.id})))
                    })
                    .await
                }),
            )
            .route(
                "/tasks/{id}",
                get(
                    |State(sim): State<SimHandle<Probe>>, Path(id): Path<String>, req: Request| async move {
                        let s = sim.clone();
                        guarded(&sim, Ep::Query, req, async move |req| {
                            let account = auth(&s, &req)?;
                            s.with_tasks(|b| {
                                b.tasks
                                    .get_owned(account, &id)
                                    .map(|t| json_ok(body_of(t, t.phase)))
                                    .ok_or_else(|| ProbeError(404, format!("no task {id}")))
                            })
                        })
                        .await
                    },
                )
                .delete(
                    |State(sim): State<SimHandle<Probe>>, Path(id): Path<String>, req: Request| async move {
                        let s = sim.clone();
                        guarded(&sim, Ep::Query, req, async move |req| {
                            let account = auth(&s, &req)?;
                            match s.cancel(account, &id) {
                                CancelOutcome::Cancelled => Ok(http::StatusCode::NO_CONTENT.into_response()),
                                CancelOutcome::AlreadyFinal(p) => Err(ProbeError(409, status_word(p).into())),
                                CancelOutcome::NotFound => Err(ProbeError(404, id)),
                            }
                        })
                        .await
                    },
                ),
            )
    }

    fn outputs(task: &Record<Self>) -> Vec<MediaSpec> {
        vec![MediaSpec::video_for_aspect(
            "16:9",
            5000 + task.data.len() as u64,
        )]
    }

    fn callbacks(
        task: &Record<Self>,
        phase: Phase,
        _at_ms: i64,
        _config: &SimConfig<Self>,
    ) -> Vec<Outgoing> {
        let url = task.callback_url.clone().unwrap_or_default();
        let mut out = Vec::new();
        if phase == Phase::Running {
            let challenge = json!({"challenge": format!("c-{}", task.id)});
            out.push(Outgoing {
                expect_echo: Some(challenge.clone()),
                ..Outgoing::json(&task.id, &url, challenge)
            });
        }
        if phase.is_final() {
            out.push(Outgoing::json(&task.id, &url, body_of(task, phase)));
        }
        out
    }

    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)> {
        vec![("PROBE_BASE_URL", sim.base_url().to_string())]
    }
}

async fn start(concurrency: u32) -> Sim<Probe> {
    Sim::<Probe>::start(SimConfig::default().with_settings(|s| {
        s.with_concurrency(concurrency)
            .with_timings(Duration::from_secs(1), Duration::from_secs(10))
            .with_media_ttl(Duration::from_secs(3600))
    }))
    .await
    .unwrap()
}

async fn create(http: &reqwest::Client, sim: &Sim<Probe>, body: Value) -> reqwest::Response {
    http.post(format!("{}/tasks", sim.base_url()))
        .bearer_auth(sim.api_key())
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn status(http: &reqwest::Client, sim: &Sim<Probe>, id: &str) -> Value {
    http.get(format!("{}/tasks/{id}", sim.base_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn tasks_throttle_finish_serve_media_that_expires_and_cancel() {
    let sim = start(1).await;
    let http = reqwest::Client::new();
    let a: Value = create(&http, &sim, json!({"prompt": "a"}))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = create(&http, &sim, json!({"prompt": "bb"}))
        .await
        .json()
        .await
        .unwrap();
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    sim.advance(Duration::from_secs(2)).await;
    assert_eq!(status(&http, &sim, a).await["status"], "running");
    assert_eq!(status(&http, &sim, b).await["status"], "throttled");
    sim.advance(Duration::from_secs(10)).await;
    let done = status(&http, &sim, a).await;
    assert_eq!(done["status"], "done");
    assert_eq!(status(&http, &sim, b).await["status"], "running");
    // The file is a real MP4, until its link expires.
    let url = done["urls"][0].as_str().unwrap().to_string();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[4..8], b"ftyp");
    sim.advance(Duration::from_secs(3600)).await;
    assert_eq!(http.get(&url).send().await.unwrap().status(), 403);
    // A finished task cannot be cancelled; a running one can, and frees its slot.
    let c: Value = create(&http, &sim, json!({"prompt": "c"}))
        .await
        .json()
        .await
        .unwrap();
    let c = c["id"].as_str().unwrap();
    let del = |id: String| {
        let http = http.clone();
        let url = format!("{}/tasks/{id}", sim.base_url());
        let key = sim.api_key().to_string();
        async move {
            http.delete(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(del(b.to_string()).await, 409);
    sim.advance(Duration::from_secs(2)).await;
    assert_eq!(status(&http, &sim, c).await["status"], "running");
    assert_eq!(del(c.to_string()).await, 204);
    assert_eq!(status(&http, &sim, c).await["status"], "cancelled");
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_answer_in_the_providers_shape_and_a_dropped_create_still_creates() {
    let sim = start(10).await;
    let http = reqwest::Client::new();
    sim.set_faults(
        Ep::Create,
        FaultPlan {
            rate_limit: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let r = create(&http, &sim, json!({"prompt": "a"})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.json::<Value>().await.unwrap()["problem"], "injected");
    assert!(sim.tasks().is_empty());
    sim.set_faults(
        Ep::Create,
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let r = http
        .post(format!("{}/tasks", sim.base_url()))
        .bearer_auth(sim.api_key())
        .json(&json!({"prompt": "a"}))
        .send()
        .await;
    assert!(r.is_err(), "the connection is closed without an answer");
    assert_eq!(sim.tasks().len(), 1, "the work happened");
    // Bad keys are refused in the provider's shape.
    sim.set_all_faults(FaultPlan::none()).unwrap();
    let r = http
        .post(format!("{}/tasks", sim.base_url()))
        .bearer_auth("nope")
        .json(&json!({"prompt": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_callback_url_that_fails_its_challenge_gets_nothing_more() {
    use axum::Json;
    let sim = start(10).await;
    // One receiver echoes challenges, the other answers `{}`.
    let app = axum::Router::new()
        .route("/good", post(|Json(v): Json<Value>| async move { Json(v) }))
        .route("/bad", post(|| async { Json(json!({})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    for path in ["good", "bad"] {
        let r = create(
            &http,
            &sim,
            json!({"prompt": path, "callback": format!("http://{addr}/{path}")}),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    sim.advance(Duration::from_secs(20)).await;
    let cbs = sim.callbacks();
    let good: Vec<_> = cbs.iter().filter(|c| c.url.ends_with("/good")).collect();
    let bad: Vec<_> = cbs.iter().filter(|c| c.url.ends_with("/bad")).collect();
    assert_eq!(good.len(), 2);
    assert!(good
        .iter()
        .all(|c| c.response_status == Some(200) && !c.skipped));
    assert_eq!(good[1].body["status"], "done");
    assert_eq!(bad.len(), 2);
    assert!(!bad[0].skipped && bad[1].skipped, "{bad:?}");
    assert_eq!(bad[1].response_status, None);
    sim.shutdown().await;
}
