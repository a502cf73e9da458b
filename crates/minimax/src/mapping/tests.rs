use super::*;
use crate::rules::{HAILUO_02, HAILUO_2_3, HAILUO_2_3_FAST};
use genmux_core::Catalog;
use serde_json::json;

const CB: &str = "https://gw.example/callbacks/minimax/tok";

fn quoted(model: &str, mut body: Value) -> (GenerationRequest, Operation) {
    body["model"] = json!(model);
    let q = Catalog::builtin()
        .quote(&serde_json::from_value(body).unwrap())
        .unwrap_or_else(|e| panic!("{model}: refused by the catalog: {e}"));
    (q.request, q.operation)
}

fn i2v(duration: u32, resolution: &str) -> GenerationRequest {
    GenerationRequest {
        model: "hailuo-2.3-standard".into(),
        prompt: Some("Natural breathing and blinking".into()),
        images: vec![MediaInput::Url("https://example.com/portrait.png".into())],
        duration: Some(duration),
        resolution: Some(resolution.into()),
        ..Default::default()
    }
}

#[test]
fn the_catalog_example_maps_to_the_create_body() {
    let (req, op) = quoted(
        "hailuo-2.3-standard",
        json!({"prompt": "Natural breathing and blinking",
               "images": ["https://example.com/portrait.png"]}),
    );
    assert_eq!(op, Operation::ImageToVideo);
    let body = video_generation_request(&req, op, HAILUO_2_3, Some(CB)).unwrap();
    // The catalog's defaults (10 s, 768P) are sent explicitly: what was priced is built.
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({
            "model": "MiniMax-Hailuo-2.3",
            "prompt": "Natural breathing and blinking",
            "prompt_optimizer": true,
            "duration": 10,
            "resolution": "768P",
            "first_frame_image": "https://example.com/portrait.png",
            "callback_url": CB,
        })
    );
}

#[test]
fn the_1080p_rule_is_the_mappings_refusal() {
    let ok = video_generation_request(&i2v(6, "1080P"), Operation::ImageToVideo, HAILUO_2_3, None)
        .unwrap();
    assert_eq!(
        (ok.duration, ok.resolution.as_deref()),
        (Some(6), Some("1080P"))
    );
    let e = video_generation_request(&i2v(10, "1080P"), Operation::ImageToVideo, HAILUO_2_3, None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().starts_with("resolution: 1080P"), "{e}");
    let e = video_generation_request(&i2v(5, "768P"), Operation::ImageToVideo, HAILUO_2_3, None)
        .unwrap_err();
    assert!(e.message().starts_with("duration: 5"), "{e}");
}

#[test]
fn defaults_are_sent_when_the_request_names_none() {
    let req = GenerationRequest {
        duration: None,
        resolution: None,
        prompt: None,
        ..i2v(6, "768P")
    };
    let body = video_generation_request(&req, Operation::ImageToVideo, HAILUO_2_3, None).unwrap();
    assert_eq!(
        (body.duration, body.resolution.as_deref(), body.prompt),
        (Some(6), Some("768P"), None)
    );
    assert_eq!(body.callback_url, None);
}

