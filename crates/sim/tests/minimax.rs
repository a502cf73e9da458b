//! The MiniMax simulator over real HTTP, held to `spec/upstreams.md` ("MiniMax Hailuo"):
//! every refusal is MiniMax's own (HTTP 200, `base_resp.status_code`), statuses walk in
//! MiniMax's order on the simulated clock, results come through `files/retrieve` as real
//! MP4 files whose URLs expire, and callbacks start with the challenge.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::{AccountStanding, SimAccount, SimConfig};
use genmux_sim::minimax::{Endpoint, MiniMaxSim, MiniMaxSimConfig};
use serde_json::{json, Value};

const IMAGE: &str = "https://example.com/portrait.png";

async fn start(
    f: impl FnOnce(
        SimConfig<genmux_sim::minimax::MiniMaxWire>,
    ) -> SimConfig<genmux_sim::minimax::MiniMaxWire>,
) -> MiniMaxSim {
    let config = f(SimConfig::default()
        .with_settings(|s| s.with_timings(Duration::from_secs(4), Duration::from_secs(60))));
    MiniMaxSim::start(config).await.unwrap()
}

fn valid() -> Value {
    json!({
        "model": "MiniMax-Hailuo-2.3",
        "prompt": "Natural breathing and blinking",
        "first_frame_image": IMAGE,
        "duration": 10,
        "resolution": "768P",
    })
}

async fn post(sim: &MiniMaxSim, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("{}/v1/video_generation", sim.base_url()));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(sim: &MiniMaxSim, path_and_query: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path_and_query}", sim.base_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> i64 {
    v["base_resp"]["status_code"]
        .as_i64()
        .expect("base_resp.status_code")
}

async fn refused(sim: &MiniMaxSim, body: Value, want: i64, field: &str) {
    let (status, answer) = post(sim, Some(sim.api_key()), &body).await;
    assert_eq!(status, 200, "MiniMax errors come as HTTP 200: {answer}");
    assert_eq!(code(&answer), want, "{body}: {answer}");
    let msg = answer["base_resp"]["status_msg"].as_str().unwrap();
    assert!(msg.contains(field), "{body}: `{msg}` does not name {field}");
}

