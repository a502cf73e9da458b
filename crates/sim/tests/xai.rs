//! The xAI simulator over real HTTP, held to `spec/upstreams.md` ("xAI Grok Imagine
//! video"): every create rule refused with xAI's `400 {"error":"…"}` naming the field,
//! Bearer accounts, `pending` → `done`/`failed`/`expired` on the simulated clock, the billed
//! `usage.cost_in_usd_ticks` from the price table, real MP4s whose links expire,
//! per-account concurrency and seeded faults with `Retry-After`.

use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::{AccountStanding, SimAccount};
use genmux_sim::xai::{XaiEndpoint, XaiSim, XaiSimConfig, XaiWireConfig};
use serde_json::{json, Value};
use std::time::Duration;

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

async fn send(rb: reqwest::RequestBuilder) -> Answer {
    let resp = rb.send().await.expect("the simulator answers");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.bytes().await.unwrap();
    Answer {
        status,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn create(sim: &XaiSim, key: &str, body: &Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(format!("{}/v1/videos/generations", sim.base_url()))
            .bearer_auth(key)
            .json(body),
    )
    .await
}

async fn query(sim: &XaiSim, key: &str, id: &str) -> Answer {
    send(
        reqwest::Client::new()
            .get(format!("{}/v1/videos/{id}", sim.base_url()))
            .bearer_auth(key),
    )
    .await
}

fn body(duration: u32, resolution: &str) -> Value {
    json!({"model": "grok-imagine-video", "prompt": "a lighthouse in the fog",
        "duration": duration, "resolution": resolution, "aspect_ratio": "9:16"})
}

async fn start(config: XaiSimConfig) -> XaiSim {
    XaiSim::start(config)
        .await
        .expect("the xAI simulator starts")
}

#[tokio::test]
async fn a_task_goes_pending_then_done_with_a_real_mp4_and_its_billed_cost() {
    let sim = start(XaiSimConfig::default()).await;
    let key = sim.api_key().to_string();
    let c = create(&sim, &key, &body(8, "720p")).await;
    assert_eq!(c.status, 200, "{}", c.body);
    let id = c.body["request_id"].as_str().unwrap().to_string();
    assert_eq!(c.body.as_object().unwrap().len(), 1, "{}", c.body);
    let p = query(&sim, &key, &id).await;
    assert_eq!(
        (p.status, p.body["status"].as_str()),
        (200, Some("pending"))
    );
    assert!(p.body.get("video").is_none() && p.body.get("usage").is_none());
    sim.advance(Duration::from_secs(10)).await;
    assert_eq!(query(&sim, &key, &id).await.body["status"], "pending");
    sim.advance(Duration::from_secs(60)).await;
    let d = query(&sim, &key, &id).await;
    assert_eq!(d.body["status"], "done", "{}", d.body);
    assert_eq!(d.body["model"], "grok-imagine-video");
    assert_eq!(d.body["video"]["duration"], 8);
    assert_eq!(d.body["video"]["respect_moderation"], true);
    // 8 s × $0.07 = $0.56 = 5.6 × 10^9 ticks.
    assert_eq!(d.body["usage"]["cost_in_usd_ticks"], 5_600_000_000_i64);
    let url = d.body["video"]["url"].as_str().unwrap().to_string();
    let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    let mp4 = mp4::Mp4Reader::read_header(std::io::Cursor::new(&bytes), bytes.len() as u64)
        .expect("a real MP4");
    assert_eq!(mp4.duration(), Duration::from_secs(8));
    let track = mp4.tracks().values().next().unwrap();
    assert!(track.width() < track.height(), "9:16 is portrait");
    // The link expires (24 h by default), as xAI's do.
    sim.advance(Duration::from_secs(25 * 3600)).await;
    let expired = reqwest::get(&url).await.unwrap();
    assert_eq!(expired.status().as_u16(), 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_price_table_is_per_second_and_resolution() {
    let sim = start(XaiSimConfig::default()).await;
    let key = sim.api_key().to_string();
    let mut ids = Vec::new();
    for (d, r) in [(1, "480p"), (15, "480p"), (15, "720p")] {
        let c = create(&sim, &key, &body(d, r)).await;
        ids.push(c.body["request_id"].as_str().unwrap().to_string());
    }
    // No duration or resolution: the assumed defaults, 6 s at 480p.
    let c = create(
        &sim,
        &key,
        &json!({"model": "grok-imagine-video-1.5", "prompt": "a cat"}),
    )
    .await;
    ids.push(c.body["request_id"].as_str().unwrap().to_string());
    sim.advance(Duration::from_secs(120)).await;
    let mut ticks = Vec::new();
    for id in &ids {
        let d = query(&sim, &key, id).await;
        ticks.push(d.body["usage"]["cost_in_usd_ticks"].as_i64().unwrap());
    }
    assert_eq!(
        ticks,
        [500_000_000, 7_500_000_000, 10_500_000_000, 3_000_000_000]
    );
    sim.shutdown().await;
}

/// Every create rule of the spec, over HTTP: 400 `{"error":"…"}` naming the field.
#[tokio::test]
async fn every_create_rule_is_a_400_naming_the_field() {
    let sim = start(XaiSimConfig::default()).await;
    let key = sim.api_key().to_string();
    let base = body(5, "480p");
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (b, field) in [
        (without("model"), "model"),
        (with("model", json!("grok-2-image")), "model"),
        (without("prompt"), "prompt"),
        (with("prompt", json!(42)), "prompt"),
        (with("duration", json!(0)), "duration"),
        (with("duration", json!(16)), "duration"),
        (with("duration", json!(30)), "duration"),
        (with("duration", json!(7.5)), "duration"),
        (with("duration", json!("10")), "duration"),
        (with("aspect_ratio", json!("21:9")), "aspect_ratio"),
        (with("resolution", json!("1080p")), "resolution"),
        (with("image", json!("https://x.test/a.png")), "image"),
        (
            with("image", json!({"url": "file:///etc/passwd"})),
            "image.url",
        ),
        (with("external_id", json!("ours")), "external_id"),
    ] {
        let a = create(&sim, &key, &b).await;
        assert_eq!(a.status, 400, "{b}: {}", a.body);
        let e = a.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", a.body));
        assert!(e.starts_with(&format!("{field}:")), "{b}: {e}");
    }
    let not_json = send(
        reqwest::Client::new()
            .post(format!("{}/v1/videos/generations", sim.base_url()))
            .bearer_auth(&key)
            .body("{\"model\":"),
    )
    .await;
    assert_eq!(not_json.status, 400);
    assert!(not_json.body["error"].as_str().unwrap().contains("JSON"));
    // Nothing refused became a task.
    assert!(sim.tasks().is_empty());
    // An image by URL or data URI is taken.
    let ok = create(
        &sim,
        &key,
        &with("image", json!({"url": "https://cdn.example/frame.png"})),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn accounts_are_bearer_keys_and_see_only_their_tasks() {
    let sim = start(XaiSimConfig::default().with_settings(|s| {
        s.with_accounts(vec![
            SimAccount::new("key-a"),
            SimAccount::new("key-b"),
            SimAccount::new("key-spent").with_standing(AccountStanding::OutOfCredit),
            SimAccount::new("key-off").with_standing(AccountStanding::Disabled),
            SimAccount::new("key-poor").with_balance(1_000_000_000),
        ])
    }))
    .await;
    let none = send(
        reqwest::Client::new()
            .post(format!("{}/v1/videos/generations", sim.base_url()))
            .json(&body(5, "480p")),
    )
    .await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.body["error"].is_string());
    assert_eq!(create(&sim, "wrong", &body(5, "480p")).await.status, 401);
    let spent = create(&sim, "key-spent", &body(5, "480p")).await;
    assert_eq!(spent.status, 403, "{}", spent.body);
    assert!(spent.body["error"].as_str().unwrap().contains("credits"));
    assert_eq!(create(&sim, "key-off", &body(5, "480p")).await.status, 403);
    // $0.10 of credit: a 1 s 480p video ($0.05) fits, a 5 s one does not.
    assert_eq!(create(&sim, "key-poor", &body(5, "480p")).await.status, 403);
    assert_eq!(create(&sim, "key-poor", &body(1, "480p")).await.status, 200);
    let a = create(&sim, "key-a", &body(5, "480p")).await;
    let id = a.body["request_id"].as_str().unwrap();
    assert_eq!(query(&sim, "key-a", id).await.status, 200);
    let other = query(&sim, "key-b", id).await;
    assert_eq!(other.status, 404, "{}", other.body);
    assert!(other.body["error"].is_string());
    assert_eq!(query(&sim, "key-a", "no-such-request").await.status, 404);
    // Other paths and methods answer in xAI's shape.
    let elsewhere = send(
        reqwest::Client::new()
            .delete(format!("{}/v1/videos/{id}", sim.base_url()))
            .bearer_auth("key-a"),
    )
    .await;
    assert_eq!(elsewhere.status, 405, "{}", elsewhere.body);
    assert!(elsewhere.body["error"].is_string());
    let nowhere = send(reqwest::Client::new().get(format!("{}/v1/videos", sim.base_url()))).await;
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.body["error"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn over_the_accounts_concurrency_is_a_429_with_retry_after() {
    let sim = start(XaiSimConfig::default().with_settings(|s| s.with_concurrency(2))).await;
    let key = sim.api_key().to_string();
    for _ in 0..2 {
        assert_eq!(create(&sim, &key, &body(5, "480p")).await.status, 200);
    }
    let busy = create(&sim, &key, &body(5, "480p")).await;
    assert_eq!(busy.status, 429, "{}", busy.body);
    assert_eq!(busy.retry_after.as_deref(), Some("5"));
    assert!(busy.body["error"].is_string());
    // Once they finish, the account may create again.
    sim.advance(Duration::from_secs(60)).await;
    assert_eq!(create(&sim, &key, &body(5, "480p")).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_expired_and_moderated_tasks() {
    let failing = start(XaiSimConfig::default().with_settings(|s| s.with_failure_rate(1.0))).await;
    let key = failing.api_key().to_string();
    let id = create(&failing, &key, &body(5, "480p")).await.body["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    failing.advance(Duration::from_secs(60)).await;
    let f = query(&failing, &key, &id).await;
    assert_eq!(f.status, 200);
    assert_eq!(f.body["status"], "failed", "{}", f.body);
    assert!(f.body["error"]["code"].is_string() && f.body["error"]["message"].is_string());
    assert!(f.body.get("usage").is_none() && f.body.get("video").is_none());
    failing.shutdown().await;

    let expiring = start(XaiSimConfig::default().with_settings(|s| s.with_expiry_rate(1.0))).await;
    let key = expiring.api_key().to_string();
    let id = create(&expiring, &key, &body(5, "480p")).await.body["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    expiring.advance(Duration::from_secs(60)).await;
    assert_eq!(query(&expiring, &key, &id).await.body["status"], "expired");
    expiring.shutdown().await;

    let moderated = start(XaiSimConfig::default().with_wire(XaiWireConfig {
        moderated_words: vec!["forbidden".into()],
    }))
    .await;
    let key = moderated.api_key().to_string();
    let mut b = body(5, "480p");
    b["prompt"] = json!("something Forbidden");
    let id = create(&moderated, &key, &b).await.body["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    moderated.advance(Duration::from_secs(60)).await;
    let m = query(&moderated, &key, &id).await;
    assert_eq!(m.body["status"], "done");
    assert_eq!(m.body["video"]["respect_moderation"], false, "{}", m.body);
    moderated.shutdown().await;
}

#[tokio::test]
async fn seeded_faults_answer_in_xais_shape() {
    let sim = start(XaiSimConfig::default()).await;
    let key = sim.api_key().to_string();
    sim.set_faults(
        XaiEndpoint::Create,
        FaultPlan {
            rate_limit: 1.0,
            retry_after: Duration::from_secs(3),
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let limited = create(&sim, &key, &body(5, "480p")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.retry_after.as_deref(), Some("3"));
    assert!(limited.body["error"].is_string(), "{}", limited.body);
    sim.set_faults(
        XaiEndpoint::Create,
        FaultPlan {
            server_error: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let broken = create(&sim, &key, &body(5, "480p")).await;
    assert!(
        [500, 503, 504].contains(&broken.status),
        "{}",
        broken.status
    );
    assert!(broken.body["error"].is_string(), "{}", broken.body);
    assert!(sim.tasks().is_empty(), "injected errors create nothing");
    sim.set_all_faults(FaultPlan::none()).unwrap();
    let ok = create(&sim, &key, &body(5, "480p")).await;
    assert_eq!(ok.status, 200);
    sim.set_faults(
        XaiEndpoint::Get,
        FaultPlan {
            error: 1.0,
            error_code: 5000,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let q = query(&sim, &key, ok.body["request_id"].as_str().unwrap()).await;
    assert_eq!(q.status, 500, "{}", q.body);
    assert!(q.body["error"].is_string());
    sim.shutdown().await;
}
