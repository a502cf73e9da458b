//! The Seedance simulator over real HTTP, held to `spec/upstreams.md` ("Seedance — BytePlus
//! ModelArk"): each rule of the create body refused with Ark's code at its status, Bearer
//! keys, statuses in Ark's order on the simulated clock, tokens by the spec's formula,
//! video URLs that expire after 24 h, tasks kept 7 days, unsigned callbacks of the query
//! body (retried up to 3 times), per-account concurrency and seeded faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::{AccountStanding, SimAccount, SimSettings};
use genmux_sim::seedance::{SeedanceEndpoint, SeedanceSim, SeedanceSimConfig};
use serde_json::{json, Value};

const MODEL: &str = "seedance-1-5-pro-251215";
const QUEUE: Duration = Duration::from_secs(2);
const RENDER: Duration = Duration::from_secs(30);

fn timed(s: SimSettings<SeedanceEndpoint>) -> SimSettings<SeedanceEndpoint> {
    s.with_timings(QUEUE, RENDER)
}

async fn start() -> SeedanceSim {
    SeedanceSim::start_seedance(SeedanceSimConfig::default(), timed)
        .await
        .unwrap()
}

struct Ark<'a> {
    sim: &'a SeedanceSim,
    http: reqwest::Client,
}

impl<'a> Ark<'a> {
    fn new(sim: &'a SeedanceSim) -> Self {
        Ark {
            sim,
            http: reqwest::Client::new(),
        }
    }

    fn tasks_url(&self) -> String {
        format!("{}/contents/generations/tasks", self.sim.ark_base_url())
    }

    async fn create_raw(&self, body: &str, key: Option<&str>) -> (u16, Value, HeaderMap) {
        let mut rb = self
            .http
            .post(self.tasks_url())
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    }

    async fn create(&self, body: &Value) -> (u16, Value) {
        let (s, v, _) = self
            .create_raw(&body.to_string(), Some(self.sim.api_key()))
            .await;
        (s, v)
    }

    async fn create_ok(&self, body: &Value) -> String {
        let (s, v) = self.create(body).await;
        assert_eq!(s, 200, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("cgt-"), "{id}");
        id
    }