#[tokio::test]
async fn every_rule_of_the_create_body_is_refused_with_2013_naming_the_field() {
    let sim = start(|c| c).await;
    let with = |k: &str, v: Value| {
        let mut b = valid();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = valid();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases = [
        (with("aspect_ratio", json!("16:9")), "aspect_ratio"),
        (without("model"), "model"),
        (with("model", json!("MiniMax-H3")), "model"),
        (with("model", json!(23)), "model"),
        (with("prompt", json!("x".repeat(2001))), "prompt"),
        (with("prompt", json!(["a"])), "prompt"),
        (with("prompt_optimizer", json!("yes")), "prompt_optimizer"),
        (with("duration", json!(5)), "duration"),
        (with("duration", json!("10")), "duration"),
        (with("duration", json!(6.5)), "duration"),
        (with("resolution", json!("720P")), "resolution"),
        (with("resolution", json!("1080P")), "resolution"), // 1080P with 10 s
        (
            with("first_frame_image", json!("ftp://x/a.png")),
            "first_frame_image",
        ),
        (
            with("first_frame_image", json!("data:image/png;base64,")),
            "first_frame_image",
        ),
        (with("last_frame_image", json!(IMAGE)), "last_frame_image"), // 2.3 takes none
        (with("callback_url", json!("not a url")), "callback_url"),
        (
            json!({"model": "MiniMax-Hailuo-2.3-Fast", "prompt": "a fox"}),
            "first_frame_image",
        ),
        (json!({"model": "MiniMax-Hailuo-2.3"}), "prompt"),
        (
            json!({"model": "MiniMax-Hailuo-02", "prompt": "a fox", "last_frame_image": IMAGE}),
            "last_frame_image",
        ),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        refused(&sim, body, 2013, field).await;
    }
    // What the spec allows passes.
    for ok in [
        valid(),
        with("resolution", json!("1080P")).tap_duration(6),
        json!({"model": "MiniMax-Hailuo-2.3", "prompt": "a fox in the snow"}),
        json!({"model": "MiniMax-Hailuo-02", "prompt": "a fox", "first_frame_image": IMAGE,
               "last_frame_image": "data:image/jpeg;base64,/9j/4AAQ"}),
        with("prompt", json!("字".repeat(2000))),
    ] {
        let (_, answer) = post(&sim, Some(sim.api_key()), &ok).await;
        assert_eq!(code(&answer), 0, "{ok}: {answer}");
        assert!(
            answer["task_id"].as_str().is_some_and(|t| t.len() == 15),
            "{answer}"
        );
    }
    // Not JSON at all.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/video_generation", sim.base_url()))
        .bearer_auth(sim.api_key())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(code(&resp.json().await.unwrap()), 2013);
    sim.shutdown().await;
}

trait TapDuration {
    fn tap_duration(self, d: u64) -> Value;
}

impl TapDuration for Value {
    fn tap_duration(mut self, d: u64) -> Value {
        self["duration"] = json!(d);
        self
    }
}

#[tokio::test]
async fn keys_balance_concurrency_and_sensitive_input_have_their_codes() {
    let sim = start(|c| {
        c.with_settings(|s| {
            s.with_accounts(vec![
                SimAccount::new("sk-main").with_concurrency(1),
                SimAccount::new("sk-broke").with_standing(AccountStanding::OutOfCredit),
                SimAccount::new("sk-off").with_standing(AccountStanding::Disabled),
                SimAccount::new("sk-poor").with_balance(60),
            ])
        })
        .with_wire(MiniMaxSimConfig {
            blocked_words: vec!["forbidden".into()],
            ..MiniMaxSimConfig::default()
        })
    })
    .await;
    let (s, a) = post(&sim, None, &valid()).await;
    assert_eq!((s, code(&a)), (200, 1004), "{a}");
    let (_, a) = post(&sim, Some("sk-nobody"), &valid()).await;
    assert_eq!(code(&a), 2049, "{a}");
    let (_, a) = post(&sim, Some("sk-off"), &valid()).await;
    assert_eq!(code(&a), 1004, "{a}");
    let (_, a) = post(&sim, Some("sk-broke"), &valid()).await;
    assert_eq!(code(&a), 1008, "{a}");
    // A balance in US cents: a 10 s 768P video costs 56, so 60 pays for one.
    let (_, a) = post(&sim, Some("sk-poor"), &valid()).await;
    assert_eq!(code(&a), 0, "{a}");
    let (_, a) = post(&sim, Some("sk-poor"), &valid()).await;
    assert_eq!(code(&a), 1008, "{a}");
    assert!(
        a["base_resp"]["status_msg"]
            .as_str()
            .unwrap()
            .contains("4 left"),
        "{a}"
    );
    let mut bad = valid();
    bad["prompt"] = json!("something FORBIDDEN here");
    let (_, a) = post(&sim, Some("sk-main"), &bad).await;
    assert_eq!(code(&a), 1026, "{a}");
    // Concurrency 1: the second create is refused until the first ends.
    let (_, first) = post(&sim, Some("sk-main"), &valid()).await;
    assert_eq!(code(&first), 0);
    let (_, second) = post(&sim, Some("sk-main"), &valid()).await;
    assert_eq!(code(&second), 1002, "{second}");
    sim.advance(Duration::from_secs(65)).await;
    let (_, third) = post(&sim, Some("sk-main"), &valid()).await;
    assert_eq!(code(&third), 0, "{third}");
    sim.shutdown().await;
}

#[tokio::test]
async fn statuses_walk_in_order_and_the_file_downloads_until_it_expires() {
    let sim = start(|c| c).await;
    let (_, created) = post(&sim, Some(sim.api_key()), &valid()).await;
    let id = created["task_id"].as_str().unwrap().to_string();
    let q = format!("/v1/query/video_generation?task_id={id}");
    let mut seen = Vec::new();
    for _ in 0..80 {
        let (s, a) = get(&sim, &q).await;
        assert_eq!((s, code(&a)), (200, 0), "{a}");
        let word = a["status"].as_str().unwrap().to_string();
        if seen.last() != Some(&word) {
            seen.push(word.clone());
        }
        if word == "Success" {
            break;
        }
        sim.advance(Duration::from_secs(1)).await;
    }
    assert_eq!(seen, ["Preparing", "Queueing", "Processing", "Success"]);
    let (_, done) = get(&sim, &q).await;
    let file_id = done["file_id"].as_str().unwrap().to_string();
    assert_eq!(
        (done["video_width"].as_u64(), done["video_height"].as_u64()),
        (Some(1366), Some(768))
    );
    let (_, file) = get(&sim, &format!("/v1/files/retrieve?file_id={file_id}")).await;
    assert_eq!(code(&file), 0, "{file}");
    assert_eq!(
        file["file"]["file_id"].as_u64().map(|n| n.to_string()),
        Some(file_id.clone())
    );
    let url = file["file"]["download_url"].as_str().unwrap().to_string();
    let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "a real MP4");
    // spec: about 9 hours.
    sim.advance(Duration::from_secs(8 * 3600 + 3500)).await;
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);
    sim.advance(Duration::from_secs(200)).await;
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 403);
    // A new retrieval mints a fresh link.
    let (_, again) = get(&sim, &format!("/v1/files/retrieve?file_id={file_id}")).await;
    let fresh = again["file"]["download_url"].as_str().unwrap();
    assert_ne!(fresh, url);
    assert_eq!(reqwest::get(fresh).await.unwrap().status().as_u16(), 200);
    // Unknown task and file, missing parameters: 2013.
    for path in [
        "/v1/query/video_generation?task_id=123",
        "/v1/query/video_generation",
        "/v1/files/retrieve?file_id=999",
        "/v1/files/retrieve?file_id=abc",
        "/v1/files/retrieve",
    ] {
        let (s, a) = get(&sim, path).await;
        assert_eq!((s, code(&a)), (200, 2013), "{path}: {a}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_moderated_output_fails_with_1027() {
    let sim = start(|c| {
        c.with_wire(MiniMaxSimConfig {
            output_blocked_words: vec!["storm".into()],
            ..MiniMaxSimConfig::default()
        })
    })
    .await;
    let mut body = valid();
    body["prompt"] = json!("a storm at sea");
    let (_, created) = post(&sim, Some(sim.api_key()), &body).await;
    let id = created["task_id"].as_str().unwrap();
    sim.advance(Duration::from_secs(70)).await;
    let (_, a) = get(&sim, &format!("/v1/query/video_generation?task_id={id}")).await;
    assert_eq!(a["status"], "Fail");
    assert_eq!(code(&a), 1027, "{a}");
    assert_eq!(a["file_id"], "");
    sim.shutdown().await;
}

type Log = Arc<Mutex<Vec<Value>>>;

/// A receiver that echoes challenges when `echo`, and logs every body.
async fn receiver(echo: bool) -> (String, Log) {
    let log: Log = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                move |State(log): State<Log>, axum::Json(body): axum::Json<Value>| async move {
                    log.lock().unwrap().push(body.clone());
                    if echo && body.get("challenge").is_some() {
                        axum::Json(body)
                    } else {
                        axum::Json(json!({}))
                    }
                },
            ),
        )
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

