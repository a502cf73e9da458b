//! Unified request → native Kling body, one function per endpoint, all pure.
//!
//! The model rules (durations, modes, `sound`, `cfg_scale`, multi-shot, enums) are read
//! from the model's row of [`crate::rules`], never restated here:
//! - `cfg_scale` is not sent where the row says [`CfgScale::Dropped`] (V2.x, §2);
//! - `sound` only where the row has it; a pro-only model with audio is sent in `pro`
//!   ([`ModelRules::wire_mode`]);
//! - unified `cameraMotion` + `cameraSpeed` → `{type: simple, config: {<motion>:
//!   round(speed × 5)}}`, clamped to [−10, 10] and never 0 (§2: exactly one non-zero);
//! - `images[0]` → `image`, `images[1]` or `endImage` → `image_tail` (§3).
//!
//! Every body field comes from a validated, priced catalog field or from the gateway
//! (`model_name`, `callback_url`, `external_task_id`); nothing a caller sends is copied
//! through unexamined (issue 13, `design/RELIABILITY.md` X1).

use crate::error::PROVIDER;
use crate::rules::{self, CfgScale, ModelRules, Refusal, Sound};
use crate::wire::{
    self, AdvancedLipSyncRequest, CameraConfig, CameraType, CharacterOrientation, ElementItem,
    Endpoint, FaceChoose, FaceData, IdentifyFaceRequest, IdentifyFaceResponse, Image2VideoRequest,
    ImageGenerationRequest, ImageItem, ImageReference, Mode, MotionControlRequest,
    MultiImage2VideoRequest, MultiShotPrompt, OmniImageRequest, OnOff, Resolution, Seconds,
    ShotType, Text2VideoRequest, VideoExtendRequest, YesNo,
};
use genmux_core::{Error, ErrorKind, GenerationRequest, MediaInput, Operation, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// A create call: where, and the exact JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeRequest {
    /// The endpoint to POST to.
    pub endpoint: Endpoint,
    /// The body.
    pub body: Map<String, Value>,
}

/// What submitting a request takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// One create call.
    Create(NativeRequest),
    /// Lip sync: identify-face first, then [`lip_sync_request`] with its answer.
    IdentifyFaceThenLipSync(IdentifyFaceRequest),
}

/// The endpoint serving an operation (also where its tasks are queried).
pub fn endpoint_for(op: Operation) -> Endpoint {
    match op {
        Operation::TextToVideo => Endpoint::Text2Video,
        Operation::ImageToVideo | Operation::StartEndFrame => Endpoint::Image2Video,
        Operation::MultiImageToVideo => Endpoint::MultiImage2Video,
        Operation::MotionControl => Endpoint::MotionControl,
        Operation::VideoExtend => Endpoint::VideoExtend,
        Operation::LipSync => Endpoint::AdvancedLipSync,
        Operation::TextToImage | Operation::ImageToImage => Endpoint::ImageGenerations,
        Operation::OmniImage => Endpoint::OmniImage,
    }
}

