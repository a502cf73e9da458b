//! Mapping tests without HTTP: each case goes through the catalog (validation and
//! defaults, as the gateway does), then [`create_request`], and the exact body is compared.

use super::*;
use genmux_core::Catalog;
use serde_json::{json, Value};

/// Validates and defaults `body` for the `runway` model through the built-in catalog.
fn quoted(body: Value) -> (GenerationRequest, Operation) {
    let mut obj = body.as_object().cloned().unwrap_or_default();
    obj.insert("model".into(), json!("runway"));
    let req: GenerationRequest = serde_json::from_value(Value::Object(obj)).unwrap();
    let q = Catalog::builtin()
        .quote(&req)
        .unwrap_or_else(|e| panic!("catalog rejected the test request: {e}"));
    (q.request, q.operation)
}

fn planned(body: Value) -> Result<Create> {
    let (req, op) = quoted(body);
    create_request(&req, op)
}

#[test]
fn text_to_video_goes_to_gen45() {
    let c = planned(json!({"prompt": "a fox in the snow", "aspectRatio": "9:16", "duration": 10}))
        .unwrap();
    assert_eq!(c.path(), "/v1/text_to_video");
    assert_eq!(
        c.body(),
        json!({"model": "gen4.5", "promptText": "a fox in the snow", "ratio": "720:1280", "duration": 10})
    );
}

#[test]
fn image_to_video_goes_to_gen4_turbo_at_720p_and_gen45_at_1080p() {
    let c = planned(
        json!({"prompt": "push in", "images": ["https://x.test/a.png"], "aspectRatio": "21:9"}),
    )
    .unwrap();
    assert_eq!(c.path(), "/v1/image_to_video");
    // Catalog defaults: duration 5, quality 720p.
    assert_eq!(
        c.body(),
        json!({"model": "gen4_turbo", "promptImage": "https://x.test/a.png", "promptText": "push in",
               "ratio": "1584:672", "duration": 5})
    );
    let c = planned(
        json!({"prompt": "push in", "images": ["https://x.test/a.png"], "quality": "1080p", "aspectRatio": "1:1"}),
    )
    .unwrap();
    assert_eq!(c.model(), "gen4.5");
    assert_eq!(c.body()["ratio"], json!("960:960"));
}

#[test]
fn an_image_without_an_aspect_ratio_is_sent_at_16_9() {
    let c = planned(json!({"prompt": "push in", "images": ["https://x.test/a.png"]})).unwrap();
    assert_eq!(c.body()["ratio"], json!("1280:720"));
}

#[test]
fn every_catalog_aspect_ratio_maps_for_images() {
    for (aspect, ratio) in [
        ("16:9", "1280:720"),
        ("9:16", "720:1280"),
        ("4:3", "1104:832"),
        ("3:4", "832:1104"),
        ("1:1", "960:960"),
        ("21:9", "1584:672"),
    ] {
        let c = planned(
            json!({"prompt": "push in", "images": ["https://x.test/a.png"], "aspectRatio": aspect}),
        )
        .unwrap();
        assert_eq!(c.body()["ratio"], json!(ratio), "{aspect}");
    }
}

#[test]
fn text_to_video_refuses_ratios_runway_lacks_naming_the_field() {
    for aspect in ["4:3", "3:4", "1:1", "21:9"] {
        let e = planned(json!({"prompt": "a fox", "aspectRatio": aspect})).unwrap_err();
        // Unsupported: the router sends the request to another provider.
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{aspect}");
        assert!(
            e.message().starts_with(&format!("aspectRatio: `{aspect}`"))
                && e.message().contains("16:9, 9:16"),
            "{}",
            e.message()
        );
    }
}

#[test]
fn the_prompt_limit_is_counted_in_utf16_units() {
    // 1000 characters pass the catalog; as 500 emoji + 500 letters they are 1500 units.
    let long = format!("{}{}", "🎬".repeat(500), "a".repeat(500));
    let e = planned(json!({"prompt": long, "aspectRatio": "16:9"})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        e.message(),
        "prompt: 1500 UTF-16 code units; Runway's promptText takes at most 1000 (spec/upstreams.md, Runway)"
    );
    let exact = format!("{}{}", "🎬".repeat(250), "a".repeat(500));
    assert!(planned(json!({"prompt": exact, "aspectRatio": "16:9"})).is_ok());
    assert_eq!(prompt_text(&"a".repeat(1000)).unwrap().len(), 1000);
    assert!(prompt_text(&"a".repeat(1001)).is_err());
}

#[test]
fn a_watermark_cannot_be_honoured_natively() {
    let e =
        planned(json!({"prompt": "a fox", "aspectRatio": "16:9", "watermark": true})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().starts_with("watermark"), "{}", e.message());
    assert!(planned(json!({"prompt": "a fox", "aspectRatio": "16:9", "watermark": false})).is_ok());
}

#[test]
fn images_are_https_urls_or_data_uris() {
    let e = planned(json!({"prompt": "go on", "images": ["http://x.test/a.png"]})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.message().starts_with("images[0]: `http://x.test/a.png`"),
        "{}",
        e.message()
    );
    // A bare Base64 PNG becomes a data URI.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg==";
    let c = planned(json!({"prompt": "go on", "images": [png]})).unwrap();
    assert_eq!(
        c.body()["promptImage"],
        json!(format!("data:image/png;base64,{png}"))
    );
    // Base64 that is no image is refused, naming the field.
    let e = planned(json!({"prompt": "go on", "images": ["aGVsbG8gd29ybGQ="]})).unwrap_err();
    assert!(e.message().starts_with("images[0]"), "{}", e.message());
}

