//! Mapping tests for every catalog entry Kling serves, without HTTP: each case goes
//! through the catalog (validation + defaults, as the gateway does) and then
//! [`plan`], and the exact native body is compared.

use super::request::{camera_control, lip_sync_request, pick_face, plan, NativeRequest, Plan};
use crate::wire::{Endpoint, FaceData, IdentifyFaceRequest, IdentifyFaceResponse};
use genmux_core::{Catalog, ErrorKind, GenerationRequest, Operation};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const CB: &str = "https://gw.test/callbacks/kling/tok";
/// The id the gateway mints for a submission (its task id).
const EXT: &str = "task_0193a";

/// Validates and defaults `body` for `model` through the built-in catalog.
fn quoted(model: &str, body: Value) -> (GenerationRequest, Operation) {
    let mut obj = body.as_object().cloned().unwrap_or_default();
    obj.insert("model".into(), json!(model));
    let req: GenerationRequest = serde_json::from_value(Value::Object(obj)).unwrap();
    let q = Catalog::builtin()
        .quote(&req)
        .unwrap_or_else(|e| panic!("{model}: catalog rejected the test request: {e}"));
    (q.request, q.operation)
}

fn create(model: &str, provider_model: &str, body: Value) -> NativeRequest {
    let (req, op) = quoted(model, body);
    match plan(&req, op, provider_model, Some(CB), None).unwrap() {
        Plan::Create(n) => n,
        other => panic!("{model}: expected one create call, got {other:?}"),
    }
}

fn assert_body(n: &NativeRequest, endpoint: Endpoint, want: Value) {
    assert_eq!(n.endpoint, endpoint);
    assert_eq!(Value::Object(n.body.clone()), want);
}

/// The (catalog model, Kling provider model) pairs a case below covers.
const COVERED: &[(&str, &str)] = &[
    ("kling-2.5-turbo", "kling-v2-5-turbo"),
    ("kling-2.6-t2v", "kling-v2-6"),
    ("kling-2.6-i2v", "kling-v2-6"),
    ("kling-3.0", "kling-v3"),
    ("kling-3.0-motion-control", "motion-control-v3"),
    ("kling-multi-image", "kling-v1-6"),
    ("kling-motion-control", "motion-control"),
    ("kling-video-extend", "video-extend"),
    ("kling-lip-sync", "advanced-lip-sync"),
    ("kling-image", "kling-v2-1"),
    ("kling-image", "kling-v1-5"),
    ("kling-omni-image", "kling-image-o1"),
];