/// Maps a (validated, defaulted) request for `op` on Kling model `provider_model` to what
/// must be sent. `callback_url` is the gateway's inbound URL for this task, if any;
/// `external_id` is the id the gateway minted for this submission, sent as
/// `external_task_id` so a task of unknown outcome can be found (R1). The caller's own
/// `externalTaskId` never goes upstream: two tenants on one Kling account would collide
/// on it, and a lookup by it could find another tenant's task (X3).
pub fn plan(
    req: &GenerationRequest,
    op: Operation,
    provider_model: &str,
    callback_url: Option<&str>,
    external_id: Option<&str>,
) -> Result<Plan> {
    let cb = callback_url.map(str::to_string);
    let endpoint = endpoint_for(op);
    let ext = external_id.map(str::to_string);
    let r = model_rules(provider_model, op)?;
    refused(r.check_duration(req.duration))?;
    refused(r.check_aspect_ratio(op, req.aspect_ratio.as_deref()))?;
    let native = match op {
        Operation::TextToVideo => finish(endpoint, &text2video(req, r, ext, cb)?)?,
        Operation::ImageToVideo | Operation::StartEndFrame => {
            finish(endpoint, &image2video(req, r, ext, cb)?)?
        }
        Operation::MultiImageToVideo => finish(
            endpoint,
            &MultiImage2VideoRequest {
                model_name: Some(provider_model.to_string()),
                image_list: req.images.iter().map(image_item).collect(),
                prompt: required(&req.prompt, "prompt")?,
                negative_prompt: req.negative_prompt.clone(),
                mode: refused(r.wire_mode(req.mode.as_deref(), false))?,
                duration: req.duration.map(Seconds),
                aspect_ratio: req.aspect_ratio.clone(),
                external_task_id: ext,
                callback_url: cb,
            },
        )?,
        Operation::MotionControl => finish(endpoint, &motion_control(req, r, ext, cb)?)?,
        Operation::VideoExtend => finish(
            endpoint,
            &VideoExtendRequest {
                video_id: required(&req.video_id, "videoId")?,
                prompt: req.prompt.clone(),
                negative_prompt: req.negative_prompt.clone(),
                // §6 lists cfg_scale; the model is inherited from the source video.
                cfg_scale: cfg_scale(req, r)?,
                external_task_id: ext,
                callback_url: cb,
            },
        )?,
        Operation::LipSync => {
            let identify = match (&req.video_id, &req.video_url) {
                (Some(id), None) => IdentifyFaceRequest {
                    video_id: Some(id.clone()),
                    video_url: None,
                },
                (None, Some(url)) => IdentifyFaceRequest {
                    video_id: None,
                    video_url: Some(url.as_str().to_string()),
                },
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "videoId + videoUrl: give exactly one for lip sync, not both",
                    ))
                }
                (None, None) => {
                    return Err(invalid(
                        "videoId: one of videoId or videoUrl is required for lip sync",
                    ))
                }
            };
            return Ok(Plan::IdentifyFaceThenLipSync(identify));
        }
        Operation::TextToImage | Operation::ImageToImage => finish(
            endpoint,
            &ImageGenerationRequest {
                model_name: Some(provider_model.to_string()),
                prompt: required(&req.prompt, "prompt")?,
                negative_prompt: req.negative_prompt.clone(),
                image: req.images.first().map(media),
                image_reference: req
                    .image_reference
                    .as_deref()
                    .map(|r| match r {
                        "subject" => Ok(ImageReference::Subject),
                        "face" => Ok(ImageReference::Face),
                        other => Err(invalid(format!(
                            "imageReference: `{other}` is not allowed (allowed: subject, face)"
                        ))),
                    })
                    .transpose()?,
                image_fidelity: req.image_fidelity,
                human_fidelity: req.human_fidelity,
                resolution: resolution(req, r)?,
                aspect_ratio: req.aspect_ratio.clone(),
                n: image_count(req, r)?,
                external_task_id: ext,
                callback_url: cb,
            },
        )?,
        Operation::OmniImage => finish(
            endpoint,
            &OmniImageRequest {
                model_name: Some(provider_model.to_string()),
                prompt: required(&req.prompt, "prompt")?,
                image_list: req.images.iter().map(image_item).collect(),
                element_list: element_list(req, r)?,
                resolution: resolution(req, r)?,
                aspect_ratio: req.aspect_ratio.clone(),
                n: image_count(req, r)?,
                external_task_id: ext,
                callback_url: cb,
            },
        )?,
    };
    Ok(Plan::Create(native))
}

