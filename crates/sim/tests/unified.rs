//! The unified-API simulator over loopback: models, quote = charge, generate, status,
//! callbacks, balances, media and faults.

mod common;

use std::io::Cursor;
use std::time::Duration;

use common::Receiver;
use genmux_core::webhook::WebhookSecret;
use genmux_core::Catalog;
use genmux_sim::unified::{UnifiedEndpoint, UnifiedKey, UnifiedSim, UnifiedSimConfig};
use genmux_sim::FaultPlan;
use serde_json::{json, Value};

struct U {
    sim: UnifiedSim,
    http: reqwest::Client,
}

impl U {
    async fn start(cfg: UnifiedSimConfig) -> U {
        U {
            sim: UnifiedSim::start(cfg).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.sim.base_url()));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            path,
            Some(body),
            Some(self.sim.api_key()),
        )
        .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None, Some(self.sim.api_key()))
            .await
    }
}

fn grok(extra: Value) -> Value {
    let mut b = json!({"model": "grok-video", "prompt": "a golden retriever runs toward the camera",
                       "duration": 10, "resolution": "720p"});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[tokio::test]
async fn models_come_from_the_catalog_and_need_a_key() {
    let u = U::start(UnifiedSimConfig::default()).await;
    let (status, v) = u.get("/unified-video/models").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"grok-video") && ids.contains(&"kling-2.5-turbo"),
        "{ids:?}"
    );
    assert!(v["modelParams"].is_object() && v["pricingHints"].is_object());
    let (_, img) = u.get("/unified-image/models").await;
    let img_ids: Vec<&str> = img["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        !img_ids.is_empty() && img_ids.iter().all(|i| !ids.contains(i)),
        "{img_ids:?}"
    );

    let (status, v) = u
        .call(reqwest::Method::GET, "/unified-video/models", None, None)
        .await;
    assert_eq!((status, &v["success"]), (401, &json!(false)), "{v}");
    let (status, _) = u
        .call(
            reqwest::Method::GET,
            "/unified-video/models",
            None,
            Some("wrong"),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn quote_equals_charge_and_invalid_bodies_name_the_field() {
    let u = U::start(UnifiedSimConfig::default()).await;
    let body = grok(json!({}));
    let expected = Catalog::builtin()
        .quote(&Catalog::builtin().parse_request(&body).unwrap())
        .unwrap()
        .points;
    let (status, q) = u.post("/unified-video/quote", &body).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["pointsCharged"], expected);
    let (status, g) = u.post("/unified-video/generate", &body).await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["pointsCharged"], expected, "quote equals charge");
    assert_eq!(g["status"], "submitted");
    assert_eq!(g["model"], "grok-video");
    assert!(g["taskId"].as_str().is_some_and(|s| !s.is_empty()));

    for (case, bad, needle) in [
        ("duration", grok(json!({"duration": 99})), "duration"),
        (
            "unknown model",
            json!({"model": "nope", "prompt": "abc"}),
            "nope",
        ),
        (
            "unknown field",
            grok(json!({"negative_prompt": "x"})),
            "negative_prompt",
        ),
        ("not an object", json!([1]), "JSON object"),
    ] {
        for path in ["/unified-video/quote", "/unified-video/generate"] {
            let (status, v) = u.post(path, &bad).await;
            assert_eq!(
                (status, &v["success"]),
                (400, &json!(false)),
                "{case} {path}: {v}"
            );
            assert!(v["error"].as_str().unwrap().contains(needle), "{case}: {v}");
        }
    }
    let (status, v) = u.post("/unified-image/generate", &body).await;
    assert_eq!(status, 400);
    assert!(
        v["error"].as_str().unwrap().contains("/unified-video"),
        "{v}"
    );
}

