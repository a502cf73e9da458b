//! Issue 15, point by point, on the strict Kling simulator: for each point the request the
//! old client sent (or the old simulator accepted) is refused as the real API refuses it,
//! and the new one goes through and bills what the spec says.

use genmux_core::{Catalog, ErrorKind, GenerationRequest, SubmitRequest, TaskRef, TaskStatus};
use genmux_kling::wire::{Endpoint, Task, TaskStatus as WireStatus};
use genmux_kling::{KlingClient, KlingConfig, KlingProvider};
use genmux_sim::kling::{KlingAccount, KlingSim, KlingSimConfig, IDENTIFY_FACE_UNITS};
use serde_json::{json, Value};
use std::time::Duration;

const IMG: &str = "https://example.com/person.png";

async fn sim() -> (KlingSim, KlingClient) {
    let mut account = KlingAccount::new("ak-15", "sk-15");
    account.video_concurrency = 100;
    account.image_concurrency = 100;
    let sim = KlingSim::start(KlingSimConfig::default().with_accounts(vec![account]))
        .await
        .unwrap();
    let client = KlingClient::new(
        KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url()),
    )
    .unwrap();
    (sim, client)
}

async fn create(c: &KlingClient, endpoint: Endpoint, body: Value) -> genmux_core::Result<Task> {
    c.create(endpoint, &body).await
}

/// The message of a refusal, which must be a 1201-style invalid request.
async fn refused(c: &KlingClient, endpoint: Endpoint, body: Value) -> String {
    let e = create(c, endpoint, body).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    e.message().to_string()
}

async fn finished(sim: &KlingSim, c: &KlingClient, endpoint: Endpoint, id: &str) -> Task {
    sim.advance(Duration::from_secs(120)).await;
    let t = c.get(endpoint, id).await.unwrap();
    assert_eq!(t.task_status, WireStatus::Succeed, "{t:?}");
    t
}

fn units(t: &Task) -> f64 {
    t.final_unit_deduction.as_ref().unwrap().0.parse().unwrap()
}

/// Point 2: omni-image `element_id` is an integer. The old client sent a string, which the
/// old simulator took; now a string (even of digits) is refused, naming the field.
#[tokio::test]
async fn point_2_element_id_is_an_integer() {
    let (sim, c) = sim().await;
    let body = |id: Value| json!({"prompt": "Put the subject on a beach", "element_list": [{"element_id": id}]});
    for old in [json!("el-1"), json!("829")] {
        let m = refused(&c, Endpoint::OmniImage, body(old)).await;
        assert!(
            m.contains("element_list[0].element_id must be an integer"),
            "{m}"
        );
    }
    let t = create(&c, Endpoint::OmniImage, body(json!(829)))
        .await
        .unwrap();
    finished(&sim, &c, Endpoint::OmniImage, &t.task_id).await;
    // Strict types generally: an integer field refuses a string.
    let m = refused(
        &c,
        Endpoint::ImageGenerations,
        json!({"prompt": "a fox", "n": "2"}),
    )
    .await;
    assert!(m.contains("n must be an integer"), "{m}");
}

