//! What one provider offering can do: a flat `Copy` struct in the OpenDAL `Capability`
//! style (`STYLE.md`). Each provider fills it with a struct literal citing the vendor doc
//! beside each limit; [`Capability::supports`] is checked in one place (the router's
//! candidate step), before any provider sees the request.

use crate::request::{GenerationRequest, Operation};

/// A set of small unsigned values (durations in seconds, 0–63) as a bit mask, so that
/// [`Capability`] stays `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SecondsSet(u64);

impl SecondsSet {
    /// The set of the given seconds (values ≥ 64 are ignored).
    pub const fn of(values: &[u32]) -> Self {
        let mut bits = 0u64;
        let mut i = 0;
        while i < values.len() {
            if values[i] < 64 {
                bits |= 1 << values[i];
            }
            i += 1;
        }
        SecondsSet(bits)
    }

    /// Every second from `min` to `max` inclusive.
    pub const fn range(min: u32, max: u32) -> Self {
        let mut bits = 0u64;
        let mut s = min;
        while s <= max && s < 64 {
            bits |= 1 << s;
            s += 1;
        }
        SecondsSet(bits)
    }

    /// Whether `secs` is in the set.
    pub const fn contains(self, secs: u32) -> bool {
        secs < 64 && self.0 & (1 << secs) != 0
    }
}

/// How a provider finds a task whose submission outcome is unknown. The gateway mints the
/// id every submission carries (never the caller's `externalTaskId`, X3); this says what
/// the upstream lets us do with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UnknownLookup {
    /// The create body carries the gateway's id and the single-task query accepts it in
    /// place of the upstream's task id (Kling text2video, image2video, multi-image2video).
    ExternalIdQuery,
    /// The create body carries the gateway's id, and the provider's task list (newest
    /// first) shows it on each task; a bounded scan finds the task or proves it absent.
    ListScan,
    /// The upstream offers no way to find a task by our id (the unified API). A task of
    /// unknown outcome keeps its hold until the provider's callback names it or an
    /// operator deadline passes — it is never refunded on a guess (X4).
    #[default]
    NotFindable,
}

impl UnknownLookup {
    /// The name used in `genmux providers` and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownLookup::ExternalIdQuery => "external_id_query",
            UnknownLookup::ListScan => "list_scan",
            UnknownLookup::NotFindable => "not_findable",
        }
    }
}

/// How the gateway learns of a task's progress from an offering's upstream. The default
/// (callbacks accepted, no minimum interval) is what Kling and the unified API do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Polling {
    /// The upstream sends no status callbacks (spec/upstreams.md, Runway and xAI: "No
    /// webhooks: poll only"): the router hands it no callback URL, and its tasks settle by
    /// polling alone.
    pub poll_only: bool,
    /// The least time between two status queries of one task, in seconds (spec/upstreams.md,
    /// Runway: "no more than every 5 s"); 0 = none beyond the poller's own schedule. The
    /// gateway's poller never schedules a task's next query sooner.
    pub min_interval_secs: u32,
}

impl Polling {
    /// [`Polling::min_interval_secs`] as a duration.
    pub fn min_interval(self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.min_interval_secs))
    }
}

/// What a provider offering supports. Unset (`false` / `None`) means unsupported or
/// unlimited as documented on each field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capability {
    /// Prompt → video.
    pub text_to_video: bool,
    /// Start frame (or end frame alone) → video.
    pub image_to_video: bool,
    /// Start + end frame → video.
    pub start_end_frame: bool,
    /// Several reference images → video.
    pub multi_image_to_video: bool,
    /// Image + motion video → video.
    pub motion_control: bool,
    /// Extend a generated video.
    pub video_extend: bool,
    /// Lip sync a video to audio.
    pub lip_sync: bool,
    /// Prompt → image.
    pub text_to_image: bool,
    /// Reference image → image.
    pub image_to_image: bool,
    /// Omni-image.
    pub omni_image: bool,
    /// Generated audio track.
    pub audio: bool,
    /// Camera control (native or unified).
    pub camera_control: bool,
    /// Negative prompt.
    pub negative_prompt: bool,
    /// cfg scale.
    pub cfg_scale: bool,
    /// Multi-shot prompts.
    pub multi_shot: bool,
    /// Subject elements / element groups.
    pub elements: bool,
    /// Static / dynamic brush masks.
    pub masks: bool,
    /// How a task whose submission outcome is unknown (the request left, no answer came
    /// back) is found upstream: by the gateway's id in the query path, by scanning the
    /// provider's task list, or not at all (issue 13, `design/RELIABILITY.md` R1, X4).
    pub unknown_lookup: UnknownLookup,
    /// A task it created can be cancelled upstream ([`crate::VideoProvider::cancel`]).
    /// Not a request feature: [`Capability::supports`] ignores it; the gateway's
    /// `POST …/{taskId}/cancel` and `Router::cancel` check it (issue 13 point 5). Neither
    /// Kling `/v1` nor the unified API has a cancel endpoint (spec/kling-api.md,
    /// spec/unified-api.md), so both leave it `false`; Runway's `DELETE /v1/tasks/{id}`
    /// (spec/upstreams.md) is one that would set it.
    pub cancel: bool,
    /// Callbacks or polling only, and the least interval between polls. Not a request
    /// feature: [`Capability::supports`] ignores it; the router (callback URL) and the
    /// gateway's poller read it.
    pub polling: Polling,
    /// Most input images accepted; `None` = no limit beyond the catalog's.
    pub max_images: Option<u8>,
    /// Allowed durations; `None` = whatever the catalog allows.
    pub durations: Option<SecondsSet>,
    /// Longest prompt in characters; `None` = the catalog's limit.
    pub max_prompt_chars: Option<u32>,
}

