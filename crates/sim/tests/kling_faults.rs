//! Seeded fault injection: the same seed gives the same faults; each fault looks to a
//! client the way the real failure would.

mod common;

use std::time::Duration;

use common::{Api, Receiver};
use genmux_sim::kling::{encode_token, router, Endpoint, Feature, KlingSimConfig, KlingState};
use genmux_sim::FaultPlan;
use serde_json::{json, Value};
use tower::ServiceExt;

const T2V: &str = "/v1/videos/text2video";

fn noisy() -> FaultPlan {
    FaultPlan {
        rate_limit: 0.25,
        retry_after: Duration::from_secs(3),
        server_error: 0.25,
        ..FaultPlan::default()
    }
}

/// (HTTP status, code, Retry-After) of 40 list calls.
async fn sequence(seed: u64) -> Vec<(u16, i64, Option<String>)> {
    let api = Api::start(
        KlingSimConfig::default()
            .with_seed(seed)
            .with_endpoint_faults(Endpoint::List(Feature::Text2Video), noisy()),
    )
    .await;
    let mut out = Vec::new();
    for _ in 0..40 {
        let r = api
            .http
            .get(api.url(T2V))
            .header("Authorization", api.bearer())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let v: Value = r.json().await.unwrap();
        out.push((status, v["code"].as_i64().unwrap(), retry));
        // Calls to other endpoints do not disturb this endpoint's stream.
        api.get("/v1/images/generations").await;
    }
    out
}

#[tokio::test]
async fn same_seed_same_faults_and_each_fault_has_its_status() {
    let a = sequence(42).await;
    assert_eq!(a, sequence(42).await, "same seed, same sequence");
    assert_ne!(a, sequence(43).await, "another seed, another sequence");
    assert!(a.iter().any(|(s, c, _)| (*s, *c) == (200, 0)));
    for (status, code, retry) in &a {
        match code {
            0 => assert_eq!(*status, 200),
            1302 => {
                assert_eq!(*status, 429);
                assert_eq!(retry.as_deref(), Some("3"), "429 carries Retry-After");
            }
            5000 => assert_eq!(*status, 500),
            5001 => assert_eq!(*status, 503),
            5002 => assert_eq!(*status, 504),
            other => panic!("unexpected code {other}"),
        }
    }
    assert!(a.iter().any(|(_, c, _)| *c == 1302));
    assert!(a.iter().any(|(_, c, _)| *c >= 5000));
}

#[tokio::test]
async fn a_dropped_connection_after_the_body_may_still_have_created_the_task() {
    let api = Api::start(KlingSimConfig::default().with_endpoint_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::default()
        },
    ))
    .await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = http
        .post(api.url(T2V))
        .header("Authorization", api.bearer())
        .json(&json!({"prompt": "maybe accepted", "external_task_id": "maybe-1"}))
        .send()
        .await
        .expect_err("the connection closes without a response");
    assert!(!err.is_status() && !err.is_timeout(), "{err}");
    // The client reconciles by external_task_id: the task exists.
    let t = api.task(T2V, "maybe-1").await;
    assert_eq!(t["task_status"], "submitted");
    // Faults can be changed at run time.
    api.sim
        .set_faults(Endpoint::Create(Feature::Text2Video), FaultPlan::none())
        .unwrap();
    api.create(T2V, &json!({"prompt": "now it answers"})).await;
}

#[tokio::test]
async fn malformed_json_is_a_200_with_a_broken_body() {
    let api = Api::default().await;
    api.sim
        .set_faults(
            Endpoint::Query(Feature::Text2Video),
            FaultPlan {
                malformed_json: 1.0,
                ..FaultPlan::default()
            },
        )
        .unwrap();
    let id = api.create(T2V, &json!({"prompt": "x"})).await;
    let r = api
        .http
        .get(api.url(&format!("{T2V}/{id}")))
        .header("Authorization", api.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with('{'), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn lost_callbacks_are_never_sent_but_polling_still_sees_the_result() {
    let api = Api::start(KlingSimConfig::default().with_endpoint_faults(
        Endpoint::Create(Feature::ImageGenerations),
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    ))
    .await;
    let rx = Receiver::start().await;
    let img = api
        .create(
            "/v1/images/generations",
            &json!({"prompt": "x", "callback_url": rx.url}),
        )
        .await;
    let vid = api
        .create(T2V, &json!({"prompt": "x", "callback_url": rx.url}))
        .await;
    api.sim.advance(Duration::from_secs(60)).await;
    assert_eq!(
        rx.statuses(),
        ["processing", "succeed"],
        "only the video's callbacks arrive"
    );
    assert!(rx
        .hits()
        .iter()
        .all(|h| h.json()["task_id"] == vid.as_str()));
    let lost: Vec<_> = api.sim.callbacks().into_iter().filter(|c| c.lost).collect();
    assert_eq!(lost.len(), 2);
    assert!(lost
        .iter()
        .all(|c| c.task_id == img && c.response_status.is_none()));
    assert_eq!(
        api.task("/v1/images/generations", &img).await["task_status"],
        "succeed"
    );
}

#[tokio::test]
async fn injected_errors_use_the_configured_code_and_the_spec_status() {
    let api = Api::start(KlingSimConfig::default().with_faults(FaultPlan {
        error: 1.0,
        error_code: 1100,
        ..FaultPlan::default()
    }))
    .await;
    let (status, v) = api.post(T2V, &json!({"prompt": "x"})).await;
    assert_eq!((status, v["code"].as_i64()), (429, Some(1100)));
    assert!(
        api.sim.state().tasks().is_empty(),
        "rejected before processing"
    );
}

#[tokio::test]
async fn invalid_fault_plans_are_refused_naming_the_rate() {
    let api = Api::default().await;
    let err = api
        .sim
        .set_all_faults(FaultPlan {
            server_error: 0.8,
            rate_limit: 0.8,
            ..FaultPlan::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("exceed 1"), "{err}");
}

#[tokio::test]
async fn in_process_router_reports_a_drop_as_502() {
    let state = KlingState::new(
        KlingSimConfig::default().with_faults(FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::default()
        }),
        "http://sim.test".into(),
    )
    .unwrap();
    let now = common::now_secs();
    let token = encode_token("sim-access-key", "sim-secret-key", now + 60, now - 5);
    let req = http::Request::get(T2V)
        .header("Authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = router(state).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["x-sim-fault"], "drop-connection");
}

#[tokio::test]
async fn a_real_time_clock_finishes_tasks_without_manual_advances() {
    let api = Api::start(KlingSimConfig::default().with_speed(600.0)).await;
    let rx = Receiver::start().await;
    api.create(T2V, &json!({"prompt": "x", "callback_url": rx.url}))
        .await;
    // 32 simulated seconds are about 53 real ms at 600×; wait up to 10 real seconds.
    for _ in 0..400 {
        if rx.statuses().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(rx.statuses(), ["processing", "succeed"]);
}
