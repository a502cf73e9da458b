//! Cross-field rules: the catalog names them per model (`rules = [...]`), this file says
//! what each one checks. Single-field rules (enums, ranges, lengths, item counts) are data
//! in `catalog.toml` and need no code.

use super::ModelSpec;
use crate::error::{Error, Result};
use crate::request::{GenerationRequest, Operation};
use serde::{Deserialize, Serialize};

/// A named cross-field rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    /// runway: `aspectRatio` is required when no image is given.
    AspectRatioRequiredWithoutImage,
    /// Kling camera: `type: simple` needs `config`; `config` has exactly one non-zero value;
    /// native `type`/`config` and unified `cameraMotion`/`cameraSpeed` are not mixed.
    CameraControlShape,
    /// Kling image to video: the end frame, masks and camera control are mutually exclusive
    /// groups (`spec/kling-api.md` §3).
    ImageToVideoExclusiveGroups,
    /// kling-3.0: `prompt` for one shot, or `multiShots: true` with `multiPrompt`; a
    /// multi-shot total length within the duration limit.
    PromptOrMultiPrompt,
    /// Omni-image: `elementIds` + `images` ≤ 10, and every `<<<image_N>>>` refers to an image.
    OmniImageReferences,
    /// Kling image generation: `imageReference` is required with an image (served by
    /// kling-v1-5); `negativePrompt` is not allowed with one; `humanFidelity` only with
    /// `subject`; `imageReference`/fidelities only with an image.
    ImageReferenceRules,
    /// Lip sync: exactly one of `videoId`/`videoUrl`, exactly one of `audioId`/`soundFile`,
    /// crop end after start, cropped audio 2–60 s.
    LipSyncSources,
    /// Motion control: `characterOrientation: image` allows a motion video ≤ 10 s,
    /// `video` ≤ 30 s (`duration` declares the motion video's length).
    MotionOrientationDuration,
    /// Generated audio is priced on the pro tier (Kling V2.6: `sound` is pro mode only).
    AudioRequiresPro,
}

