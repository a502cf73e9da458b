//! Every rule of every catalog model, one accepted and one rejected row each, with the
//! exact message a caller sees. Rows are tagged `field/kind` (`duration/enum`,
//! `images/items`, …), `unsupported` or `rule:<id>`; `every_rule_has_an_accepted_and_a_rejected_row`
//! derives the tags a model needs from `catalog.toml`, so a rule added there without rows
//! here fails the suite.

mod common;

use common::{body, quote_both, quote_raw, quote_typed, AUD, IMG, IMG2, VID};
use genmux_core::{Catalog, GenerationRequest};
use serde_json::{json, Value};
use std::collections::BTreeSet;

struct Row {
    model: &'static str,
    tag: String,
    patch: Value,
    /// `None`: accepted; `Some(message)`: rejected with exactly this message.
    want: Option<String>,
}

fn ok(model: &'static str, tag: &str, patch: Value) -> Row {
    Row {
        model,
        tag: tag.into(),
        patch,
        want: None,
    }
}

fn err(model: &'static str, tag: &str, patch: Value, message: &str) -> Row {
    Row {
        model,
        tag: tag.into(),
        patch,
        want: Some(message.into()),
    }
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

/// Rows for the camera-control fields and rule, shared by the Kling text/image models.
fn camera_rows(m: &'static str, rows: &mut Vec<Row>) {
    let motions = "pan, tilt, zoom, roll, horizontal, vertical";
    rows.push(ok(
        m,
        "cameraControl.cameraMotion/enum",
        json!({"cameraControl": {"cameraMotion": "zoom", "cameraSpeed": 1.0}}),
    ));
    rows.push(err(
        m,
        "cameraControl.cameraMotion/enum",
        json!({"cameraControl": {"cameraMotion": "spin"}}),
        &format!(
            "cameraControl.cameraMotion: \"spin\" is not allowed for {m} (allowed: {motions})"
        ),
    ));
    rows.push(ok(
        m,
        "cameraControl.cameraSpeed/range",
        json!({"cameraControl": {"cameraMotion": "pan", "cameraSpeed": 0.1}}),
    ));
    rows.push(err(
        m,
        "cameraControl.cameraSpeed/range",
        json!({"cameraControl": {"cameraMotion": "pan", "cameraSpeed": 2.5}}),
        &format!("cameraControl.cameraSpeed: 2.5 is out of range for {m} (allowed: 0.1 to 2)"),
    ));
    rows.push(ok(
        m,
        "cameraControl.type/enum",
        json!({"cameraControl": {"type": "down_back"}}),
    ));
    rows.push(err(m, "cameraControl.type/enum", json!({"cameraControl": {"type": "orbit"}}),
        &format!("cameraControl.type: \"orbit\" is not allowed for {m} (allowed: simple, down_back, forward_up, right_turn_forward, left_turn_forward)")));
    for key in ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"] {
        let tag = format!("cameraControl.config.{key}/range");
        rows.push(ok(
            m,
            &tag,
            json!({"cameraControl": {"type": "simple", "config": {key: -10}}}),
        ));
        rows.push(err(
            m,
            &tag,
            json!({"cameraControl": {"type": "simple", "config": {key: 10.5}}}),
            &format!(
                "cameraControl.config.{key}: 10.5 is out of range for {m} (allowed: -10 to 10)"
            ),
        ));
    }
    let rule = "rule:camera_control_shape";
    rows.push(ok(
        m,
        rule,
        json!({"cameraControl": {"type": "simple", "config": {"zoom": 5, "pan": 0}}}),
    ));
    rows.push(ok(
        m,
        rule,
        json!({"cameraControl": {"cameraMotion": "tilt"}}),
    ));
    rows.push(err(m, rule, json!({"cameraControl": {"type": "simple", "config": {"pan": 5, "tilt": -3}}}),
        &format!("cameraControl.config: exactly one of horizontal, vertical, pan, tilt, roll, zoom must be non-zero for {m} (2 non-zero given: pan=5, tilt=-3)")));
    rows.push(err(m, rule, json!({"cameraControl": {"type": "simple", "config": {}}}),
        &format!("cameraControl.config: exactly one of horizontal, vertical, pan, tilt, roll, zoom must be non-zero for {m} (0 non-zero given)")));
    rows.push(err(
        m,
        rule,
        json!({"cameraControl": {"type": "simple"}}),
        &format!("cameraControl.config: required when type is simple for {m}"),
    ));
    rows.push(err(m, rule, json!({"cameraControl": {"type": "forward_up", "config": {"zoom": 2}}}),
        &format!("cameraControl.config: only allowed with type simple for {m} (type \"forward_up\" given)")));
    rows.push(err(
        m,
        rule,
        json!({"cameraControl": {"config": {"zoom": 2}}}),
        &format!("cameraControl.type: required with config for {m} (allowed: simple)"),
    ));
    rows.push(err(
        m,
        rule,
        json!({"cameraControl": {"type": "down_back", "cameraMotion": "pan"}}),
        &format!(
            "cameraControl: give either type/config or cameraMotion/cameraSpeed for {m}, not both"
        ),
    ));
    rows.push(err(
        m,
        rule,
        json!({"cameraControl": {"cameraSpeed": 1.0}}),
        &format!("cameraControl.cameraMotion: required with cameraSpeed for {m}"),
    ));
    rows.push(err(m, rule, json!({"cameraControl": {}}),
        &format!("cameraControl: empty for {m} (give type, with config when type is simple, or cameraMotion with cameraSpeed)")));
}

/// Rows for Kling image-to-video brush masks and the exclusive groups rule.
fn mask_rows(m: &'static str, rows: &mut Vec<Row>) {
    let mask = |points: Value| json!({"mask": IMG2, "trajectories": points});
    let two = json!([{"x": 0, "y": 0}, {"x": 10, "y": 20}]);
    rows.push(ok(
        m,
        "dynamicMasks/items",
        json!({"images": [IMG], "dynamicMasks": vec![mask(two.clone()); 6]}),
    ));
    rows.push(err(
        m,
        "dynamicMasks/items",
        json!({"images": [IMG], "dynamicMasks": vec![mask(two.clone()); 7]}),
        &format!("dynamicMasks: 7 items is not allowed for {m} (allowed: at most 6)"),
    ));
    rows.push(ok(
        m,
        "dynamicMasks[].mask/required",
        json!({"images": [IMG], "dynamicMasks": [mask(two.clone())]}),
    ));
    rows.push(err(
        m,
        "dynamicMasks[].mask/required",
        json!({"images": [IMG], "dynamicMasks": [{"trajectories": two}]}),
        &format!("dynamicMasks[0].mask: required for {m}"),
    ));
    rows.push(ok(
        m,
        "dynamicMasks[].trajectories/required",
        json!({"images": [IMG], "dynamicMasks": [mask(two.clone())]}),
    ));
    rows.push(err(
        m,
        "dynamicMasks[].trajectories/required",
        json!({"images": [IMG], "dynamicMasks": [{"mask": IMG2}]}),
        &format!("dynamicMasks[0].trajectories: required for {m}"),
    ));
    let many: Vec<Value> = (0..77).map(|i| json!({"x": i, "y": i})).collect();
    rows.push(ok(
        m,
        "dynamicMasks[].trajectories/items",
        json!({"images": [IMG], "dynamicMasks": [mask(json!(many))]}),
    ));
    rows.push(err(
        m,
        "dynamicMasks[].trajectories/items",
        json!({"images": [IMG], "dynamicMasks": [mask(json!([{"x": 1, "y": 1}]))]}),
        &format!("dynamicMasks[0].trajectories: 1 item is not allowed for {m} (allowed: 2 to 77)"),
    ));
    for key in ["x", "y"] {
        let other = if key == "x" { "y" } else { "x" };
        rows.push(ok(
            m,
            &format!("dynamicMasks[].trajectories[].{key}/required"),
            json!({"images": [IMG], "dynamicMasks": [mask(two.clone())]}),
        ));
        rows.push(err(
            m,
            &format!("dynamicMasks[].trajectories[].{key}/required"),
            json!({"images": [IMG], "dynamicMasks": [mask(json!([{other: 1}, {"x": 2, "y": 2}]))]}),
            &format!("dynamicMasks[0].trajectories[0].{key}: required for {m}"),
        ));
        rows.push(ok(m, &format!("dynamicMasks[].trajectories[].{key}/range"), json!({"images": [IMG], "dynamicMasks": [mask(json!([{key: 0, other: 5}, {"x": 2, "y": 2}]))]})));
        rows.push(err(m, &format!("dynamicMasks[].trajectories[].{key}/range"),
            json!({"images": [IMG], "dynamicMasks": [mask(json!([{"x": 2, "y": 2}, {key: -1, other: 5}]))]}),
            &format!("dynamicMasks[0].trajectories[1].{key}: -1 is out of range for {m} (allowed: at least 0)")));
    }
    let rule = "rule:image_to_video_exclusive_groups";
    rows.push(ok(m, rule, json!({"images": [IMG], "staticMask": IMG2})));
    rows.push(ok(
        m,
        rule,
        json!({"images": [IMG], "cameraControl": {"type": "down_back"}}),
    ));
    rows.push(ok(m, rule, json!({"images": [IMG, IMG2]})));
    let groups =
        "end frame (images[1] or endImage); masks (staticMask/dynamicMasks); cameraControl";
    rows.push(err(m, rule, json!({"images": [IMG, IMG2], "cameraControl": {"type": "down_back"}}),
        &format!("images[1] + cameraControl: these inputs are mutually exclusive for {m}; use only one of: {groups}")));
    rows.push(err(m, rule, json!({"images": [IMG, IMG2], "staticMask": IMG}),
        &format!("images[1] + staticMask: these inputs are mutually exclusive for {m}; use only one of: {groups}")));
    rows.push(err(m, rule, json!({"images": [IMG], "staticMask": IMG2, "cameraControl": {"cameraMotion": "pan"}}),
        &format!("staticMask + cameraControl: these inputs are mutually exclusive for {m}; use only one of: {groups}")));
    rows.push(err(
        m,
        rule,
        json!({"staticMask": IMG2}),
        &format!("images: a start image is required with masks for {m}"),
    ));
}