/// Point 3: kling-v3 takes 3–15 s and multi-shot, billed per second; other models still
/// take only "5" / "10".
#[tokio::test]
async fn point_3_kling_v3_durations_multi_shot_and_per_second_billing() {
    let (sim, c) = sim().await;
    let m = refused(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v2-5-turbo", "prompt": "a fox", "duration": "7"}),
    )
    .await;
    assert!(m.contains("duration"), "{m}");
    let m = refused(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v3", "prompt": "a fox", "duration": "16"}),
    )
    .await;
    assert!(m.contains("\"3\" to \"15\""), "{m}");
    // 7 s std = 7 × 0.6 u.
    let t = create(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v3", "prompt": "a fox", "duration": "7"}),
    )
    .await
    .unwrap();
    let done = finished(&sim, &c, Endpoint::Text2Video, &t.task_id).await;
    assert!(
        (units(&done) - 4.2).abs() < 1e-9,
        "{:?}",
        done.final_unit_deduction
    );
    // Multi-shot, customized: 3 + 4 s, pro with sound = 7 × 1.2 u.
    let t = create(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v3", "mode": "pro", "sound": "on", "duration": "7",
            "multi_shot": true, "shot_type": "customize",
            "multi_prompt": [{"index": 1, "prompt": "A door opens", "duration": "3"},
                             {"index": 2, "prompt": "A cat walks in", "duration": "4"}]}),
    )
    .await
    .unwrap();
    let done = finished(&sim, &c, Endpoint::Text2Video, &t.task_id).await;
    assert!(
        (units(&done) - 8.4).abs() < 1e-9,
        "{:?}",
        done.final_unit_deduction
    );
    // shot_type intelligence: the model divides the prompt; no multi_prompt.
    create(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v3", "prompt": "A day in the city", "duration": "10",
            "multi_shot": true, "shot_type": "intelligence"}),
    )
    .await
    .unwrap();
    // Through the provider: the catalog's own multi-shot example.
    let provider = provider(&sim);
    let req: GenerationRequest = serde_json::from_value(json!({"model": "kling-3.0",
        "multiShots": true, "multiPrompt": [{"prompt": "A door opens", "duration": 3},
        {"prompt": "A cat walks in", "duration": 4}]}))
    .unwrap();
    let snap = submit_and_finish(&sim, &provider, req, "kling-v3").await;
    assert_eq!(snap.status, TaskStatus::Succeeded);
}

