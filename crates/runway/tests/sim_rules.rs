//! The Runway simulator over raw HTTP (no client crate): every rule of
//! `spec/upstreams.md` (Runway) answered 400 `{"error":"…"}` naming the field, the
//! required headers, the status walk on the simulated clock (PENDING → THROTTLED over
//! concurrency → RUNNING with progress → SUCCEEDED with real MP4s whose links expire /
//! FAILED with `failureCode` / CANCELLED by DELETE), and faults in Runway's shape.

use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::{AccountStanding, SimAccount, SimConfig};
use genmux_sim::runway::{Endpoint, RunwaySim};
use serde_json::{json, Value};
use std::time::Duration;

const VERSION: &str = "2024-11-06";

struct Http {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Http {
    fn new(sim: &RunwaySim) -> Http {
        Http {
            base: sim.base_url().to_string(),
            key: sim.api_key().to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, b) = self
            .send(
                self.http
                    .post(format!("{}{path}", self.base))
                    .bearer_auth(&self.key)
                    .header("X-Runway-Version", VERSION)
                    .json(&body),
            )
            .await;
        (s, b)
    }

    async fn get(&self, id: &str) -> (u16, Value) {
        let (s, _, b) = self
            .send(
                self.http
                    .get(format!("{}/v1/tasks/{id}", self.base))
                    .bearer_auth(&self.key)
                    .header("X-Runway-Version", VERSION),
            )
            .await;
        (s, b)
    }

    async fn delete(&self, id: &str) -> u16 {
        self.send(
            self.http
                .delete(format!("{}/v1/tasks/{id}", self.base))
                .bearer_auth(&self.key)
                .header("X-Runway-Version", VERSION),
        )
        .await
        .0
    }

