//! Video create bodies: text2video (§2), image2video (§3), multi-image2video (§4),
//! motion-control (§5) and video-extend (§6) of `spec/kling-api.md`.
//!
//! Images and videos are URLs or **bare** Base64 strings; a `data:` prefix is rejected
//! upstream, and genmux's `MediaInput` never produces one.

use super::image::ElementItem;
use super::{Mode, OnOff, Seconds, YesNo};
use serde::{Deserialize, Serialize};

/// `camera_control.type` (§2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraType {
    /// Free movement described by `config`.
    Simple,
    /// Preset: move down and back.
    DownBack,
    /// Preset: move forward and up.
    ForwardUp,
    /// Preset: turn right and move forward.
    RightTurnForward,
    /// Preset: turn left and move forward.
    LeftTurnForward,
}

impl CameraType {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<CameraType> {
        Some(match s {
            "simple" => CameraType::Simple,
            "down_back" => CameraType::DownBack,
            "forward_up" => CameraType::ForwardUp,
            "right_turn_forward" => CameraType::RightTurnForward,
            "left_turn_forward" => CameraType::LeftTurnForward,
            _ => return None,
        })
    }
}

/// `camera_control` (§2): `config` is required with `type: simple`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraControl {
    /// The movement type.
    #[serde(rename = "type")]
    pub kind: CameraType,
    /// The movement; exactly one value non-zero, each in [−10, 10].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<CameraConfig>,
}

/// `camera_control.config` (§2). Absent values are zero; genmux sends only the non-zero one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CameraConfig {
    /// Horizontal translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<f64>,
    /// Vertical translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<f64>,
    /// Rotation about the vertical axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pan: Option<f64>,
    /// Rotation about the horizontal axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tilt: Option<f64>,
    /// Rotation about the lens axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll: Option<f64>,
    /// Focal length change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoom: Option<f64>,
}

/// `shot_type` of a kling-v3 multi-shot request (spec "Field types": `customize` |
/// `intelligence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShotType {
    /// The shots are the request's `multi_prompt`.
    Customize,
    /// The model divides the prompt into shots itself (no `multi_prompt`).
    Intelligence,
}

/// `watermark_info` on create (spec "Field types": `{enabled}`); results then carry a
/// `watermark_url` beside the clean `url`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatermarkInfo {
    /// Whether a watermarked copy is made.
    pub enabled: bool,
}

/// A `voice_list` item (spec "Field types": `[{voice_id}]`, models v2.6 and later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceItem {
    /// A voice id from Kling's voice library.
    pub voice_id: String,
}

/// One shot of a kling-v3 multi-shot video (spec "Field types":
/// `multi_prompt: [{index, prompt, duration: "4"}]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiShotPrompt {
    /// 1-based shot number.
    pub index: u32,
    /// The shot's prompt.
    pub prompt: String,
    /// The shot's length.
    pub duration: Seconds,
}

/// `POST /v1/videos/text2video` (§2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Text2VideoRequest {
    /// `kling-v1` (default), `kling-v1-6`, `kling-v2-master`, `kling-v2-5-turbo`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// ≤ 2500 characters. Required, except for a kling-v3 multi-shot request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// `on`/`off` (default `off`); V2.6 and later only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<OnOff>,
    /// [0, 1], default 0.5; not supported by V2.x models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    /// `std` (default) or `pro`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// `16:9` (default), `9:16`, `1:1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// `"5"` (default) or `"10"` (kling-v3: 3–15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Seconds>,
    /// Camera movement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_control: Option<CameraControl>,
    /// kling-v3 multi-shot switch (public docs, not in the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_shot: Option<bool>,
    /// kling-v3: `customize` with `multi_prompt`, or `intelligence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot_type: Option<ShotType>,
    /// kling-v3 shots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_prompt: Vec<MultiShotPrompt>,
    /// Voices for generated speech (v2.6 and later, with `sound: on`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voice_list: Vec<VoiceItem>,
    /// Ask for a watermarked copy beside the clean result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_info: Option<WatermarkInfo>,
    /// Caller-chosen unique id; queries accept it in place of `task_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// A point of a dynamic-mask trajectory; origin at the bottom-left (§3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// Pixels from the left edge.
    pub x: i64,
    /// Pixels from the bottom edge.
    pub y: i64,
}

/// `dynamic_masks[]` (§3): ≤ 6 masks of 2–77 points each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynamicMask {
    /// The mask image (URL or bare Base64).
    pub mask: String,
    /// The path the masked area follows.
    pub trajectories: Vec<TrajectoryPoint>,
}