fn rows() -> Vec<Row> {
    let mut r = Vec::new();
    let prompt = long(2500);
    let too_long = long(2501);

    // ------------------------------------------------------------ seedance-1.5-pro
    let m = "seedance-1.5-pro";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for seedance-1.5-pro",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(m, "prompt/length", json!({"prompt": too_long}), "prompt: 2501 characters is not allowed for seedance-1.5-pro (allowed: 3 to 2500 characters)"));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": "hi"}),
        "prompt: 2 characters is not allowed for seedance-1.5-pro (allowed: 3 to 2500 characters)",
    ));
    r.push(ok(m, "images/items", json!({"images": [IMG, IMG2]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2, IMG]}),
        "images: 3 items is not allowed for seedance-1.5-pro (allowed: at most 2)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "21:9"})));
    r.push(err(m, "aspectRatio/enum", json!({"aspectRatio": "5:4"}), "aspectRatio: \"5:4\" is not allowed for seedance-1.5-pro (allowed: 16:9, 9:16, 1:1, 4:3, 3:4, 21:9, 2:3, 3:2)"));
    r.push(ok(m, "resolution/enum", json!({"resolution": "1080p"})));
    r.push(err(
        m,
        "resolution/enum",
        json!({"resolution": "4k"}),
        "resolution: \"4k\" is not allowed for seedance-1.5-pro (allowed: 480p, 720p, 1080p)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 12})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 10}),
        "duration: 10 is not allowed for seedance-1.5-pro (allowed: 4, 8, 12)",
    ));
    r.push(ok(
        m,
        "unsupported",
        json!({"generateAudio": true, "fixedLens": true, "nsfwChecker": false}),
    ));
    r.push(err(m, "unsupported", json!({"cfgScale": 0.5}), "cfgScale: not supported by seedance-1.5-pro (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, aspectRatio, resolution, duration, generateAudio, fixedLens, nsfwChecker)"));
    // V3: a wrong type is named with what is allowed, not left to serde.
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": "8"}),
        "duration: \"8\" is not a whole number for seedance-1.5-pro (allowed: 4, 8, 12)",
    ));
    r.push(err(
        m,
        "generateAudio/type",
        json!({"generateAudio": "yes"}),
        "generateAudio: \"yes\" is not true or false for seedance-1.5-pro",
    ));
    // spec/kling-api.md "Common rules": a data: URI is refused, naming the item.
    r.push(err(m, "images/media", json!({"images": [IMG, "data:image/png;base64,iVBORw0KGgo="]}), "images[1]: a data: URI is not accepted; send the bare Base64 string without the `data:...;base64,` prefix"));
    r.push(ok(
        m,
        "images/media",
        json!({"images": ["iVBORw0KGgoAAAANSUhEUg=="]}),
    ));

    // ------------------------------------------------------------ runway
    let m = "runway";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for runway",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": long(1000)})));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": long(1001)}),
        "prompt: 1001 characters is not allowed for runway (allowed: 3 to 1000 characters)",
    ));
    r.push(ok(m, "images/items", json!({"images": [IMG]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2]}),
        "images: 2 items is not allowed for runway (allowed: at most 1)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "21:9"})));
    r.push(err(
        m,
        "aspectRatio/enum",
        json!({"aspectRatio": "2:3"}),
        "aspectRatio: \"2:3\" is not allowed for runway (allowed: 16:9, 9:16, 4:3, 3:4, 1:1, 21:9)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 10})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 8}),
        "duration: 8 is not allowed for runway (allowed: 5, 10)",
    ));
    r.push(ok(m, "quality/enum", json!({"quality": "1080p"})));
    r.push(err(
        m,
        "quality/enum",
        json!({"quality": "4k"}),
        "quality: \"4k\" is not allowed for runway (allowed: 720p, 1080p)",
    ));
    r.push(ok(m, "unsupported", json!({"watermark": true})));
    r.push(err(m, "unsupported", json!({"resolution": "720p"}), "resolution: not supported by runway (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, aspectRatio, duration, quality, watermark)"));
    r.push(ok(
        m,
        "rule:aspect_ratio_required_without_image",
        json!({"aspectRatio": null, "images": [IMG]}),
    ));
    r.push(err(m, "rule:aspect_ratio_required_without_image", json!({"aspectRatio": null}), "aspectRatio: required for runway when no image is given (allowed: 16:9, 9:16, 4:3, 3:4, 1:1, 21:9)"));

    // ------------------------------------------------------------ kling-2.5-turbo
    let m = "kling-2.5-turbo";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for kling-2.5-turbo",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(m, "prompt/length", json!({"prompt": too_long}), "prompt: 2501 characters is not allowed for kling-2.5-turbo (allowed: 3 to 2500 characters)"));
    r.push(ok(m, "images/items", json!({"images": [IMG, IMG2]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2, IMG]}),
        "images: 3 items is not allowed for kling-2.5-turbo (allowed: at most 2)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "9:16"})));
    r.push(err(
        m,
        "aspectRatio/enum",
        json!({"aspectRatio": "1:1"}),
        "aspectRatio: \"1:1\" is not allowed for kling-2.5-turbo (allowed: 16:9, 9:16)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 10})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 7}),
        "duration: 7 is not allowed for kling-2.5-turbo (allowed: 5, 10)",
    ));
    // V3: negative and oversized numbers in a raw body get the field's own message.
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": -1}),
        "duration: -1 is not allowed for kling-2.5-turbo (allowed: 5, 10)",
    ));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 4_294_967_301_u64}),
        "duration: 4294967301 is not allowed for kling-2.5-turbo (allowed: 5, 10)",
    ));
    r.push(ok(
        m,
        "negativePrompt/length",
        json!({"negativePrompt": prompt}),
    ));
    r.push(err(m, "negativePrompt/length", json!({"negativePrompt": too_long}), "negativePrompt: 2501 characters is not allowed for kling-2.5-turbo (allowed: at most 2500 characters)"));
    r.push(ok(m, "cfgScale/range", json!({"cfgScale": 1})));
    r.push(err(
        m,
        "cfgScale/range",
        json!({"cfgScale": 1.5}),
        "cfgScale: 1.5 is out of range for kling-2.5-turbo (allowed: 0 to 1)",
    ));
    r.push(err(
        m,
        "cfgScale/range",
        json!({"cfgScale": -0.1}),
        "cfgScale: -0.1 is out of range for kling-2.5-turbo (allowed: 0 to 1)",
    ));
    r.push(ok(m, "unsupported", json!({"endImage": IMG})));
    r.push(err(m, "unsupported", json!({"generateAudio": true}), "generateAudio: not supported by kling-2.5-turbo (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, endImage, aspectRatio, duration, negativePrompt, cfgScale, cameraControl, staticMask, dynamicMasks)"));
    r.push(err(m, "unsupported", json!({"cameraControl": {"type": "down_back", "speed": 1}}), "cameraControl.speed: not supported by kling-2.5-turbo (fields: cameraMotion, cameraSpeed, type, config)"));
    r.push(err(m, "rule:image_to_video_exclusive_groups", json!({"images": [IMG, IMG2], "endImage": IMG}), "endImage: not allowed with 2 images for kling-2.5-turbo (images[1] is already the end frame; give 1 image + endImage, or 2 images)"));
    r.push(err(m, "staticMask/media", json!({"images": [IMG], "staticMask": "data:image/png;base64,AAAA"}), "staticMask: a data: URI is not accepted; send the bare Base64 string without the `data:...;base64,` prefix"));
    camera_rows(m, &mut r);
    mask_rows(m, &mut r);

    // ------------------------------------------------------------ kling-2.6-t2v
    let m = "kling-2.6-t2v";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for kling-2.6-t2v",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": too_long}),
        "prompt: 2501 characters is not allowed for kling-2.6-t2v (allowed: 3 to 2500 characters)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "1:1"})));
    r.push(err(
        m,
        "aspectRatio/enum",
        json!({"aspectRatio": "4:3"}),
        "aspectRatio: \"4:3\" is not allowed for kling-2.6-t2v (allowed: 16:9, 9:16, 1:1)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 10})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 15}),
        "duration: 15 is not allowed for kling-2.6-t2v (allowed: 5, 10)",
    ));
    r.push(ok(
        m,
        "negativePrompt/length",
        json!({"negativePrompt": "blur"}),
    ));
    r.push(err(m, "negativePrompt/length", json!({"negativePrompt": too_long}), "negativePrompt: 2501 characters is not allowed for kling-2.6-t2v (allowed: at most 2500 characters)"));
    r.push(ok(m, "cfgScale/range", json!({"cfgScale": 0})));
    r.push(err(
        m,
        "cfgScale/range",
        json!({"cfgScale": 2}),
        "cfgScale: 2 is out of range for kling-2.6-t2v (allowed: 0 to 1)",
    ));
    r.push(ok(m, "unsupported", json!({"generateAudio": true})));
    r.push(err(m, "unsupported", json!({"images": [IMG]}), "images: not supported by kling-2.6-t2v (fields: model, projectId, callbackUrl, externalTaskId, prompt, aspectRatio, duration, generateAudio, negativePrompt, cfgScale, cameraControl)"));
    camera_rows(m, &mut r);

    // ------------------------------------------------------------ kling-3.0
    let m = "kling-3.0";
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": too_long}),
        "prompt: 2501 characters is not allowed for kling-3.0 (allowed: 3 to 2500 characters)",
    ));
    r.push(ok(m, "images/items", json!({"images": [IMG, IMG2]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2, IMG]}),
        "images: 3 items is not allowed for kling-3.0 (allowed: at most 2)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "1:1"})));
    r.push(err(
        m,
        "aspectRatio/enum",
        json!({"aspectRatio": "21:9"}),
        "aspectRatio: \"21:9\" is not allowed for kling-3.0 (allowed: 16:9, 9:16, 1:1)",
    ));
    r.push(ok(m, "duration/range", json!({"duration": 15})));
    r.push(ok(m, "duration/range", json!({"duration": 3})));
    r.push(err(
        m,
        "duration/range",
        json!({"duration": 16}),
        "duration: 16 is out of range for kling-3.0 (allowed: 3 to 15)",
    ));
    r.push(err(
        m,
        "duration/range",
        json!({"duration": 2}),
        "duration: 2 is out of range for kling-3.0 (allowed: 3 to 15)",
    ));
    r.push(err(
        m,
        "duration/range",
        json!({"duration": 7.5}),
        "duration: 7.5 is not a whole number for kling-3.0 (allowed: 3 to 15)",
    ));
    r.push(ok(
        m,
        "mode/enum",
        json!({"mode": "pro", "generateAudio": true}),
    ));
    r.push(err(
        m,
        "mode/enum",
        json!({"mode": "turbo"}),
        "mode: \"turbo\" is not allowed for kling-3.0 (allowed: std, pro)",
    ));
    let shot = |p: &str, d: i64| json!({"prompt": p, "duration": d});
    r.push(ok(
        m,
        "multiPrompt/items",
        json!({"prompt": null, "multiShots": true, "multiPrompt": vec![shot("a", 2); 6]}),
    ));
    r.push(err(
        m,
        "multiPrompt/items",
        json!({"prompt": null, "multiShots": true, "multiPrompt": vec![shot("a", 2); 7]}),
        "multiPrompt: 7 items is not allowed for kling-3.0 (allowed: 1 to 6)",
    ));
    r.push(ok(
        m,
        "multiPrompt[].prompt/required",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a door opens", 4)]}),
    ));
    r.push(err(
        m,
        "multiPrompt[].prompt/required",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 2), {"duration": 3}]}),
        "multiPrompt[1].prompt: required for kling-3.0",
    ));
    r.push(ok(
        m,
        "multiPrompt[].prompt/length",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot(&prompt, 4)]}),
    ));
    r.push(err(m, "multiPrompt[].prompt/length", json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("", 4)]}), "multiPrompt[0].prompt: 0 characters is not allowed for kling-3.0 (allowed: 1 to 2500 characters)"));
    r.push(ok(
        m,
        "multiPrompt[].duration/required",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 4)]}),
    ));
    r.push(err(
        m,
        "multiPrompt[].duration/required",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [{"prompt": "a"}]}),
        "multiPrompt[0].duration: required for kling-3.0",
    ));
    r.push(ok(
        m,
        "multiPrompt[].duration/range",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 12), shot("b", 1)]}),
    ));
    r.push(err(
        m,
        "multiPrompt[].duration/range",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 13)]}),
        "multiPrompt[0].duration: 13 is out of range for kling-3.0 (allowed: 1 to 12)",
    ));
    r.push(err(
        m,
        "multiPrompt[].duration/range",
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", -1)]}),
        "multiPrompt[0].duration: -1 is out of range for kling-3.0 (allowed: 1 to 12)",
    ));
    let group = |n: usize| json!({"images": vec![IMG; n]});
    r.push(ok(
        m,
        "klingElements/items",
        json!({"klingElements": [group(2), group(3), group(4)]}),
    ));
    r.push(err(
        m,
        "klingElements/items",
        json!({"klingElements": [group(2), group(2), group(2), group(2)]}),
        "klingElements: 4 items is not allowed for kling-3.0 (allowed: at most 3)",
    ));
    r.push(ok(
        m,
        "klingElements[].images/required",
        json!({"klingElements": [group(2)]}),
    ));
    r.push(err(
        m,
        "klingElements[].images/required",
        json!({"klingElements": [{}]}),
        "klingElements[0].images: required for kling-3.0",
    ));
    r.push(ok(
        m,
        "klingElements[].images/items",
        json!({"klingElements": [group(4)]}),
    ));
    r.push(err(
        m,
        "klingElements[].images/items",
        json!({"klingElements": [group(2), group(5)]}),
        "klingElements[1].images: 5 items is not allowed for kling-3.0 (allowed: 2 to 4)",
    ));
    r.push(err(
        m,
        "klingElements[].images/items",
        json!({"klingElements": [group(1)]}),
        "klingElements[0].images: 1 item is not allowed for kling-3.0 (allowed: 2 to 4)",
    ));
    r.push(ok(
        m,
        "unsupported",
        json!({"generateAudio": true, "mode": "std"}),
    ));
    r.push(err(m, "unsupported", json!({"negativePrompt": "blur"}), "negativePrompt: not supported by kling-3.0 (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, aspectRatio, duration, generateAudio, mode, multiShots, multiPrompt, klingElements, cameraControl, staticMask, dynamicMasks)"));
    let rule = "rule:prompt_or_multi_prompt";
    r.push(ok(
        m,
        rule,
        json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 3), shot("b", 4)]}),
    ));
    r.push(ok(m, rule, json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 3), shot("b", 4)], "duration": 7})));
    r.push(err(
        m,
        rule,
        json!({"prompt": null}),
        "prompt: required for kling-3.0 unless multiShots is true",
    ));
    r.push(err(
        m,
        rule,
        json!({"prompt": "   "}),
        "prompt: required for kling-3.0 unless multiShots is true",
    ));
    r.push(err(
        m,
        rule,
        json!({"prompt": null, "multiShots": true}),
        "multiPrompt: required when multiShots is true for kling-3.0",
    ));
    r.push(err(
        m,
        rule,
        json!({"multiPrompt": [shot("a", 3)]}),
        "multiPrompt: only allowed with multiShots: true for kling-3.0",
    ));
    r.push(err(m, rule, json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 12), shot("b", 4)]}), "multiPrompt: shot durations sum to 16 s, which kling-3.0 does not allow (allowed: 3 to 15 s in total)"));
    r.push(err(m, rule, json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 1), shot("b", 1)]}), "multiPrompt: shot durations sum to 2 s, which kling-3.0 does not allow (allowed: 3 to 15 s in total)"));
    r.push(err(m, rule, json!({"prompt": null, "multiShots": true, "multiPrompt": [shot("a", 3), shot("b", 4)], "duration": 5}), "duration: 5 does not match the multiPrompt total of 7 s for kling-3.0 (omit duration or make them agree)"));
    camera_rows(m, &mut r);
    mask_rows(m, &mut r);

    // ------------------------------------------------------------ hailuo-2.3-standard
    let m = "hailuo-2.3-standard";
    r.push(ok(m, "prompt/length", json!({"prompt": long(2000)})));
    r.push(err(m, "prompt/length", json!({"prompt": long(2001)}), "prompt: 2001 characters is not allowed for hailuo-2.3-standard (allowed: 3 to 2000 characters)"));
    r.push(ok(
        m,
        "images/required",
        json!({"prompt": "Natural blinking"}),
    ));
    r.push(err(
        m,
        "images/required",
        json!({"images": null, "prompt": "Natural blinking"}),
        "images: required for hailuo-2.3-standard",
    ));
    r.push(ok(m, "images/items", json!({"images": [IMG2]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2]}),
        "images: 2 items is not allowed for hailuo-2.3-standard (allowed: exactly 1)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 10})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 6}),
        "duration: 6 is not allowed for hailuo-2.3-standard (allowed: 10)",
    ));
    r.push(ok(m, "resolution/enum", json!({"resolution": "768P"})));
    r.push(err(
        m,
        "resolution/enum",
        json!({"resolution": "768p"}),
        "resolution: \"768p\" is not allowed for hailuo-2.3-standard (allowed: 768P)",
    ));
    r.push(ok(m, "unsupported", json!({"prompt": "smile"})));
    r.push(err(m, "unsupported", json!({"aspectRatio": "16:9"}), "aspectRatio: not supported by hailuo-2.3-standard (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, duration, resolution)"));

    // ------------------------------------------------------------ grok-video
    let m = "grok-video";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for grok-video",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": too_long}),
        "prompt: 2501 characters is not allowed for grok-video (allowed: 3 to 2500 characters)",
    ));
    r.push(ok(m, "duration/range", json!({"duration": 6})));
    r.push(ok(m, "duration/range", json!({"duration": 30})));
    r.push(err(
        m,
        "duration/range",
        json!({"duration": 5}),
        "duration: 5 is out of range for grok-video (allowed: 6 to 30)",
    ));
    r.push(err(
        m,
        "duration/range",
        json!({"duration": 31}),
        "duration: 31 is out of range for grok-video (allowed: 6 to 30)",
    ));
    r.push(ok(m, "resolution/enum", json!({"resolution": "480p"})));
    r.push(err(
        m,
        "resolution/enum",
        json!({"resolution": "1080p"}),
        "resolution: \"1080p\" is not allowed for grok-video (allowed: 480p, 720p)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "16:9"})));
    r.push(err(
        m,
        "aspectRatio/enum",
        json!({"aspectRatio": "9:16"}),
        "aspectRatio: \"9:16\" is not allowed for grok-video (allowed: 16:9)",
    ));
    r.push(ok(m, "unsupported", json!({"projectId": "p1", "callbackUrl": "https://example.com/hook", "externalTaskId": "e1"})));
    // issue 13 / X1: no free-form field reaches an upstream.
    r.push(err(m, "unsupported", json!({"extra": {"seed": 1}}), "extra: not supported by grok-video (fields: model, projectId, callbackUrl, externalTaskId, prompt, duration, resolution, aspectRatio)"));
    r.push(err(m, "unsupported", json!({"images": [IMG]}), "images: not supported by grok-video (fields: model, projectId, callbackUrl, externalTaskId, prompt, duration, resolution, aspectRatio)"));

    // ------------------------------------------------------------ kling-multi-image
    let m = "kling-multi-image";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for kling-multi-image",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": "a"})));
    r.push(err(m, "prompt/length", json!({"prompt": too_long}), "prompt: 2501 characters is not allowed for kling-multi-image (allowed: 1 to 2500 characters)"));
    r.push(ok(m, "images/required", json!({"images": [IMG]})));
    r.push(err(
        m,
        "images/required",
        json!({"images": null}),
        "images: required for kling-multi-image",
    ));
    r.push(ok(
        m,
        "images/items",
        json!({"images": [IMG, IMG2, IMG, IMG2]}),
    ));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2, IMG, IMG2, IMG]}),
        "images: 5 items is not allowed for kling-multi-image (allowed: 1 to 4)",
    ));
    r.push(ok(
        m,
        "negativePrompt/length",
        json!({"negativePrompt": prompt}),
    ));
    r.push(err(m, "negativePrompt/length", json!({"negativePrompt": too_long}), "negativePrompt: 2501 characters is not allowed for kling-multi-image (allowed: at most 2500 characters)"));
    r.push(ok(m, "mode/enum", json!({"mode": "pro"})));
    r.push(err(
        m,
        "mode/enum",
        json!({"mode": "fast"}),
        "mode: \"fast\" is not allowed for kling-multi-image (allowed: std, pro)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 10})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 6}),
        "duration: 6 is not allowed for kling-multi-image (allowed: 5, 10)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "1:1"})));
    r.push(err(
        m,
        "aspectRatio/enum",
        json!({"aspectRatio": "4:3"}),
        "aspectRatio: \"4:3\" is not allowed for kling-multi-image (allowed: 16:9, 9:16, 1:1)",
    ));
    r.push(ok(m, "unsupported", json!({"negativePrompt": "blur"})));
    r.push(err(m, "unsupported", json!({"cfgScale": 0.5}), "cfgScale: not supported by kling-multi-image (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, negativePrompt, mode, duration, aspectRatio)"));

    // ------------------------------------------------------------ kling-motion-control
    // The same endpoint rules for the default model and kling-v3 (spec §5).
    for m in ["kling-motion-control", "kling-3.0-motion-control"] {
        let fields = if m == "kling-3.0-motion-control" {
            "elementIds, "
        } else {
            ""
        };
        r.push(ok(m, "images/required", json!({})));
        r.push(err(
            m,
            "images/required",
            json!({"images": null}),
            &format!("images: required for {m}"),
        ));
        r.push(ok(m, "images/items", json!({"images": [IMG2]})));
        r.push(err(
            m,
            "images/items",
            json!({"images": [IMG, IMG2]}),
            &format!("images: 2 items is not allowed for {m} (allowed: exactly 1)"),
        ));
        r.push(ok(m, "motionVideo/required", json!({"motionVideo": VID})));
        r.push(err(
            m,
            "motionVideo/required",
            json!({"motionVideo": null}),
            &format!("motionVideo: required for {m}"),
        ));
        r.push(ok(
            m,
            "characterOrientation/required",
            json!({"characterOrientation": "video"}),
        ));
        r.push(err(
            m,
            "characterOrientation/required",
            json!({"characterOrientation": null}),
            &format!("characterOrientation: required for {m}"),
        ));
        r.push(ok(
            m,
            "characterOrientation/enum",
            json!({"characterOrientation": "video", "duration": 30}),
        ));
        r.push(err(
            m,
            "characterOrientation/enum",
            json!({"characterOrientation": "camera"}),
            &format!(
                "characterOrientation: \"camera\" is not allowed for {m} (allowed: image, video)"
            ),
        ));
        r.push(ok(m, "mode/required", json!({"mode": "pro"})));
        r.push(err(
            m,
            "mode/required",
            json!({"mode": null}),
            &format!("mode: required for {m}"),
        ));
        r.push(ok(m, "mode/enum", json!({"mode": "pro"})));
        r.push(err(
            m,
            "mode/enum",
            json!({"mode": "max"}),
            &format!("mode: \"max\" is not allowed for {m} (allowed: std, pro)"),
        ));
        r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
        r.push(err(
            m,
            "prompt/length",
            json!({"prompt": too_long}),
            &format!(
                "prompt: 2501 characters is not allowed for {m} (allowed: at most 2500 characters)"
            ),
        ));
        r.push(ok(m, "duration/required", json!({"duration": 3})));
        r.push(err(
            m,
            "duration/required",
            json!({"duration": null}),
            &format!("duration: required for {m}"),
        ));
        r.push(ok(m, "duration/range", json!({"duration": 3})));
        r.push(err(
            m,
            "duration/range",
            json!({"duration": 2}),
            &format!("duration: 2 is out of range for {m} (allowed: 3 to 30)"),
        ));
        r.push(ok(m, "unsupported", json!({"keepOriginalSound": false})));
        r.push(err(m, "unsupported", json!({"aspectRatio": "16:9"}), &format!("aspectRatio: not supported by {m} (fields: model, projectId, callbackUrl, externalTaskId, images, motionVideo, characterOrientation, mode, prompt, keepOriginalSound, {fields}duration)")));
        let rule = "rule:motion_orientation_duration";
        r.push(ok(
            m,
            rule,
            json!({"characterOrientation": "image", "duration": 10}),
        ));
        r.push(ok(
            m,
            rule,
            json!({"characterOrientation": "video", "duration": 30}),
        ));
        r.push(err(m, rule, json!({"characterOrientation": "image", "duration": 11}), &format!("duration: 11 is not allowed for {m} with characterOrientation image (allowed: 3 to 10)")));
        r.push(err(
            m,
            rule,
            json!({"characterOrientation": "video", "duration": 31}),
            &format!("duration: 31 is out of range for {m} (allowed: 3 to 30)"),
        ));
    }
    // kling-v3 motion control takes one subject (spec/kling-api.md "Field types").
    let m = "kling-3.0-motion-control";
    r.push(ok(m, "elementIds/items", json!({"elementIds": ["829"]})));
    r.push(err(
        m,
        "elementIds/items",
        json!({"elementIds": ["829", "830"]}),
        "elementIds: 2 items is not allowed for kling-3.0-motion-control (allowed: at most 1)",
    ));

    // ------------------------------------------------------------ kling-2.6-i2v
    let m = "kling-2.6-i2v";
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": too_long}),
        "prompt: 2501 characters is not allowed for kling-2.6-i2v (allowed: 3 to 2500 characters)",
    ));
    r.push(ok(m, "images/items", json!({"images": [IMG, IMG2]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2, IMG]}),
        "images: 3 items is not allowed for kling-2.6-i2v (allowed: at most 2)",
    ));
    r.push(ok(m, "duration/enum", json!({"duration": 10})));
    r.push(err(
        m,
        "duration/enum",
        json!({"duration": 7}),
        "duration: 7 is not allowed for kling-2.6-i2v (allowed: 5, 10)",
    ));
    r.push(ok(
        m,
        "negativePrompt/length",
        json!({"negativePrompt": "blur"}),
    ));
    r.push(err(m, "negativePrompt/length", json!({"negativePrompt": too_long}), "negativePrompt: 2501 characters is not allowed for kling-2.6-i2v (allowed: at most 2500 characters)"));
    r.push(ok(m, "cfgScale/range", json!({"cfgScale": 0.5})));
    r.push(err(
        m,
        "cfgScale/range",
        json!({"cfgScale": 2}),
        "cfgScale: 2 is out of range for kling-2.6-i2v (allowed: 0 to 1)",
    ));
    r.push(ok(m, "unsupported", json!({"generateAudio": true})));
    r.push(err(m, "unsupported", json!({"aspectRatio": "16:9"}), "aspectRatio: not supported by kling-2.6-i2v (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, endImage, duration, generateAudio, negativePrompt, cfgScale)"));
    r.push(ok(
        m,
        "rule:image_to_video_exclusive_groups",
        json!({"images": [IMG], "endImage": IMG2}),
    ));
    r.push(err(m, "rule:image_to_video_exclusive_groups", json!({"images": [IMG, IMG2], "endImage": IMG}), "endImage: not allowed with 2 images for kling-2.6-i2v (images[1] is already the end frame; give 1 image + endImage, or 2 images)"));

    // ------------------------------------------------------------ kling-video-extend
    let m = "kling-video-extend";
    r.push(ok(m, "videoId/required", json!({})));
    r.push(err(
        m,
        "videoId/required",
        json!({"videoId": null}),
        "videoId: required for kling-video-extend",
    ));
    r.push(ok(m, "videoId/length", json!({"videoId": "v"})));
    r.push(err(m, "videoId/length", json!({"videoId": ""}), "videoId: 0 characters is not allowed for kling-video-extend (allowed: at least 1 character)"));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(m, "prompt/length", json!({"prompt": too_long}), "prompt: 2501 characters is not allowed for kling-video-extend (allowed: at most 2500 characters)"));
    r.push(ok(
        m,
        "negativePrompt/length",
        json!({"negativePrompt": prompt}),
    ));
    r.push(err(m, "negativePrompt/length", json!({"negativePrompt": too_long}), "negativePrompt: 2501 characters is not allowed for kling-video-extend (allowed: at most 2500 characters)"));
    r.push(ok(m, "cfgScale/range", json!({"cfgScale": 0.5})));
    r.push(err(
        m,
        "cfgScale/range",
        json!({"cfgScale": 1.01}),
        "cfgScale: 1.01 is out of range for kling-video-extend (allowed: 0 to 1)",
    ));
    r.push(ok(m, "unsupported", json!({"prompt": "keep rising"})));
    r.push(err(m, "unsupported", json!({"duration": 5}), "duration: not supported by kling-video-extend (fields: model, projectId, callbackUrl, externalTaskId, videoId, prompt, negativePrompt, cfgScale)"));

    // ------------------------------------------------------------ kling-lip-sync
    let m = "kling-lip-sync";
    r.push(ok(
        m,
        "videoId/length",
        json!({"videoUrl": null, "videoId": "v"}),
    ));
    r.push(err(
        m,
        "videoId/length",
        json!({"videoUrl": null, "videoId": ""}),
        "videoId: 0 characters is not allowed for kling-lip-sync (allowed: at least 1 character)",
    ));
    for key in ["soundStartTime", "soundEndTime", "soundInsertTime"] {
        r.push(ok(m, &format!("{key}/required"), json!({})));
        r.push(err(
            m,
            &format!("{key}/required"),
            json!({key: null}),
            &format!("{key}: required for kling-lip-sync"),
        ));
        r.push(ok(
            m,
            &format!("{key}/range"),
            json!({"soundStartTime": 0, "soundEndTime": 2000, "soundInsertTime": 0}),
        ));
        // V3: u64 fields given -1 in a raw body are named, not left to serde.
        r.push(err(
            m,
            &format!("{key}/range"),
            json!({key: -1}),
            &format!("{key}: -1 is out of range for kling-lip-sync (allowed: at least 0)"),
        ));
    }
    for key in ["soundVolume", "originalAudioVolume"] {
        r.push(ok(m, &format!("{key}/range"), json!({key: 2})));
        r.push(err(
            m,
            &format!("{key}/range"),
            json!({key: 2.5}),
            &format!("{key}: 2.5 is out of range for kling-lip-sync (allowed: 0 to 2)"),
        ));
    }
    r.push(ok(
        m,
        "unsupported",
        json!({"faceId": "f1", "soundVolume": 0.5}),
    ));
    r.push(err(m, "unsupported", json!({"prompt": "sing"}), "prompt: not supported by kling-lip-sync (fields: model, projectId, callbackUrl, externalTaskId, videoId, videoUrl, faceId, audioId, soundFile, soundStartTime, soundEndTime, soundInsertTime, soundVolume, originalAudioVolume)"));
    let rule = "rule:lip_sync_sources";
    r.push(ok(
        m,
        rule,
        json!({"videoUrl": null, "videoId": "v1", "soundFile": null, "audioId": "a1"}),
    ));
    r.push(ok(
        m,
        rule,
        json!({"soundStartTime": 1000, "soundEndTime": 61000}),
    ));
    r.push(err(
        m,
        rule,
        json!({"videoId": "v1"}),
        "videoId + videoUrl: give exactly one for kling-lip-sync, not both",
    ));
    r.push(err(
        m,
        rule,
        json!({"videoUrl": null}),
        "videoId: one of videoId or videoUrl is required for kling-lip-sync",
    ));
    r.push(err(
        m,
        rule,
        json!({"audioId": "a1"}),
        "audioId + soundFile: give exactly one for kling-lip-sync, not both",
    ));
    r.push(err(
        m,
        rule,
        json!({"soundFile": null}),
        "soundFile: one of audioId or soundFile is required for kling-lip-sync",
    ));
    r.push(err(
        m,
        rule,
        json!({"soundStartTime": 3000, "soundEndTime": 3000}),
        "soundEndTime: 3000 must be after soundStartTime 3000 for kling-lip-sync",
    ));
    r.push(err(
        m,
        rule,
        json!({"soundStartTime": 0, "soundEndTime": 1999}),
        "soundEndTime: the cropped audio is 1999 ms for kling-lip-sync (allowed: 2000 to 60000 ms)",
    ));
    r.push(err(m, rule, json!({"soundStartTime": 0, "soundEndTime": 60001}), "soundEndTime: the cropped audio is 60001 ms for kling-lip-sync (allowed: 2000 to 60000 ms)"));
    r.push(err(m, "soundFile/media", json!({"soundFile": "data:audio/mp3;base64,AAAA"}), "soundFile: a data: URI is not accepted; send the bare Base64 string without the `data:...;base64,` prefix"));
    r.push(ok(
        m,
        "soundFile/media",
        json!({"soundFile": "SUQzBAAAAAAA"}),
    ));

    // ------------------------------------------------------------ kling-image
    let m = "kling-image";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for kling-image",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(
        m,
        "prompt/length",
        json!({"prompt": too_long}),
        "prompt: 2501 characters is not allowed for kling-image (allowed: 1 to 2500 characters)",
    ));
    r.push(ok(
        m,
        "negativePrompt/length",
        json!({"negativePrompt": prompt}),
    ));
    r.push(err(m, "negativePrompt/length", json!({"negativePrompt": too_long}), "negativePrompt: 2501 characters is not allowed for kling-image (allowed: at most 2500 characters)"));
    r.push(ok(
        m,
        "images/items",
        json!({"images": [IMG], "imageReference": "face"}),
    ));
    r.push(err(
        m,
        "images/items",
        json!({"images": [IMG, IMG2], "imageReference": "face"}),
        "images: 2 items is not allowed for kling-image (allowed: at most 1)",
    ));
    r.push(ok(
        m,
        "imageReference/enum",
        json!({"images": [IMG], "imageReference": "subject"}),
    ));
    r.push(err(
        m,
        "imageReference/enum",
        json!({"images": [IMG], "imageReference": "style"}),
        "imageReference: \"style\" is not allowed for kling-image (allowed: subject, face)",
    ));
    r.push(ok(
        m,
        "imageFidelity/range",
        json!({"images": [IMG], "imageReference": "face", "imageFidelity": 1}),
    ));
    r.push(err(
        m,
        "imageFidelity/range",
        json!({"images": [IMG], "imageReference": "face", "imageFidelity": 1.2}),
        "imageFidelity: 1.2 is out of range for kling-image (allowed: 0 to 1)",
    ));
    r.push(ok(
        m,
        "humanFidelity/range",
        json!({"images": [IMG], "imageReference": "subject", "humanFidelity": 0}),
    ));
    r.push(err(
        m,
        "humanFidelity/range",
        json!({"images": [IMG], "imageReference": "subject", "humanFidelity": -0.5}),
        "humanFidelity: -0.5 is out of range for kling-image (allowed: 0 to 1)",
    ));
    r.push(ok(m, "resolution/enum", json!({"resolution": "2k"})));
    r.push(err(
        m,
        "resolution/enum",
        json!({"resolution": "4k"}),
        "resolution: \"4k\" is not allowed for kling-image (allowed: 1k, 2k)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "21:9"})));
    r.push(err(m, "aspectRatio/enum", json!({"aspectRatio": "auto"}), "aspectRatio: \"auto\" is not allowed for kling-image (allowed: 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9)"));
    r.push(ok(m, "n/range", json!({"n": 9})));
    r.push(err(
        m,
        "n/range",
        json!({"n": 10}),
        "n: 10 is out of range for kling-image (allowed: 1 to 9)",
    ));
    r.push(err(
        m,
        "n/range",
        json!({"n": 0}),
        "n: 0 is out of range for kling-image (allowed: 1 to 9)",
    ));
    r.push(ok(m, "unsupported", json!({"n": 2})));
    r.push(err(m, "unsupported", json!({"duration": 5}), "duration: not supported by kling-image (fields: model, projectId, callbackUrl, externalTaskId, prompt, negativePrompt, images, imageReference, imageFidelity, humanFidelity, resolution, aspectRatio, n)"));
    let rule = "rule:image_reference_rules";
    r.push(ok(m, rule, json!({"images": [IMG], "imageReference": "subject", "imageFidelity": 0.6, "humanFidelity": 0.45})));
    r.push(ok(m, rule, json!({"negativePrompt": "blur"})));
    r.push(err(
        m,
        rule,
        json!({"images": [IMG]}),
        "imageReference: required with an image for kling-image (allowed: subject, face)",
    ));
    r.push(err(
        m,
        rule,
        json!({"images": [IMG], "imageReference": "face", "negativePrompt": "blur"}),
        "negativePrompt: not allowed with a reference image for kling-image",
    ));
    r.push(err(
        m,
        rule,
        json!({"imageReference": "face"}),
        "imageReference: only allowed with a reference image (images) for kling-image",
    ));
    r.push(err(
        m,
        rule,
        json!({"imageFidelity": 0.5}),
        "imageFidelity: only allowed with a reference image (images) for kling-image",
    ));
    r.push(err(
        m,
        rule,
        json!({"images": [IMG], "imageReference": "face", "humanFidelity": 0.5}),
        "humanFidelity: only allowed with imageReference subject for kling-image (face given)",
    ));

    // ------------------------------------------------------------ kling-omni-image
    let m = "kling-omni-image";
    r.push(ok(m, "prompt/required", json!({})));
    r.push(err(
        m,
        "prompt/required",
        json!({"prompt": null}),
        "prompt: required for kling-omni-image",
    ));
    r.push(ok(m, "prompt/length", json!({"prompt": prompt})));
    r.push(err(m, "prompt/length", json!({"prompt": too_long}), "prompt: 2501 characters is not allowed for kling-omni-image (allowed: 1 to 2500 characters)"));
    r.push(ok(m, "images/items", json!({"images": vec![IMG; 10]})));
    r.push(err(
        m,
        "images/items",
        json!({"images": vec![IMG; 11]}),
        "images: 11 items is not allowed for kling-omni-image (allowed: at most 10)",
    ));
    r.push(ok(
        m,
        "elementIds/items",
        json!({"elementIds": vec!["e"; 10]}),
    ));
    r.push(err(
        m,
        "elementIds/items",
        json!({"elementIds": vec!["e"; 11]}),
        "elementIds: 11 items is not allowed for kling-omni-image (allowed: at most 10)",
    ));
    r.push(ok(m, "resolution/enum", json!({"resolution": "2k"})));
    r.push(err(
        m,
        "resolution/enum",
        json!({"resolution": "8k"}),
        "resolution: \"8k\" is not allowed for kling-omni-image (allowed: 1k, 2k)",
    ));
    r.push(ok(m, "aspectRatio/enum", json!({"aspectRatio": "auto"})));
    r.push(err(m, "aspectRatio/enum", json!({"aspectRatio": "5:4"}), "aspectRatio: \"5:4\" is not allowed for kling-omni-image (allowed: auto, 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9)"));
    r.push(ok(m, "n/range", json!({"n": 1})));
    r.push(err(
        m,
        "n/range",
        json!({"n": 10}),
        "n: 10 is out of range for kling-omni-image (allowed: 1 to 9)",
    ));
    r.push(ok(m, "unsupported", json!({"elementIds": ["e1"]})));
    r.push(err(m, "unsupported", json!({"negativePrompt": "blur"}), "negativePrompt: not supported by kling-omni-image (fields: model, projectId, callbackUrl, externalTaskId, prompt, images, elementIds, resolution, aspectRatio, n)"));
    let rule = "rule:omni_image_references";
    r.push(ok(m, rule, json!({"prompt": "Put <<<image_1>>> in <<<image_2>>>", "images": [IMG, IMG2], "elementIds": vec!["e"; 8]})));
    r.push(err(m, rule, json!({"images": vec![IMG; 4], "elementIds": vec!["e"; 7]}), "elementIds + images: 7 elements + 4 images = 11 is too many for kling-omni-image (allowed: at most 10 in total)"));
    r.push(err(m, rule, json!({"prompt": "Put <<<image_1>>> in <<<image_3>>>", "images": [IMG, IMG2]}), "prompt: <<<image_3>>> refers to no image for kling-omni-image (allowed: <<<image_1>>> to <<<image_2>>>)"));
    r.push(err(m, rule, json!({"prompt": "Use <<<image_0>>>", "images": [IMG]}), "prompt: <<<image_0>>> refers to no image for kling-omni-image (allowed: <<<image_1>>> to <<<image_1>>>)"));
    r
}

#[test]
fn every_row_gets_its_expected_answer() {
    let mut failures = Vec::new();
    for row in rows() {
        let b = body(row.model, &row.patch);
        let got = quote_both(&b);
        let ok = match (&row.want, &got) {
            (None, Ok(_)) => true,
            (Some(want), Err(e)) => want == e,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} [{}] {}\n    want: {:?}\n    got:  {:?}",
                row.model,
                row.tag,
                b,
                row.want,
                got.map(|q| q.points)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The tags a model's catalog entry demands: each needs an accepted and a rejected row.
fn required_tags(spec: &genmux_core::ModelSpec) -> BTreeSet<String> {
    let mut tags = BTreeSet::from(["unsupported".to_string()]);
    for f in &spec.fields {
        if f.allowed.is_some() {
            tags.insert(format!("{}/enum", f.name));
        }
        if f.min.is_some() || f.max.is_some() {
            tags.insert(format!("{}/range", f.name));
        }
        if f.min_length.is_some() || f.max_length.is_some() {
            tags.insert(format!("{}/length", f.name));
        }
        if f.min_items.is_some() || f.max_items.is_some() {
            tags.insert(format!("{}/items", f.name));
        }
        if f.required {
            tags.insert(format!("{}/required", f.name));
        }
    }
    for rule in &spec.rules {
        let id = serde_json::to_value(rule).unwrap();
        tags.insert(format!("rule:{}", id.as_str().unwrap()));
    }
    tags
}

#[test]
fn every_rule_has_an_accepted_and_a_rejected_row() {
    let rows = rows();
    let mut missing = Vec::new();
    for spec in Catalog::builtin().models() {
        for tag in required_tags(spec) {
            let of = |accepted: bool| {
                rows.iter().any(|r| {
                    r.model == spec.id.as_str() && r.tag == tag && r.want.is_none() == accepted
                })
            };
            if !of(true) {
                missing.push(format!("{} {tag}: no accepted row", spec.id));
            }
            if !of(false) {
                missing.push(format!("{} {tag}: no rejected row", spec.id));
            }
        }
    }
    assert!(missing.is_empty(), "missing rows:\n{}", missing.join("\n"));
}

#[test]
fn unknown_model_lists_the_known_ids() {
    let ids = Catalog::builtin().ids().collect::<Vec<_>>().join(", ");
    let want = format!("model: `veo-9` is not a known model (allowed: {ids})");
    assert_eq!(
        quote_raw(&json!({"model": "veo-9", "prompt": "abc"})).unwrap_err(),
        want
    );
    assert_eq!(
        quote_typed(&json!({"model": "veo-9", "prompt": "abc"}))
            .unwrap()
            .unwrap_err(),
        want
    );
    assert!(ids.starts_with("seedance-1.5-pro, runway, kling-2.5-turbo"));
    assert_eq!(
        quote_raw(&json!({"prompt": "abc"})).unwrap_err(),
        format!("model: required (allowed: {ids})")
    );
    assert_eq!(
        quote_raw(&json!(["not", "an", "object"])).unwrap_err(),
        "request: [3 items] is not a JSON object (expected {\"model\": …, …})"
    );
}

#[test]
fn data_uri_media_fails_in_serde_with_the_reason() {
    // The typed request refuses a data: URI while deserializing (spec/kling-api.md:
    // bare Base64 only); the raw path names the field (rows above).
    let e = serde_json::from_value::<GenerationRequest>(json!({
        "model": "kling-2.5-turbo", "prompt": "abc",
        "images": ["data:image/png;base64,iVBORw0KGgo="]
    }))
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("a data: URI is not accepted; send the bare Base64 string"),
        "{e}"
    );
}

#[test]
fn negative_and_overflowing_numbers_fail_typed_deserialization() {
    // u32/u64 fields cannot hold them, so a typed caller never reaches validation with
    // them; `Catalog::parse_request` reports them by field (rows above).
    for (field, v) in [
        ("duration", json!(-1)),
        ("n", json!(4_294_967_296_u64)),
        ("soundStartTime", json!(-5)),
    ] {
        let r = serde_json::from_value::<GenerationRequest>(json!({"model": "x", field: v}));
        assert!(r.is_err(), "{field} = {v} deserialized");
    }
    assert_eq!(
        quote_raw(&body("kling-image", &json!({"n": 4_294_967_296_u64}))).unwrap_err(),
        "n: 4294967296 is out of range for kling-image (allowed: 1 to 9)"
    );
    assert_eq!(
        quote_raw(&body("kling-image", &json!({"n": 1e20}))).unwrap_err(),
        "n: 100000000000000000000 is not a whole number for kling-image (allowed: 1 to 9)"
    );
    assert_eq!(
        quote_raw(&body("grok-video", &json!({"projectId": 7}))).unwrap_err(),
        "projectId: 7 is not a string"
    );
}

#[test]
fn defaulted_fields_pass_validation_and_fill_the_request() {
    let c = Catalog::builtin();
    for spec in c.models() {
        for f in spec.fields.iter().filter(|f| f.default.is_some()) {
            // The defaulted request is re-validated inside quote; the default is there.
            let q = quote_both(&body(&spec.id, &json!({})))
                .unwrap_or_else(|e| panic!("{}: base body rejected: {e}", spec.id));
            let sent = serde_json::to_value(&q.request).unwrap();
            if !f.name.contains('.') {
                assert_eq!(
                    sent.get(&f.name),
                    f.default.as_ref(),
                    "{} {}: default not applied",
                    spec.id,
                    f.name
                );
            }
        }
    }
    // kling-3.0 multi-shot: the duration is the shots' total, not the model default 5.
    let q = quote_both(&body(
        "kling-3.0",
        &json!({"prompt": null, "multiShots": true,
                "multiPrompt": [{"prompt": "a", "duration": 3}, {"prompt": "b", "duration": 4}]}),
    ))
    .unwrap();
    assert_eq!(q.request.duration, Some(7));
    assert_eq!(q.billed_units, 7);
}

#[test]
fn operation_inference() {
    use genmux_core::Operation::*;
    let cases = [
        ("kling-2.5-turbo", json!({}), TextToVideo),
        ("kling-2.5-turbo", json!({"images": [IMG]}), ImageToVideo),
        ("kling-2.5-turbo", json!({"endImage": IMG}), ImageToVideo),
        (
            "kling-2.5-turbo",
            json!({"images": [IMG, IMG2]}),
            StartEndFrame,
        ),
        (
            "kling-2.5-turbo",
            json!({"images": [IMG], "endImage": IMG2}),
            StartEndFrame,
        ),
        (
            "seedance-1.5-pro",
            json!({"images": [IMG, IMG2]}),
            StartEndFrame,
        ),
        ("hailuo-2.3-standard", json!({}), ImageToVideo),
        ("kling-multi-image", json!({}), MultiImageToVideo),
        ("kling-motion-control", json!({}), MotionControl),
        ("kling-video-extend", json!({}), VideoExtend),
        ("kling-lip-sync", json!({}), LipSync),
        ("kling-image", json!({}), TextToImage),
        (
            "kling-image",
            json!({"images": [IMG], "imageReference": "face"}),
            ImageToImage,
        ),
        ("kling-omni-image", json!({}), OmniImage),
    ];
    for (model, patch, want) in cases {
        let q = quote_both(&body(model, &patch)).unwrap();
        assert_eq!(q.operation, want, "{model} {patch}");
    }
    // An operation the model lacks: only reachable through an override model, since
    // the built-in catalog's item limits catch it first; the message says what to send.
    let c = Catalog::builtin()
        .with_override_toml(
            r#"
[[model]]
id = "frames-only"
name = "Frames only"
family = "test"
kind = "video"
operations = ["image_to_video"]
providers = [{ provider = "sim", model = "f" }]
fields = [{ name = "prompt", type = "string" }, { name = "images", type = "media_list", max_items = 2 }]
price = { rates = [{ per_unit = 1.0 }] }
"#,
        )
        .unwrap();
    let ask = |images: Vec<&str>| {
        let req = GenerationRequest {
            model: "frames-only".into(),
            prompt: Some("abc".into()),
            images: images
                .into_iter()
                .map(|s| genmux_core::MediaInput::parse(s).unwrap())
                .collect(),
            ..Default::default()
        };
        c.validate(&req).map_err(|e| e.message().to_string())
    };
    assert_eq!(ask(vec![IMG]), Ok(ImageToVideo));
    assert_eq!(
        ask(vec![]).unwrap_err(),
        "images: no image given, which means text_to_video; frames-only does not offer text_to_video (allowed: image_to_video with 1 image (or endImage alone))"
    );
    assert_eq!(
        ask(vec![IMG, IMG2]).unwrap_err(),
        "images: 2 images given, which means start_end_frame; frames-only does not offer start_end_frame (allowed: image_to_video with 1 image (or endImage alone))"
    );
}

#[test]
fn audio_requires_pro_rule_via_an_override_model() {
    // Not attached to a built-in model (kling-2.6-t2v has no mode field, kling-3.0 prices
    // std audio), but a named rule an operator may attach; it must still work.
    let c = Catalog::builtin()
        .with_override_toml(
            r#"
[[model]]
id = "pro-audio"
name = "Pro audio"
family = "test"
kind = "video"
operations = ["text_to_video"]
rules = ["audio_requires_pro"]
providers = [{ provider = "sim", model = "p" }]
fields = [
  { name = "prompt", type = "string", required = true },
  { name = "mode", type = "string", enum = ["std", "pro"], default = "std" },
  { name = "generateAudio", type = "boolean" },
]
price = { rates = [{ per_unit = 1.0 }] }
"#,
        )
        .unwrap();
    let q = |mode: Option<&str>| {
        c.quote(&GenerationRequest {
            model: "pro-audio".into(),
            prompt: Some("abc".into()),
            mode: mode.map(Into::into),
            generate_audio: Some(true),
            duration: None,
            ..Default::default()
        })
        .map(|q| q.points)
        .map_err(|e| e.message().to_string())
    };
    assert!(q(Some("pro")).is_ok());
    let want = "mode: std does not allow generateAudio for pro-audio (allowed: pro)";
    assert_eq!(q(Some("std")).unwrap_err(), want);
    // The default mode is std: a defaulted request is validated too.
    assert_eq!(q(None).unwrap_err(), want);
}

#[test]
fn accepted_rows_use_the_quoted_request_for_providers() {
    // A quote's request is what providers receive: it must itself validate.
    let c = Catalog::builtin();
    for row in rows().into_iter().filter(|r| r.want.is_none()) {
        let q = quote_both(&body(row.model, &row.patch)).unwrap();
        assert_eq!(
            c.validate(&q.request).map_err(|e| e.message().to_string()),
            Ok(q.operation),
            "{} [{}]",
            row.model,
            row.tag
        );
        let again = c.quote(&q.request).unwrap();
        assert_eq!(again.points, q.points);
        let _ = (AUD, VID);
    }
}

#[test]
fn typed_validation_and_raw_body_validation_agree_on_every_row() {
    // `validate` reads the typed request directly and `parse_request` reads the raw JSON,
    // through one validator: wherever the body deserializes, both give the same answer.
    let c = Catalog::builtin();
    let mut compared = 0;
    for row in rows() {
        let b = body(row.model, &row.patch);
        let Ok(typed) = serde_json::from_value::<GenerationRequest>(b.clone()) else {
            continue;
        };
        let via_typed = c.validate(&typed).map_err(|e| e.message().to_string());
        let via_raw = c
            .parse_request(&b)
            .and_then(|req| c.validate(&req))
            .map_err(|e| e.message().to_string());
        assert_eq!(via_typed, via_raw, "{} [{}] {b}", row.model, row.tag);
        compared += 1;
    }
    assert!(compared > 300, "{compared}");
}