impl RuleId {
    /// A sentence for `/unified-video/models`.
    pub fn description(self) -> &'static str {
        match self {
            RuleId::AspectRatioRequiredWithoutImage => "aspectRatio is required when no image is given",
            RuleId::CameraControlShape => "cameraControl: type simple requires config with exactly one non-zero value in [-10, 10]; native type/config and cameraMotion/cameraSpeed are not mixed",
            RuleId::ImageToVideoExclusiveGroups => "end frame, masks (staticMask/dynamicMasks) and cameraControl are mutually exclusive",
            RuleId::PromptOrMultiPrompt => "prompt is required unless multiShots is true, then multiPrompt (1-6 shots) is required and its durations sum to the video length (at most the duration limit)",
            RuleId::OmniImageReferences => "elementIds + images is at most 10; <<<image_N>>> must refer to an existing image",
            RuleId::ImageReferenceRules => "with an image: imageReference is required and negativePrompt is not allowed; humanFidelity only with imageReference subject; imageReference/imageFidelity/humanFidelity need an image",
            RuleId::LipSyncSources => "exactly one of videoId/videoUrl and one of audioId/soundFile; soundEndTime > soundStartTime; cropped audio 2-60 s",
            RuleId::MotionOrientationDuration => "characterOrientation image: motion video at most 10 s; video: at most 30 s",
            RuleId::AudioRequiresPro => "generateAudio is only available in pro mode",
        }
    }

    /// Fills fields the rule determines from others, before catalog defaults apply:
    /// kling-3.0 multi-shot `duration` is the sum of its shots, not the model's default.
    pub(crate) fn derive_fields(self, req: &mut GenerationRequest) {
        if self == RuleId::PromptOrMultiPrompt && req.multi_shots == Some(true) {
            if let (None, Some(total)) = (req.duration, req.multi_shot_seconds()) {
                req.duration = Some(total);
            }
        }
    }

    /// Checks the rule.
    pub fn check(self, spec: &ModelSpec, req: &GenerationRequest, op: Operation) -> Result<()> {
        let model = spec.id.as_str();
        let bad = |msg: String| Err(Error::invalid(msg));
        match self {
            RuleId::AspectRatioRequiredWithoutImage => {
                if req.images.is_empty() && req.aspect_ratio.is_none() {
                    let allowed = spec
                        .field("aspectRatio")
                        .and_then(|f| f.allowed.as_ref())
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    return bad(format!(
                        "aspectRatio: required for {model} when no image is given (allowed: {allowed})"
                    ));
                }
            }
            RuleId::CameraControlShape => {
                let Some(cc) = &req.camera_control else {
                    return Ok(());
                };
                let native = cc.kind.is_some() || cc.config.is_some();
                let unified = cc.camera_motion.is_some() || cc.camera_speed.is_some();
                if !native && !unified {
                    return bad(format!(
                        "cameraControl: empty for {model} (give type, with config when type is simple, or cameraMotion with cameraSpeed)"
                    ));
                }
                if native && unified {
                    return bad(format!(
                        "cameraControl: give either type/config or cameraMotion/cameraSpeed for {model}, not both"
                    ));
                }
                if cc.camera_speed.is_some() && cc.camera_motion.is_none() {
                    return bad(format!(
                        "cameraControl.cameraMotion: required with cameraSpeed for {model}"
                    ));
                }
                if cc.kind.as_deref() == Some("simple") && cc.config.is_none() {
                    return bad(format!(
                        "cameraControl.config: required when type is simple for {model}"
                    ));
                }
                if let Some(cfg) = &cc.config {
                    // spec/kling-api.md §2: config belongs to type simple.
                    if cc.kind.is_none() {
                        return bad(format!(
                            "cameraControl.type: required with config for {model} (allowed: simple)"
                        ));
                    }
                    if cc.kind.as_deref().is_some_and(|k| k != "simple") {
                        return bad(format!(
                            "cameraControl.config: only allowed with type simple for {model} (type {:?} given)",
                            cc.kind.as_deref().unwrap_or_default()
                        ));
                    }
                    let values = cfg.values();
                    // Counted first: the list is only built for the message.
                    if values.iter().filter(|(_, v)| *v != 0.0).count() != 1 {
                        let nonzero: Vec<_> = values.iter().filter(|(_, v)| *v != 0.0).collect();
                        let given = nonzero
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return bad(format!(
                            "cameraControl.config: exactly one of horizontal, vertical, pan, tilt, roll, zoom must be non-zero for {model} ({} non-zero given{}{})",
                            nonzero.len(),
                            if given.is_empty() { "" } else { ": " },
                            given
                        ));
                    }
                }
            }
            RuleId::ImageToVideoExclusiveGroups => {
                // Kling image2video has one image_tail: a second image and endImage would
                // both claim it.
                if req.images.len() > 1 && req.end_image.is_some() {
                    return bad(format!(
                        "endImage: not allowed with {} images for {model} (images[1] is already the end frame; give 1 image + endImage, or 2 images)",
                        req.images.len()
                    ));
                }
                let groups = [
                    (
                        "end frame (images[1] or endImage)",
                        req.end_frame().is_some(),
                    ),
                    (
                        "masks (staticMask/dynamicMasks)",
                        req.static_mask.is_some() || !req.dynamic_masks.is_empty(),
                    ),
                    ("cameraControl", req.camera_control.is_some()),
                ];
                if groups.iter().filter(|(_, on)| *on).count() > 1 {
                    // The message leads with the fields actually given, so it names a path.
                    let mut used: Vec<&str> = Vec::new();
                    if req.images.len() > 1 {
                        used.push("images[1]");
                    } else if req.end_image.is_some() {
                        used.push("endImage");
                    }
                    if req.static_mask.is_some() {
                        used.push("staticMask");
                    }
                    if !req.dynamic_masks.is_empty() {
                        used.push("dynamicMasks");
                    }
                    if req.camera_control.is_some() {
                        used.push("cameraControl");
                    }
                    return bad(format!(
                        "{}: these inputs are mutually exclusive for {model}; use only one of: {}",
                        used.join(" + "),
                        groups.map(|g| g.0).join("; ")
                    ));
                }
                let masked = req.static_mask.is_some() || !req.dynamic_masks.is_empty();
                if masked && req.start_frame().is_none() {
                    return bad(format!(
                        "images: a start image is required with masks for {model}"
                    ));
                }
            }
            RuleId::PromptOrMultiPrompt => {
                let multi = req.multi_shots == Some(true);
                if multi {
                    if req.multi_prompt.is_empty() {
                        return bad(format!(
                            "multiPrompt: required when multiShots is true for {model}"
                        ));
                    }
                    let total = req.multi_shot_seconds().unwrap_or(0);
                    let duration = spec.field("duration");
                    let min = duration.and_then(|f| f.min).unwrap_or(0.0);
                    let max = duration.and_then(|f| f.max).unwrap_or(f64::INFINITY);
                    if f64::from(total) < min || f64::from(total) > max {
                        let allowed =
                            match (duration.and_then(|f| f.min), duration.and_then(|f| f.max)) {
                                (Some(a), Some(b)) => format!("{a} to {b} s in total"),
                                (Some(a), None) => format!("at least {a} s in total"),
                                (None, Some(b)) => format!("at most {b} s in total"),
                                (None, None) => "any total".into(),
                            };
                        return bad(format!(
                            "multiPrompt: shot durations sum to {total} s, which {model} does not allow (allowed: {allowed})"
                        ));
                    }
                    if let Some(d) = req.duration {
                        if d != total {
                            return bad(format!(
                                "duration: {d} does not match the multiPrompt total of {total} s for {model} (omit duration or make them agree)"
                            ));
                        }
                    }
                } else {
                    if !req.multi_prompt.is_empty() {
                        return bad(format!(
                            "multiPrompt: only allowed with multiShots: true for {model}"
                        ));
                    }
                    if req.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
                        return bad(format!(
                            "prompt: required for {model} unless multiShots is true"
                        ));
                    }
                }
            }
            RuleId::OmniImageReferences => {
                let total = req.images.len() + req.element_ids.len();
                if total > 10 {
                    return bad(format!(
                        "elementIds + images: {} elements + {} images = {total} is too many for {model} (allowed: at most 10 in total)",
                        req.element_ids.len(),
                        req.images.len()
                    ));
                }
                if let Some(p) = &req.prompt {
                    for n in image_references(p) {
                        if n == 0 || n > req.images.len() {
                            return bad(format!(
                                "prompt: <<<image_{n}>>> refers to no image for {model} (allowed: <<<image_1>>> to <<<image_{}>>>)",
                                req.images.len()
                            ));
                        }
                    }
                }
            }
            RuleId::ImageReferenceRules => {
                let has_image = !req.images.is_empty();
                if has_image {
                    if req.image_reference.is_none() {
                        return bad(format!("imageReference: required with an image for {model} (allowed: subject, face)"));
                    }
                    if req.negative_prompt.is_some() {
                        return bad(format!(
                            "negativePrompt: not allowed with a reference image for {model}"
                        ));
                    }
                } else {
                    for (name, set) in [
                        ("imageReference", req.image_reference.is_some()),
                        ("imageFidelity", req.image_fidelity.is_some()),
                        ("humanFidelity", req.human_fidelity.is_some()),
                    ] {
                        if set {
                            return bad(format!(
                                "{name}: only allowed with a reference image (images) for {model}"
                            ));
                        }
                    }
                }
                if req.human_fidelity.is_some() && req.image_reference.as_deref() != Some("subject")
                {
                    return bad(format!(
                        "humanFidelity: only allowed with imageReference subject for {model} ({} given)",
                        req.image_reference.as_deref().unwrap_or("none")
                    ));
                }
            }
            RuleId::LipSyncSources => {
                match (&req.video_id, &req.video_url) {
                    (Some(_), Some(_)) => {
                        return bad(format!(
                            "videoId + videoUrl: give exactly one for {model}, not both"
                        ))
                    }
                    (None, None) => {
                        return bad(format!(
                            "videoId: one of videoId or videoUrl is required for {model}"
                        ))
                    }
                    _ => {}
                }
                match (&req.audio_id, &req.sound_file) {
                    (Some(_), Some(_)) => {
                        return bad(format!(
                            "audioId + soundFile: give exactly one for {model}, not both"
                        ))
                    }
                    (None, None) => {
                        return bad(format!(
                            "soundFile: one of audioId or soundFile is required for {model}"
                        ))
                    }
                    _ => {}
                }
                if let (Some(s), Some(e)) = (req.sound_start_time, req.sound_end_time) {
                    if e <= s {
                        return bad(format!(
                            "soundEndTime: {e} must be after soundStartTime {s} for {model}"
                        ));
                    }
                    let ms = e - s;
                    if !(2_000..=60_000).contains(&ms) {
                        return bad(format!(
                            "soundEndTime: the cropped audio is {ms} ms for {model} (allowed: 2000 to 60000 ms)"
                        ));
                    }
                }
            }
            RuleId::MotionOrientationDuration => {
                let limit = match req.character_orientation.as_deref() {
                    Some("image") => 10,
                    Some("video") => 30,
                    _ => return Ok(()),
                };
                if let Some(d) = req.duration {
                    if d > limit {
                        return bad(format!(
                            "duration: {d} is not allowed for {model} with characterOrientation {} (allowed: 3 to {limit})",
                            req.character_orientation.as_deref().unwrap_or_default()
                        ));
                    }
                }
            }
            RuleId::AudioRequiresPro => {
                if req.generate_audio == Some(true) && req.mode.as_deref() == Some("std") {
                    return bad(format!(
                        "mode: std does not allow generateAudio for {model} (allowed: pro)"
                    ));
                }
            }
        }
        let _ = op;
        Ok(())
    }
}

/// The `N` of every `<<<image_N>>>` in a prompt (Kling omni-image references, 1-based).
pub fn image_references(prompt: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = prompt;
    while let Some(i) = rest.find("<<<image_") {
        rest = &rest[i + "<<<image_".len()..];
        let digits = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
        if !digits.is_empty() && rest[digits.len()..].starts_with(">>>") {
            out.push(digits.parse().unwrap_or(0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::image_references;

    #[test]
    fn finds_image_references() {
        assert_eq!(
            image_references("a <<<image_1>>> and <<<image_12>>>"),
            vec![1, 12]
        );
        assert_eq!(
            image_references("<<<image_>>> <<<image_3"),
            Vec::<usize>::new()
        );
        assert_eq!(image_references("<<<image_0>>>"), vec![0]);
    }
}
