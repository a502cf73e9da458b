//! `kling-v3` as `spec/kling-api.md` "Kling 3.0" states it: durations of 3–15 s on
//! text2video and image2video, multi-shot (`multi_shot`, `shot_type`,
//! `multi_prompt: [{index, prompt, duration: "4"}]`), sound in either mode, per-second
//! prices — and what the spec still refuses (issue 14 point 7: before, the simulator took
//! 5/10 s only and no multi-shot, so the catalog's own kling-3.0 multi-shot example failed).

mod common;

use std::time::Duration;

use common::Api;
use genmux_sim::kling::{KlingAccount, KlingSimConfig};
use serde_json::{json, Value};

const T2V: &str = "/v1/videos/text2video";
const I2V: &str = "/v1/videos/image2video";

async fn api() -> Api {
    let mut account = KlingAccount::new("ak-v3", "sk-v3");
    account.video_concurrency = 100;
    Api::start(KlingSimConfig::default().with_accounts(vec![account])).await
}

#[track_caller]
fn refused((status, v): (u16, Value), needle: &str) {
    assert_eq!((status, v["code"].as_i64()), (400, Some(1201)), "{v}");
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
}

fn shots(durations: &[&str]) -> Value {
    Value::Array(
        durations
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"index": i + 1, "prompt": format!("shot {}", i + 1), "duration": d}))
            .collect(),
    )
}

#[tokio::test]
async fn v3_takes_every_second_from_3_to_15_priced_per_second() {
    let api = api().await;
    for secs in 3..=15u32 {
        for (path, body) in [
            (T2V, json!({"prompt": "a city"})),
            (I2V, json!({"image": "https://example.com/start.png"})),
        ] {
            let mut body = body;
            body["model_name"] = json!("kling-v3");
            body["duration"] = json!(secs.to_string());
            body["mode"] = json!("pro");
            let id = api.create(path, &body).await;
            api.sim.advance(Duration::from_secs(61)).await;
            let t = api.task(path, &id).await;
            assert_eq!(t["task_status"], "succeed", "{path} {secs} s: {t}");
            let video = &t["task_result"]["videos"][0];
            assert_eq!(video["duration"], secs.to_string(), "{path} {secs} s");
            // spec: v3 pro 0.8 u per second.
            let units: f64 = t["final_unit_deduction"].as_str().unwrap().parse().unwrap();
            assert!((units - 0.8 * f64::from(secs)).abs() < 1e-6, "{units}");
            let bytes = api.download(video["url"].as_str().unwrap()).await;
            assert_eq!(&bytes[4..8], b"ftyp");
        }
    }
    for bad in ["2", "16", "7.5", "07", "five"] {
        refused(
            api.post(
                T2V,
                &json!({"model_name": "kling-v3", "prompt": "a city", "duration": bad}),
            )
            .await,
            "duration",
        );
    }
    refused(
        api.post(
            T2V,
            &json!({"model_name": "kling-v3", "prompt": "a city", "duration": 7}),
        )
        .await,
        "duration",
    );
    // Other models keep "5" / "10".
    refused(
        api.post(
            T2V,
            &json!({"model_name": "kling-v2-6", "prompt": "a city", "duration": "7"}),
        )
        .await,
        "duration",
    );
}

#[tokio::test]
async fn v3_multi_shot_as_the_catalog_example_sends_it() {
    let api = api().await;
    // The catalog's kling-3.0 example: two shots of 3 and 4 s, no top-level prompt.
    let body = json!({"model_name": "kling-v3", "multi_shot": true, "shot_type": "customize",
        "multi_prompt": shots(&["3", "4"]), "duration": "7"});
    let id = api.create(T2V, &body).await;
    api.sim.advance(Duration::from_secs(61)).await;
    let t = api.task(T2V, &id).await;
    assert_eq!(t["task_status"], "succeed", "{t}");
    assert_eq!(t["task_result"]["videos"][0]["duration"], "7");
    // std, no sound: 0.6 u per second.
    assert_eq!(t["final_unit_deduction"], "4.2");
    // Image to video with shots, and shot_type intelligence with a prompt.
    api.create(
        I2V,
        &json!({"model_name": "kling-v3", "image": "https://example.com/start.png",
            "multi_shot": true, "shot_type": "customize", "multi_prompt": shots(&["5", "5"]),
            "duration": "10"}),
    )
    .await;
    api.create(
        T2V,
        &json!({"model_name": "kling-v3", "prompt": "a day in the city", "multi_shot": true,
            "shot_type": "intelligence", "duration": "12"}),
    )
    .await;
}