/// `POST /v1/videos/image2video` (§3). At least one of `image`/`image_tail`; the groups
/// (`image` + `image_tail`), (masks) and (`camera_control`) are mutually exclusive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Image2VideoRequest {
    /// Any video model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// Start frame: URL or bare Base64; jpg/jpeg/png, ≤ 10 MB, ≥ 300 px, aspect 1:2.5–2.5:1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// End frame, same rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tail: Option<String>,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// [0, 1], default 0.5; not on V2.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    /// `std`/`pro`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Static brush mask image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_mask: Option<String>,
    /// Dynamic brush masks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_masks: Vec<DynamicMask>,
    /// Camera movement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_control: Option<CameraControl>,
    /// `"5"`/`"10"` (kling-v3: 3–15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Seconds>,
    /// `on`/`off`; V2.6+ (pro mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<OnOff>,
    /// kling-v3 multi-shot switch (public docs, not in the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_shot: Option<bool>,
    /// kling-v3: `customize` with `multi_prompt`, or `intelligence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot_type: Option<ShotType>,
    /// kling-v3 shots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_prompt: Vec<MultiShotPrompt>,
    /// Voices for generated speech (v2.6 and later, with `sound: on`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voice_list: Vec<VoiceItem>,
    /// kling-v3: subjects from the subject library (at most 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub element_list: Vec<ElementItem>,
    /// Ask for a watermarked copy beside the clean result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_info: Option<WatermarkInfo>,
    /// Caller-chosen unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// An `image_list` item (§4, §8; public docs: items are `{"image": "..."}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageItem {
    /// URL or bare Base64.
    pub image: String,
}

/// `POST /v1/videos/multi-image2video` (§4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiImage2VideoRequest {
    /// Only `kling-v1-6` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// 1–4 images; ≤ 10 MB, ≥ 300 px, aspect 1:2.5–2.5:1; never cropped.
    pub image_list: Vec<ImageItem>,
    /// ≤ 2500 characters.
    pub prompt: String,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// `std`/`pro`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// `"5"`/`"10"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Seconds>,
    /// `16:9` (default), `9:16`, `1:1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// Caller-chosen unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `character_orientation` (§5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CharacterOrientation {
    /// Face as in the image; motion video ≤ 10 s.
    Image,
    /// Face as in the video; motion video ≤ 30 s.
    Video,
}

/// `POST /v1/videos/motion-control` (§5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MotionControlRequest {
    /// `kling-v2-6` (the default) or `kling-v3` (spec "Field types").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// The character: URL or bare Base64, a clear person, ratio close to the video's.
    pub image_url: String,
    /// The motion: .mp4/.mov, each side 340–3850 px, ≤ 100 MB, ≥ 3 s.
    pub video_url: String,
    /// Whose orientation the output follows.
    pub character_orientation: CharacterOrientation,
    /// `std`/`pro` (required here).
    pub mode: Mode,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// `yes` (default) / `no`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_sound: Option<YesNo>,
    /// kling-v3: one subject from the subject library (spec "Field types": at most 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub element_list: Vec<ElementItem>,
    /// Caller-chosen unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `POST /v1/videos/video-extend` (§6): adds 4–5 s; model and mode come from the source;
/// total ≤ 3 minutes. `external_task_id` per the 2026 docs (spec "Reconciliation").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoExtendRequest {
    /// A text-to-video, image-to-video or extended video, ≤ 30 days old.
    pub video_id: String,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// ≤ 2500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// [0, 1], default 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    /// Unique per account; the single-task query accepts it (2026 docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text2video_serializes_snake_case_with_string_duration() {
        let req = Text2VideoRequest {
            model_name: Some("kling-v2-6".into()),
            prompt: Some("a fox".into()),
            sound: Some(OnOff::On),
            mode: Some(Mode::Pro),
            duration: Some(Seconds(10)),
            camera_control: Some(CameraControl {
                kind: CameraType::Simple,
                config: Some(CameraConfig {
                    zoom: Some(5.0),
                    ..Default::default()
                }),
            }),
            external_task_id: Some("ext".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({
                "model_name": "kling-v2-6", "prompt": "a fox", "sound": "on", "mode": "pro",
                "duration": "10",
                "camera_control": {"type": "simple", "config": {"zoom": 5.0}},
                "external_task_id": "ext"
            })
        );
    }

    #[test]
    fn motion_control_and_preset_camera() {
        let req = MotionControlRequest {
            model_name: None,
            element_list: Vec::new(),
            image_url: "https://x.test/p.png".into(),
            video_url: "https://x.test/d.mp4".into(),
            character_orientation: CharacterOrientation::Video,
            mode: Mode::Std,
            prompt: None,
            keep_original_sound: Some(YesNo::No),
            external_task_id: None,
            callback_url: None,
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"image_url": "https://x.test/p.png", "video_url": "https://x.test/d.mp4",
                   "character_orientation": "video", "mode": "std", "keep_original_sound": "no"})
        );
        let cc = CameraControl {
            kind: CameraType::RightTurnForward,
            config: None,
        };
        assert_eq!(
            serde_json::to_value(&cc).unwrap(),
            json!({"type": "right_turn_forward"})
        );
        assert_eq!(CameraType::parse("forward_up"), Some(CameraType::ForwardUp));
        assert_eq!(CameraType::parse("sideways"), None);
    }
}
