//! Prices through `Catalog::quote`, the one function behind `/quote` and `/generate`:
//! published prices reproduced exactly, derived prices pinned, invalid combinations refused.

mod common;

use common::{body, points, quote_both, AUD, IMG, VID};
use serde_json::json;

#[test]
fn grok_video_published_formula_for_every_duration_and_resolution() {
    // spec/upstreams.md: 480p = 9 + (d − 6) × 2; 720p = 17 + (d − 6) × 2; d from 6 to 30.
    for d in 6..=30i64 {
        for (res, base) in [("480p", 9), ("720p", 17)] {
            let b = body("grok-video", &json!({"duration": d, "resolution": res}));
            assert_eq!(points(&b), base + (d - 6) * 2, "{res} {d}s");
        }
    }
    // The seed's usage-log example: grok-video 10 s 720p → 100 points is not reproducible
    // from the published formula (25); the formula wins (see the report).
    assert_eq!(
        points(&body("grok-video", &json!({}))),
        25,
        "defaults 10 s 720p"
    );
}

#[test]
fn published_and_seed_examples() {
    // spec/upstreams.md: hailuo 34 points for 10 s 768P.
    assert_eq!(points(&body("hailuo-2.3-standard", &json!({}))), 34);
    // spec/unified-api.md: seedance 8 s 720p → 10 points (the seed's generate example).
    assert_eq!(
        points(&body(
            "seedance-1.5-pro",
            &json!({"duration": 8, "resolution": "720p"})
        )),
        10
    );
}

struct PriceRow {
    model: &'static str,
    patch: serde_json::Value,
    points: i64,
    why: &'static str,
}

#[test]
fn price_table() {
    let rows = [
        // seedance: BytePlus tokens at 50 points/USD; audio doubles (audio_percent 200).
        PriceRow {
            model: "seedance-1.5-pro",
            patch: json!({"duration": 8}),
            points: 10,
            why: "8 s 720p default",
        },
        PriceRow {
            model: "seedance-1.5-pro",
            patch: json!({"duration": 8, "generateAudio": true}),
            points: 21,
            why: "audio ×2: 20.736",
        },
        PriceRow {
            model: "seedance-1.5-pro",
            patch: json!({"duration": 8, "generateAudio": false}),
            points: 10,
            why: "audio off",
        },
        PriceRow {
            model: "seedance-1.5-pro",
            patch: json!({"duration": 4, "resolution": "480p"}),
            points: 2,
            why: "2.3328",
        },
        PriceRow {
            model: "seedance-1.5-pro",
            patch: json!({"duration": 12, "resolution": "1080p"}),
            points: 35,
            why: "34.992",
        },
        PriceRow {
            model: "seedance-1.5-pro",
            patch: json!({"duration": 12, "resolution": "1080p", "generateAudio": true}),
            points: 70,
            why: "69.984",
        },
        // runway: gen4.5 for text (6/s), gen4_turbo for 720p image (2.5/s).
        PriceRow {
            model: "runway",
            patch: json!({"duration": 5}),
            points: 30,
            why: "text to video",
        },
        PriceRow {
            model: "runway",
            patch: json!({"duration": 10, "images": [IMG], "aspectRatio": null}),
            points: 25,
            why: "image 720p",
        },
        PriceRow {
            model: "runway",
            patch: json!({"duration": 5, "images": [IMG], "quality": "1080p"}),
            points: 30,
            why: "image 1080p",
        },
        // Kling: 1 unit ≈ 7 points.
        PriceRow {
            model: "kling-2.5-turbo",
            patch: json!({"duration": 5}),
            points: 11,
            why: "1.5 u = 10.5",
        },
        PriceRow {
            model: "kling-2.5-turbo",
            patch: json!({"duration": 10}),
            points: 21,
            why: "10 s doubles",
        },
        PriceRow {
            model: "kling-2.6-t2v",
            patch: json!({"duration": 5}),
            points: 11,
            why: "std 1.5 u",
        },
        PriceRow {
            model: "kling-2.6-t2v",
            patch: json!({"duration": 5, "generateAudio": true}),
            points: 35,
            why: "pro + audio 5 u",
        },
        PriceRow {
            model: "kling-2.6-t2v",
            patch: json!({"duration": 10, "generateAudio": true}),
            points: 70,
            why: "10 s doubles",
        },
        PriceRow {
            model: "kling-3.0",
            patch: json!({"duration": 5}),
            points: 21,
            why: "std 0.6 u/s",
        },
        PriceRow {
            model: "kling-3.0",
            patch: json!({"duration": 5, "mode": "pro"}),
            points: 28,
            why: "pro 0.8 u/s",
        },
        PriceRow {
            model: "kling-3.0",
            patch: json!({"duration": 5, "generateAudio": true}),
            points: 32,
            why: "std audio 0.9 u/s = 31.5",
        },
        PriceRow {
            model: "kling-3.0",
            patch: json!({"duration": 10, "mode": "pro", "generateAudio": true}),
            points: 84,
            why: "pro audio 1.2 u/s",
        },
        PriceRow {
            model: "kling-3.0",
            patch: json!({"prompt": null, "multiShots": true, "multiPrompt": [{"prompt": "a", "duration": 3}, {"prompt": "b", "duration": 4}]}),
            points: 29,
            why: "multi-shot bills the shot sum: 7 × 4.2 = 29.4",
        },
        PriceRow {
            model: "kling-multi-image",
            patch: json!({"mode": "pro", "duration": 10}),
            points: 35,
            why: "pro 2.5 u per 5 s",
        },
        PriceRow {
            model: "kling-motion-control",
            patch: json!({"duration": 10}),
            points: 63,
            why: "std 0.9 u/s",
        },
        PriceRow {
            model: "kling-motion-control",
            patch: json!({"duration": 30, "mode": "pro", "characterOrientation": "video"}),
            points: 252,
            why: "pro 1.2 u/s",
        },
        PriceRow {
            model: "kling-video-extend",
            patch: json!({}),
            points: 11,
            why: "one 5 s std generation",
        },
        // Lip sync: 0.5 u per started 5 s of cropped audio (billing_increment 5).
        PriceRow {
            model: "kling-lip-sync",
            patch: json!({"soundEndTime": 2000}),
            points: 4,
            why: "2 s → 5 s billed: 3.5",
        },
        PriceRow {
            model: "kling-lip-sync",
            patch: json!({"soundEndTime": 5000}),
            points: 4,
            why: "5 s → 5 s billed",
        },
        PriceRow {
            model: "kling-lip-sync",
            patch: json!({"soundEndTime": 5001}),
            points: 7,
            why: "5.001 s → 10 s billed",
        },
        PriceRow {
            model: "kling-lip-sync",
            patch: json!({"soundStartTime": 1000, "soundEndTime": 11000}),
            points: 7,
            why: "10 s → 10 s billed",
        },
        PriceRow {
            model: "kling-lip-sync",
            patch: json!({"soundEndTime": 60000}),
            points: 42,
            why: "60 s → 12 × 3.5",
        },
        // Images: per image `n`.
        PriceRow {
            model: "kling-image",
            patch: json!({}),
            points: 2,
            why: "n defaults to 1: 1.75",
        },
        PriceRow {
            model: "kling-image",
            patch: json!({"n": 4}),
            points: 7,
            why: "4 × 1.75",
        },
        PriceRow {
            model: "kling-image",
            patch: json!({"n": 9}),
            points: 16,
            why: "15.75",
        },
        PriceRow {
            model: "kling-image",
            patch: json!({"n": 2, "resolution": "2k"}),
            points: 7,
            why: "2 × 3.5",
        },
        PriceRow {
            model: "kling-omni-image",
            patch: json!({"n": 3}),
            points: 11,
            why: "3 × 3.5 = 10.5",
        },
        PriceRow {
            model: "kling-omni-image",
            patch: json!({"n": 9, "resolution": "2k"}),
            points: 63,
            why: "9 × 7",
        },
    ];
    for r in rows {
        assert_eq!(
            points(&body(r.model, &r.patch)),
            r.points,
            "{} {} ({})",
            r.model,
            r.patch,
            r.why
        );
    }
}