/// The face to sync: `face_id` when given (it must be among the faces found), else the
/// first face found.
pub fn pick_face<'a>(
    faces: &'a IdentifyFaceResponse,
    face_id: Option<&str>,
) -> Result<&'a FaceData> {
    let found = || {
        faces
            .face_data
            .iter()
            .map(|f| f.face_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match face_id {
        Some(id) => faces
            .face_data
            .iter()
            .find(|f| f.face_id == id)
            .ok_or_else(|| {
                invalid(format!(
                    "faceId: `{id}` is not among the faces identify-face found (found: {})",
                    if faces.face_data.is_empty() {
                        "none".to_string()
                    } else {
                        found()
                    }
                ))
            }),
        None => faces.face_data.first().ok_or_else(|| {
            invalid("videoUrl: identify-face found no face to lip-sync in the video")
        }),
    }
}

/// The advanced-lip-sync body for `req`, given identify-face's answer (§1), carrying the
/// gateway's `external_id` (see [`plan`]).
pub fn lip_sync_request(
    req: &GenerationRequest,
    faces: &IdentifyFaceResponse,
    callback_url: Option<&str>,
    external_id: Option<&str>,
) -> Result<NativeRequest> {
    let face = pick_face(faces, req.face_id.as_deref())?;
    let (audio_id, sound_file) = match (&req.audio_id, &req.sound_file) {
        (Some(a), None) => (Some(a.clone()), None),
        (None, Some(f)) => (None, Some(f.as_str().to_string())),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "audioId + soundFile: give exactly one for lip sync, not both",
            ))
        }
        (None, None) => {
            return Err(invalid(
                "soundFile: one of audioId or soundFile is required for lip sync",
            ))
        }
    };
    let ms = |v: Option<u64>, name: &str| {
        v.ok_or_else(|| invalid(format!("{name}: required for lip sync (milliseconds)")))
    };
    let body = AdvancedLipSyncRequest {
        session_id: faces.session_id.clone(),
        // spec §1: currently one face only.
        face_choose: vec![FaceChoose {
            face_id: face.face_id.clone(),
            audio_id,
            sound_file,
            sound_start_time: ms(req.sound_start_time, "soundStartTime")?,
            sound_end_time: ms(req.sound_end_time, "soundEndTime")?,
            sound_insert_time: ms(req.sound_insert_time, "soundInsertTime")?,
            sound_volume: req.sound_volume,
            original_audio_volume: req.original_audio_volume,
        }],
        external_task_id: external_id.map(str::to_string),
        callback_url: callback_url.map(str::to_string),
    };
    finish(Endpoint::AdvancedLipSync, &body)
}

/// Unified or native camera control → Kling's `camera_control`.
pub fn camera_control(cc: &genmux_core::CameraControl) -> Result<wire::CameraControl> {
    if let Some(motion) = cc.camera_motion.as_deref() {
        // catalog kling-2.6-t2v: cameraSpeed 0.1–2.0 → round(speed × 5).
        let speed = cc.camera_speed.unwrap_or(1.0);
        let mut value = (speed * 5.0).round().clamp(-10.0, 10.0);
        if value == 0.0 {
            // Kling needs exactly one non-zero value; the slowest speed still moves.
            value = if speed < 0.0 { -1.0 } else { 1.0 };
        }
        let mut config = CameraConfig::default();
        let slot = match motion {
            "horizontal" => &mut config.horizontal,
            "vertical" => &mut config.vertical,
            "pan" => &mut config.pan,
            "tilt" => &mut config.tilt,
            "roll" => &mut config.roll,
            "zoom" => &mut config.zoom,
            other => {
                return Err(invalid(format!(
                    "cameraControl.cameraMotion: `{other}` is not allowed (allowed: horizontal, vertical, pan, tilt, roll, zoom)"
                )))
            }
        };
        *slot = Some(value);
        return Ok(wire::CameraControl {
            kind: CameraType::Simple,
            config: Some(config),
        });
    }
    let kind = match cc.kind.as_deref() {
        Some(k) => CameraType::parse(k).ok_or_else(|| {
            invalid(format!(
                "cameraControl.type: `{k}` is not allowed (allowed: simple, down_back, forward_up, right_turn_forward, left_turn_forward)"
            ))
        })?,
        None if cc.config.is_some() => CameraType::Simple,
        None => {
            return Err(invalid(
                "cameraControl: give cameraMotion (+ cameraSpeed) or type (+ config)",
            ))
        }
    };
    let config = cc.config.map(|c| {
        let nz = |v: f64| (v != 0.0).then_some(v);
        CameraConfig {
            horizontal: nz(c.horizontal),
            vertical: nz(c.vertical),
            pan: nz(c.pan),
            tilt: nz(c.tilt),
            roll: nz(c.roll),
            zoom: nz(c.zoom),
        }
    });
    if kind == CameraType::Simple && config.is_none() {
        return Err(invalid(
            "cameraControl.config: required when type is simple",
        ));
    }
    Ok(wire::CameraControl { kind, config })
}