#[tokio::test]
async fn callbacks_start_with_the_challenge_and_stop_when_it_is_not_echoed() {
    let sim = start(|c| c).await;
    let (echoing, log) = receiver(true).await;
    let (silent, silent_log) = receiver(false).await;
    let mut body = valid();
    body["callback_url"] = json!(echoing);
    let (_, a) = post(&sim, Some(sim.api_key()), &body).await;
    let id = a["task_id"].as_str().unwrap().to_string();
    body["callback_url"] = json!(silent);
    let (_, b) = post(&sim, Some(sim.api_key()), &body).await;
    let other = b["task_id"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(5)).await;
    sim.advance(Duration::from_secs(61)).await;
    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0]["challenge"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(
        (got[1]["task_id"].as_str(), got[1]["status"].as_str()),
        (Some(id.as_str()), Some("Processing"))
    );
    assert_eq!(got[2]["status"], "Success");
    assert_eq!(got[2]["base_resp"]["status_code"], 0);
    assert!(got[2]["file_id"].as_str().is_some_and(|f| f.len() == 15));
    // Not echoed: the challenge only.
    let silent_got = silent_log.lock().unwrap().clone();
    assert_eq!(silent_got.len(), 1, "{silent_got:?}");
    assert!(silent_got[0].get("challenge").is_some());
    let records = sim.callbacks();
    assert!(records
        .iter()
        .filter(|r| r.task_id == other)
        .skip(1)
        .all(|r| r.skipped));
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_answer_in_minimax_shape() {
    let sim = start(|c| c).await;
    sim.set_faults(
        Endpoint::Create,
        FaultPlan {
            rate_limit: 1.0,
            retry_after: Duration::from_secs(7),
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/video_generation", sim.base_url()))
        .bearer_auth(sim.api_key())
        .json(&valid())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(code(&resp.json().await.unwrap()), 1002);
    for (error_code, status, want) in [
        (1101, 200, Some(1008)),
        (1301, 200, Some(1026)),
        (1201, 200, Some(2013)),
        (5001, 503, None),
        (5002, 200, Some(1001)),
    ] {
        sim.set_faults(
            Endpoint::Create,
            FaultPlan {
                error: 1.0,
                error_code,
                ..FaultPlan::none()
            },
        )
        .unwrap();
        let (s, a) = post(&sim, Some(sim.api_key()), &valid()).await;
        assert_eq!(s, status, "{error_code}");
        assert_eq!(
            a["base_resp"]["status_code"].as_i64(),
            want,
            "{error_code}: {a}"
        );
    }
    sim.shutdown().await;
}