#[test]
fn first_and_last_frames_are_positioned() {
    // Not reachable through the catalog's `runway` model (one image at most); the
    // mapping serves a start/end-frame request the way the spec describes.
    let req = GenerationRequest {
        model: "runway".into(),
        prompt: Some("morph".into()),
        images: vec![
            MediaInput::Url("https://x.test/a.png".into()),
            MediaInput::Url("https://x.test/b.png".into()),
        ],
        duration: Some(5),
        quality: Some("720p".into()),
        ..Default::default()
    };
    let c = create_request(&req, Operation::StartEndFrame).unwrap();
    assert_eq!(
        c.body()["promptImage"],
        json!([{"uri": "https://x.test/a.png", "position": "first"},
               {"uri": "https://x.test/b.png", "position": "last"}])
    );
    let only_last = GenerationRequest {
        images: vec![],
        end_image: Some(MediaInput::Url("https://x.test/b.png".into())),
        ..req
    };
    let c = create_request(&only_last, Operation::ImageToVideo).unwrap();
    assert_eq!(
        c.body()["promptImage"],
        json!([{"uri": "https://x.test/b.png", "position": "last"}])
    );
}

/// X1: every field Runway receives is the gateway's (model) or comes from a catalog field
/// of the model; the caller's ids and URLs never reach Runway.
#[test]
fn every_upstream_field_is_gateway_or_catalog_controlled() {
    // Runway field → the catalog fields that control it (empty: the gateway's).
    const SOURCES: &[(&str, &[&str])] = &[
        ("model", &[]),
        ("promptText", &["prompt"]),
        ("promptImage", &["images", "endImage"]),
        ("ratio", &["aspectRatio"]),
        ("duration", &["duration"]),
        ("seed", &["seed"]),
    ];
    let catalog = Catalog::builtin();
    let mut walked = 0;
    for m in catalog.models() {
        for pm in m.providers.iter().filter(|p| p.provider == crate::ID) {
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
                let c = create_request(&q.request, q.operation)
                    .unwrap_or_else(|e| panic!("{} / {}: {e}", m.id, pm.model));
                let Value::Object(sent) = c.body() else {
                    panic!("not an object")
                };
                for (field, value) in &sent {
                    let (_, sources) = SOURCES
                        .iter()
                        .find(|(f, _)| f == field)
                        .unwrap_or_else(|| panic!("{}: `{field}` has no declared source", m.id));
                    if sources.is_empty() {
                        let want =
                            UpstreamModel::for_request(q.operation, q.request.quality.as_deref())
                                .unwrap();
                        assert_eq!(
                            value,
                            &json!(want.as_str()),
                            "{}: gateway field `{field}`",
                            m.id
                        );
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
                    assert!(
                        !text.contains(caller_value),
                        "{}: {caller_value} reached Runway",
                        m.id
                    );
                }
                walked += 1;
            }
        }
    }
    assert!(walked >= 2, "walked only {walked} examples");
}

fn task(v: Value) -> Task {
    serde_json::from_value(v).unwrap()
}

#[test]
fn statuses_throttled_is_queued_and_unknown_is_processing() {
    use wire::TaskStatus as W;
    assert_eq!(status(&W::Pending), TaskStatus::Submitted);
    assert_eq!(status(&W::Throttled), TaskStatus::Submitted);
    assert_eq!(status(&W::Running), TaskStatus::Processing);
    assert_eq!(status(&W::Succeeded), TaskStatus::Succeeded);
    assert_eq!(status(&W::Failed), TaskStatus::Failed);
    assert_eq!(status(&W::Cancelled), TaskStatus::Cancelled);
    assert_eq!(status(&W::Other("PAUSED".into())), TaskStatus::Processing);
}

#[test]
fn snapshots() {
    let s = snapshot(&task(json!({"id": "t1", "status": "SUCCEEDED",
        "output": ["https://cdn.test/a.mp4"], "createdAt": "2026-12-06T08:00:00Z"})))
    .unwrap();
    assert_eq!(s.status, TaskStatus::Succeeded);
    assert_eq!(s.assets.len(), 1);
    assert_eq!(s.assets[0].url, "https://cdn.test/a.mp4");
    assert_eq!(s.assets[0].kind, MediaKind::Video);
    let s = snapshot(&task(
        json!({"id": "t1", "status": "RUNNING", "progress": 0.25}),
    ))
    .unwrap();
    assert_eq!(s.status, TaskStatus::Processing);
    assert_eq!(s.usage.unwrap()["progress"], json!(0.25));
    let s = snapshot(&task(json!({"id": "t1", "status": "THROTTLED"}))).unwrap();
    assert_eq!(s.status, TaskStatus::Submitted);
    assert_eq!(s.usage.unwrap()["runwayStatus"], json!("THROTTLED"));
    let s = snapshot(&task(json!({"id": "t1", "status": "FAILED",
        "failure": "The prompt was flagged", "failureCode": "SAFETY.INPUT.TEXT"})))
    .unwrap();
    assert_eq!(s.status, TaskStatus::Failed);
    assert_eq!(
        s.error.as_deref(),
        Some("content_rejected: Runway task t1 failed (SAFETY.INPUT.TEXT): The prompt was flagged")
    );
    let e = snapshot(&task(
        json!({"id": "t1", "status": "SUCCEEDED", "output": []}),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
}
