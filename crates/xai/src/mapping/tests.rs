use super::*;
use crate::wire::{Usage, Video};
use genmux_core::{Catalog, ErrorKind};
use serde_json::Value;

fn t2v(duration: u32) -> GenerationRequest {
    GenerationRequest {
        model: "grok-video".into(),
        prompt: Some("a dog runs on a beach".into()),
        duration: Some(duration),
        resolution: Some("720p".into()),
        aspect_ratio: Some("16:9".into()),
        ..Default::default()
    }
}

#[test]
fn text_to_video_maps_every_field() {
    let body = create_request(&t2v(8), Operation::TextToVideo, "grok-imagine-video").unwrap();
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"model": "grok-imagine-video", "prompt": "a dog runs on a beach",
            "duration": 8, "aspect_ratio": "16:9", "resolution": "720p"})
    );
}

#[test]
fn image_to_video_sends_the_start_frame_as_image_url() {
    let mut req = t2v(5);
    req.images = vec![MediaInput::Url("https://cdn.example/a.png".into())];
    let body = create_request(&req, Operation::ImageToVideo, "grok-imagine-video").unwrap();
    assert_eq!(body.image.unwrap().url, "https://cdn.example/a.png");
    // A bare Base64 PNG becomes a data: URI of its type.
    req.images = vec![MediaInput::Base64("iVBORw0KGgoAAAANSUhEUg==".into())];
    let body = create_request(&req, Operation::ImageToVideo, "grok-imagine-video").unwrap();
    assert_eq!(
        body.image.unwrap().url,
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="
    );
    req.images = vec![MediaInput::Base64("aGVsbG8gd29ybGQ=".into())];
    let e = create_request(&req, Operation::ImageToVideo, "grok-imagine-video").unwrap_err();
    assert!(e.message().starts_with("images[0]"), "{e}");
    req.images = vec![
        MediaInput::Url("https://cdn.example/a.png".into()),
        MediaInput::Url("https://cdn.example/b.png".into()),
    ];
    let e = create_request(&req, Operation::ImageToVideo, "grok-imagine-video").unwrap_err();
    assert!(e.message().starts_with("images: 2 given"), "{e}");
}

#[test]
fn values_xai_refuses_are_named_before_sending() {
    let cases: Vec<(GenerationRequest, &str)> = vec![
        (
            t2v(16),
            "duration: 16 s is not accepted by xAI (allowed: 1–15 s)",
        ),
        (t2v(0), "duration: 0 s"),
        (
            GenerationRequest {
                resolution: Some("1080p".into()),
                ..t2v(5)
            },
            "resolution: `1080p` is not accepted by xAI (allowed: 480p, 720p)",
        ),
        (
            GenerationRequest {
                aspect_ratio: Some("21:9".into()),
                ..t2v(5)
            },
            "aspectRatio: `21:9`",
        ),
        (
            GenerationRequest {
                prompt: Some("  ".into()),
                ..t2v(5)
            },
            "prompt: required",
        ),
    ];
    for (req, want) in cases {
        let e = create_request(&req, Operation::TextToVideo, "grok-imagine-video").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.provider(), Some("xai"));
        assert!(e.message().starts_with(want), "{} vs {want}", e.message());
    }
    let e = create_request(&t2v(5), Operation::TextToVideo, "grok-9").unwrap_err();
    assert!(e.message().starts_with("model: xAI model `grok-9`"), "{e}");
    let e = create_request(&t2v(5), Operation::LipSync, "grok-imagine-video").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

/// X1 (`design/RELIABILITY.md`): every field an xAI body can carry, with what sets it —
/// the gateway (empty list), or the catalog fields (validated and priced) it is mapped
/// from. A field missing here fails [`every_upstream_field_is_gateway_or_catalog_controlled`].
const NATIVE_FIELD_SOURCES: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("prompt", &["prompt"]),
    ("image", &["images"]),
    ("duration", &["duration"]),
    ("aspect_ratio", &["aspectRatio"]),
    ("resolution", &["resolution"]),
];

/// X1: for every catalog model xAI serves and every example of it (plus the caller trying
/// to steer the gateway's fields through `externalTaskId`, `projectId`, `callbackUrl`),
/// each field of the xAI body is the gateway's (the offering's model) or mapped from a
/// catalog field the model declares, and no caller value reaches xAI.
#[test]
fn every_upstream_field_is_gateway_or_catalog_controlled() {
    let catalog = Catalog::builtin();
    let mut walked = 0;
    for m in catalog.models() {
        for pm in m.providers.iter().filter(|p| p.provider == "xai") {
            for ex in &m.examples {
                let mut body = ex.clone();
                body.insert("model".into(), json!(m.id));
                body.insert("externalTaskId".into(), json!("tenant-order-1"));
                body.insert("projectId".into(), json!("tenant-project"));
                body.insert("callbackUrl".into(), json!("https://tenant.example/hook"));
                let req: GenerationRequest = serde_json::from_value(Value::Object(body)).unwrap();
                let q = catalog
                    .quote(&req)
                    .unwrap_or_else(|e| panic!("{}: example refused: {e}", m.id));
                let native = create_request(&q.request, q.operation, &pm.model).unwrap();
                let Value::Object(sent) = serde_json::to_value(&native).unwrap() else {
                    panic!("{}: body is not an object", m.id)
                };
                for (field, value) in &sent {
                    let Some((_, sources)) = NATIVE_FIELD_SOURCES.iter().find(|(f, _)| f == field)
                    else {
                        panic!(
                            "{} / {}: xAI field `{field}` has no declared source",
                            m.id, pm.model
                        );
                    };
                    if sources.is_empty() {
                        assert_eq!(value, &json!(pm.model), "{}: gateway field `{field}`", m.id);
                    } else {
                        assert!(
                            sources.iter().any(|s| m.field(s).is_some()),
                            "{} / {}: `{field}` comes from {sources:?}, none of which {} declares",
                            m.id,
                            pm.model,
                            m.id
                        );
                    }
                }
                let text = serde_json::to_string(&sent).unwrap();
                for caller_value in ["tenant-order-1", "tenant-project", "tenant.example"] {
                    assert!(
                        !text.contains(caller_value),
                        "{}: {caller_value} reached xAI",
                        m.id
                    );
                }
                walked += 1;
            }
        }
    }
    assert!(walked >= 2, "walked only {walked} examples");
}

