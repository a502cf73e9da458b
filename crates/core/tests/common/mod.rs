//! Helpers shared by the catalog test files: request bodies built from a valid base per
//! model, and the two ways a body reaches the catalog (raw JSON, typed request).
#![allow(dead_code)]

use genmux_core::{Catalog, GenerationRequest, Quote};
use serde_json::{json, Map, Value};

/// An image URL.
pub const IMG: &str = "https://example.com/a.png";
/// A second image URL.
pub const IMG2: &str = "https://example.com/b.png";
/// A video URL.
pub const VID: &str = "https://example.com/v.mp4";
/// An audio URL.
pub const AUD: &str = "https://example.com/voice.mp3";

/// A minimal valid body for `model` (without `model`).
pub fn base(model: &str) -> Value {
    match model {
        "seedance-1.5-pro" => json!({"prompt": "A beach at dusk"}),
        "runway" => json!({"prompt": "A mountain landscape", "aspectRatio": "16:9"}),
        "kling-2.5-turbo" | "kling-2.6-t2v" | "kling-3.0" => {
            json!({"prompt": "A futuristic city"})
        }
        "hailuo-2.3-standard" => json!({"images": [IMG]}),
        "grok-video" => json!({"prompt": "A dog runs toward the camera"}),
        "kling-multi-image" => json!({"prompt": "Two friends shake hands", "images": [IMG]}),
        "kling-2.6-i2v" => json!({"prompt": "The dancer turns", "images": [IMG]}),
        "kling-motion-control" | "kling-3.0-motion-control" => json!({
            "images": [IMG], "motionVideo": VID, "characterOrientation": "image",
            "mode": "std", "duration": 5
        }),
        "kling-video-extend" => json!({"videoId": "vid_1"}),
        "kling-lip-sync" => json!({
            "videoUrl": VID, "soundFile": AUD,
            "soundStartTime": 0, "soundEndTime": 5000, "soundInsertTime": 0
        }),
        "kling-image" | "kling-omni-image" => json!({"prompt": "A watercolor fox"}),
        other => panic!("no base body for {other}"),
    }
}

/// `base(model)` with `patch` merged on top; a `null` in the patch removes the key.
pub fn body(model: &str, patch: &Value) -> Value {
    let mut out: Map<String, Value> = base(model).as_object().cloned().unwrap_or_default();
    out.insert("model".into(), json!(model));
    if let Value::Object(p) = patch {
        for (k, v) in p {
            if v.is_null() {
                out.remove(k);
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The raw path (`/quote` and `/generate`): parse the JSON body, then quote it.
pub fn quote_raw(body: &Value) -> Result<Quote, String> {
    let c = Catalog::builtin();
    c.parse_request(body)
        .and_then(|req| c.quote(&req))
        .map_err(|e| e.message().to_string())
}

/// The typed path (library callers): a `GenerationRequest` built by serde, then quoted.
/// `None` when the body does not even deserialize.
pub fn quote_typed(body: &Value) -> Option<Result<Quote, String>> {
    let req: GenerationRequest = serde_json::from_value(body.clone()).ok()?;
    Some(
        Catalog::builtin()
            .quote(&req)
            .map_err(|e| e.message().to_string()),
    )
}

/// Quotes `body` by both paths, checks they agree, and returns the raw path's answer.
pub fn quote_both(body: &Value) -> Result<Quote, String> {
    let raw = quote_raw(body);
    if let Some(typed) = quote_typed(body) {
        assert_eq!(
            raw.as_ref().map(|q| q.points).map_err(Clone::clone),
            typed.as_ref().map(|q| q.points).map_err(Clone::clone),
            "raw and typed paths disagree for {body}"
        );
    }
    raw
}

/// The points `body` costs; panics with the message when it is rejected.
pub fn points(body: &Value) -> i64 {
    match quote_both(body) {
        Ok(q) => q.points,
        Err(e) => panic!("{body} rejected: {e}"),
    }
}
