//! Every documented rejection answers Kling's code and HTTP status, with a message that
//! names the field.

mod common;

use std::time::Duration;

use common::{png_b64, Api};
use genmux_sim::kling::{KlingAccount, KlingSimConfig};
use serde_json::{json, Value};

const T2V: &str = "/v1/videos/text2video";
const I2V: &str = "/v1/videos/image2video";
const MULTI: &str = "/v1/videos/multi-image2video";
const MOTION: &str = "/v1/videos/motion-control";
const EXTEND: &str = "/v1/videos/video-extend";
const LIP: &str = "/v1/videos/advanced-lip-sync";
const FACE: &str = "/v1/videos/identify-face";
const IMG: &str = "/v1/images/generations";
const OMNI: &str = "/v1/images/omni-image";

#[track_caller]
fn assert_rejected(case: &str, (status, v): (u16, Value), code: i64, http: u16, needle: &str) {
    assert_eq!(
        (status, v["code"].as_i64()),
        (http, Some(code)),
        "{case}: expected {http}/{code}, got {v}"
    );
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(needle),
        "{case}: message {msg:?} should mention {needle:?}"
    );
    assert!(
        v["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{case}"
    );
    assert!(v["data"].is_null(), "{case}");
}

fn merge(base: &Value, extra: Value) -> Value {
    let mut out = base.clone();
    for (k, v) in extra.as_object().unwrap() {
        out[k] = v.clone();
    }
    out
}