    async fn t2v(&self, prompt: &str) -> String {
        let (s, b) = self
            .post(
                "/v1/text_to_video",
                json!({"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": 5}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["id"].as_str().unwrap().to_string()
    }
}

async fn sim(concurrency: Option<u32>) -> RunwaySim {
    RunwaySim::start(SimConfig::default().with_settings(|s| {
        let s = s.with_timings(Duration::from_secs(2), Duration::from_secs(30));
        match concurrency {
            Some(n) => s.with_concurrency(n),
            None => s,
        }
    }))
    .await
    .unwrap()
}

fn image(extra: Value) -> Value {
    let mut body = json!({"model": "gen4_turbo", "promptImage": "https://example.com/a.png", "ratio": "1280:720"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

#[tokio::test]
async fn every_call_needs_the_secret_and_the_version_header() {
    let sim = sim(None).await;
    let h = Http::new(&sim);
    let url = format!("{}/v1/text_to_video", h.base);
    let body = json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720"});
    let (s, _, b) = h
        .send(h.http.post(&url).bearer_auth(&h.key).json(&body))
        .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .starts_with("X-Runway-Version: required"),
        "{b}"
    );
    let (s, _, b) = h
        .send(
            h.http
                .post(&url)
                .bearer_auth(&h.key)
                .header("X-Runway-Version", "2023-01-01")
                .json(&body),
        )
        .await;
    assert_eq!(s, 400);
    assert!(b["error"].as_str().unwrap().contains("`2023-01-01`"), "{b}");
    let (s, _, b) = h
        .send(
            h.http
                .post(&url)
                .header("X-Runway-Version", VERSION)
                .json(&body),
        )
        .await;
    assert_eq!((s, b["error"].is_string()), (401, true), "{b}");
    let (s, _, _) = h
        .send(
            h.http
                .post(&url)
                .bearer_auth("key_wrong")
                .header("X-Runway-Version", VERSION)
                .json(&body),
        )
        .await;
    assert_eq!(s, 401);
    // The task endpoints too.
    let id = h.t2v("a fox").await;
    let (s, _, _) = h
        .send(
            h.http
                .get(format!("{}/v1/tasks/{id}", h.base))
                .bearer_auth(&h.key),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = h
        .send(
            h.http
                .delete(format!("{}/v1/tasks/{id}", h.base))
                .bearer_auth(&h.key),
        )
        .await;
    assert_eq!(s, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_rule_is_a_400_naming_the_field() {
    let sim = sim(None).await;
    let h = Http::new(&sim);
    let long = format!("{}a", "🎬".repeat(500));
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/v1/image_to_video",
            image(json!({"ratio": "1920:1080"})),
            "ratio: \"1920:1080\"",
        ),
        (
            "/v1/image_to_video",
            image(json!({"ratio": null})),
            "ratio: required",
        ),
        (
            "/v1/image_to_video",
            image(json!({"ratio": 1280})),
            "ratio: expected a string",
        ),
        (
            "/v1/image_to_video",
            image(json!({"duration": 6})),
            "duration: 6 is not allowed for gen4_turbo (allowed: 5, 10)",
        ),
        (
            "/v1/image_to_video",
            image(json!({"duration": 5.5})),
            "duration: 5.5",
        ),
        (
            "/v1/image_to_video",
            image(json!({"seed": 4294967296u64})),
            "seed: 4294967296",
        ),
        (
            "/v1/image_to_video",
            image(json!({"seed": "7"})),
            "seed: \"7\"",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptText": long})),
            "promptText: 1001 UTF-16 code units",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptText": 5})),
            "promptText: expected a string",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptImage": null})),
            "promptImage: required for image_to_video (gen4_turbo",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptImage": "ftp://example.com/a.png"})),
            "promptImage: `ftp://example.com/a.png`",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptImage": []})),
            "promptImage: 0 images",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptImage": [{"uri": "https://example.com/a.png"}]})),
            "promptImage[0].position: required",
        ),
        (
            "/v1/image_to_video",
            image(
                json!({"promptImage": [{"uri": "https://example.com/a.png", "position": "end"}]}),
            ),
            "promptImage[0].position: \"end\"",
        ),
        (
            "/v1/image_to_video",
            image(json!({"promptImage": [{"uri": 3, "position": "first"}]})),
            "promptImage[0].uri: expected a string",
        ),
        (
            "/v1/image_to_video",
            image(json!({"model": "gen3a_turbo"})),
            "model: \"gen3a_turbo\"",
        ),
        (
            "/v1/image_to_video",
            image(json!({"contentModeration": {"publicFigureThreshold": "high"}})),
            "contentModeration.publicFigureThreshold",
        ),
        (
            "/v1/image_to_video",
            image(json!({"callbackUrl": "https://x.test"})),
            "callbackUrl: unknown field",
        ),
        (
            "/v1/image_to_video",
            json!(["not", "an", "object"]),
            "body: expected a JSON object",
        ),
        (
            "/v1/text_to_video",
            json!({"model": "gen4_turbo", "promptText": "a fox", "ratio": "1280:720"}),
            "model: \"gen4_turbo\" is not allowed for text_to_video",
        ),
        (
            "/v1/text_to_video",
            json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1104:832"}),
            "ratio: \"1104:832\" is not allowed for text_to_video (allowed: 1280:720, 720:1280)",
        ),
        (
            "/v1/text_to_video",
            json!({"model": "gen4.5", "ratio": "1280:720"}),
            "promptText: required",
        ),
        (
            "/v1/text_to_video",
            json!({"promptText": "a fox", "ratio": "1280:720"}),
            "model: required",
        ),
        (
            "/v1/text_to_video",
            json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "promptImage": "https://example.com/a.png"}),
            "promptImage: unknown field",
        ),
    ];
    for (path, body, prefix) in cases {
        let (s, b) = h.post(path, body.clone()).await;
        assert_eq!(s, 400, "{path} {body}: {b}");
        let e = b["error"].as_str().unwrap_or_default();
        assert!(e.starts_with(prefix), "{path} {body}: {e}");
    }
    let (s, _, b) = h
        .send(
            h.http
                .post(format!("{}/v1/text_to_video", h.base))
                .bearer_auth(&h.key)
                .header("X-Runway-Version", VERSION)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .starts_with("body: not valid JSON"),
        "{b}"
    );
    assert!(sim.tasks().is_empty(), "no task for a refused body");
    // What the spec allows passes: both frame positions, 10 s, a seed at the top.
    let (s, b) = h
        .post(
            "/v1/image_to_video",
            image(json!({"model": "gen4.5", "duration": 10, "seed": 4294967295u64, "ratio": "1584:672",
                "promptImage": [{"uri": "https://example.com/a.png", "position": "first"},
                                {"uri": "data:image/png;base64,iVBORw0KGgo=", "position": "last"}]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    sim.shutdown().await;
}

#[tokio::test]
async fn tasks_walk_their_statuses_throttle_and_serve_expiring_mp4s() {
    let sim = sim(Some(1)).await;
    let h = Http::new(&sim);
    let a = h.t2v("a fox").await;
    let b = h.t2v("a hare").await;
    let (_, t) = h.get(&a).await;
    assert_eq!(t["status"], "PENDING");
    assert!(t["createdAt"].as_str().unwrap().ends_with('Z'), "{t}");
    sim.advance(Duration::from_secs(2)).await;
    assert_eq!(h.get(&b).await.1["status"], "THROTTLED");
    sim.advance(Duration::from_secs(15)).await;
    let (_, t) = h.get(&a).await;
    assert_eq!(t["status"], "RUNNING");
    let p = t["progress"].as_f64().unwrap();
    assert!((0.4..=0.6).contains(&p), "{t}");
    sim.advance(Duration::from_secs(15)).await;
    let (_, t) = h.get(&a).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(h.get(&b).await.1["status"], "RUNNING", "the slot passed on");
    let url = t["output"][0].as_str().unwrap().to_string();
    let bytes = h
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "a real MP4");
    // spec: output URLs expire in 24–48 h.
    sim.advance(Duration::from_secs(23 * 3600)).await;
    assert_eq!(h.http.get(&url).send().await.unwrap().status(), 200);
    sim.advance(Duration::from_secs(2 * 3600)).await;
    assert_eq!(h.http.get(&url).send().await.unwrap().status(), 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn by_default_two_tasks_run_and_the_third_is_throttled() {
    let sim = RunwaySim::start(SimConfig::default()).await.unwrap();
    let h = Http::new(&sim);
    let ids = [h.t2v("one").await, h.t2v("two").await, h.t2v("three").await];
    sim.advance(Duration::from_secs(3)).await;
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(h.get(id).await.1["status"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses, ["RUNNING", "RUNNING", "THROTTLED"]);
    sim.advance(Duration::from_secs(60)).await;
    assert_eq!(h.get(&ids[2]).await.1["status"], "SUCCEEDED");
    sim.shutdown().await;
}

#[tokio::test]
async fn failures_carry_their_failure_code() {
    let sim = RunwaySim::start(SimConfig::default().with_settings(|s| s.with_failure_rate(1.0)))
        .await
        .unwrap();
    let h = Http::new(&sim);
    let internal = h.t2v("a fox").await;
    let safety = h.t2v("a FORBIDDEN fox").await;
    let (s, b) = h
        .post(
            "/v1/image_to_video",
            image(json!({"promptImage": "https://images.unreachable.invalid/a.png"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let asset = b["id"].as_str().unwrap().to_string();
    // Two run at once (the simulator's default concurrency); the third waits its turn.
    sim.advance(Duration::from_secs(100)).await;
    for (id, code) in [
        (internal, "INTERNAL.BAD_OUTPUT.CODE01"),
        (safety, "SAFETY.INPUT.TEXT"),
        (asset, "ASSET.INVALID"),
    ] {
        let (_, t) = h.get(&id).await;
        assert_eq!(t["status"], "FAILED", "{t}");
        assert_eq!(t["failureCode"], code, "{t}");
        assert!(t["failure"].as_str().is_some_and(|f| !f.is_empty()), "{t}");
        assert!(t.get("output").is_none(), "{t}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_cancels_a_running_task_and_deletes_a_finished_one() {
    let sim = sim(None).await;
    let h = Http::new(&sim);
    let running = h.t2v("a fox").await;
    let done = h.t2v("a hare").await;
    sim.advance(Duration::from_secs(3)).await;
    assert_eq!(h.delete(&running).await, 204);
    assert_eq!(h.get(&running).await.1["status"], "CANCELLED");
    sim.advance(Duration::from_secs(60)).await;
    assert_eq!(
        h.get(&running).await.1["status"],
        "CANCELLED",
        "stays cancelled"
    );
    assert_eq!(h.get(&done).await.1["status"], "SUCCEEDED");
    assert_eq!(h.delete(&done).await, 204);
    let (s, b) = h.get(&done).await;
    assert_eq!(s, 404, "deleted: {b}");
    assert!(b["error"].is_string());
    assert_eq!(h.delete(&done).await, 404);
    assert_eq!(h.delete("no-such-task").await, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn another_accounts_task_is_not_found() {
    let sim = RunwaySim::start(SimConfig::default().with_settings(|s| {
        s.with_accounts(vec![SimAccount::new("key_a"), SimAccount::new("key_b")])
    }))
    .await
    .unwrap();
    let h = Http::new(&sim);
    let id = h.t2v("a fox").await;
    let other = Http {
        key: "key_b".into(),
        ..Http::new(&sim)
    };
    assert_eq!(other.get(&id).await.0, 404);
    assert_eq!(other.delete(&id).await, 404);
    assert_eq!(h.get(&id).await.0, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_and_account_refusals_answer_in_runways_shape() {
    let sim = RunwaySim::start(SimConfig::default().with_settings(|s| {
        s.with_accounts(vec![
            SimAccount::new("key_ok").with_balance(100),
            SimAccount::new("key_capped").with_standing(AccountStanding::OutOfCredit),
        ])
    }))
    .await
    .unwrap();
    let h = Http::new(&sim);
    sim.set_faults(
        Endpoint::TextToVideo,
        FaultPlan {
            rate_limit: 1.0,
            retry_after: Duration::from_secs(9),
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let (s, headers, b) = h
        .send(
            h.http
                .post(format!("{}/v1/text_to_video", h.base))
                .bearer_auth(&h.key)
                .header("X-Runway-Version", VERSION)
                .json(&json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720"})),
        )
        .await;
    assert_eq!(s, 429);
    assert_eq!(headers["retry-after"], "9");
    assert!(b["error"].is_string(), "{b}");
    sim.set_all_faults(FaultPlan::none()).unwrap();
    // A dropped answer: the task exists all the same.
    sim.set_faults(
        Endpoint::TextToVideo,
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let before = sim.tasks().len();
    let r = h
        .http
        .post(format!("{}/v1/text_to_video", h.base))
        .bearer_auth(&h.key)
        .header("X-Runway-Version", VERSION)
        .json(
            &json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720", "duration": 5}),
        )
        .send()
        .await;
    assert!(r.is_err(), "no answer");
    assert_eq!(sim.tasks().len(), before + 1);
    sim.set_all_faults(FaultPlan::none()).unwrap();
    // Balance in credits: the dropped task took gen4.5 12/s × 5 s = 60 of 100; the next
    // 60 do not fit.
    let (s, b) = h
        .post(
            "/v1/text_to_video",
            json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720"}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        b["error"].as_str().unwrap().contains("enough credits"),
        "{b}"
    );
    // The daily cap: 429 with a Retry-After until midnight.
    let capped = Http {
        key: "key_capped".into(),
        ..Http::new(&sim)
    };
    let (s, headers, b) = capped
        .send(
            capped
                .http
                .post(format!("{}/v1/text_to_video", capped.base))
                .bearer_auth("key_capped")
                .header("X-Runway-Version", VERSION)
                .json(&json!({"model": "gen4.5", "promptText": "a fox", "ratio": "1280:720"})),
        )
        .await;
    assert_eq!(s, 429, "{b}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait));
    sim.shutdown().await;
}