#[test]
fn operations_and_models() {
    let t2v = GenerationRequest {
        images: vec![],
        ..i2v(6, "768P")
    };
    assert!(video_generation_request(&t2v, Operation::TextToVideo, HAILUO_2_3, None).is_ok());
    let e =
        video_generation_request(&t2v, Operation::TextToVideo, HAILUO_2_3_FAST, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let two = GenerationRequest {
        images: vec![
            MediaInput::Url("https://x.test/a.png".into()),
            MediaInput::Url("https://x.test/b.png".into()),
        ],
        ..i2v(6, "768P")
    };
    let body = video_generation_request(&two, Operation::StartEndFrame, HAILUO_02, None).unwrap();
    assert_eq!(
        body.last_frame_image.as_deref(),
        Some("https://x.test/b.png")
    );
    let e = video_generation_request(&two, Operation::StartEndFrame, HAILUO_2_3, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = video_generation_request(&two, Operation::ImageToVideo, HAILUO_2_3, None).unwrap_err();
    assert!(e.message().starts_with("images: 2 given"), "{e}");
    let e = video_generation_request(&t2v, Operation::TextToVideo, "MiniMax-H3", None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("MiniMax-H3"), "{e}");
}

#[test]
fn fields_minimax_cannot_carry_are_refused_by_name() {
    for (req, field) in [
        (
            GenerationRequest {
                aspect_ratio: Some("16:9".into()),
                ..i2v(6, "768P")
            },
            "aspectRatio",
        ),
        (
            GenerationRequest {
                negative_prompt: Some("blur".into()),
                ..i2v(6, "768P")
            },
            "negativePrompt",
        ),
        (
            GenerationRequest {
                generate_audio: Some(true),
                ..i2v(6, "768P")
            },
            "generateAudio",
        ),
    ] {
        let e =
            video_generation_request(&req, Operation::ImageToVideo, HAILUO_2_3, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.message().starts_with(field), "{e}");
    }
    // A switch turned off carries nothing.
    let off = GenerationRequest {
        generate_audio: Some(false),
        ..i2v(6, "768P")
    };
    assert!(video_generation_request(&off, Operation::ImageToVideo, HAILUO_2_3, None).is_ok());
}

#[test]
fn base64_images_become_data_uris() {
    // A PNG signature, Base64.
    let png = GenerationRequest {
        images: vec![MediaInput::Base64("iVBORw0KGgoAAAANSUhEUg==".into())],
        ..i2v(6, "768P")
    };
    let body = video_generation_request(&png, Operation::ImageToVideo, HAILUO_2_3, None).unwrap();
    assert_eq!(
        body.first_frame_image.as_deref(),
        Some("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==")
    );
    let text = GenerationRequest {
        images: vec![MediaInput::Base64("aGVsbG8gd29ybGQ=".into())],
        ..i2v(6, "768P")
    };
    let e = video_generation_request(&text, Operation::ImageToVideo, HAILUO_2_3, None).unwrap_err();
    assert!(e.message().starts_with("images:"), "{e}");
}

#[test]
fn statuses_in_minimax_order() {
    use QueryStatus::*;
    for (s, want) in [
        (Preparing, TaskStatus::Submitted),
        (Queueing, TaskStatus::Submitted),
        (Processing, TaskStatus::Processing),
        (Success, TaskStatus::Succeeded),
        (Fail, TaskStatus::Failed),
        (Other("Rendering".into()), TaskStatus::Processing),
    ] {
        assert_eq!(task_status(&s), want, "{s:?}");
    }
}

fn query(status: &str, file_id: Option<&str>, code: i64) -> QueryResponse {
    serde_json::from_value(json!({
        "task_id": "t1", "status": status, "file_id": file_id.unwrap_or(""),
        "base_resp": {"status_code": code, "status_msg": if code == 0 { "success" } else { "sensitive output" }},
    }))
    .unwrap()
}

#[test]
fn query_outcomes() {
    assert_eq!(
        query_outcome(&query("Success", Some("f1"), 0), "t1").unwrap(),
        QueryOutcome::Retrieve {
            task_id: "t1".into(),
            file_id: "f1".into()
        }
    );
    let QueryOutcome::Snapshot(running) = query_outcome(&query("Queueing", None, 0), "t1").unwrap()
    else {
        panic!("running")
    };
    assert_eq!(running.status, TaskStatus::Submitted);
    let QueryOutcome::Snapshot(failed) = query_outcome(&query("Fail", None, 1027), "t1").unwrap()
    else {
        panic!("failed")
    };
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("MiniMax task failed: 1027 sensitive output")
    );
    let e = query_outcome(&query("Success", None, 0), "t1").unwrap_err();
    assert!(e.is_retryable(), "{e}");
}

#[test]
fn a_retrieved_file_is_the_asset() {
    let file: FileObject = serde_json::from_value(json!({
        "file_id": 205258526306433u64, "bytes": 0, "filename": "output.mp4",
        "download_url": "https://cdn.test/output.mp4",
    }))
    .unwrap();
    let s = succeeded("t1", &file);
    assert_eq!(s.status, TaskStatus::Succeeded);
    assert_eq!(s.assets.len(), 1);
    let a = &s.assets[0];
    assert_eq!(
        (a.kind, a.url.as_str(), a.id.as_deref(), a.size_bytes),
        (
            MediaKind::Video,
            "https://cdn.test/output.mp4",
            Some("205258526306433"),
            None
        )
    );
    assert_eq!(s.billed_usd_micros, None);
}

/// X1 (`design/RELIABILITY.md`): every field a MiniMax create body can carry, with what
/// sets it — the gateway, or the catalog fields (validated and priced by the catalog) it
/// is mapped from.
const NATIVE_FIELD_SOURCES: &[(&str, &[&str])] = &[
    // Set by the gateway, never by the caller.
    ("model", &[]),
    ("callback_url", &[]),
    ("prompt_optimizer", &[]),
    // Mapped from catalog fields.
    ("prompt", &["prompt"]),
    ("duration", &["duration"]),
    ("resolution", &["resolution"]),
    ("first_frame_image", &["images"]),
    ("last_frame_image", &["images"]),
];

/// X1: for every catalog model MiniMax serves and every example of it, each field of the
/// create body is either one the gateway sets — keeping its gateway value whatever the
/// caller sent in `projectId`, `callbackUrl` or `externalTaskId` — or mapped from catalog
/// fields the model declares (so validated, defaulted and priced by the catalog).
#[test]
fn every_upstream_field_is_gateway_or_catalog_controlled() {
    let catalog = Catalog::builtin();
    let mut walked = 0;
    for m in catalog.models() {
        for pm in m.providers.iter().filter(|p| p.provider == "minimax") {
            for ex in &m.examples {
                let mut body = ex.clone();
                // The caller tries to steer the gateway's fields through its own.
                body.insert("externalTaskId".into(), json!("tenant-order-1"));
                body.insert("projectId".into(), json!("tenant-project"));
                body.insert("callbackUrl".into(), json!("https://tenant.example/hook"));
                let (req, op) = quoted(&m.id, Value::Object(body));
                if !(pm.operations.is_empty() || pm.operations.contains(&op)) {
                    continue;
                }
                let native = video_generation_request(&req, op, &pm.model, Some(CB)).unwrap();
                let Value::Object(native) = serde_json::to_value(&native).unwrap() else {
                    panic!("{}: the body is not an object", m.id)
                };
                for (field, value) in &native {
                    let Some((_, sources)) = NATIVE_FIELD_SOURCES.iter().find(|(f, _)| f == field)
                    else {
                        panic!(
                            "{} / {}: field `{field}` has no declared source",
                            m.id, pm.model
                        );
                    };
                    if sources.is_empty() {
                        let want = match field.as_str() {
                            "model" => json!(pm.model),
                            "callback_url" => json!(CB),
                            "prompt_optimizer" => json!(crate::rules::PROMPT_OPTIMIZER),
                            _ => unreachable!(),
                        };
                        assert_eq!(
                            value, &want,
                            "{} / {}: gateway field `{field}`",
                            m.id, pm.model
                        );
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
                let text = serde_json::to_string(&native).unwrap();
                for caller_value in ["tenant-order-1", "tenant-project", "tenant.example"] {
                    assert!(
                        !text.contains(caller_value),
                        "{}: {caller_value} reached MiniMax",
                        m.id
                    );
                }
                walked += 1;
            }
        }
    }
    assert!(walked >= 1, "walked only {walked} examples");
}