/// Point 4: motion control takes `model_name` (kling-v2-6 by default, kling-v3), and v3
/// is billed at its own rate; v3 alone takes one subject.
#[tokio::test]
async fn point_4_motion_control_model_name_and_v3_prices() {
    let (sim, c) = sim().await;
    // A 10 s motion video of this simulator.
    let src = create(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v2-5-turbo", "prompt": "a dancer", "duration": "10"}),
    )
    .await
    .unwrap();
    let src = finished(&sim, &c, Endpoint::Text2Video, &src.task_id).await;
    let video = src.task_result.unwrap().videos[0].url.clone();
    let body = |extra: Value| {
        let mut b = json!({"image_url": IMG, "video_url": video,
            "character_orientation": "image", "mode": "std"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let e = create(
        &c,
        Endpoint::MotionControl,
        body(json!({"model_name": "kling-v2-5-turbo"})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "1203 model not found: {e}");
    let m = refused(
        &c,
        Endpoint::MotionControl,
        body(json!({"element_list": [{"element_id": 829}]})),
    )
    .await;
    assert!(m.contains("element_list is not supported"), "{m}");
    let m = refused(
        &c,
        Endpoint::MotionControl,
        body(json!({"model_name": "kling-v3",
            "element_list": [{"element_id": 1}, {"element_id": 2}]})),
    )
    .await;
    assert!(m.contains("at most 1"), "{m}");
    let v26 = create(&c, Endpoint::MotionControl, body(json!({})))
        .await
        .unwrap();
    let v3 = create(
        &c,
        Endpoint::MotionControl,
        body(json!({"model_name": "kling-v3", "element_list": [{"element_id": 829}]})),
    )
    .await
    .unwrap();
    let v26 = finished(&sim, &c, Endpoint::MotionControl, &v26.task_id).await;
    let v3 = c.get(Endpoint::MotionControl, &v3.task_id).await.unwrap();
    // 10 s std: v2.6 0.9 u/s, v3 0.6 u/s.
    assert!(
        (units(&v26) - 9.0).abs() < 1e-9,
        "{:?}",
        v26.final_unit_deduction
    );
    assert!(
        (units(&v3) - 6.0).abs() < 1e-9,
        "{:?}",
        v3.final_unit_deduction
    );
    // Through the provider and the catalog: kling-3.0-motion-control sends model_name
    // kling-v3 and the subject as an integer.
    let provider = provider(&sim);
    let req: GenerationRequest = serde_json::from_value(json!({
        "model": "kling-3.0-motion-control", "images": [IMG], "motionVideo": video,
        "characterOrientation": "image", "mode": "pro", "duration": 10,
        "elementIds": ["829"]}))
    .unwrap();
    let snap = submit_and_finish(&sim, &provider, req, "motion-control-v3").await;
    assert_eq!(snap.status, TaskStatus::Succeeded);
    let task = sim
        .state()
        .tasks()
        .into_iter()
        .find(|t| t.task_id == snap.provider_task_id)
        .unwrap();
    assert!(
        (task.units - 8.0).abs() < 1e-9,
        "10 s pro at 0.8 u/s: {}",
        task.units
    );
}

/// Point 5: identify-face answers with its own `final_unit_deduction`, which ends up in
/// the lip-sync task's billed cost; kling-v2-5-turbo image2video takes `mode: std`
/// (spec §3 allows std/pro for every model and says nothing else for v2.5-turbo).
#[tokio::test]
async fn point_5_identify_face_cost_is_billed_and_turbo_image2video_takes_std() {
    let (sim, c) = sim().await;
    let t = create(
        &c,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v2-5-turbo", "image": IMG, "mode": "std"}),
    )
    .await
    .unwrap();
    let done = finished(&sim, &c, Endpoint::Image2Video, &t.task_id).await;
    assert!((units(&done) - 1.5).abs() < 1e-9);
    let video_id = done.task_result.unwrap().videos[0].id.clone();
    let faces = c
        .identify_face(&genmux_kling::wire::IdentifyFaceRequest {
            video_id: Some(video_id.clone()),
            video_url: None,
        })
        .await
        .unwrap();
    let charged: f64 = faces.final_unit_deduction.unwrap().0.parse().unwrap();
    assert!((charged - IDENTIFY_FACE_UNITS).abs() < 1e-9);
    // Through the provider: the lip-sync task's billed USD is its own units plus
    // identify-face's, and the usage names both.
    let provider = provider(&sim);
    let req: GenerationRequest = serde_json::from_value(json!({
        "model": "kling-lip-sync", "videoId": video_id, "soundFile": "https://example.com/v.mp3",
        "soundStartTime": 0, "soundEndTime": 3000, "soundInsertTime": 0}))
    .unwrap();
    let snap = submit_and_finish(&sim, &provider, req, "advanced-lip-sync").await;
    let usage = snap.usage.clone().unwrap();
    let own: f64 = usage["final_unit_deduction"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let identify: f64 = usage["identify_face_unit_deduction"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((identify - IDENTIFY_FACE_UNITS).abs() < 1e-9);
    let want = ((own + identify) * genmux_kling::offerings::USD_PER_UNIT * 1e6).round() as i64;
    assert_eq!(snap.billed_usd_micros, Some(want));
}

/// Fields other clients already have: kling-v2-6 image2video with sound (pro), v3
/// image2video subjects (≤ 3, integers), `voice_list` on v2.6+ only, `watermark_info`
/// answered with a `watermark_url`.
#[tokio::test]
async fn newer_fields_are_accepted_where_the_docs_put_them() {
    let (sim, c) = sim().await;
    let m = refused(
        &c,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v2-6", "image": IMG, "sound": "on", "mode": "std"}),
    )
    .await;
    assert!(m.contains("needs mode \"pro\""), "{m}");
    create(
        &c,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v2-6", "image": IMG, "sound": "on", "mode": "pro",
            "voice_list": [{"voice_id": "voice-1"}]}),
    )
    .await
    .unwrap();
    let m = refused(
        &c,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v2-5-turbo", "prompt": "a fox",
            "voice_list": [{"voice_id": "voice-1"}]}),
    )
    .await;
    assert!(m.contains("voice_list needs a V2.6 or later model"), "{m}");
    let m = refused(
        &c,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v3", "image": IMG,
            "element_list": [{"element_id": 1}, {"element_id": 2}, {"element_id": 3}, {"element_id": 4}]}),
    )
    .await;
    assert!(m.contains("at most 3"), "{m}");
    let m = refused(
        &c,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v2-6", "image": IMG, "element_list": [{"element_id": 1}]}),
    )
    .await;
    assert!(m.contains("kling-v3 only"), "{m}");
    let t = create(
        &c,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v3", "image": IMG, "element_list": [{"element_id": 7}],
            "watermark_info": {"enabled": true}}),
    )
    .await
    .unwrap();
    let m = refused(
        &c,
        Endpoint::Text2Video,
        json!({"prompt": "a fox", "watermark_info": {"enabled": "yes"}}),
    )
    .await;
    assert!(
        m.contains("watermark_info.enabled must be a boolean"),
        "{m}"
    );
    let done = finished(&sim, &c, Endpoint::Image2Video, &t.task_id).await;
    let v = &done.task_result.unwrap().videos[0];
    assert!(v
        .watermark_url
        .as_deref()
        .is_some_and(|u| u.starts_with(&v.url)));
}