#[tokio::test]
async fn every_body_rule_of_the_spec() {
    let api = Api::default().await;
    let long = "x".repeat(2501);
    let t2v = json!({"prompt": "a cat"});
    let i2v = json!({"image": "https://example.com/start.png"});
    let multi =
        json!({"prompt": "friends", "image_list": [{"image": "https://example.com/a.png"}]});
    let motion = json!({"image_url": "https://example.com/p.png", "video_url": "https://example.com/m.mp4",
                        "character_orientation": "video", "mode": "std"});
    let img = json!({"prompt": "a teapot"});
    let omni = json!({"prompt": "a teapot"});
    let images = |n: usize| -> Value {
        Value::Array(
            (0..n)
                .map(|i| json!({"image": format!("https://example.com/{i}.png")}))
                .collect(),
        )
    };
    let cam = |c: Value| json!({"camera_control": c});
    let cases: Vec<(&str, &str, Value, i64, u16, &str)> = vec![
        // Common rules and spec §2.
        (
            "prompt too long",
            T2V,
            json!({"prompt": long}),
            1201,
            400,
            "2500",
        ),
        (
            "prompt 2500 chars is fine",
            T2V,
            json!({"prompt": "x".repeat(2500), "mode": "x"}),
            1201,
            400,
            "mode",
        ),
        (
            "negative_prompt too long",
            T2V,
            merge(&t2v, json!({"negative_prompt": long})),
            1201,
            400,
            "negative_prompt",
        ),
        (
            "prompt missing",
            T2V,
            json!({"mode": "std"}),
            1201,
            400,
            "prompt is required",
        ),
        (
            "prompt empty",
            T2V,
            json!({"prompt": "  "}),
            1201,
            400,
            "prompt must not be empty",
        ),
        (
            "unknown model",
            T2V,
            merge(&t2v, json!({"model_name": "kling-v9"})),
            1203,
            404,
            "model_name",
        ),
        (
            "image model on video endpoint",
            T2V,
            merge(&t2v, json!({"model_name": "kling-image-o1"})),
            1203,
            404,
            "kling-image-o1",
        ),
        (
            "duration 7",
            T2V,
            merge(&t2v, json!({"duration": "7"})),
            1201,
            400,
            "duration",
        ),
        (
            "duration as number",
            T2V,
            merge(&t2v, json!({"duration": 5})),
            1201,
            400,
            "duration must be a string",
        ),
        (
            "mode",
            T2V,
            merge(&t2v, json!({"mode": "ultra"})),
            1201,
            400,
            "mode",
        ),
        (
            "aspect ratio",
            T2V,
            merge(&t2v, json!({"aspect_ratio": "4:3"})),
            1201,
            400,
            "aspect_ratio",
        ),
        (
            "camera two axes",
            T2V,
            merge(
                &t2v,
                cam(json!({"type": "simple", "config": {"pan": 2, "zoom": 1}})),
            ),
            1201,
            400,
            "exactly one",
        ),
        (
            "camera no axis",
            T2V,
            merge(&t2v, cam(json!({"type": "simple", "config": {"pan": 0}}))),
            1201,
            400,
            "exactly one",
        ),
        (
            "camera out of range",
            T2V,
            merge(
                &t2v,
                cam(json!({"type": "simple", "config": {"tilt": -11}})),
            ),
            1201,
            400,
            "camera_control.config.tilt",
        ),
        (
            "camera simple without config",
            T2V,
            merge(&t2v, cam(json!({"type": "simple"}))),
            1201,
            400,
            "camera_control.config is required",
        ),
        (
            "camera config with preset type",
            T2V,
            merge(
                &t2v,
                cam(json!({"type": "forward_up", "config": {"zoom": 1}})),
            ),
            1201,
            400,
            "only allowed when",
        ),
        (
            "camera type",
            T2V,
            merge(&t2v, cam(json!({"type": "orbit"}))),
            1201,
            400,
            "camera_control.type",
        ),
        (
            "camera unknown axis",
            T2V,
            merge(&t2v, cam(json!({"type": "simple", "config": {"dolly": 1}}))),
            1201,
            400,
            "dolly",
        ),
        (
            "cfg_scale on V2",
            T2V,
            merge(
                &t2v,
                json!({"model_name": "kling-v2-master", "cfg_scale": 0.5}),
            ),
            1201,
            400,
            "cfg_scale",
        ),
        (
            "cfg_scale range",
            T2V,
            merge(&t2v, json!({"cfg_scale": 1.5})),
            1201,
            400,
            "cfg_scale",
        ),
        (
            "sound on old model",
            T2V,
            merge(&t2v, json!({"sound": "on"})),
            1201,
            400,
            "sound",
        ),
        (
            "sound value",
            T2V,
            merge(&t2v, json!({"model_name": "kling-v2-6", "sound": "loud"})),
            1201,
            400,
            "sound",
        ),
        (
            "camelCase field",
            T2V,
            merge(&t2v, json!({"negativePrompt": "blur"})),
            1201,
            400,
            "negativePrompt",
        ),
        (
            "callback scheme",
            T2V,
            merge(&t2v, json!({"callback_url": "ftp://example.com/cb"})),
            1201,
            400,
            "callback_url",
        ),
        (
            "callback not a URL",
            T2V,
            merge(&t2v, json!({"callback_url": "not a url"})),
            1201,
            400,
            "callback_url",
        ),
        (
            "empty external id",
            T2V,
            merge(&t2v, json!({"external_task_id": ""})),
            1201,
            400,
            "external_task_id",
        ),
        (
            "prompt wrong type",
            T2V,
            json!({"prompt": 42}),
            1201,
            400,
            "prompt must be a string",
        ),
        (
            "body not an object",
            T2V,
            json!(["a cat"]),
            1200,
            400,
            "JSON object",
        ),
        // spec §3.
        (
            "no image nor tail",
            I2V,
            json!({"prompt": "x"}),
            1201,
            400,
            "image_tail",
        ),
        (
            "data: prefix",
            I2V,
            json!({"image": format!("data:image/png;base64,{}", png_b64(400, 400))}),
            1201,
            400,
            "data:",
        ),
        (
            "not base64",
            I2V,
            json!({"image": "%%%"}),
            1201,
            400,
            "image",
        ),
        (
            "image too small",
            I2V,
            json!({"image": png_b64(200, 400)}),
            1201,
            400,
            "300 px",
        ),
        (
            "image too wide",
            I2V,
            json!({"image": png_b64(1000, 300)}),
            1201,
            400,
            "aspect ratio",
        ),
        (
            "tail + camera",
            I2V,
            merge(
                &i2v,
                json!({"image_tail": "https://example.com/e.png", "camera_control": {"type": "down_back"}}),
            ),
            1201,
            400,
            "mutually exclusive",
        ),
        (
            "mask + camera",
            I2V,
            merge(
                &i2v,
                json!({"static_mask": "https://example.com/m.png", "camera_control": {"type": "down_back"}}),
            ),
            1201,
            400,
            "mutually exclusive",
        ),
        (
            "tail + masks",
            I2V,
            merge(
                &i2v,
                json!({"image_tail": "https://example.com/e.png", "dynamic_masks": [{"mask": "https://example.com/m.png", "trajectories": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]}),
            ),
            1201,
            400,
            "mutually exclusive",
        ),
        (
            "seven masks",
            I2V,
            merge(
                &i2v,
                json!({"dynamic_masks": vec![json!({"mask": "https://example.com/m.png", "trajectories": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}); 7]}),
            ),
            1201,
            400,
            "1 to 6",
        ),
        (
            "one trajectory point",
            I2V,
            merge(
                &i2v,
                json!({"dynamic_masks": [{"mask": "https://example.com/m.png", "trajectories": [{"x": 1, "y": 1}]}]}),
            ),
            1201,
            400,
            "dynamic_masks[0].trajectories",
        ),
        (
            "sound needs pro",
            I2V,
            merge(&i2v, json!({"model_name": "kling-v2-6", "sound": "on"})),
            1201,
            400,
            "pro",
        ),
        (
            "no aspect_ratio on i2v",
            I2V,
            merge(&i2v, json!({"aspect_ratio": "16:9"})),
            1201,
            400,
            "aspect_ratio",
        ),
        (
            "i2v duration",
            I2V,
            merge(&i2v, json!({"duration": "15"})),
            1201,
            400,
            "duration",
        ),
        // spec §4.
        (
            "no images",
            MULTI,
            merge(&multi, json!({"image_list": []})),
            1201,
            400,
            "1 to 4",
        ),
        (
            "five images",
            MULTI,
            merge(&multi, json!({"image_list": images(5)})),
            1201,
            400,
            "1 to 4",
        ),
        (
            "bare string item",
            MULTI,
            merge(&multi, json!({"image_list": ["https://example.com/a.png"]})),
            1201,
            400,
            "image_list[0] must be an object",
        ),
        (
            "multi model",
            MULTI,
            merge(&multi, json!({"model_name": "kling-v2-6"})),
            1203,
            404,
            "kling-v1-6",
        ),
        (
            "multi prompt",
            MULTI,
            json!({"image_list": images(2)}),
            1201,
            400,
            "prompt is required",
        ),
        (
            "multi item data:",
            MULTI,
            merge(
                &multi,
                json!({"image_list": [{"image": "data:image/jpeg;base64,AAAA"}]}),
            ),
            1201,
            400,
            "image_list[0].image",
        ),
        // spec §5.
        (
            "orientation missing",
            MOTION,
            json!({"image_url": "https://example.com/p.png", "video_url": "https://example.com/m.mp4", "mode": "std"}),
            1201,
            400,
            "character_orientation",
        ),
        (
            "orientation value",
            MOTION,
            merge(&motion, json!({"character_orientation": "left"})),
            1201,
            400,
            "character_orientation",
        ),
        (
            "motion mode missing",
            MOTION,
            json!({"image_url": "https://example.com/p.png", "video_url": "https://example.com/m.mp4", "character_orientation": "image"}),
            1201,
            400,
            "mode is required",
        ),
        (
            "keep sound",
            MOTION,
            merge(&motion, json!({"keep_original_sound": "maybe"})),
            1201,
            400,
            "keep_original_sound",
        ),
        (
            "motion video type",
            MOTION,
            merge(&motion, json!({"video_url": "https://example.com/m.avi"})),
            1201,
            400,
            ".mp4 or .mov",
        ),
        (
            "motion image missing",
            MOTION,
            json!({"video_url": "https://example.com/m.mp4", "character_orientation": "image", "mode": "std"}),
            1201,
            400,
            "image_url is required",
        ),
        (
            "motion prompt",
            MOTION,
            merge(&motion, json!({"prompt": long})),
            1201,
            400,
            "2500",
        ),
        // spec §6.
        (
            "extend unknown video",
            EXTEND,
            json!({"video_id": "no-such-video"}),
            1201,
            400,
            "video_id",
        ),
        // spec §7.
        (
            "n = 10",
            IMG,
            merge(&img, json!({"n": 10})),
            1201,
            400,
            "n = 10",
        ),
        (
            "n = 0",
            IMG,
            merge(&img, json!({"n": 0})),
            1201,
            400,
            "n = 0",
        ),
        (
            "n as string",
            IMG,
            merge(&img, json!({"n": "3"})),
            1201,
            400,
            "n must be an integer",
        ),
        (
            "omni model on generations",
            IMG,
            merge(&img, json!({"model_name": "kling-image-o1"})),
            1203,
            404,
            "model_name",
        ),
        (
            "v1-5 image without reference",
            IMG,
            merge(
                &img,
                json!({"model_name": "kling-v1-5", "image": "https://example.com/a.png"}),
            ),
            1201,
            400,
            "image_reference",
        ),
        (
            "negative with image",
            IMG,
            merge(
                &img,
                json!({"image": "https://example.com/a.png", "image_reference": "face", "negative_prompt": "blur"}),
            ),
            1201,
            400,
            "negative_prompt",
        ),
        (
            "human_fidelity with face",
            IMG,
            merge(
                &img,
                json!({"image": "https://example.com/a.png", "image_reference": "face", "human_fidelity": 0.5}),
            ),
            1201,
            400,
            "human_fidelity",
        ),
        (
            "reference without image",
            IMG,
            merge(&img, json!({"image_reference": "subject"})),
            1201,
            400,
            "image_reference",
        ),
        (
            "image_reference value",
            IMG,
            merge(
                &img,
                json!({"image": "https://example.com/a.png", "image_reference": "style"}),
            ),
            1201,
            400,
            "image_reference",
        ),
        (
            "image_fidelity",
            IMG,
            merge(
                &img,
                json!({"image": "https://example.com/a.png", "image_reference": "subject", "image_fidelity": 1.2}),
            ),
            1201,
            400,
            "image_fidelity",
        ),
        (
            "resolution",
            IMG,
            merge(&img, json!({"resolution": "4k"})),
            1201,
            400,
            "resolution",
        ),
        (
            "image aspect",
            IMG,
            merge(&img, json!({"aspect_ratio": "5:4"})),
            1201,
            400,
            "aspect_ratio",
        ),
        (
            "generations with an empty external id",
            IMG,
            merge(&img, json!({"external_task_id": ""})),
            1201,
            400,
            "external_task_id",
        ),
        // spec §8.
        (
            "elements + images > 10",
            OMNI,
            merge(
                &omni,
                json!({"image_list": images(5), "element_list": vec![json!({"element_id": 1}); 6]}),
            ),
            1201,
            400,
            "at most 10",
        ),
        (
            "image reference out of range",
            OMNI,
            merge(
                &omni,
                json!({"prompt": "<<<image_3>>> smiling", "image_list": images(1)}),
            ),
            1201,
            400,
            "<<<image_3>>>",
        ),
        (
            "image reference zero",
            OMNI,
            merge(
                &omni,
                json!({"prompt": "<<<image_0>>> smiling", "image_list": images(1)}),
            ),
            1201,
            400,
            "1-based",
        ),
        (
            "omni model",
            OMNI,
            merge(&omni, json!({"model_name": "kling-v1"})),
            1203,
            404,
            "kling-image-o1",
        ),
        (
            "omni n",
            OMNI,
            merge(&omni, json!({"n": 10})),
            1201,
            400,
            "n = 10",
        ),
        (
            "omni aspect",
            OMNI,
            merge(&omni, json!({"aspect_ratio": "5:4"})),
            1201,
            400,
            "auto",
        ),
        (
            "element without id",
            OMNI,
            merge(&omni, json!({"element_list": [{}]})),
            1201,
            400,
            "element_list[0].element_id",
        ),
        // spec §1, identify-face.
        (
            "face: both",
            FACE,
            json!({"video_id": "a", "video_url": "https://example.com/v.mp4"}),
            1201,
            400,
            "not both",
        ),
        (
            "face: neither",
            FACE,
            json!({}),
            1201,
            400,
            "video_id and video_url",
        ),
        (
            "face: unknown video",
            FACE,
            json!({"video_id": "nope"}),
            1201,
            400,
            "video_id",
        ),
        (
            "face: file type",
            FACE,
            json!({"video_url": "https://example.com/v.webm"}),
            1201,
            400,
            ".mp4 or .mov",
        ),
        // spec §1, lip sync with an unknown session.
        (
            "lip: unknown session",
            LIP,
            json!({"session_id": "nope", "face_choose": []}),
            1201,
            400,
            "session_id",
        ),
        (
            "lip: session missing",
            LIP,
            json!({"face_choose": []}),
            1201,
            400,
            "session_id is required",
        ),
    ];
    for (case, path, body, code, http, needle) in cases {
        assert_rejected(case, api.post(path, &body).await, code, http, needle);
    }
    // None of the rejected requests created a task.
    assert!(api.sim.state().tasks().is_empty());
}

#[tokio::test]
async fn bad_json_wrong_methods_and_unknown_tasks() {
    let api = Api::default().await;
    let raw = |method: reqwest::Method, path: &str, body: &'static str| {
        api.http
            .request(method, api.url(path))
            .header("Authorization", api.bearer())
            .header("Content-Type", "application/json")
            .body(body)
    };
    let read = |r: reqwest::Response| async move {
        let s = r.status().as_u16();
        (s, r.json::<Value>().await.unwrap())
    };
    let r = read(
        raw(reqwest::Method::POST, T2V, "{\"prompt\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_rejected("truncated JSON", r, 1200, 400, "not valid JSON");
    let r = read(raw(reqwest::Method::POST, T2V, "").send().await.unwrap()).await;
    assert_rejected("empty body", r, 1200, 400, "empty");
    let r = read(raw(reqwest::Method::DELETE, T2V, "").send().await.unwrap()).await;
    assert_rejected("DELETE", r, 1202, 404, "DELETE");
    let r = read(raw(reqwest::Method::GET, FACE, "").send().await.unwrap()).await;
    assert_rejected("GET identify-face", r, 1202, 404, "GET");
    let r = read(
        raw(reqwest::Method::POST, "/v1/videos/text2video/abc", "{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_rejected("POST on a task", r, 1202, 404, "POST");
    let r = read(
        raw(reqwest::Method::POST, "/v1/videos/text-to-video", "{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_rejected("unknown path", r, 1202, 404, "/v1/videos/text-to-video");

    assert_rejected(
        "unknown task",
        api.get("/v1/videos/text2video/nope").await,
        1203,
        404,
        "nope",
    );
    // An image task is not found at a video path, and generations look up task_id only.
    let (_, v) = api.post(IMG, &json!({"prompt": "a teapot"})).await;
    let id = v["data"]["task_id"].as_str().unwrap();
    assert_rejected(
        "wrong endpoint",
        api.get(&format!("{T2V}/{id}")).await,
        1203,
        404,
        id,
    );
    // spec/kling-api.md "Reconciliation" (2026 docs): omni-image is queried by external id
    // too; only advanced-lip-sync looks up task_id alone.
    let ext = api
        .create(OMNI, &json!({"prompt": "x", "external_task_id": "omni-x"}))
        .await;
    assert_eq!(
        api.task(OMNI, &ext).await["task_info"]["external_task_id"],
        "omni-x"
    );
    let (status, by_ext) = api.get(&format!("{OMNI}/omni-x")).await;
    assert_eq!(status, 200, "{by_ext}");
    assert_eq!(by_ext["data"]["task_id"], ext.as_str());
    assert_rejected(
        "lip sync by external id",
        api.get("/v1/videos/advanced-lip-sync/omni-x").await,
        1203,
        404,
        "task_id only",
    );
}

#[tokio::test]
async fn external_task_id_must_be_unique_per_account() {
    let cfg = KlingSimConfig::default().with_account(KlingAccount::new("ak2", "sk2"));
    let api = Api::start(cfg).await;
    api.create(T2V, &json!({"prompt": "a", "external_task_id": "dup"}))
        .await;
    let r = api
        .post(
            I2V,
            &json!({"image": "https://example.com/a.png", "external_task_id": "dup"}),
        )
        .await;
    assert_rejected(
        "duplicate",
        r,
        1201,
        400,
        "external_task_id \"dup\" is already used",
    );
    let (_, mine) = api.get(&format!("{T2V}/dup")).await;
    // Another account has its own namespace and sees only its own task under that id.
    let other = api.bearer_for("ak2", "sk2");
    let (status, v) = api
        .post_as(
            T2V,
            &json!({"prompt": "a", "external_task_id": "dup"}),
            Some(&other),
        )
        .await;
    assert_eq!((status, v["code"].as_i64()), (200, Some(0)), "{v}");
    let theirs: Value = api
        .http
        .get(api.url(&format!("{T2V}/dup")))
        .header("Authorization", other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["data"]["task_id"], v["data"]["task_id"]);
    assert_ne!(theirs["data"]["task_id"], mine["data"]["task_id"]);
}

#[tokio::test]
async fn video_extend_rules() {
    let api = Api::default().await;
    // A multi-image video cannot be extended.
    let multi = api
        .create(
            MULTI,
            &json!({"prompt": "x", "image_list": [{"image": "https://example.com/a.png"}]}),
        )
        .await;
    api.sim.advance(Duration::from_secs(60)).await;
    let t = api.task(MULTI, &multi).await;
    let mv = t["task_result"]["videos"][0]["id"].as_str().unwrap();
    assert_rejected(
        "extend multi",
        api.post(EXTEND, &json!({"video_id": mv})).await,
        1201,
        400,
        "cannot be extended",
    );

    // Extend 10 s → 180 s in 34 steps; the 35th would pass 3 minutes.
    let mut video = api.generated_video("10").await;
    for _ in 0..34 {
        let id = api.create(EXTEND, &json!({"video_id": video})).await;
        api.sim.advance(Duration::from_secs(60)).await;
        let t = api.task(EXTEND, &id).await;
        video = t["task_result"]["videos"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let t = api
        .task(EXTEND, &api.sim.state().tasks().last().unwrap().task_id)
        .await;
    assert_eq!(t["task_result"]["videos"][0]["duration"], "180");
    assert_rejected(
        "over 3 minutes",
        api.post(EXTEND, &json!({"video_id": video})).await,
        1201,
        400,
        "3-minute",
    );

    // Sources older than 30 days are purged.
    let fresh = api.generated_video("5").await;
    api.sim.advance(Duration::from_secs(31 * 24 * 3600)).await;
    assert_rejected(
        "purged",
        api.post(EXTEND, &json!({"video_id": fresh})).await,
        1201,
        400,
        "30 days",
    );
}

#[tokio::test]
async fn lip_sync_rules() {
    let api = Api::default().await;
    let video = api.generated_video("10").await;
    let (_, v) = api.post(FACE, &json!({"video_id": video})).await;
    let session = v["data"]["session_id"].as_str().unwrap().to_string();
    let face = json!({"face_id": "0", "audio_id": "speech-1", "sound_start_time": 0,
                      "sound_end_time": 3000, "sound_insert_time": 0});
    let body = |f: Value| json!({"session_id": session, "face_choose": [f]});
    let with = |extra: Value| body(merge(&face, extra));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("unknown face", with(json!({"face_id": "7"})), "face_id"),
        (
            "two faces",
            json!({"session_id": session, "face_choose": [face.clone(), face.clone()]}),
            "exactly one face",
        ),
        (
            "no faces",
            json!({"session_id": session, "face_choose": []}),
            "exactly one face",
        ),
        (
            "audio and file",
            with(json!({"sound_file": "https://example.com/a.mp3"})),
            "not both",
        ),
        (
            "no audio",
            body(
                json!({"face_id": "0", "sound_start_time": 0, "sound_end_time": 3000, "sound_insert_time": 0}),
            ),
            "audio_id and sound_file",
        ),
        (
            "end before start",
            with(json!({"sound_start_time": 3000, "sound_end_time": 1000})),
            "sound_start_time",
        ),
        (
            "crop too short",
            with(json!({"sound_end_time": 1500})),
            "2000 to 60000",
        ),
        (
            "insert outside video",
            with(json!({"sound_insert_time": 12000})),
            "sound_insert_time",
        ),
        (
            "insert overlaps too little",
            with(json!({"sound_insert_time": 9000})),
            "overlap",
        ),
        (
            "missing insert",
            body(
                json!({"face_id": "0", "audio_id": "a", "sound_start_time": 0, "sound_end_time": 3000}),
            ),
            "sound_insert_time is required",
        ),
        (
            "sound volume",
            with(json!({"sound_volume": 2.5})),
            "sound_volume",
        ),
        (
            "original volume",
            with(json!({"original_audio_volume": -0.1})),
            "original_audio_volume",
        ),
        (
            "sound file data:",
            body(merge(
                &json!({"face_id": "0", "sound_start_time": 0, "sound_end_time": 3000, "sound_insert_time": 0}),
                json!({"sound_file": "data:audio/mp3;base64,SUQz"}),
            )),
            "data:",
        ),
        (
            "sound file type",
            body(merge(
                &json!({"face_id": "0", "sound_start_time": 0, "sound_end_time": 3000, "sound_insert_time": 0}),
                json!({"sound_file": "https://example.com/a.ogg"}),
            )),
            ".mp3, .wav or .m4a",
        ),
        (
            "time as string",
            with(json!({"sound_start_time": "0"})),
            "sound_start_time must be an integer",
        ),
    ];
    for (case, b, needle) in cases {
        assert_rejected(case, api.post(LIP, &b).await, 1201, 400, needle);
    }
    // The valid body is accepted; 25 h later the session has expired.
    api.create(LIP, &body(face.clone())).await;
    api.sim.advance(Duration::from_secs(25 * 3600)).await;
    assert_rejected(
        "expired session",
        api.post(LIP, &body(face)).await,
        1201,
        400,
        "expired",
    );
}

#[tokio::test]
async fn content_safety_and_model_access() {
    let mut cfg = KlingSimConfig {
        blocked_words: vec!["forbidden".into()],
        ..KlingSimConfig::default()
    };
    cfg.accounts[0].allowed_models = Some(vec!["kling-v1".into()]);
    let api = Api::start(cfg).await;
    let r = api.post(T2V, &json!({"prompt": "a Forbidden act"})).await;
    assert_rejected("content safety", r, 1301, 400, "content safety");
    let r = api
        .post(T2V, &json!({"prompt": "a cat", "model_name": "kling-v2-6"}))
        .await;
    assert_rejected("no access", r, 1103, 403, "kling-v2-6");
    api.create(T2V, &json!({"prompt": "a cat"})).await;
}