#[tokio::test]
async fn multi_shot_rules_are_enforced() {
    let api = api().await;
    let base = |extra: Value| {
        let mut b = json!({"model_name": "kling-v3", "multi_shot": true, "shot_type": "customize",
            "multi_prompt": shots(&["3", "4"]), "duration": "7"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "older model",
            base(
                json!({"model_name": "kling-v2-6", "multi_prompt": shots(&["5", "5"]), "duration": "10"}),
            ),
            "only supported by kling-v3",
        ),
        (
            "multi_shot false",
            base(json!({"multi_shot": false})),
            "multi_shot true",
        ),
        (
            "multi_shot as a string",
            base(json!({"multi_shot": "true"})),
            "multi_shot must be a boolean",
        ),
        (
            "no shot_type",
            base(json!({"shot_type": null})),
            "shot_type is required",
        ),
        (
            "unknown shot_type",
            base(json!({"shot_type": "auto"})),
            "shot_type",
        ),
        (
            "no shots",
            base(json!({"multi_prompt": null})),
            "multi_prompt is required",
        ),
        ("empty shots", base(json!({"multi_prompt": []})), "1 to 6"),
        (
            "seven shots",
            base(json!({"multi_prompt": shots(&["1"; 7]), "duration": "7"})),
            "1 to 6",
        ),
        (
            "sum differs",
            base(json!({"duration": "8"})),
            "add up to 7 s but duration is 8 s",
        ),
        (
            "no duration",
            base(json!({"duration": null})),
            "add up to 7 s but duration is 5 s",
        ),
        (
            "numeric shot duration",
            base(
                json!({"multi_prompt": [{"index": 1, "prompt": "a", "duration": 3},
                                          {"index": 2, "prompt": "b", "duration": "4"}]}),
            ),
            "multi_prompt[0].duration must be a string",
        ),
        (
            "zero-length shot",
            base(json!({"multi_prompt": shots(&["0", "7"])})),
            "multi_prompt[0].duration",
        ),
        (
            "out of order",
            base(
                json!({"multi_prompt": [{"index": 2, "prompt": "a", "duration": "3"},
                                          {"index": 1, "prompt": "b", "duration": "4"}]}),
            ),
            "multi_prompt[0].index",
        ),
        (
            "unknown shot field",
            base(
                json!({"multi_prompt": [{"index": 1, "prompt": "a", "duration": "7", "camera": "x"}]}),
            ),
            "multi_prompt[0].camera",
        ),
        (
            "empty shot prompt",
            base(json!({"multi_prompt": [{"index": 1, "prompt": " ", "duration": "7"}]})),
            "multi_prompt[0].prompt",
        ),
        (
            "intelligence with shots",
            base(json!({"shot_type": "intelligence", "prompt": "a day"})),
            "not allowed with shot_type \"intelligence\"",
        ),
        (
            "intelligence without a prompt",
            base(json!({"shot_type": "intelligence", "multi_prompt": null})),
            "prompt is required",
        ),
    ];
    for (case, body, needle) in cases {
        let got = api.post(T2V, &body).await;
        assert_eq!(got.0, 400, "{case}: {}", got.1);
        refused(got, needle);
    }
    // A single-shot text2video still needs its prompt.
    refused(
        api.post(T2V, &json!({"model_name": "kling-v3", "duration": "5"}))
            .await,
        "prompt is required",
    );
}

#[tokio::test]
async fn sound_needs_pro_on_v2_6_only() {
    let api = api().await;
    // spec "Kling 3.0": sound on kling-v2-6 requires mode pro, on either endpoint.
    refused(
        api.post(
            T2V,
            &json!({"model_name": "kling-v2-6", "prompt": "a city", "sound": "on"}),
        )
        .await,
        "needs mode \"pro\"",
    );
    api.create(
        T2V,
        &json!({"model_name": "kling-v2-6", "prompt": "a city", "sound": "on", "mode": "pro"}),
    )
    .await;
    // v3 sells sound in std too (0.9 u/s).
    let id = api
        .create(
            I2V,
            &json!({"model_name": "kling-v3", "image": "https://example.com/start.png",
                "sound": "on", "mode": "std", "duration": "4"}),
        )
        .await;
    api.sim.advance(Duration::from_secs(61)).await;
    let t = api.task(I2V, &id).await;
    assert_eq!(t["final_unit_deduction"], "3.6", "{t}");
}
