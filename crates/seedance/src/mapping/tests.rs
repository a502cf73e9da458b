//! Mapping tests without HTTP: each request goes through the catalog (validation and
//! defaults, as the gateway does), then [`create_request`], and the exact Ark body is
//! compared.

use super::request::create_request;
use super::task::{billed_usd_micros, parse_callback_body, snapshot};
use crate::region::Region;
use crate::rules::BYTEPLUS_1_5_PRO;
use crate::wire::Task;
use genmux_core::{Catalog, ErrorKind, GenerationRequest, Operation, TaskStatus};
use serde_json::{json, Value};

const CB: &str = "https://gw.test/callbacks/seedance/tok";
const MODEL: &str = "seedance-1.5-pro";
/// A 1×1 PNG, Base64.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Validates and defaults `body` through the built-in catalog.
fn quoted(body: Value) -> (GenerationRequest, Operation) {
    let mut obj = body.as_object().cloned().unwrap_or_default();
    obj.insert("model".into(), json!(MODEL));
    let req: GenerationRequest = serde_json::from_value(Value::Object(obj)).unwrap();
    let q = Catalog::builtin()
        .quote(&req)
        .unwrap_or_else(|e| panic!("catalog rejected the test request: {e}"));
    (q.request, q.operation)
}

fn body_for(body: Value) -> Value {
    let (req, op) = quoted(body);
    serde_json::to_value(create_request(&req, op, BYTEPLUS_1_5_PRO, Some(CB)).unwrap()).unwrap()
}

#[test]
fn text_to_video_with_catalog_defaults() {
    assert_eq!(
        body_for(json!({"prompt": "a beach at dusk"})),
        json!({
            "model": "seedance-1-5-pro-251215",
            "content": [{"type": "text", "text": "a beach at dusk"}],
            "resolution": "720p",
            "ratio": "16:9",
            "duration": 8,
            "watermark": false,
            "generate_audio": false,
            "callback_url": CB
        })
    );
}

#[test]
fn first_frame_with_audio_fixed_camera_and_ratio() {
    assert_eq!(
        body_for(json!({
            "prompt": "the dragon takes off",
            "images": ["https://img.test/first.png"],
            "aspectRatio": "9:16", "resolution": "1080p", "duration": 12,
            "generateAudio": true, "fixedLens": true, "nsfwChecker": true
        })),
        json!({
            "model": "seedance-1-5-pro-251215",
            "content": [
                {"type": "text", "text": "the dragon takes off"},
                {"type": "image_url", "image_url": {"url": "https://img.test/first.png"}, "role": "first_frame"}
            ],
            "resolution": "1080p",
            "ratio": "9:16",
            "duration": 12,
            "camera_fixed": true,
            "watermark": false,
            "generate_audio": true,
            "callback_url": CB
        })
    );
}

#[test]
fn first_and_last_frame_with_base64_as_a_data_uri() {
    let b = body_for(json!({
        "prompt": "morning turns to night",
        "images": ["https://img.test/a.jpg", PNG_B64],
        "duration": 4, "resolution": "480p"
    }));
    assert_eq!(
        b["content"],
        json!([
            {"type": "text", "text": "morning turns to night"},
            {"type": "image_url", "image_url": {"url": "https://img.test/a.jpg"}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_B64}")}, "role": "last_frame"}
        ])
    );
    assert_eq!(
        (b["duration"].clone(), b["resolution"].clone()),
        (json!(4), json!("480p"))
    );
}