/// spec "Auth": the simulator takes a configured static API key as the bearer token;
/// another key is refused as an invalid token.
#[tokio::test]
async fn a_static_api_key_authenticates_against_the_simulator() {
    let account = KlingAccount::new("ak-key", "sk-key").with_api_key("kling-static-key-1");
    let sim = KlingSim::start(KlingSimConfig::default().with_accounts(vec![account]))
        .await
        .unwrap();
    let good = KlingClient::new(
        KlingConfig::with_api_key("kling-static-key-1").with_base_url(sim.base_url()),
    )
    .unwrap();
    good.get(Endpoint::Text2Video, "nothing-here")
        .await
        .map(|_| ())
        .or_else(|e| (e.kind() == ErrorKind::NotFound).then_some(()).ok_or(e))
        .unwrap();
    good.create_text2video(&genmux_kling::wire::Text2VideoRequest {
        prompt: Some("a fox".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let bad = KlingClient::new(
        KlingConfig::with_api_key("kling-static-key-2").with_base_url(sim.base_url()),
    )
    .unwrap();
    let e = bad.get(Endpoint::Text2Video, "t").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
}

fn provider(sim: &KlingSim) -> KlingProvider {
    KlingProvider::new(
        KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url()),
        Catalog::builtin(),
    )
    .unwrap()
}

/// Quotes `req` with the catalog, submits it on the offering of `provider_model` and
/// returns its snapshot once the simulator finished it.
async fn submit_and_finish(
    sim: &KlingSim,
    provider: &KlingProvider,
    req: GenerationRequest,
    provider_model: &str,
) -> genmux_core::TaskSnapshot {
    let q = Catalog::builtin()
        .quote(&req)
        .unwrap_or_else(|e| panic!("catalog refused: {e}"));
    let offering = provider
        .video_offerings()
        .iter()
        .chain(provider.image_offerings())
        .find(|o| o.model == q.model && o.provider_model == provider_model)
        .unwrap_or_else(|| panic!("{} / {provider_model} not offered", q.model))
        .clone();
    let sub = provider
        .submit_task(SubmitRequest {
            request: &q.request,
            operation: q.operation,
            offering: &offering,
            callback_url: None,
            external_id: &format!("issue15-{}", q.model),
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", q.model));
    sim.advance(Duration::from_secs(120)).await;
    provider
        .task_status(&TaskRef {
            provider: "kling".into(),
            provider_task_id: sub.provider_task_id,
            model: q.model.clone(),
            provider_model: provider_model.into(),
            operation: q.operation,
        })
        .await
        .unwrap()
}
