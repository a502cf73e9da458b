//! The normalized generation request: one type able to express every operation of
//! `spec/unified-api.md` and `spec/kling-api.md`.
//!
//! Field names serialize as the unified API's camelCase names, so the same names appear in
//! validation messages, in `GET /unified-video/models` and on the wire.

use crate::media::MediaInput;
use serde::{Deserialize, Serialize};

/// What a request asks a model to do. A model's catalog entry lists the operations it
/// offers; [`crate::catalog::ModelSpec::operation_for`] infers the one a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Prompt only → video.
    TextToVideo,
    /// One start frame (or only an end frame) → video.
    ImageToVideo,
    /// Start and end frames → video.
    StartEndFrame,
    /// Up to four reference images → video (Kling multi-image2video).
    MultiImageToVideo,
    /// A person image performs the motion of a reference video (Kling motion-control).
    MotionControl,
    /// Continue an existing generated video by 4–5 s (Kling video-extend).
    VideoExtend,
    /// Sync a face in a video to an audio track (Kling identify-face + advanced-lip-sync).
    LipSync,
    /// Prompt only → image(s).
    TextToImage,
    /// Reference image + prompt → image(s).
    ImageToImage,
    /// Images and subject elements referenced from the prompt (Kling omni-image).
    OmniImage,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 10] = [
        Operation::TextToVideo,
        Operation::ImageToVideo,
        Operation::StartEndFrame,
        Operation::MultiImageToVideo,
        Operation::MotionControl,
        Operation::VideoExtend,
        Operation::LipSync,
        Operation::TextToImage,
        Operation::ImageToImage,
        Operation::OmniImage,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::TextToVideo => "text_to_video",
            Operation::ImageToVideo => "image_to_video",
            Operation::StartEndFrame => "start_end_frame",
            Operation::MultiImageToVideo => "multi_image_to_video",
            Operation::MotionControl => "motion_control",
            Operation::VideoExtend => "video_extend",
            Operation::LipSync => "lip_sync",
            Operation::TextToImage => "text_to_image",
            Operation::ImageToImage => "image_to_image",
            Operation::OmniImage => "omni_image",
        }
    }

    /// The kind of output the operation produces.
    pub fn output(self) -> MediaKind {
        match self {
            Operation::TextToImage | Operation::ImageToImage | Operation::OmniImage => {
                MediaKind::Image
            }
            _ => MediaKind::Video,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Video or image: the kind of a model and of an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A video.
    Video,
    /// A still image.
    Image,
}

/// Camera movement: Kling's native `type` + `config`, or the unified `cameraMotion` +
/// `cameraSpeed` (`spec/unified-api.md`, kling-2.6-t2v). A provider maps whichever is given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CameraControl {
    /// Kling `camera_control.type`: `simple`, `down_back`, `forward_up`,
    /// `right_turn_forward`, `left_turn_forward`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Kling `camera_control.config`; required when `type` is `simple`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<CameraConfig>,
    /// Unified camera motion: `pan`, `tilt`, `zoom`, `roll`, `horizontal`, `vertical`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_motion: Option<String>,
    /// Unified camera speed, 0.1–2.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_speed: Option<f64>,
}

/// Kling `camera_control.config`: exactly one of the six values is non-zero, each in
/// [−10, 10] (`spec/kling-api.md` §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Horizontal translation.
    #[serde(default)]
    pub horizontal: f64,
    /// Vertical translation.
    #[serde(default)]
    pub vertical: f64,
    /// Rotation about the vertical axis.
    #[serde(default)]
    pub pan: f64,
    /// Rotation about the horizontal axis.
    #[serde(default)]
    pub tilt: f64,
    /// Rotation about the lens axis.
    #[serde(default)]
    pub roll: f64,
    /// Focal length change.
    #[serde(default)]
    pub zoom: f64,
}

impl CameraConfig {
    /// The six values with their names, in wire order.
    pub fn values(&self) -> [(&'static str, f64); 6] {
        [
            ("horizontal", self.horizontal),
            ("vertical", self.vertical),
            ("pan", self.pan),
            ("tilt", self.tilt),
            ("roll", self.roll),
            ("zoom", self.zoom),
        ]
    }
}

/// One shot of a multi-shot video (kling-3.0 `multiPrompt[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShotPrompt {
    /// The shot's prompt.
    pub prompt: String,
    /// The shot's length in seconds, 1–12.
    pub duration: u32,
}

/// A Kling element group: 2–4 images of one subject (kling-3.0 `klingElements`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElementGroup {
    /// Reference images of the subject.
    pub images: Vec<MediaInput>,
}

/// A dynamic mask for Kling image-to-video: a mask image and its trajectory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicMask {
    /// The mask image.
    pub mask: MediaInput,
    /// 2–77 points, origin at the bottom-left of the image.
    pub trajectories: Vec<TrajectoryPoint>,
}

/// A point of a dynamic-mask trajectory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryPoint {
    /// Pixels from the left edge.
    pub x: i64,
    /// Pixels from the bottom edge.
    pub y: i64,
}

