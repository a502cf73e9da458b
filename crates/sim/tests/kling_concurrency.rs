//! Per-account concurrency (spec, errors: 1303 / HTTP 429), counted per pack: video tasks
//! hold one slot, image tasks hold `n`, slots free when a task ends.

mod common;

use std::time::Duration;

use common::Api;
use genmux_sim::kling::{KlingAccount, KlingSimConfig};
use serde_json::json;

#[tokio::test]
async fn video_and_image_packs_are_counted_separately_per_account() {
    let mut main = KlingAccount::new("ak", "sk");
    main.video_concurrency = 2;
    main.image_concurrency = 9;
    let cfg = KlingSimConfig::default().with_accounts(vec![main, KlingAccount::new("ak2", "sk2")]);
    let api = Api::start(cfg).await;
    let t2v = "/v1/videos/text2video";
    let img = "/v1/images/generations";

    api.create(t2v, &json!({"prompt": "one"})).await;
    api.create(
        "/v1/videos/image2video",
        &json!({"image": "https://example.com/a.png"}),
    )
    .await;
    let (status, v) = api.post(t2v, &json!({"prompt": "three"})).await;
    assert_eq!((status, v["code"].as_i64()), (429, Some(1303)), "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("2 of 2 video"),
        "{v}"
    );

    // The image pack is separate; an image task holds n slots.
    api.create(img, &json!({"prompt": "a", "n": 5})).await;
    let (status, v) = api.post(img, &json!({"prompt": "b", "n": 5})).await;
    assert_eq!((status, v["code"].as_i64()), (429, Some(1303)), "{v}");
    api.create(img, &json!({"prompt": "c", "n": 4})).await;
    let (status, _) = api.post(img, &json!({"prompt": "d"})).await;
    assert_eq!(status, 429, "9 of 9 image slots in use");

    // Another account is not affected.
    let (status, v) = api
        .post_as(
            t2v,
            &json!({"prompt": "other"}),
            Some(&api.bearer_for("ak2", "sk2")),
        )
        .await;
    assert_eq!((status, v["code"].as_i64()), (200, Some(0)), "{v}");

    // Queries hold no slot and slots free when tasks end.
    let (status, _) = api.get(t2v).await;
    assert_eq!(status, 200);
    api.sim.advance(Duration::from_secs(60)).await;
    api.create(t2v, &json!({"prompt": "after"})).await;
    api.create(img, &json!({"prompt": "after", "n": 9})).await;
}

#[tokio::test]
async fn failed_tasks_free_their_slots_too() {
    let mut cfg = KlingSimConfig::default().with_failure_rate(1.0);
    cfg.accounts[0].video_concurrency = 1;
    let api = Api::start(cfg).await;
    api.create("/v1/videos/text2video", &json!({"prompt": "x"}))
        .await;
    let (status, _) = api
        .post("/v1/videos/text2video", &json!({"prompt": "y"}))
        .await;
    assert_eq!(status, 429);
    api.sim.advance(Duration::from_secs(60)).await;
    api.create("/v1/videos/text2video", &json!({"prompt": "z"}))
        .await;
}