#[test]
fn every_kling_catalog_entry_has_a_mapping_case() {
    let in_catalog: BTreeSet<(String, String)> = Catalog::builtin()
        .models()
        .flat_map(|m| {
            m.providers
                .iter()
                .filter(|p| p.provider == "kling")
                .map(|p| (m.id.clone(), p.model.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let covered: BTreeSet<(String, String)> = COVERED
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(
        in_catalog, covered,
        "add a mapping case for each new kling entry"
    );
}

#[test]
fn every_catalog_example_maps() {
    for m in Catalog::builtin().models() {
        for pm in m.providers.iter().filter(|p| p.provider == "kling") {
            for ex in &m.examples {
                let (req, op) = quoted(&m.id, Value::Object(ex.clone()));
                if !(pm.operations.is_empty() || pm.operations.contains(&op)) {
                    continue;
                }
                let p = plan(&req, op, &pm.model, None, Some(EXT))
                    .unwrap_or_else(|e| panic!("{} / {} example {ex:?}: {e}", m.id, pm.model));
                if let Plan::Create(n) = p {
                    assert!(!n.body.contains_key("callback_url"));
                    // X3: the gateway's id on every create body.
                    assert_eq!(n.body["external_task_id"], EXT, "{} / {}", m.id, pm.model);
                }
            }
        }
    }
}

#[test]
fn kling_2_5_turbo_text_drops_cfg_scale_for_v2() {
    let n = create(
        "kling-2.5-turbo",
        "kling-v2-5-turbo",
        json!({"prompt": "A cinematic city", "duration": 10, "aspectRatio": "9:16",
               "negativePrompt": "blur", "cfgScale": 0.7, "externalTaskId": "ext-1"}),
    );
    // spec §2: cfg_scale is not supported by V2.x models.
    assert_body(
        &n,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v2-5-turbo", "prompt": "A cinematic city",
               "negative_prompt": "blur", "aspect_ratio": "9:16", "duration": "10", "callback_url": CB}),
    );
}

#[test]
fn kling_2_5_turbo_start_and_end_frames() {
    let n = create(
        "kling-2.5-turbo",
        "kling-v2-5-turbo",
        json!({"prompt": "The flower opens", "images": ["https://x.test/a.png", "https://x.test/b.png"]}),
    );
    // images[0] → image, images[1] → image_tail; no aspect_ratio on image2video (§3).
    assert_body(
        &n,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v2-5-turbo", "image": "https://x.test/a.png",
               "image_tail": "https://x.test/b.png", "prompt": "The flower opens",
               "duration": "5", "callback_url": CB}),
    );
    let n = create(
        "kling-2.5-turbo",
        "kling-v2-5-turbo",
        json!({"prompt": "The flower closes", "endImage": "https://x.test/end.png"}),
    );
    assert_eq!(n.endpoint, Endpoint::Image2Video);
    assert_eq!(n.body["image_tail"], "https://x.test/end.png");
    assert!(!n.body.contains_key("image"));
    let n = create(
        "kling-2.5-turbo",
        "kling-v2-5-turbo",
        json!({"prompt": "A bare Base64 start", "images": ["iVBORw0KGgoAAAANSUhEUg=="]}),
    );
    assert_eq!(n.body["image"], "iVBORw0KGgoAAAANSUhEUg==");
}

#[test]
fn kling_2_6_audio_is_sound_on_in_pro_mode() {
    let n = create(
        "kling-2.6-t2v",
        "kling-v2-6",
        json!({"prompt": "A cinematic city", "generateAudio": true, "cfgScale": 0.5}),
    );
    assert_body(
        &n,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v2-6", "prompt": "A cinematic city", "sound": "on",
               "mode": "pro", "aspect_ratio": "16:9", "duration": "5", "callback_url": CB}),
    );
    let n = create(
        "kling-2.6-t2v",
        "kling-v2-6",
        json!({"prompt": "A quiet city", "generateAudio": false}),
    );
    assert_eq!(n.body["sound"], "off");
    assert!(!n.body.contains_key("mode"));
}

#[test]
fn kling_2_6_unified_camera_becomes_simple_config() {
    let n = create(
        "kling-2.6-t2v",
        "kling-v2-6",
        json!({"prompt": "A slow pan", "duration": 10,
               "cameraControl": {"cameraMotion": "pan", "cameraSpeed": 1.0}}),
    );
    assert_eq!(
        n.body["camera_control"],
        json!({"type": "simple", "config": {"pan": 5.0}})
    );
    let n = create(
        "kling-2.6-t2v",
        "kling-v2-6",
        json!({"prompt": "A native zoom", "cameraControl": {"type": "simple", "config": {"zoom": -3}}}),
    );
    assert_eq!(
        n.body["camera_control"],
        json!({"type": "simple", "config": {"zoom": -3.0}})
    );
    let n = create(
        "kling-2.6-t2v",
        "kling-v2-6",
        json!({"prompt": "A preset", "cameraControl": {"type": "forward_up"}}),
    );
    assert_eq!(n.body["camera_control"], json!({"type": "forward_up"}));
}