#[test]
fn what_ark_lacks_is_unsupported_and_named() {
    // The catalog allows 2:3 and 3:2 (midsync serves them); Ark has no such ratio.
    for ratio in ["2:3", "3:2"] {
        let (req, op) = quoted(json!({"prompt": "a beach", "aspectRatio": ratio}));
        let e = create_request(&req, op, BYTEPLUS_1_5_PRO, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(
            e.message().starts_with(&format!("aspectRatio: `{ratio}`")),
            "{}",
            e.message()
        );
        assert!(
            e.message().contains("16:9, 4:3, 1:1, 3:4, 9:16, 21:9"),
            "{}",
            e.message()
        );
    }
    let (req, op) = quoted(json!({"prompt": "a beach"}));
    let e = create_request(&req, op, "dreamina-seedance-2-0-260128", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[test]
fn a_request_missing_what_was_priced_is_refused() {
    let (mut req, op) = quoted(json!({"prompt": "a beach"}));
    req.duration = None;
    let e = create_request(&req, op, BYTEPLUS_1_5_PRO, None).unwrap_err();
    assert!(e.message().starts_with("duration"), "{}", e.message());
    let (mut req, op) = quoted(json!({"prompt": "a beach"}));
    req.resolution = None;
    let e = create_request(&req, op, BYTEPLUS_1_5_PRO, None).unwrap_err();
    assert!(e.message().starts_with("resolution"), "{}", e.message());
    // Images must agree with the operation.
    let (req, _) = quoted(json!({"prompt": "a beach"}));
    let e = create_request(&req, Operation::ImageToVideo, BYTEPLUS_1_5_PRO, None).unwrap_err();
    assert!(
        e.message().starts_with("images: 0 given"),
        "{}",
        e.message()
    );
    let e = create_request(&req, Operation::LipSync, BYTEPLUS_1_5_PRO, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[test]
fn ark_text_commands_in_the_prompt_are_refused() {
    for prompt in [
        "a beach --dur 12",
        "a beach --rs=1080p",
        "--WM true a beach",
        "a beach\n--camerafixed false",
    ] {
        let (req, op) = quoted(json!({"prompt": prompt}));
        let e = create_request(&req, op, BYTEPLUS_1_5_PRO, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{prompt}");
        assert!(e.message().starts_with("prompt: `--"), "{}", e.message());
    }
    // Dashes that are not a command pass.
    let (req, op) = quoted(json!({"prompt": "a beach -- calm --quiet, 2--3 waves"}));
    assert!(create_request(&req, op, BYTEPLUS_1_5_PRO, None).is_ok());
}

#[test]
fn base64_that_is_no_image_is_named() {
    let (mut req, op) = quoted(json!({"prompt": "x y z", "images": ["https://img.test/a.png"]}));
    req.images = vec![genmux_core::MediaInput::Base64("aGVsbG8gd29ybGQ=".into())];
    let e = create_request(&req, op, BYTEPLUS_1_5_PRO, None).unwrap_err();
    assert!(e.message().starts_with("images[0]"), "{}", e.message());
}

#[test]
fn volcengine_gets_its_own_model_id() {
    let (req, op) = quoted(json!({"prompt": "a beach"}));
    let id = Region::Volcengine.model_id(BYTEPLUS_1_5_PRO);
    let b = create_request(&req, op, &id, None).unwrap();
    assert_eq!(b.model, "doubao-seedance-1-5-pro-251215");
}

/// X1 (`design/RELIABILITY.md`): every top-level field an Ark body can carry, with what
/// sets it — the gateway, or the catalog fields (validated and priced by the catalog) it
/// is mapped from. A field missing here fails
/// [`every_upstream_field_is_gateway_or_catalog_controlled`].
const ARK_FIELD_SOURCES: &[(&str, &[&str])] = &[
    // Set by the gateway, never by the caller.
    ("model", &[]),
    ("callback_url", &[]),
    ("watermark", &[]),
    // Mapped from catalog fields.
    ("content", &["prompt", "images"]),
    ("resolution", &["resolution"]),
    ("ratio", &["aspectRatio"]),
    ("duration", &["duration"]),
    ("generate_audio", &["generateAudio"]),
    ("camera_fixed", &["fixedLens"]),
];

/// X1: for every example of every catalog model `seedance` serves — and requests using
/// every field the model declares — each field of the Ark body is one the gateway sets
/// (keeping its value whatever the caller sent in `projectId`, `callbackUrl` or
/// `externalTaskId`) or is mapped from catalog fields the model declares.
#[test]
fn every_upstream_field_is_gateway_or_catalog_controlled() {
    let catalog = Catalog::builtin();
    let mut walked = 0;
    for m in catalog.models() {
        for pm in m.providers.iter().filter(|p| p.provider == "seedance") {
            let mut bodies: Vec<serde_json::Map<String, Value>> = m.examples.clone();
            // Every field of the model at once, as image to video and start/end frame.
            for images in [
                json!(["https://img.test/a.png"]),
                json!(["https://img.test/a.png", PNG_B64]),
            ] {
                let all = json!({
                    "prompt": "a fox in the snow", "images": images, "aspectRatio": "21:9",
                    "resolution": "1080p", "duration": 12, "generateAudio": true,
                    "fixedLens": false, "nsfwChecker": false
                });
                bodies.push(all.as_object().cloned().unwrap());
            }
            for mut body in bodies {
                body.insert("model".into(), json!(m.id));
                // The caller tries to steer the gateway's fields through its own.
                body.insert("externalTaskId".into(), json!("tenant-order-1"));
                body.insert("projectId".into(), json!("tenant-project"));
                body.insert("callbackUrl".into(), json!("https://tenant.example/hook"));
                let req: GenerationRequest = serde_json::from_value(Value::Object(body)).unwrap();
                let q = catalog.quote(&req).unwrap();
                let sent = create_request(&q.request, q.operation, &pm.model, Some(CB)).unwrap();
                let Value::Object(sent) = serde_json::to_value(&sent).unwrap() else {
                    panic!("the body is not an object")
                };
                for (field, value) in &sent {
                    let Some((_, sources)) = ARK_FIELD_SOURCES.iter().find(|(f, _)| f == field)
                    else {
                        panic!(
                            "{} / {}: Ark field `{field}` has no declared source",
                            m.id, pm.model
                        );
                    };
                    if sources.is_empty() {
                        let want = match field.as_str() {
                            "model" => json!(pm.model),
                            "callback_url" => json!(CB),
                            "watermark" => json!(false),
                            _ => unreachable!(),
                        };
                        assert_eq!(value, &want, "{}: gateway field `{field}`", m.id);
                    } else {
                        assert!(
                            sources.iter().any(|s| m.field(s).is_some()),
                            "{}: `{field}` comes from {sources:?}, none of which the model declares",
                            m.id
                        );
                    }
                }
                let text = serde_json::to_string(&sent).unwrap();
                for caller_value in ["tenant-order-1", "tenant-project", "tenant.example"] {
                    assert!(!text.contains(caller_value), "{caller_value} reached Ark");
                }
                walked += 1;
            }
        }
    }
    assert!(walked >= 5, "walked only {walked} requests");
}

fn task(v: Value) -> Task {
    serde_json::from_value(v).unwrap()
}

#[test]
fn statuses_walk_in_arks_order() {
    for (wire, want) in [
        ("queued", TaskStatus::Submitted),
        ("running", TaskStatus::Processing),
        ("failed", TaskStatus::Failed),
        ("expired", TaskStatus::Failed),
        ("cancelled", TaskStatus::Failed),
        ("something_new", TaskStatus::Processing),
    ] {
        let s = snapshot(&task(json!({"id": "cgt-1", "status": wire}))).unwrap();
        assert_eq!(s.status, want, "{wire}");
        assert!(s.assets.is_empty());
    }
    let s = snapshot(&task(json!({"id": "cgt-1"}))).unwrap();
    assert_eq!(s.status, TaskStatus::Processing);
}

#[test]
fn a_finished_task_gives_its_video_tokens_and_billed_cost() {
    let t = task(json!({
        "id": "cgt-9", "model": "seedance-1-5-pro-251215", "status": "succeeded",
        "content": {"video_url": "https://ark.test/v.mp4"}, "duration": 8,
        "generate_audio": false, "resolution": "720p", "ratio": "16:9",
        "usage": {"completion_tokens": 172_800, "total_tokens": 172_800}
    }));
    let s = snapshot(&t).unwrap();
    assert_eq!(s.status, TaskStatus::Succeeded);
    assert_eq!(s.assets.len(), 1);
    assert_eq!(s.assets[0].url, "https://ark.test/v.mp4");
    assert_eq!(s.assets[0].duration_secs, Some(8.0));
    assert_eq!(
        s.usage,
        Some(json!({"completion_tokens": 172_800, "total_tokens": 172_800}))
    );
    // 172,800 tokens × $1.2 / M = $0.20736; with audio × 2.
    assert_eq!(billed_usd_micros(&t, 1.2), Some(207_360));
    let mut audio = t.clone();
    audio.generate_audio = Some(true);
    assert_eq!(billed_usd_micros(&audio, 1.2), Some(414_720));
    // Unknown audio, no tokens, or no success: no figure.
    let mut unsure = t.clone();
    unsure.generate_audio = None;
    assert_eq!(billed_usd_micros(&unsure, 1.2), None);
    let failed =
        task(json!({"id": "cgt-9", "status": "failed", "usage": {"completion_tokens": 5}}));
    assert_eq!(billed_usd_micros(&failed, 1.2), None);
}

#[test]
fn succeeded_without_a_video_is_an_error_not_a_charge() {
    let e = snapshot(&task(
        json!({"id": "cgt-3", "status": "succeeded", "content": {}}),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.message().contains("cgt-3"));
}

#[test]
fn failures_keep_arks_code_and_message() {
    let s = snapshot(&task(json!({"id": "cgt-4", "status": "failed",
        "error": {"code": "OutputVideoSensitiveContentDetected", "message": "the output was refused"}})))
    .unwrap();
    assert_eq!(
        s.error.as_deref(),
        Some("Ark OutputVideoSensitiveContentDetected: the output was refused")
    );
    let s = snapshot(&task(
        json!({"id": "cgt-5", "status": "expired", "error": null}),
    ))
    .unwrap();
    assert_eq!(
        s.error.as_deref(),
        Some("Ark: the task expired before it finished")
    );
}

#[test]
fn callback_bodies_are_tasks_or_refused() {
    let t = parse_callback_body(br#"{"id":"cgt-7","status":"running","extra":1}"#).unwrap();
    assert_eq!(t.id, "cgt-7");
    let e = parse_callback_body(b"not a task").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(parse_callback_body(br#"{"status":"succeeded"}"#).is_err());
}