    async fn query_as(&self, id: &str, key: Option<&str>) -> (u16, Value) {
        let mut rb = self.http.get(format!("{}/{id}", self.tasks_url()));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        let r = rb.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn query(&self, id: &str) -> Value {
        let (s, v) = self.query_as(id, Some(self.sim.api_key())).await;
        assert_eq!(s, 200, "{v}");
        v
    }
}

fn t2v() -> Value {
    json!({"model": MODEL, "content": [{"type": "text", "text": "a lighthouse in the fog"}],
        "resolution": "720p", "ratio": "16:9", "duration": 8, "generate_audio": false,
        "watermark": false})
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn code_of(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

fn png_data_uri() -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(genmux_sim::media::png(8, 8, 1))
    )
}

#[tokio::test]
async fn every_rule_of_the_spec_is_refused_with_arks_code() {
    let sim = start().await;
    let ark = Ark::new(&sim);
    let text = json!({"type": "text", "text": "a fox"});
    let img = |url: &str, role: Option<&str>| {
        let mut v = json!({"type": "image_url", "image_url": {"url": url}});
        if let Some(r) = role {
            v["role"] = json!(r);
        }
        v
    };
    let first = img("https://img.test/a.png", Some("first_frame"));
    let last = img("https://img.test/b.png", Some("last_frame"));
    let content = |items: Vec<Value>| with(t2v(), "content", Value::Array(items));
    // (what, body, status, code, the message names)
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            "no model",
            json!({"content": [text.clone()]}),
            400,
            "MissingParameter",
            "`model`",
        ),
        (
            "model as a number",
            with(t2v(), "model", json!(15)),
            400,
            "InvalidParameter",
            "`model`",
        ),
        (
            "unknown model",
            with(t2v(), "model", json!("seedance-9")),
            404,
            "ModelNotFound",
            "seedance-9",
        ),
        (
            "Volcengine's id on BytePlus",
            with(t2v(), "model", json!("doubao-seedance-1-5-pro-251215")),
            404,
            "ModelNotFound",
            "doubao",
        ),
        (
            "unknown endpoint",
            with(t2v(), "model", json!("ep-20261206-x")),
            404,
            "InvalidEndpoint.NotFound",
            "ep-20261206-x",
        ),
        (
            "2.0 not activated",
            with(t2v(), "model", json!("dreamina-seedance-2-0-260128")),
            403,
            "ModelNotOpen",
            "dreamina",
        ),
        (
            "no content",
            json!({"model": MODEL}),
            400,
            "MissingParameter",
            "`content`",
        ),
        (
            "content not an array",
            with(t2v(), "content", json!("a fox")),
            400,
            "InvalidParameter",
            "`content`",
        ),
        (
            "empty content",
            content(vec![]),
            400,
            "InvalidParameter",
            "`content`",
        ),
        (
            "item not an object",
            content(vec![json!("a fox")]),
            400,
            "InvalidParameter",
            "`content[0]`",
        ),
        (
            "text without text",
            content(vec![json!({"type": "text"})]),
            400,
            "MissingParameter",
            "`content[0].text`",
        ),
        (
            "text not a string",
            content(vec![json!({"type": "text", "text": 5})]),
            400,
            "InvalidParameter",
            "`content[0].text`",
        ),
        (
            "two texts",
            content(vec![text.clone(), text.clone()]),
            400,
            "InvalidParameter",
            "`content[1]`",
        ),
        (
            "unknown item type",
            content(vec![json!({"type": "sticker"})]),
            400,
            "InvalidParameter",
            "`content[0].type`",
        ),
        (
            "unknown item field",
            content(vec![json!({"type": "text", "text": "x", "lang": "en"})]),
            400,
            "InvalidParameter",
            "`content[0].lang`",
        ),
        (
            "image without image_url",
            content(vec![text.clone(), json!({"type": "image_url"})]),
            400,
            "MissingParameter",
            "`content[1].image_url`",
        ),
        (
            "image url not http",
            content(vec![text.clone(), img("ftp://img.test/a.png", None)]),
            400,
            "InvalidParameter",
            "`content[1].image_url.url`",
        ),
        (
            "data URI not an image",
            content(vec![text.clone(), img("data:text/plain;base64,aGk=", None)]),
            400,
            "InvalidParameter",
            "`content[1].image_url.url`",
        ),
        (
            "unknown role",
            content(vec![
                text.clone(),
                img("https://img.test/a.png", Some("middle_frame")),
            ]),
            400,
            "InvalidParameter",
            "`content[1].role`",
        ),
        (
            "reference image on 1.5 Pro",
            content(vec![
                text.clone(),
                img("https://img.test/a.png", Some("reference_image")),
            ]),
            400,
            "InvalidParameter",
            "`content[1].role`",
        ),
        (
            "video reference on 1.5 Pro",
            content(vec![
                text.clone(),
                json!({"type": "video_url", "video_url": {"url": "https://v.test/a.mp4"}}),
            ]),
            400,
            "InvalidParameter",
            "`content[1].type`",
        ),
        (
            "audio reference on 1.5 Pro",
            content(vec![
                text.clone(),
                json!({"type": "audio_url", "audio_url": {"url": "https://v.test/a.mp3"}}),
            ]),
            400,
            "InvalidParameter",
            "`content[1].type`",
        ),
        (
            "three frames",
            content(vec![
                text.clone(),
                first.clone(),
                last.clone(),
                img("https://img.test/c.png", None),
            ]),
            400,
            "InvalidParameter",
            "`content`",
        ),
        (
            "a last frame alone",
            content(vec![text.clone(), last.clone()]),
            400,
            "InvalidParameter",
            "`content`",
        ),
        (
            "two first frames",
            content(vec![text.clone(), first.clone(), first.clone()]),
            400,
            "InvalidParameter",
            "`content`",
        ),
        (
            "two frames without roles",
            content(vec![
                text.clone(),
                img("https://img.test/a.png", None),
                img("https://img.test/b.png", None),
            ]),
            400,
            "InvalidParameter",
            "`content`",
        ),
        (
            "resolution 4k",
            with(t2v(), "resolution", json!("4k")),
            400,
            "InvalidParameter",
            "`resolution`",
        ),
        (
            "resolution as a number",
            with(t2v(), "resolution", json!(720)),
            400,
            "InvalidParameter",
            "`resolution`",
        ),
        (
            "ratio 2:3",
            with(t2v(), "ratio", json!("2:3")),
            400,
            "InvalidParameter",
            "`ratio`",
        ),
        (
            "duration 3",
            with(t2v(), "duration", json!(3)),
            400,
            "InvalidParameter",
            "`duration`",
        ),
        (
            "duration 13",
            with(t2v(), "duration", json!(13)),
            400,
            "InvalidParameter",
            "`duration`",
        ),
        (
            "duration -2",
            with(t2v(), "duration", json!(-2)),
            400,
            "InvalidParameter",
            "`duration`",
        ),
        (
            "duration 0",
            with(t2v(), "duration", json!(0)),
            400,
            "InvalidParameter",
            "`duration`",
        ),
        (
            "duration as a string",
            with(t2v(), "duration", json!("8")),
            400,
            "InvalidParameter",
            "`duration`",
        ),
        (
            "duration 8.5",
            with(t2v(), "duration", json!(8.5)),
            400,
            "InvalidParameter",
            "`duration`",
        ),
        (
            "seed 2^32",
            with(t2v(), "seed", json!(4_294_967_296u64)),
            400,
            "InvalidParameter",
            "`seed`",
        ),
        (
            "seed -2",
            with(t2v(), "seed", json!(-2)),
            400,
            "InvalidParameter",
            "`seed`",
        ),
        (
            "seed as a string",
            with(t2v(), "seed", json!("7")),
            400,
            "InvalidParameter",
            "`seed`",
        ),
        (
            "camera_fixed as a string",
            with(t2v(), "camera_fixed", json!("true")),
            400,
            "InvalidParameter",
            "`camera_fixed`",
        ),
        (
            "watermark as a number",
            with(t2v(), "watermark", json!(0)),
            400,
            "InvalidParameter",
            "`watermark`",
        ),
        (
            "generate_audio as a string",
            with(t2v(), "generate_audio", json!("no")),
            400,
            "InvalidParameter",
            "`generate_audio`",
        ),
        (
            "return_last_frame as a number",
            with(t2v(), "return_last_frame", json!(1)),
            400,
            "InvalidParameter",
            "`return_last_frame`",
        ),
        (
            "service_tier fast",
            with(t2v(), "service_tier", json!("fast")),
            400,
            "InvalidParameter",
            "`service_tier`",
        ),
        (
            "execution_expires_after 0",
            with(t2v(), "execution_expires_after", json!(0)),
            400,
            "InvalidParameter",
            "`execution_expires_after`",
        ),
        (
            "execution_expires_after as a string",
            with(t2v(), "execution_expires_after", json!("3600")),
            400,
            "InvalidParameter",
            "`execution_expires_after`",
        ),
        (
            "callback_url not a URL",
            with(t2v(), "callback_url", json!("hook")),
            400,
            "InvalidParameter",
            "`callback_url`",
        ),
        (
            "callback_url as a number",
            with(t2v(), "callback_url", json!(5)),
            400,
            "InvalidParameter",
            "`callback_url`",
        ),
        (
            "a field the spec does not name",
            with(t2v(), "frames", json!(121)),
            400,
            "InvalidParameter",
            "`frames`",
        ),
        (
            "body not an object",
            json!([t2v()]),
            400,
            "InvalidParameter",
            "`body`",
        ),
        (
            "sensitive prompt",
            content(vec![
                json!({"type": "text", "text": "a sim-sensitive-text scene"}),
            ]),
            400,
            "InputTextSensitiveContentDetected",
            "",
        ),
        (
            "sensitive image",
            content(vec![
                text.clone(),
                img("https://img.test/sim-sensitive-image.png", None),
            ]),
            400,
            "InputImageSensitiveContentDetected",
            "",
        ),
    ];
    for (what, body, status, code, names) in cases {
        let (s, v) = ark.create(&body).await;
        assert_eq!((s, code_of(&v)), (status, code), "{what}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(names),
            "{what}: the message should name {names}: {message}"
        );
    }
    let (s, v, _) = ark.create_raw("{not json", Some(sim.api_key())).await;
    assert_eq!((s, code_of(&v)), (400, "InvalidParameter"), "{v}");
    assert!(sim.tasks().is_empty(), "no refused body made a task");

    // What the spec allows passes: each duration bound and −1, each seed bound, every
    // ratio and resolution, a frame by data URI, first + last frames, nulls for options.
    let ok = [
        with(t2v(), "duration", json!(4)),
        with(t2v(), "duration", json!(12)),
        with(t2v(), "duration", json!(-1)),
        with(t2v(), "seed", json!(-1)),
        with(t2v(), "seed", json!(4_294_967_295u64)),
        with(t2v(), "ratio", json!("adaptive")),
        with(t2v(), "ratio", json!("21:9")),
        with(t2v(), "resolution", json!("1080p")),
        with(t2v(), "service_tier", json!("flex")),
        with(t2v(), "camera_fixed", Value::Null),
        content(vec![img(&png_data_uri(), None)]),
        content(vec![text.clone(), first.clone(), last.clone()]),
        content(vec![text.clone(), last.clone(), first.clone()]),
    ];
    for body in ok {
        ark.create_ok(&body).await;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn keys_are_bearer_and_tasks_belong_to_their_account() {
    let sim = SeedanceSim::start_seedance(SeedanceSimConfig::default(), |s| {
        timed(s).with_accounts(vec![
            SimAccount::new("ark-a"),
            SimAccount::new("ark-b"),
            SimAccount::new("ark-off").with_standing(AccountStanding::Disabled),
            SimAccount::new("ark-broke").with_standing(AccountStanding::OutOfCredit),
        ])
    })
    .await
    .unwrap();
    let ark = Ark::new(&sim);
    let body = t2v().to_string();
    for (key, status, code) in [
        (None, 401, "AuthenticationError"),
        (Some("ark-nobody"), 401, "AuthenticationError"),
        (Some("ark-off"), 403, "AccessDenied"),
        (Some("ark-broke"), 429, "QuotaExceeded"),
    ] {
        let (s, v, _) = ark.create_raw(&body, key).await;
        assert_eq!((s, code_of(&v)), (status, code), "{key:?}: {v}");
    }
    let (s, v, _) = ark.create_raw(&body, Some("ark-a")).await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_str().unwrap();
    assert_eq!(ark.query_as(id, Some("ark-a")).await.0, 200);
    let (s, v) = ark.query_as(id, Some("ark-b")).await;
    assert_eq!((s, code_of(&v)), (404, "ResourceNotFound"), "{v}");
    let (s, v) = ark.query_as(id, None).await;
    assert_eq!((s, code_of(&v)), (401, "AuthenticationError"), "{v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_task_walks_arks_statuses_bills_tokens_and_its_video_expires() {
    let sim = start().await;
    let ark = Ark::new(&sim);
    let id = ark.create_ok(&t2v()).await;
    let q = ark.query(&id).await;
    assert_eq!(q["status"], "queued");
    assert_eq!(q["error"], Value::Null);
    assert!(
        q.get("content").is_none() && q.get("usage").is_none(),
        "{q}"
    );
    sim.advance(QUEUE).await;
    assert_eq!(ark.query(&id).await["status"], "running");
    sim.advance(RENDER).await;
    let done = ark.query(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["id"], json!(id));
    assert_eq!(done["model"], MODEL);
    assert_eq!(
        (
            done["resolution"].clone(),
            done["ratio"].clone(),
            done["duration"].clone()
        ),
        (json!("720p"), json!("16:9"), json!(8))
    );
    assert_eq!(done["framespersecond"], 24);
    assert_eq!(done["generate_audio"], false);
    assert!(done["seed"].is_i64(), "{done}");
    assert!(done["created_at"].as_i64().unwrap() < done["updated_at"].as_i64().unwrap());
    // spec "Billing": 1280 × 720 × 24 × 8 / 1024.
    assert_eq!(done["usage"]["completion_tokens"], 172_800);
    assert_eq!(sim.billed_tokens(&id), Some(172_800));
    let url = done["content"]["video_url"].as_str().unwrap().to_string();
    let r = ark.http.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[4..8], b"ftyp");
    // spec: "video_url expires after 24 h".
    sim.advance(Duration::from_secs(23 * 3600)).await;
    assert_eq!(ark.http.get(&url).send().await.unwrap().status(), 200);
    sim.advance(Duration::from_secs(3600 + 1)).await;
    assert_eq!(ark.http.get(&url).send().await.unwrap().status(), 403);
    // spec: "task ids are kept 7 days".
    assert_eq!(ark.query(&id).await["status"], "succeeded");
    sim.advance(Duration::from_secs(6 * 24 * 3600)).await;
    let (s, v) = ark.query_as(&id, Some(sim.api_key())).await;
    assert_eq!((s, code_of(&v)), (404, "ResourceNotFound"), "{v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn arks_defaults_and_the_models_own_choices() {
    let sim = start().await;
    let ark = Ark::new(&sim);
    // Nothing but the prompt: 720p, 16:9, 5 s and — unless told otherwise — sound.
    let bare = ark
        .create_ok(
            &json!({"model": MODEL, "content": [{"type": "text", "text": "rain on a window"}]}),
        )
        .await;
    // −1: the model picks a length within 4–12; the tokens follow it.
    let auto = ark.create_ok(&with(t2v(), "duration", json!(-1))).await;
    // A first frame with `adaptive`, last frame asked for.
    let framed = ark
        .create_ok(&json!({"model": MODEL, "content": [
            {"type": "image_url", "image_url": {"url": "https://img.test/a.png"}}],
            "return_last_frame": true, "resolution": "480p", "duration": 4}))
        .await;
    sim.advance(QUEUE + RENDER).await;
    let b = ark.query(&bare).await;
    assert_eq!(
        (
            b["resolution"].clone(),
            b["ratio"].clone(),
            b["duration"].clone(),
            b["generate_audio"].clone()
        ),
        (json!("720p"), json!("16:9"), json!(5), json!(true))
    );
    assert_eq!(b["usage"]["completion_tokens"], 21_600 * 5);
    let a = ark.query(&auto).await;
    let secs = a["duration"].as_i64().unwrap();
    assert!((4..=12).contains(&secs), "{a}");
    assert_eq!(a["usage"]["completion_tokens"], json!(21_600 * secs));
    let f = ark.query(&framed).await;
    assert_eq!(f["ratio"], "16:9");
    // 480p: 864 × 480 × 24 × 4 / 1024.
    assert_eq!(f["usage"]["completion_tokens"], 38_880);
    let frame = f["content"]["last_frame_url"].as_str().unwrap();
    let png = ark
        .http
        .get(frame)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&png[1..4], b"PNG");
    sim.shutdown().await;
}

/// A callback receiver answering `status` to every POST.
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn receiver(status: u16) -> Receiver {
    let hits: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let h = h.clone();
            async move {
                h.lock()
                    .unwrap()
                    .push((headers, serde_json::from_slice(&body).unwrap()));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/cb"),
        hits,
    }
}

#[tokio::test]
async fn callbacks_post_the_query_body_on_each_change_unsigned_and_retried() {
    let sim = start().await;
    let ark = Ark::new(&sim);
    let ok = receiver(200).await;
    let id = ark
        .create_ok(&with(t2v(), "callback_url", json!(ok.url)))
        .await;
    sim.advance(QUEUE).await;
    sim.advance(RENDER).await;
    let hits = ok.hits.lock().unwrap().clone();
    let statuses: Vec<_> = hits.iter().map(|(_, b)| b["status"].clone()).collect();
    assert_eq!(statuses, [json!("running"), json!("succeeded")]);
    // The last one is the query body, word for word.
    assert_eq!(hits[1].1, ark.query(&id).await);
    for (headers, _) in &hits {
        assert!(
            !headers.keys().any(|k| k.as_str().contains("signature")),
            "Ark signs nothing: {headers:?}"
        );
    }
    // A receiver that fails is tried 4 times per change (1 + 3 retries).
    let failing = receiver(500).await;
    let id = ark
        .create_ok(&with(t2v(), "callback_url", json!(failing.url)))
        .await;
    sim.advance(QUEUE).await;
    let attempts: Vec<_> = sim
        .callbacks()
        .into_iter()
        .filter(|c| c.task_id == id)
        .collect();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    assert!(attempts.iter().all(|a| a.response_status == Some(500)));
    assert_eq!(failing.hits.lock().unwrap().len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_account_over_its_concurrency_gets_arks_429() {
    let sim = SeedanceSim::start_seedance(SeedanceSimConfig::default(), |s| {
        timed(s).with_concurrency(2)
    })
    .await
    .unwrap();
    let ark = Ark::new(&sim);
    ark.create_ok(&t2v()).await;
    ark.create_ok(&t2v()).await;
    let (s, v) = ark.create(&t2v()).await;
    assert_eq!(
        (s, code_of(&v)),
        (429, "RateLimitExceeded.EndpointRPMExceeded"),
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2 of its 2"));
    assert_eq!(sim.tasks().len(), 2);
    sim.advance(QUEUE + RENDER).await;
    ark.create_ok(&t2v()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn seeded_faults_and_failed_and_expired_tasks_in_arks_shape() {
    let sim = start().await;
    let ark = Ark::new(&sim);
    // A rate limit with its Retry-After, before any processing.
    sim.set_faults(
        SeedanceEndpoint::Create,
        FaultPlan {
            rate_limit: 1.0,
            retry_after: Duration::from_secs(4),
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let (s, v, h) = ark
        .create_raw(&t2v().to_string(), Some(sim.api_key()))
        .await;
    assert_eq!(
        (s, code_of(&v)),
        (429, "RateLimitExceeded.EndpointRPMExceeded")
    );
    assert_eq!(h["retry-after"], "4");
    // Every class of the framework's fault codes as Ark answers it.
    for (code, status, ark_code) in [
        (1004, 401, "AuthenticationError"),
        (1102, 429, "QuotaExceeded"),
        (1103, 403, "ModelNotOpen"),
        (1201, 400, "InvalidParameter"),
        (1203, 404, "ModelNotFound"),
        (1304, 403, "AccessDenied"),
        (1301, 400, "InputTextSensitiveContentDetected"),
        (5000, 500, "InternalServiceError"),
        (5001, 429, "ServerOverloaded"),
    ] {
        sim.set_faults(
            SeedanceEndpoint::Create,
            FaultPlan {
                error: 1.0,
                error_code: code,
                ..FaultPlan::none()
            },
        )
        .unwrap();
        let (s, v) = ark.create(&t2v()).await;
        assert_eq!((s, code_of(&v)), (status, ark_code), "{v}");
    }
    assert!(sim.tasks().is_empty());
    // A dropped connection after the create: the task exists.
    sim.set_faults(
        SeedanceEndpoint::Create,
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let r = ark
        .http
        .post(ark.tasks_url())
        .bearer_auth(sim.api_key())
        .json(&t2v())
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(sim.tasks().len(), 1);
    sim.set_all_faults(FaultPlan::none()).unwrap();
    // Queries suffer faults too; a gateway's 504 carries no Ark code.
    sim.set_faults(
        SeedanceEndpoint::Query,
        FaultPlan {
            error: 1.0,
            error_code: 5002,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let id = sim.tasks()[0].id.clone();
    let r = ark
        .http
        .get(format!("{}/{id}", ark.tasks_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(r.text().await.unwrap(), "upstream request timeout");
    sim.set_all_faults(FaultPlan::none()).unwrap();
    // Output moderation fails the task after it ran.
    let refused = ark
        .create_ok(&with(
            t2v(),
            "content",
            json!([{"type": "text", "text": "a sim-sensitive-output scene"}]),
        ))
        .await;
    // A deadline shorter than the work expires it.
    let late = ark
        .create_ok(&with(t2v(), "execution_expires_after", json!(10)))
        .await;
    sim.advance(QUEUE + RENDER).await;
    let r = ark.query(&refused).await;
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], "OutputVideoSensitiveContentDetected");
    assert!(
        r.get("usage").is_none() && r.get("content").is_none(),
        "{r}"
    );
    let l = ark.query(&late).await;
    assert_eq!(l["status"], "expired", "{l}");
    sim.shutdown().await;
    // Drawn failures and expiries.
    for (rate_fail, rate_expire, want) in [(1.0, 0.0, "failed"), (0.0, 1.0, "expired")] {
        let sim = SeedanceSim::start_seedance(SeedanceSimConfig::default(), |s| {
            timed(s)
                .with_failure_rate(rate_fail)
                .with_expiry_rate(rate_expire)
        })
        .await
        .unwrap();
        let ark = Ark::new(&sim);
        let id = ark.create_ok(&t2v()).await;
        sim.advance(QUEUE + RENDER + RENDER).await;
        let q = ark.query(&id).await;
        assert_eq!(q["status"], want, "{q}");
        if want == "failed" {
            assert_eq!(q["error"]["code"], "InternalServiceError");
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn an_opened_2_0_model_takes_references() {
    let sim = SeedanceSim::start_seedance(
        SeedanceSimConfig {
            open_models: vec![MODEL.into(), "dreamina-seedance-2-0-fast-260128".into()],
            ..Default::default()
        },
        timed,
    )
    .await
    .unwrap();
    let ark = Ark::new(&sim);
    ark.create_ok(&json!({"model": "dreamina-seedance-2-0-fast-260128", "content": [
        {"type": "text", "text": "the dancer from the clip"},
        {"type": "image_url", "image_url": {"url": "https://img.test/a.png"}, "role": "reference_image"},
        {"type": "video_url", "video_url": {"url": "https://v.test/a.mp4"}, "role": "reference_video"}],
        "duration": 15}))
        .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_account_out_of_tokens_gets_quota_exceeded_and_failures_give_them_back() {
    // Two 8 s 720p tasks' worth: 2 × 172,800 tokens.
    let sim = SeedanceSim::start_seedance(SeedanceSimConfig::default(), |s| {
        timed(s).with_accounts(vec![SimAccount::new("ark-a").with_balance(345_600)])
    })
    .await
    .unwrap();
    let ark = Ark::new(&sim);
    ark.create_ok(&t2v()).await;
    let refused = ark
        .create_ok(&with(
            t2v(),
            "content",
            json!([{"type": "text", "text": "a sim-sensitive-output scene"}]),
        ))
        .await;
    let (s, v) = ark.create(&t2v()).await;
    assert_eq!((s, code_of(&v)), (429, "QuotaExceeded"), "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("0 tokens left"));
    // The refused video is not charged: its tokens come back, and buy one more task.
    sim.advance(QUEUE + RENDER).await;
    assert_eq!(ark.query(&refused).await["status"], "failed");
    assert_eq!(sim.handle().balance(0), Some(172_800));
    ark.create_ok(&t2v()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_routes_answer_under_api_v3_and_at_the_address_the_sandbox_hands_out() {
    let sim = start().await;
    let http = reqwest::Client::new();
    for base in [sim.ark_base_url(), sim.base_url().to_string()] {
        let r = http
            .post(format!("{base}/contents/generations/tasks"))
            .bearer_auth(sim.api_key())
            .json(&t2v())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{base}");
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let q = http
            .get(format!("{base}/contents/generations/tasks/{id}"))
            .bearer_auth(sim.api_key())
            .send()
            .await
            .unwrap();
        assert_eq!(q.status(), 200, "{base}");
    }
    sim.shutdown().await;
}