#[test]
fn camera_speed_rounds_times_five_clamped_and_never_zero() {
    let cc = |motion: &str, speed: f64| {
        let c = camera_control(&genmux_core::CameraControl {
            camera_motion: Some(motion.into()),
            camera_speed: Some(speed),
            ..Default::default()
        })
        .unwrap();
        serde_json::to_value(c).unwrap()
    };
    assert_eq!(cc("zoom", 0.1)["config"], json!({"zoom": 1.0}));
    assert_eq!(cc("tilt", 0.3)["config"], json!({"tilt": 2.0}));
    assert_eq!(cc("roll", 2.0)["config"], json!({"roll": 10.0}));
    assert_eq!(cc("horizontal", 3.0)["config"], json!({"horizontal": 10.0}));
    assert_eq!(cc("vertical", -4.0)["config"], json!({"vertical": -10.0}));
    assert_eq!(cc("pan", 0.0)["config"], json!({"pan": 1.0}));
    let e = camera_control(&genmux_core::CameraControl {
        camera_motion: Some("dolly".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        e.message()
            .starts_with("cameraControl.cameraMotion: `dolly`"),
        "{}",
        e.message()
    );
    let e = camera_control(&genmux_core::CameraControl {
        kind: Some("simple".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        e.message().starts_with("cameraControl.config"),
        "{}",
        e.message()
    );
}

#[test]
fn kling_3_text_image_audio_and_multi_shot() {
    let n = create(
        "kling-3.0",
        "kling-v3",
        json!({"prompt": "A cinematic city", "mode": "pro", "duration": 10, "generateAudio": true}),
    );
    assert_body(
        &n,
        Endpoint::Text2Video,
        json!({"model_name": "kling-v3", "prompt": "A cinematic city", "sound": "on",
               "mode": "pro", "aspect_ratio": "16:9", "duration": "10", "callback_url": CB}),
    );
    let n = create(
        "kling-3.0",
        "kling-v3",
        json!({"multiShots": true, "multiPrompt": [
            {"prompt": "A door opens", "duration": 3}, {"prompt": "A cat walks in", "duration": 4}]}),
    );
    assert_eq!(n.endpoint, Endpoint::Text2Video);
    assert_eq!(n.body["multi_shot"], true);
    assert_eq!(n.body["shot_type"], "customize");
    assert_eq!(
        n.body["multi_prompt"],
        json!([{"index": 1, "prompt": "A door opens", "duration": "3"},
               {"index": 2, "prompt": "A cat walks in", "duration": "4"}])
    );
    assert!(!n.body.contains_key("prompt"));
    let n = create(
        "kling-3.0",
        "kling-v3",
        json!({"prompt": "Walk forward", "images": ["https://x.test/a.png"], "duration": 7}),
    );
    assert_eq!(n.endpoint, Endpoint::Image2Video);
    assert_eq!(n.body["image"], "https://x.test/a.png");
    assert_eq!(n.body["duration"], "7");
    assert_eq!(n.body["sound"], "off");
    // spec §3: image-to-video sound is pro mode only.
    let n = create(
        "kling-3.0",
        "kling-v3",
        json!({"prompt": "Walk forward", "images": ["https://x.test/a.png"], "mode": "pro", "generateAudio": true}),
    );
    assert_eq!(
        (&n.body["sound"], &n.body["mode"]),
        (&json!("on"), &json!("pro"))
    );
    // spec "Kling 3.0": only kling-v2-6 needs pro for sound; v3 sells std with audio
    // (0.9 u/s), as the catalog prices it.
    let n = create(
        "kling-3.0",
        "kling-v3",
        json!({"prompt": "Walk forward", "images": ["https://x.test/a.png"], "generateAudio": true}),
    );
    assert_eq!(
        (&n.body["sound"], &n.body["mode"]),
        (&json!("on"), &json!("std"))
    );
    // Shots that do not add up to an allowed length are refused naming multiPrompt.
    let mut req = quoted(
        "kling-3.0",
        json!({"multiShots": true, "multiPrompt": [
            {"prompt": "A door opens", "duration": 3}, {"prompt": "A cat walks in", "duration": 4}]}),
    )
    .0;
    req.duration = Some(8);
    let e = plan(&req, Operation::TextToVideo, "kling-v3", None, None).unwrap_err();
    assert!(
        e.message()
            .starts_with("multiPrompt: the shots add up to 7 s"),
        "{}",
        e.message()
    );
    let (mut req, op) = quoted("kling-3.0", json!({"prompt": "A city"}));
    req.duration = Some(16);
    let e = plan(&req, op, "kling-v3", None, None).unwrap_err();
    assert_eq!(
        e.message(),
        "duration: 16 is not allowed for kling-v3 (allowed: 3 to 15 s)"
    );
}

#[test]
fn kling_3_element_groups_are_unsupported_on_the_native_api() {
    let (req, op) = quoted(
        "kling-3.0",
        json!({"prompt": "Two friends", "klingElements": [
            {"images": ["https://x.test/a.png", "https://x.test/b.png"]}]}),
    );
    let e = plan(&req, op, "kling-v3", None, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().starts_with("klingElements"), "{}", e.message());
}

#[test]
fn multi_image_list_items_are_objects() {
    let n = create(
        "kling-multi-image",
        "kling-v1-6",
        json!({"prompt": "They shake hands", "images": ["https://x.test/a.png", "https://x.test/b.png"],
               "mode": "pro", "negativePrompt": "blur", "externalTaskId": "ext-mi"}),
    );
    assert_body(
        &n,
        Endpoint::MultiImage2Video,
        json!({"model_name": "kling-v1-6",
               "image_list": [{"image": "https://x.test/a.png"}, {"image": "https://x.test/b.png"}],
               "prompt": "They shake hands", "negative_prompt": "blur", "mode": "pro",
               "duration": "5", "aspect_ratio": "16:9",
               "callback_url": CB}),
    );
}

#[test]
fn motion_control_fields() {
    let n = create(
        "kling-motion-control",
        "motion-control",
        json!({"images": ["https://x.test/p.png"], "motionVideo": "https://x.test/d.mp4",
               "characterOrientation": "image", "mode": "std", "duration": 8,
               "keepOriginalSound": false, "prompt": "Dance"}),
    );
    // The duration declares the motion video's length for billing; it is not a wire field.
    // model_name is the row's (spec "Field types": default kling-v2-6, sent explicitly).
    assert_body(
        &n,
        Endpoint::MotionControl,
        json!({"model_name": "kling-v2-6",
               "image_url": "https://x.test/p.png", "video_url": "https://x.test/d.mp4",
               "character_orientation": "image", "mode": "std", "prompt": "Dance",
               "keep_original_sound": "no", "callback_url": CB}),
    );
    let n = create(
        "kling-motion-control",
        "motion-control",
        json!({"images": ["https://x.test/p.png"], "motionVideo": "https://x.test/d.mp4",
               "characterOrientation": "video", "mode": "pro", "duration": 25}),
    );
    // catalog default keepOriginalSound = true → "yes".
    assert_eq!(n.body["keep_original_sound"], "yes");
    assert_eq!(n.body["character_orientation"], "video");
}

/// spec "Field types": v3 motion control sends `model_name: kling-v3` and its one subject
/// as an integer `element_id`.
#[test]
fn kling_3_motion_control_sends_its_model_and_subject() {
    let n = create(
        "kling-3.0-motion-control",
        "motion-control-v3",
        json!({"images": ["https://x.test/p.png"], "motionVideo": "https://x.test/d.mp4",
               "characterOrientation": "video", "mode": "pro", "duration": 20,
               "elementIds": ["829"]}),
    );
    assert_body(
        &n,
        Endpoint::MotionControl,
        json!({"model_name": "kling-v3",
               "image_url": "https://x.test/p.png", "video_url": "https://x.test/d.mp4",
               "character_orientation": "video", "mode": "pro", "keep_original_sound": "yes",
               "element_list": [{"element_id": 829}], "callback_url": CB}),
    );
}

/// spec "Field types": kling-v2-6 serves image2video; its sound is pro only (§3).
#[test]
fn kling_2_6_image_to_video_with_sound_goes_pro() {
    let n = create(
        "kling-2.6-i2v",
        "kling-v2-6",
        json!({"prompt": "The dancer turns", "images": ["https://x.test/a.png", "https://x.test/b.png"],
               "generateAudio": true, "cfgScale": 0.3}),
    );
    assert_body(
        &n,
        Endpoint::Image2Video,
        json!({"model_name": "kling-v2-6", "prompt": "The dancer turns",
               "image": "https://x.test/a.png", "image_tail": "https://x.test/b.png",
               "mode": "pro", "sound": "on", "duration": "5", "callback_url": CB}),
    );
}

/// spec "Field types": `shot_type: intelligence` lets kling-v3 divide a prompt into shots
/// itself; the mapping sends it for a multi-shot request without shots (the catalog's
/// kling-3.0 still asks for multiPrompt with multiShots, so this is the native path).
#[test]
fn multi_shot_without_shots_is_intelligence() {
    let req: GenerationRequest = serde_json::from_value(json!({"model": "kling-3.0",
        "prompt": "A day in the city", "multiShots": true, "duration": 10}))
    .unwrap();
    let Plan::Create(n) = plan(&req, Operation::TextToVideo, "kling-v3", None, None).unwrap()
    else {
        panic!("one create call")
    };
    assert_eq!(n.body["shot_type"], "intelligence");
    assert_eq!(n.body["prompt"], "A day in the city");
    assert!(!n.body.contains_key("multi_prompt"));
}

#[test]
fn video_extend_sends_cfg_scale_and_our_external_id() {
    let n = create(
        "kling-video-extend",
        "video-extend",
        json!({"videoId": "vid-1", "prompt": "Keep rising", "cfgScale": 0.3}),
    );
    assert_body(
        &n,
        Endpoint::VideoExtend,
        json!({"video_id": "vid-1", "prompt": "Keep rising", "cfg_scale": 0.3, "callback_url": CB}),
    );
    // spec "Reconciliation" (2026 docs): video-extend takes external_task_id on create; the
    // gateway's id goes, the caller's own externalTaskId does not.
    let (req, op) = quoted(
        "kling-video-extend",
        json!({"videoId": "vid-1", "externalTaskId": "callers-own"}),
    );
    let Plan::Create(n) = plan(&req, op, "video-extend", None, Some(EXT)).unwrap() else {
        panic!("video extend is one create call");
    };
    assert_eq!(n.body["external_task_id"], EXT);
    assert!(!serde_json::to_string(&n.body)
        .unwrap()
        .contains("callers-own"));
}

fn faces() -> IdentifyFaceResponse {
    IdentifyFaceResponse {
        session_id: "sess-1".into(),
        face_data: vec![
            FaceData {
                face_id: "f-0".into(),
                face_image: "https://k.test/f0.png".into(),
                start_time: 0,
                end_time: 5000,
            },
            FaceData {
                face_id: "f-1".into(),
                face_image: "https://k.test/f1.png".into(),
                start_time: 1000,
                end_time: 4000,
            },
        ],
        final_unit_deduction: None,
    }
}

#[test]
fn lip_sync_identifies_then_syncs_the_chosen_face() {
    let (req, op) = quoted(
        "kling-lip-sync",
        json!({"videoUrl": "https://x.test/talk.mp4", "soundFile": "https://x.test/voice.mp3",
               "soundStartTime": 0, "soundEndTime": 5000, "soundInsertTime": 200,
               "externalTaskId": "ext-ls"}),
    );
    assert_eq!(op, Operation::LipSync);
    let Plan::IdentifyFaceThenLipSync(identify) =
        plan(&req, op, "advanced-lip-sync", Some(CB), Some(EXT)).unwrap()
    else {
        panic!("lip sync must identify faces first");
    };
    assert_eq!(
        identify,
        IdentifyFaceRequest {
            video_id: None,
            video_url: Some("https://x.test/talk.mp4".into())
        }
    );
    let n = lip_sync_request(&req, &faces(), Some(CB), Some(EXT)).unwrap();
    assert_body(
        &n,
        Endpoint::AdvancedLipSync,
        json!({"session_id": "sess-1", "face_choose": [{
                   "face_id": "f-0", "sound_file": "https://x.test/voice.mp3",
                   "sound_start_time": 0, "sound_end_time": 5000, "sound_insert_time": 200,
                   "sound_volume": 1.0, "original_audio_volume": 1.0}],
               "external_task_id": EXT, "callback_url": CB}),
    );
    // A chosen face and an audio id.
    let (req, _) = quoted(
        "kling-lip-sync",
        json!({"videoId": "vid-9", "audioId": "aud-1", "faceId": "f-1",
               "soundStartTime": 0, "soundEndTime": 3000, "soundInsertTime": 1000}),
    );
    let n = lip_sync_request(&req, &faces(), None, None).unwrap();
    assert_eq!(n.body["face_choose"][0]["face_id"], "f-1");
    assert_eq!(n.body["face_choose"][0]["audio_id"], "aud-1");
    assert!(n.body["face_choose"][0].get("sound_file").is_none());
}

#[test]
fn lip_sync_face_choice_errors_name_the_field() {
    let e = pick_face(&faces(), Some("f-7")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(
        e.message().contains("`f-7`") && e.message().contains("f-0, f-1"),
        "{}",
        e.message()
    );
    let none = IdentifyFaceResponse {
        session_id: "s".into(),
        face_data: vec![],
        final_unit_deduction: None,
    };
    let e = pick_face(&none, None).unwrap_err();
    assert!(e.message().contains("no face"), "{}", e.message());
}

#[test]
fn kling_image_text_and_reference() {
    let n = create(
        "kling-image",
        "kling-v2-1",
        json!({"prompt": "A watercolor fox", "n": 2, "resolution": "2k", "negativePrompt": "text"}),
    );
    assert_body(
        &n,
        Endpoint::ImageGenerations,
        json!({"model_name": "kling-v2-1", "prompt": "A watercolor fox", "negative_prompt": "text",
               "resolution": "2k", "aspect_ratio": "16:9", "n": 2, "callback_url": CB}),
    );
    let n = create(
        "kling-image",
        "kling-v1-5",
        json!({"prompt": "As an astronaut", "images": ["https://x.test/face.png"],
               "imageReference": "subject", "imageFidelity": 0.6, "humanFidelity": 0.4}),
    );
    assert_body(
        &n,
        Endpoint::ImageGenerations,
        json!({"model_name": "kling-v1-5", "prompt": "As an astronaut",
               "image": "https://x.test/face.png", "image_reference": "subject",
               "image_fidelity": 0.6, "human_fidelity": 0.4, "resolution": "1k",
               "aspect_ratio": "16:9", "n": 1, "callback_url": CB}),
    );
}

#[test]
fn omni_image_lists() {
    let n = create(
        "kling-omni-image",
        "kling-image-o1",
        json!({"prompt": "Put <<<image_1>>> on the beach of <<<image_2>>>",
               "images": ["https://x.test/a.png", "https://x.test/b.png"],
               "elementIds": ["829"], "n": 2, "externalTaskId": "ext-o"}),
    );
    assert_body(
        &n,
        Endpoint::OmniImage,
        json!({"model_name": "kling-image-o1",
               "prompt": "Put <<<image_1>>> on the beach of <<<image_2>>>",
               "image_list": [{"image": "https://x.test/a.png"}, {"image": "https://x.test/b.png"}],
               "element_list": [{"element_id": 829}],
               "resolution": "1k", "aspect_ratio": "auto", "n": 2, "callback_url": CB}),
    );
    // spec "Field types": element_id is an integer on the wire; an id that is not a whole
    // number is refused here, naming it, rather than sent as a string Kling refuses.
    let (req, op) = quoted(
        "kling-omni-image",
        json!({"prompt": "Put the subject on a beach", "elementIds": ["el-1"]}),
    );
    let e = plan(&req, op, "kling-image-o1", Some(CB), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        e.message(),
        "elementIds[0]: `el-1` is not a Kling subject id (allowed: a whole number from the subject library, e.g. 829)"
    );
}

#[test]
fn extra_is_refused_and_the_callers_external_id_never_goes_upstream() {
    // issue 13 / X1: there is no free-form field to override priced ones.
    let req: Result<GenerationRequest, _> = serde_json::from_value(json!({
        "model": "kling-2.5-turbo", "prompt": "A city",
        "extra": {"mode": "pro", "duration": "10"}
    }));
    let e = req.unwrap_err().to_string();
    assert!(e.contains("unknown field `extra`"), "{e}");
    // X3: whatever the caller names its task, Kling sees the gateway's id.
    let (req, op) = quoted(
        "kling-2.5-turbo",
        json!({"prompt": "A city", "externalTaskId": "tenant-a-order-1"}),
    );
    let Plan::Create(n) = plan(&req, op, "kling-v2-5-turbo", Some(CB), Some(EXT)).unwrap() else {
        panic!("text to video is one create call");
    };
    assert_eq!(n.body["external_task_id"], EXT);
    assert!(!serde_json::to_string(&n.body)
        .unwrap()
        .contains("tenant-a-order-1"));
}

#[test]
fn models_and_operations_outside_the_rules_table_are_not_guessed() {
    // A provider model outside the table (an operator override naming a newer model), or
    // an operation its row does not list: refused, never mapped with guessed rules.
    let req = GenerationRequest {
        model: "custom".into(),
        prompt: Some("A city".into()),
        cfg_scale: Some(0.8),
        generate_audio: Some(false),
        ..Default::default()
    };
    let e = plan(&req, Operation::TextToVideo, "kling-v9", None, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().starts_with("model kling-v9"), "{}", e.message());
    let e = plan(&req, Operation::TextToVideo, "kling-v1-6", None, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.message()
            .starts_with("operation text_to_video is not served by Kling model kling-v1-6"),
        "{}",
        e.message()
    );
    // Features the rules table does not offer for the model are refused, not dropped.
    let camera = GenerationRequest {
        camera_control: Some(genmux_core::CameraControl {
            camera_motion: Some("pan".into()),
            camera_speed: Some(1.0),
            ..Default::default()
        }),
        ..req.clone()
    };
    let e = plan(
        &camera,
        Operation::TextToVideo,
        "kling-v2-5-turbo",
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().starts_with("cameraControl"), "{}", e.message());
    assert!(plan(&camera, Operation::TextToVideo, "kling-v2-6", None, None).is_ok());
    // V2.x: cfg_scale is accepted and not sent (§2); no sound field.
    let Plan::Create(n) =
        plan(&req, Operation::TextToVideo, "kling-v2-5-turbo", None, None).unwrap()
    else {
        panic!("text to video is one create call");
    };
    assert!(!n.body.contains_key("cfg_scale"));
    assert!(!n.body.contains_key("sound"));
    let audio = GenerationRequest {
        generate_audio: Some(true),
        ..req
    };
    let e = plan(
        &audio,
        Operation::TextToVideo,
        "kling-v2-5-turbo",
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().starts_with("generateAudio"), "{}", e.message());
}

#[test]
fn missing_inputs_are_named() {
    let cases: [(Operation, &str, &str); 5] = [
        (Operation::TextToVideo, "kling-v2-6", "prompt"),
        (Operation::ImageToVideo, "kling-v2-5-turbo", "images"),
        (Operation::MotionControl, "motion-control", "images"),
        (Operation::VideoExtend, "video-extend", "videoId"),
        (Operation::LipSync, "advanced-lip-sync", "videoId"),
    ];
    for (op, model, field) in cases {
        let req = GenerationRequest {
            model: "m".into(),
            ..Default::default()
        };
        let e = plan(&req, op, model, None, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{op}");
        assert!(e.message().starts_with(field), "{op}: {}", e.message());
    }
}

/// X1 (`design/RELIABILITY.md`): every top-level field a Kling body can carry, with what
/// sets it — the gateway, or the catalog fields (validated and priced by the catalog) it
/// is mapped from. A native field missing here fails [`every_upstream_field_is_gateway_or_catalog_controlled`].
const NATIVE_FIELD_SOURCES: &[(&str, &[&str])] = &[
    // Set by the gateway, never by the caller.
    ("model_name", &[]),
    ("callback_url", &[]),
    ("external_task_id", &[]),
    ("session_id", &[]),
    // Mapped from catalog fields.
    ("prompt", &["prompt"]),
    ("negative_prompt", &["negativePrompt"]),
    ("duration", &["duration"]),
    ("aspect_ratio", &["aspectRatio"]),
    ("mode", &["mode", "generateAudio"]),
    ("sound", &["generateAudio"]),
    ("cfg_scale", &["cfgScale"]),
    ("image", &["images"]),
    ("image_tail", &["images", "endImage"]),
    ("image_list", &["images"]),
    ("image_url", &["images"]),
    ("camera_control", &["cameraControl"]),
    ("static_mask", &["staticMask"]),
    ("dynamic_masks", &["dynamicMasks"]),
    ("multi_shot", &["multiShots"]),
    ("shot_type", &["multiShots"]),
    ("multi_prompt", &["multiPrompt"]),
    ("element_list", &["elementIds"]),
    ("video_url", &["motionVideo"]),
    ("character_orientation", &["characterOrientation"]),
    ("keep_original_sound", &["keepOriginalSound"]),
    ("video_id", &["videoId"]),
    ("resolution", &["resolution"]),
    ("n", &["n"]),
    ("image_reference", &["imageReference"]),
    ("image_fidelity", &["imageFidelity"]),
    ("human_fidelity", &["humanFidelity"]),
    (
        "face_choose",
        &[
            "faceId",
            "audioId",
            "soundFile",
            "soundStartTime",
            "soundEndTime",
            "soundInsertTime",
            "soundVolume",
            "originalAudioVolume",
        ],
    ),
];

/// X1: for every catalog model Kling serves and every example of it, each field of the
/// native body is either one the gateway sets — and keeps its gateway value whatever the
/// caller sent in `projectId`, `callbackUrl` or `externalTaskId` — or mapped from catalog
/// fields the model declares (so validated, defaulted and priced by the catalog).
#[test]
fn every_upstream_field_is_gateway_or_catalog_controlled() {
    let catalog = Catalog::builtin();
    let mut walked = 0;
    for m in catalog.models() {
        for pm in m.providers.iter().filter(|p| p.provider == "kling") {
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
                let native = match plan(&req, op, &pm.model, Some(CB), Some(EXT)).unwrap() {
                    Plan::Create(n) => n,
                    Plan::IdentifyFaceThenLipSync(_) => {
                        lip_sync_request(&req, &faces(), Some(CB), Some(EXT)).unwrap()
                    }
                };
                for (field, value) in &native.body {
                    let Some((_, sources)) = NATIVE_FIELD_SOURCES.iter().find(|(f, _)| f == field)
                    else {
                        panic!(
                            "{} / {}: native field `{field}` has no declared source",
                            m.id, pm.model
                        );
                    };
                    if sources.is_empty() {
                        let want = match field.as_str() {
                            "model_name" => {
                                json!(crate::rules::rules(&pm.model).and_then(|r| r.model_name))
                            }
                            "callback_url" => json!(CB),
                            "external_task_id" => json!(EXT),
                            "session_id" => json!("sess-1"),
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
                let text = serde_json::to_string(&native.body).unwrap();
                for caller_value in ["tenant-order-1", "tenant-project", "tenant.example"] {
                    assert!(
                        !text.contains(caller_value),
                        "{}: {caller_value} reached Kling",
                        m.id
                    );
                }
                walked += 1;
            }
        }
    }
    assert!(walked >= 10, "walked only {walked} examples");
}