/// A normalized generation request.
///
/// Build one with a struct literal and `..Default::default()`:
///
/// ```
/// use genmux_core::GenerationRequest;
/// let req = GenerationRequest {
///     model: "kling-2.5-turbo".into(),
///     prompt: Some("a red fox running through snow".into()),
///     duration: Some(5),
///     ..Default::default()
/// };
/// assert_eq!(req.model, "kling-2.5-turbo");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerationRequest {
    /// Catalog model id, e.g. `kling-2.5-turbo`.
    pub model: String,
    /// Main prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What to avoid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Length in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Output resolution (`480p`, `720p`, `1080p`, `768P`, `1k`, `2k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Quality grade for quality-graded models (runway: `720p`/`1080p`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// Output aspect ratio, e.g. `16:9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// `std` or `pro` on multi-mode models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Generate a sound track (priced where supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    /// Input images: the start frame (and end frame as the second image) for image to video,
    /// the reference list for multi-image and omni-image, the reference for image to image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<MediaInput>,
    /// An end frame given without a start frame (Kling `image_tail` alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_image: Option<MediaInput>,
    /// Reference videos where the model takes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_video_urls: Vec<MediaInput>,
    /// Camera movement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_control: Option<CameraControl>,
    /// Prompt adherence, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    /// Kling image-to-video static brush mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_mask: Option<MediaInput>,
    /// Kling image-to-video dynamic brush masks (≤ 6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_masks: Vec<DynamicMask>,
    /// kling-3.0 multi-shot switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_shots: Option<bool>,
    /// kling-3.0 shots, used instead of `prompt` when `multiShots` is true.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_prompt: Vec<ShotPrompt>,
    /// kling-3.0 element groups (≤ 3 groups of 2–4 images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kling_elements: Vec<ElementGroup>,
    /// Kling omni-image `element_list`: subject ids from the subject library.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub element_ids: Vec<String>,
    /// Motion control: the reference motion video (Kling `video_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_video: Option<MediaInput>,
    /// Motion control: `image` or `video` (Kling `character_orientation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_orientation: Option<String>,
    /// Motion control: keep the motion video's sound (Kling `keep_original_sound`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_sound: Option<bool>,
    /// Video extend / lip sync: the id of a video the provider generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// Lip sync: a video by URL instead of `videoId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<MediaInput>,
    /// Lip sync: the face to sync (from identify-face); the first face when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_id: Option<String>,
    /// Lip sync: id of generated speech audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_id: Option<String>,
    /// Lip sync: audio file by URL or bare Base64 (.mp3/.wav/.m4a, ≤ 5 MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_file: Option<MediaInput>,
    /// Lip sync: crop start in the audio, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_start_time: Option<u64>,
    /// Lip sync: crop end in the audio, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_end_time: Option<u64>,
    /// Lip sync: where the cropped audio starts in the video, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_insert_time: Option<u64>,
    /// Lip sync: audio volume, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_volume: Option<f64>,
    /// Lip sync: original video volume, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_audio_volume: Option<f64>,
    /// Image to image: `subject` or `face`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<String>,
    /// Image to image: reference fidelity, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_fidelity: Option<f64>,
    /// Image to image with `subject`: face fidelity, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_fidelity: Option<f64>,
    /// Number of images, 1–9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// seedance: keep the camera fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_lens: Option<bool>,
    /// seedance: platform content-safety check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsfw_checker: Option<bool>,
    /// runway: watermark the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<bool>,
    /// The caller's own tracking id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Where to POST the finished task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// A caller-chosen unique id forwarded to providers that accept one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
}

impl GenerationRequest {
    /// The start frame: the first of `images`.
    pub fn start_frame(&self) -> Option<&MediaInput> {
        self.images.first()
    }

    /// The end frame: the second of `images`, or `endImage`.
    pub fn end_frame(&self) -> Option<&MediaInput> {
        self.images.get(1).or(self.end_image.as_ref())
    }

    /// The billed length of a lip-sync request: the cropped audio, in whole seconds
    /// rounded up.
    pub fn lip_sync_seconds(&self) -> Option<u32> {
        let (start, end) = (self.sound_start_time?, self.sound_end_time?);
        let ms = end.checked_sub(start)?;
        u32::try_from(ms.div_ceil(1000)).ok()
    }

    /// Total length of a multi-shot request: the sum of its shots.
    pub fn multi_shot_seconds(&self) -> Option<u32> {
        if self.multi_prompt.is_empty() {
            None
        } else {
            // Saturating: an unvalidated body may carry huge shot durations.
            Some(
                self.multi_prompt
                    .iter()
                    .fold(0u32, |sum, s| sum.saturating_add(s.duration)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let err = serde_json::from_str::<GenerationRequest>(r#"{"model":"x","durationn":5}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("durationn"), "{err}");
    }

    #[test]
    fn camel_case_round_trip() {
        let body = r#"{"model":"kling-2.6-t2v","prompt":"abc","aspectRatio":"16:9","generateAudio":true,"cameraControl":{"cameraMotion":"pan","cameraSpeed":1.0}}"#;
        let req: GenerationRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.aspect_ratio.as_deref(), Some("16:9"));
        assert_eq!(
            req.camera_control
                .as_ref()
                .unwrap()
                .camera_motion
                .as_deref(),
            Some("pan")
        );
        let back: serde_json::Value = serde_json::to_value(&req).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(body).unwrap()
        );
    }

    #[test]
    fn lip_sync_seconds_round_up() {
        let req = GenerationRequest {
            sound_start_time: Some(500),
            sound_end_time: Some(5_600),
            ..Default::default()
        };
        assert_eq!(req.lip_sync_seconds(), Some(6));
        let backwards = GenerationRequest {
            sound_start_time: Some(5_000),
            sound_end_time: Some(1_000),
            ..Default::default()
        };
        assert_eq!(backwards.lip_sync_seconds(), None);
    }
}