/// The row of [`crate::rules`] for `provider_model`, if it serves `op`; a model or
/// operation outside the table is not guessed at.
fn model_rules(provider_model: &str, op: Operation) -> Result<&'static ModelRules> {
    match rules::rules(provider_model) {
        Some(r) if r.serves(op) => Ok(r),
        Some(r) => Err(unsupported(format!(
            "operation {op} is not served by Kling model {provider_model} (it serves: {})",
            r.operations
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => Err(unsupported(format!(
            "model {provider_model}: genmux has no rules for this Kling model (known: {})",
            rules::MODELS
                .iter()
                .map(|m| m.provider_model)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A table refusal as a Kling-provider error of the matching kind.
fn refused<T>(r: std::result::Result<T, Refusal>) -> Result<T> {
    r.map_err(|e| match e {
        Refusal::Invalid(m) => invalid(m),
        Refusal::Unsupported(m) => unsupported(m),
    })
}

/// `cfg_scale` as the row says: sent, dropped (V2.x, §2), or not a field.
fn cfg_scale(req: &GenerationRequest, r: &ModelRules) -> Result<Option<f64>> {
    match (req.cfg_scale, r.cfg_scale) {
        (None, _) => Ok(None),
        (Some(v), CfgScale::Sent) => Ok(Some(v)),
        (Some(_), CfgScale::Dropped) => Ok(None),
        (Some(_), CfgScale::No) => Err(unsupported(format!(
            "cfgScale: not taken by Kling's {} endpoint",
            r.provider_model
        ))),
    }
}

/// `elementIds` → `element_list`: at most the row's `max_elements`, each id a JSON integer
/// (spec "Field types": Kling refuses a string). The unified API keeps ids as strings, so
/// each must read as a whole number here.
fn element_list(req: &GenerationRequest, r: &ModelRules) -> Result<Vec<ElementItem>> {
    if req.element_ids.is_empty() {
        return Ok(Vec::new());
    }
    let max = usize::from(r.max_elements);
    if max == 0 {
        return Err(unsupported(format!(
            "elementIds: not taken by Kling for {}",
            r.provider_model
        )));
    }
    if req.element_ids.len() > max {
        return Err(invalid(format!(
            "elementIds: {} given; {} takes at most {max}",
            req.element_ids.len(),
            r.provider_model
        )));
    }
    req.element_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            id.trim()
                .parse::<u64>()
                .map(|element_id| ElementItem { element_id })
                .map_err(|_| {
                    invalid(format!(
                        "elementIds[{i}]: `{id}` is not a Kling subject id (allowed: a whole number from the subject library, e.g. 829)"
                    ))
                })
        })
        .collect()
}

struct Common {
    sound: Option<OnOff>,
    mode: Option<Mode>,
    cfg_scale: Option<f64>,
    multi_shot: Option<bool>,
    shot_type: Option<ShotType>,
    multi_prompt: Vec<MultiShotPrompt>,
}

/// The fields text2video and image2video share, with the model's rules applied.
fn common_video(req: &GenerationRequest, r: &ModelRules) -> Result<Common> {
    let audio = req.generate_audio == Some(true);
    let mode = refused(r.wire_mode(req.mode.as_deref(), audio))?;
    let sound = match req.generate_audio {
        Some(true) => Some(OnOff::On),
        Some(false) if r.sound != Sound::No => Some(OnOff::Off),
        _ => None,
    };
    if !req.kling_elements.is_empty() {
        return Err(unsupported(
            "klingElements: Kling's /v1 API takes subject-library element ids, not image groups; this request needs another provider",
        ));
    }
    if req.camera_control.is_some() && !r.camera_control {
        return Err(unsupported(format!(
            "cameraControl: not offered through Kling for {}",
            r.provider_model
        )));
    }
    let multi = req.multi_shots == Some(true);
    let shots = match (multi, r.multi_shot) {
        (false, _) => None,
        (true, Some(shots)) => Some(shots),
        (true, None) => {
            return Err(unsupported(format!(
                "multiShots: not supported by {}",
                r.provider_model
            )))
        }
    };
    // Shots given: `customize`; none, with a prompt: the model divides the prompt itself
    // (`intelligence`, spec "Field types").
    let shot_type = shots.map(|rule| {
        if req.multi_prompt.is_empty() && req.prompt.is_some() {
            ShotType::Intelligence
        } else {
            rule.shot_type
        }
    });
    if let (Some(rule), Some(ShotType::Customize)) = (shots, shot_type) {
        if req.multi_prompt.is_empty() || req.multi_prompt.len() > rule.max_shots {
            return Err(invalid(format!(
                "multiPrompt: {} shots given; {} takes 1 to {}",
                req.multi_prompt.len(),
                r.provider_model,
                rule.max_shots
            )));
        }
        if let Some((i, s)) = req
            .multi_prompt
            .iter()
            .enumerate()
            .find(|(_, s)| s.duration < rule.min_shot_seconds)
        {
            return Err(invalid(format!(
                "multiPrompt[{i}].duration: {} s is shorter than {} s",
                s.duration, rule.min_shot_seconds
            )));
        }
        // The shots make the whole video: spec "Kling 3.0", their durations add up to it.
        let total = req.multi_shot_seconds().unwrap_or(0);
        if !r.allows_duration(total) || req.duration.is_some_and(|d| d != total) {
            return Err(invalid(format!(
                "multiPrompt: the shots add up to {total} s; {} takes {} s in all{}",
                r.provider_model,
                r.durations_text(),
                req.duration
                    .filter(|d| *d != total)
                    .map(|d| format!(" and duration says {d} s"))
                    .unwrap_or_default()
            )));
        }
    }
    Ok(Common {
        sound,
        mode,
        cfg_scale: cfg_scale(req, r)?,
        multi_shot: shots.map(|_| true),
        shot_type,
        multi_prompt: if shot_type == Some(ShotType::Customize) {
            req.multi_prompt
                .iter()
                .enumerate()
                .map(|(i, s)| MultiShotPrompt {
                    index: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    prompt: s.prompt.clone(),
                    duration: Seconds(s.duration),
                })
                .collect()
        } else {
            Vec::new()
        },
    })
}

fn text2video(
    req: &GenerationRequest,
    r: &ModelRules,
    ext: Option<String>,
    cb: Option<String>,
) -> Result<Text2VideoRequest> {
    let c = common_video(req, r)?;
    if c.shot_type != Some(ShotType::Customize) && req.prompt.is_none() {
        return Err(invalid("prompt: required for text to video"));
    }
    if !req.element_ids.is_empty() {
        // spec "Field types": element_list is an image2video / motion-control field.
        return Err(unsupported(format!(
            "elementIds: Kling's text2video takes no element_list ({})",
            r.provider_model
        )));
    }
    Ok(Text2VideoRequest {
        model_name: Some(r.provider_model.to_string()),
        prompt: req.prompt.clone(),
        negative_prompt: req.negative_prompt.clone(),
        sound: c.sound,
        cfg_scale: c.cfg_scale,
        mode: c.mode,
        aspect_ratio: req.aspect_ratio.clone(),
        duration: req.duration.map(Seconds),
        camera_control: req
            .camera_control
            .as_ref()
            .map(camera_control)
            .transpose()?,
        multi_shot: c.multi_shot,
        shot_type: c.shot_type,
        multi_prompt: c.multi_prompt,
        // No unified field chooses voices or a watermark yet (wire only).
        voice_list: Vec::new(),
        watermark_info: None,
        external_task_id: ext,
        callback_url: cb,
    })
}

fn image2video(
    req: &GenerationRequest,
    r: &ModelRules,
    ext: Option<String>,
    cb: Option<String>,
) -> Result<Image2VideoRequest> {
    let c = common_video(req, r)?;
    if (req.static_mask.is_some() || !req.dynamic_masks.is_empty()) && !r.masks {
        return Err(unsupported(format!(
            "staticMask: brush masks are not offered through Kling for {}",
            r.provider_model
        )));
    }
    let image = req.start_frame().map(media);
    let image_tail = req.end_frame().map(media);
    if image.is_none() && image_tail.is_none() {
        return Err(invalid(
            "images: image to video needs a start frame (images[0]) or an end frame (endImage)",
        ));
    }
    Ok(Image2VideoRequest {
        model_name: Some(r.provider_model.to_string()),
        image,
        image_tail,
        prompt: req.prompt.clone(),
        negative_prompt: req.negative_prompt.clone(),
        cfg_scale: c.cfg_scale,
        mode: c.mode,
        static_mask: req.static_mask.as_ref().map(media),
        dynamic_masks: req
            .dynamic_masks
            .iter()
            .map(|m| wire::DynamicMask {
                mask: media(&m.mask),
                trajectories: m
                    .trajectories
                    .iter()
                    .map(|p| wire::TrajectoryPoint { x: p.x, y: p.y })
                    .collect(),
            })
            .collect(),
        camera_control: req
            .camera_control
            .as_ref()
            .map(camera_control)
            .transpose()?,
        duration: req.duration.map(Seconds),
        sound: c.sound,
        multi_shot: c.multi_shot,
        shot_type: c.shot_type,
        multi_prompt: c.multi_prompt,
        voice_list: Vec::new(),
        element_list: element_list(req, r)?,
        watermark_info: None,
        external_task_id: ext,
        callback_url: cb,
    })
}

fn motion_control(
    req: &GenerationRequest,
    r: &ModelRules,
    ext: Option<String>,
    cb: Option<String>,
) -> Result<MotionControlRequest> {
    let image_url =
        req.images.first().map(media).ok_or_else(|| {
            invalid("images: motion control needs the character image (images[0])")
        })?;
    let video_url = req.motion_video.as_ref().map(media).ok_or_else(|| {
        invalid("motionVideo: required for motion control (the reference motion video)")
    })?;
    let character_orientation = match req.character_orientation.as_deref() {
        Some("image") => CharacterOrientation::Image,
        Some("video") => CharacterOrientation::Video,
        Some(other) => {
            return Err(invalid(format!(
                "characterOrientation: `{other}` is not allowed (allowed: image, video)"
            )))
        }
        None => {
            return Err(invalid(
                "characterOrientation: required for motion control (allowed: image, video)",
            ))
        }
    };
    let mode = refused(r.wire_mode(req.mode.as_deref(), false))?.ok_or_else(|| {
        invalid(format!(
            "mode: required for motion control (allowed: {})",
            r.modes.join(", ")
        ))
    })?;
    Ok(MotionControlRequest {
        // spec "Field types": kling-v2-6 (the default) or kling-v3, from the row.
        model_name: r.model_name.map(str::to_string),
        element_list: element_list(req, r)?,
        image_url,
        video_url,
        character_orientation,
        mode,
        prompt: req.prompt.clone(),
        keep_original_sound: req
            .keep_original_sound
            .map(|k| if k { YesNo::Yes } else { YesNo::No }),
        external_task_id: ext,
        callback_url: cb,
    })
}

fn media(m: &MediaInput) -> String {
    m.as_str().to_string()
}

fn image_item(m: &MediaInput) -> ImageItem {
    ImageItem { image: media(m) }
}

/// `resolution` (images), checked against the row's enum.
fn resolution(req: &GenerationRequest, r: &ModelRules) -> Result<Option<Resolution>> {
    refused(r.check_resolution(req.resolution.as_deref()))?;
    req.resolution
        .as_deref()
        .map(|v| {
            Resolution::parse(v).ok_or_else(|| {
                Error::internal(format!(
                    "resolution `{v}` is in the rules of {} but not a wire value",
                    r.provider_model
                ))
                .with_provider(PROVIDER)
            })
        })
        .transpose()
}

/// `n` (images), checked against the row's limit.
fn image_count(req: &GenerationRequest, r: &ModelRules) -> Result<Option<u32>> {
    refused(r.check_n(req.n))?;
    Ok(req.n)
}

fn required(v: &Option<String>, field: &str) -> Result<String> {
    v.clone()
        .ok_or_else(|| invalid(format!("{field}: required for this Kling endpoint")))
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::invalid(msg).with_provider(PROVIDER)
}

fn unsupported(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unsupported, msg).with_provider(PROVIDER)
}

/// Serializes the typed body.
fn finish<B: Serialize>(endpoint: Endpoint, body: &B) -> Result<NativeRequest> {
    let Value::Object(map) = serde_json::to_value(body).map_err(|e| {
        Error::internal(format!("serializing the {endpoint} body failed: {e}"))
            .with_provider(PROVIDER)
    })?
    else {
        return Err(
            Error::internal(format!("the {endpoint} body is not a JSON object"))
                .with_provider(PROVIDER),
        );
    };
    Ok(NativeRequest {
        endpoint,
        body: map,
    })
}