#[test]
fn billed_units_follow_the_price_unit() {
    let q = quote_both(&body("kling-lip-sync", &json!({"soundEndTime": 6200}))).unwrap();
    assert_eq!(q.billed_units, 10, "lip sync bills started 5 s blocks");
    let q = quote_both(&body("kling-image", &json!({"n": 5}))).unwrap();
    assert_eq!(q.billed_units, 5, "images bill n");
    let q = quote_both(&body("hailuo-2.3-standard", &json!({}))).unwrap();
    assert_eq!(q.billed_units, 1, "per request");
    let q = quote_both(&body("grok-video", &json!({"duration": 12}))).unwrap();
    assert_eq!(q.billed_units, 12);
    let _ = (AUD, VID);
}

#[test]
fn quote_of_an_invalid_combination_fails_with_a_clear_message() {
    let cases = [
        (
            body("grok-video", &json!({"resolution": "1080p"})),
            "resolution: \"1080p\" is not allowed for grok-video (allowed: 480p, 720p)",
        ),
        (
            body("kling-2.5-turbo", &json!({"duration": 7})),
            "duration: 7 is not allowed for kling-2.5-turbo (allowed: 5, 10)",
        ),
        (
            body("kling-2.6-t2v", &json!({"mode": "pro"})),
            "mode: not supported by kling-2.6-t2v (fields: model, projectId, callbackUrl, externalTaskId, prompt, aspectRatio, duration, generateAudio, negativePrompt, cfgScale, cameraControl)",
        ),
        (
            body("kling-motion-control", &json!({"duration": 20})),
            "duration: 20 is not allowed for kling-motion-control with characterOrientation image (allowed: 3 to 10)",
        ),
    ];
    for (b, want) in cases {
        assert_eq!(quote_both(&b).unwrap_err(), want, "{b}");
    }
    // A price table that does not cover a valid combination names it (operator error
    // in an override): the field, the combination and the model.
    let c = genmux_core::Catalog::builtin()
        .with_override_toml(
            r#"
[[model]]
id = "half-priced"
name = "Half priced"
family = "test"
kind = "video"
operations = ["text_to_video"]
providers = [{ provider = "sim", model = "h" }]
fields = [
  { name = "prompt", type = "string", required = true },
  { name = "resolution", type = "string", enum = ["720p", "1080p"], default = "720p" },
  { name = "duration", type = "integer", enum = [5], default = 5 },
]
price = { rates = [{ when = { resolution = "720p" }, per_unit = 1.0 }] }
"#,
        )
        .unwrap();
    let req = genmux_core::GenerationRequest {
        model: "half-priced".into(),
        prompt: Some("abc".into()),
        resolution: Some("1080p".into()),
        ..Default::default()
    };
    assert_eq!(
        c.quote(&req).unwrap_err().message(),
        "resolution: no price is defined for operation text_to_video, resolution 1080p for half-priced"
    );
}