fn status(v: Value) -> VideoStatus {
    serde_json::from_value(v).unwrap()
}

#[test]
fn statuses_map_to_the_unified_life() {
    let pending = snapshot("r1", &status(json!({"status": "pending", "progress": 40})));
    assert_eq!(pending.status, TaskStatus::Processing);
    assert!(pending.assets.is_empty() && pending.error.is_none());
    let done = snapshot(
        "r1",
        &status(json!({"status": "done", "model": "grok-imagine-video",
            "video": {"url": "https://vidgen.x.ai/r1.mp4", "duration": 8, "respect_moderation": true},
            "usage": {"cost_in_usd_ticks": 5_600_000_000_i64}})),
    );
    assert_eq!(done.status, TaskStatus::Succeeded);
    assert_eq!(done.provider_task_id, "r1");
    assert_eq!(done.assets.len(), 1);
    assert_eq!(done.assets[0].url, "https://vidgen.x.ai/r1.mp4");
    assert_eq!(done.assets[0].kind, MediaKind::Video);
    assert_eq!(done.assets[0].duration_secs, Some(8.0));
    // 5.6e9 ticks = $0.56 = 560 000 micro-USD: the billed cost of the task.
    assert_eq!(done.billed_usd_micros, Some(560_000));
    assert_eq!(
        done.usage,
        Some(json!({"cost_in_usd_ticks": 5_600_000_000_i64}))
    );
    let failed = snapshot(
        "r2",
        &status(
            json!({"status": "failed", "error": {"code": "internal_error", "message": "boom"}}),
        ),
    );
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("provider_unavailable: xAI internal_error: boom")
    );
    assert!(failed.billed_usd_micros.is_none());
    let expired = snapshot("r3", &status(json!({"status": "expired"})));
    assert_eq!(expired.status, TaskStatus::Failed);
    assert!(expired.error.unwrap().contains("expired"));
}

#[test]
fn moderated_and_empty_results_are_failures() {
    let withheld = snapshot(
        "r4",
        &VideoStatus {
            status: Some("done".into()),
            video: Some(Video {
                url: Some("https://vidgen.x.ai/r4.mp4".into()),
                duration: Some(5.0),
                respect_moderation: Some(false),
            }),
            ..Default::default()
        },
    );
    assert_eq!(withheld.status, TaskStatus::Failed);
    assert!(withheld.assets.is_empty());
    assert!(withheld.error.unwrap().starts_with("content_rejected"));
    let empty = snapshot("r5", &status(json!({"status": "done", "video": null})));
    assert_eq!(empty.status, TaskStatus::Failed);
}

#[test]
fn unknown_or_missing_statuses_are_still_processing() {
    let odd = snapshot("r6", &status(json!({"status": "queued_for_gpu"})));
    assert_eq!(odd.status, TaskStatus::Processing);
    let none = snapshot("r7", &VideoStatus::default());
    assert_eq!(none.status, TaskStatus::Processing);
    let implicit = snapshot(
        "r8",
        &status(json!({"video": {"url": "https://vidgen.x.ai/r8.mp4"}})),
    );
    assert_eq!(implicit.status, TaskStatus::Succeeded);
}

#[test]
fn ticks_to_micro_usd() {
    assert_eq!(billed_usd_micros(TICKS_PER_USD), Some(1_000_000));
    assert_eq!(billed_usd_micros(0), Some(0));
    assert_eq!(billed_usd_micros(14_999), Some(1));
    assert_eq!(billed_usd_micros(-1), None);
    assert!(billed_usd_micros(i64::MAX).is_some());
    let usage = Usage {
        cost_in_usd_ticks: Some(7_000_000_000),
    };
    let s = snapshot(
        "r9",
        &VideoStatus {
            status: Some("done".into()),
            video: Some(Video {
                url: Some("https://vidgen.x.ai/r9.mp4".into()),
                ..Default::default()
            }),
            usage: Some(usage),
            ..Default::default()
        },
    );
    assert_eq!(s.billed_usd_micros, Some(700_000));
}

#[test]
fn submission_names_the_request_id() {
    let s = submission(
        &CreateVideoResponse {
            request_id: "req-1".into(),
        },
        "grok-imagine-video",
    );
    assert_eq!(s.provider_task_id, "req-1");
    assert_eq!(s.provider_model, "grok-imagine-video");
    assert_eq!(s.status, TaskStatus::Submitted);
}