#[tokio::test]
async fn a_task_succeeds_on_the_clock_with_a_real_video_and_a_signed_callback() {
    let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let u = U::start(UnifiedSimConfig::default().with_webhook_secret(secret.clone())).await;
    let rx = Receiver::start().await;
    let (_, g) = u
        .post(
            "/unified-video/generate",
            &grok(json!({"callbackUrl": rx.url, "projectId": "p-1"})),
        )
        .await;
    let id = g["taskId"].as_str().unwrap().to_string();
    let path = format!("/unified-video/{id}/status");
    assert_eq!(u.get(&path).await.1["status"], "submitted");
    u.sim.advance(Duration::from_secs(5)).await;
    assert_eq!(u.get(&path).await.1["status"], "processing");
    assert!(rx.hits().is_empty(), "callbacks only when finished");
    u.sim.advance(Duration::from_secs(60)).await;
    let (_, s) = u.get(&path).await;
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["projectId"], "p-1");
    assert_eq!(s["assets"][0]["durationSecs"], 10.0);
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].json(), s, "the callback body is the status body");
    secret
        .verify_headers(&hits[0].headers, &hits[0].body, common::now_secs())
        .unwrap();

    let url = s["output"]["videoUrls"][0].as_str().unwrap();
    let bytes = u.http.get(url).send().await.unwrap().bytes().await.unwrap();
    let mp4 = mp4::Mp4Reader::read_header(Cursor::new(&bytes), bytes.len() as u64).unwrap();
    assert_eq!(mp4.duration(), Duration::from_secs(10));

    // Tasks are private to their key and to their kind's prefix.
    let (status, _) = u.get(&format!("/unified-image/{id}/status")).await;
    assert_eq!(status, 404);
    let (status, v) = u.get("/unified-video/usim_nope/status").await;
    assert_eq!((status, &v["success"]), (404, &json!(false)));
}

#[tokio::test]
async fn balances_are_debited_refunded_on_failure_and_402_when_short() {
    let cost = Catalog::builtin()
        .quote(&Catalog::builtin().parse_request(&grok(json!({}))).unwrap())
        .unwrap()
        .points;
    let cfg = UnifiedSimConfig::default()
        .with_keys(vec![UnifiedKey {
            key: "k".into(),
            balance: Some(cost + cost / 2),
        }])
        .with_failure_rate(1.0);
    let u = U::start(cfg).await;
    let (status, first) = u.post("/unified-video/generate", &grok(json!({}))).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(u.sim.balance("k"), Some(cost / 2));
    let (status, v) = u.post("/unified-video/generate", &grok(json!({}))).await;
    assert_eq!(status, 402, "{v}");
    assert!(v["error"].as_str().unwrap().contains("insufficient points"));
    u.sim.advance(Duration::from_secs(60)).await;
    let id = first["taskId"].as_str().unwrap();
    let (_, s) = u.get(&format!("/unified-video/{id}/status")).await;
    assert_eq!(s["status"], "failed");
    assert!(s["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(s["pointsCharged"], 0);
    assert_eq!(
        u.sim.balance("k"),
        Some(cost + cost / 2),
        "failed task refunded"
    );
}

#[tokio::test]
async fn faults_are_seeded_and_a_dropped_generate_still_charges() {
    let run = |seed: u64| async move {
        let u = U::start(
            UnifiedSimConfig::default()
                .with_seed(seed)
                .with_endpoint_faults(
                    UnifiedEndpoint::Quote,
                    FaultPlan {
                        rate_limit: 0.3,
                        server_error: 0.3,
                        ..FaultPlan::default()
                    },
                ),
        )
        .await;
        let mut seq = Vec::new();
        for _ in 0..30 {
            seq.push(u.post("/unified-video/quote", &grok(json!({}))).await.0);
        }
        seq
    };
    let a = run(5).await;
    assert_eq!(a, run(5).await);
    assert_ne!(a, run(6).await);
    assert!(a.contains(&429) && a.contains(&200));
    assert!(
        a.iter().all(|s| [200, 429, 500, 503, 504].contains(s)),
        "{a:?}"
    );

    let cfg = UnifiedSimConfig::default()
        .with_keys(vec![UnifiedKey {
            key: "k".into(),
            balance: Some(1_000),
        }])
        .with_endpoint_faults(
            UnifiedEndpoint::Generate,
            FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::default()
            },
        );
    let u = U::start(cfg).await;
    let err = u
        .http
        .post(format!("{}/unified-video/generate", u.sim.base_url()))
        .bearer_auth("k")
        .json(&grok(json!({})))
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status(), "{err}");
    assert!(
        u.sim.balance("k").unwrap() < 1_000,
        "the upstream accepted and charged"
    );
}