impl Capability {
    /// Whether the offering can perform `op`.
    pub fn has_operation(&self, op: Operation) -> bool {
        match op {
            Operation::TextToVideo => self.text_to_video,
            Operation::ImageToVideo => self.image_to_video,
            Operation::StartEndFrame => self.start_end_frame,
            Operation::MultiImageToVideo => self.multi_image_to_video,
            Operation::MotionControl => self.motion_control,
            Operation::VideoExtend => self.video_extend,
            Operation::LipSync => self.lip_sync,
            Operation::TextToImage => self.text_to_image,
            Operation::ImageToImage => self.image_to_image,
            Operation::OmniImage => self.omni_image,
        }
    }

    /// Whether this offering can take the top-level catalog field `name` at all (`false`
    /// for a feature it lacks, e.g. `cameraControl` without camera control). Fields tied to
    /// no capability flag are taken. Used to offer only what a configured provider serves
    /// (issue 13).
    pub fn serves_field(&self, name: &str) -> bool {
        match name {
            "generateAudio" => self.audio,
            "cameraControl" => self.camera_control,
            "negativePrompt" => self.negative_prompt,
            "cfgScale" => self.cfg_scale,
            "multiShots" | "multiPrompt" => self.multi_shot,
            "klingElements" | "elementIds" => self.elements,
            "staticMask" | "dynamicMasks" => self.masks,
            _ => true,
        }
    }

    /// Checks a (catalog-valid) request against this offering. `Err` carries the reason
    /// in words, e.g. `"generateAudio: not supported by this offering"`.
    pub fn supports(&self, req: &GenerationRequest, op: Operation) -> Result<(), String> {
        if !self.has_operation(op) {
            return Err(format!("operation {op} is not supported by this offering"));
        }
        let unsupported = |field: &str| Err(format!("{field}: not supported by this offering"));
        if req.generate_audio == Some(true) && !self.audio {
            return unsupported("generateAudio");
        }
        if req.camera_control.is_some() && !self.camera_control {
            return unsupported("cameraControl");
        }
        if req.negative_prompt.is_some() && !self.negative_prompt {
            return unsupported("negativePrompt");
        }
        if req.cfg_scale.is_some() && !self.cfg_scale {
            return unsupported("cfgScale");
        }
        if (req.multi_shots == Some(true) || !req.multi_prompt.is_empty()) && !self.multi_shot {
            return unsupported("multiShots");
        }
        if (!req.kling_elements.is_empty() || !req.element_ids.is_empty()) && !self.elements {
            return unsupported("elements");
        }
        if (req.static_mask.is_some() || !req.dynamic_masks.is_empty()) && !self.masks {
            return unsupported("masks");
        }
        if let Some(max) = self.max_images {
            if req.images.len() > usize::from(max) {
                return Err(format!(
                    "images: {} given, this offering takes at most {max}",
                    req.images.len()
                ));
            }
        }
        if let (Some(set), Some(d)) = (self.durations, req.duration) {
            if !set.contains(d) {
                return Err(format!("duration: {d} is not supported by this offering"));
            }
        }
        if let (Some(max), Some(p)) = (self.max_prompt_chars, req.prompt.as_deref()) {
            let n = p.chars().count();
            if n > max as usize {
                return Err(format!(
                    "prompt: {n} characters, this offering takes at most {max}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2v() -> Capability {
        Capability {
            text_to_video: true,
            negative_prompt: true,
            durations: Some(SecondsSet::of(&[5, 10])),
            max_prompt_chars: Some(10),
            ..Default::default()
        }
    }

    #[test]
    fn seconds_set() {
        let s = SecondsSet::of(&[5, 10]);
        assert!(s.contains(5) && s.contains(10) && !s.contains(6) && !s.contains(64));
        let r = SecondsSet::range(3, 15);
        assert!(r.contains(3) && r.contains(15) && !r.contains(2) && !r.contains(16));
    }

    #[test]
    fn supports_checks_operation_features_and_limits() {
        let cap = t2v();
        let ok = GenerationRequest {
            model: "m".into(),
            prompt: Some("short".into()),
            duration: Some(5),
            negative_prompt: Some("blur".into()),
            ..Default::default()
        };
        assert_eq!(cap.supports(&ok, Operation::TextToVideo), Ok(()));
        assert!(cap
            .supports(&ok, Operation::ImageToVideo)
            .unwrap_err()
            .contains("image_to_video"));
        let audio = GenerationRequest {
            generate_audio: Some(true),
            ..ok.clone()
        };
        assert!(cap
            .supports(&audio, Operation::TextToVideo)
            .unwrap_err()
            .starts_with("generateAudio"));
        let long = GenerationRequest {
            prompt: Some("x".repeat(11)),
            ..ok.clone()
        };
        assert!(cap
            .supports(&long, Operation::TextToVideo)
            .unwrap_err()
            .starts_with("prompt"));
        let d7 = GenerationRequest {
            duration: Some(7),
            ..ok
        };
        assert!(cap
            .supports(&d7, Operation::TextToVideo)
            .unwrap_err()
            .starts_with("duration: 7"));
    }
}
