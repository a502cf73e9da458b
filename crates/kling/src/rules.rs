//! What each Kling model accepts, stated once (issue 14 point 7): one [`ModelRules`] row per
//! provider model — its operations, durations, modes, enums, limits and price in Kling
//! units — read by the offerings ([`crate::offerings::capability`]), by the request
//! mapping ([`crate::mapping`]) and by the tests that hold the catalog and the simulator to
//! the same rules (`tests/rules_agree.rs`). Each value cites `spec/kling-api.md`.
//!
//! The simulator (`genmux-sim`) keeps its own implementation: it plays the upstream, and a
//! rule both sides read from one table could never catch a mistake in that table.

use crate::wire::{Endpoint, Mode, ShotType};
use genmux_core::pricing::PriceInputs;
use genmux_core::{Operation, SecondsSet, UnknownLookup};

/// spec "Common rules": prompts and negative prompts are at most 2500 characters.
pub const MAX_PROMPT_CHARS: u32 = 2500;

/// spec §2–§4: the aspect ratios of text2video and multi-image2video.
pub const VIDEO_ASPECT_RATIOS: &[&str] = &["16:9", "9:16", "1:1"];

/// spec §7: the eight aspect ratios of images/generations.
pub const IMAGE_ASPECT_RATIOS: &[&str] =
    &["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"];

/// spec §8: omni-image takes the eight image ratios or `auto` (the model decides).
pub const OMNI_ASPECT_RATIOS: &[&str] = &[
    "auto", "16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9",
];

/// spec §2: `std` (default) or `pro`.
pub const MODES: &[&str] = &["std", "pro"];

/// spec §7, §8: `1k` (default) or `2k`.
pub const IMAGE_RESOLUTIONS: &[&str] = &["1k", "2k"];

/// How a model takes `sound` (spec §2: "only models V2.6 and later").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sound {
    /// No `sound` field: generated audio cannot be asked for.
    No,
    /// `sound: on` only in `pro` mode (spec "Kling 3.0": "`sound` on `kling-v2-6`
    /// requires `mode: pro`"); the mapping sends `pro` when no mode was chosen.
    ProOnly,
    /// `sound: on` in either mode (kling-v3: the price list has std and pro with audio).
    AnyMode,
}

/// How a model takes `cfg_scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CfgScale {
    /// Not a field of the endpoint.
    No,
    /// Sent as given, [0, 1].
    Sent,
    /// Accepted and not sent: spec §2, "not supported by V2.x models" (the catalog's
    /// `cfgScale` stays a unified-API field for these models).
    Dropped,
}

/// kling-v3 multi-shot (spec "Kling 3.0": `multi_shot`, `shot_type`,
/// `multi_prompt: [{index, prompt, duration: "4"}]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultiShot {
    /// Most shots in `multi_prompt`.
    pub max_shots: usize,
    /// Shortest shot, seconds.
    pub min_shot_seconds: u32,
    /// The `shot_type` sent with the caller's shots (`multi_prompt`); without shots the
    /// model divides the prompt itself (`intelligence`, spec "Field types").
    pub shot_type: ShotType,
}

/// Why a request does not fit a model's rules: the caller asked for something invalid
/// for it, or for a feature the model lacks (another provider may have it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A value outside the model's rules (→ `ErrorKind::InvalidRequest`).
    Invalid(String),
    /// A feature the model does not have (→ `ErrorKind::Unsupported`).
    Unsupported(String),
}

impl Refusal {
    /// The message, naming the field first.
    pub fn message(&self) -> &str {
        match self {
            Refusal::Invalid(m) | Refusal::Unsupported(m) => m,
        }
    }
}

/// A model's upstream price in Kling units (spec "Indicative prices"; 1 unit ≈ $0.14).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnitPrice {
    /// Units per second of output, by mode and sound.
    PerSecond {
        /// `std`, no sound.
        std: f64,
        /// `pro`, no sound.
        pro: f64,
        /// `std` with sound (`None`: not sold).
        std_sound: Option<f64>,
        /// `pro` with sound (`None`: not sold).
        pro_sound: Option<f64>,
    },
    /// Units per request, whatever its length.
    PerRequest(f64),
    /// Units per started block of `seconds` of output.
    PerBlock {
        /// Block length.
        seconds: u32,
        /// Units per block.
        units: f64,
    },
    /// Units per image, by resolution.
    PerImage {
        /// A `1k` image.
        k1: f64,
        /// A `2k` image.
        k2: f64,
    },
}

/// Everything genmux knows Kling accepts for one provider model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelRules {
    /// genmux's name of the provider model (the catalog's `providers[].model`): Kling's
    /// model name (`kling-v2-5-turbo`), or the endpoint name where the endpoint's rules,
    /// not the model's, decide (`motion-control`, `motion-control-v3`, `video-extend`,
    /// `advanced-lip-sync`).
    pub provider_model: &'static str,
    /// The `model_name` sent; `None` for endpoints without one (extend, lip sync).
    pub model_name: Option<&'static str>,
    /// The operations Kling serves with it.
    pub operations: &'static [Operation],
    /// The allowed `duration` in seconds; `None` where the length is not the caller's
    /// (extend adds 4–5 s; lip sync follows its audio; images).
    pub durations: Option<SecondsSet>,
    /// Whether `duration` goes on the wire (motion control's length is its motion video's).
    pub duration_on_wire: bool,
    /// The allowed `mode`s; empty = no `mode` field.
    pub modes: &'static [&'static str],
    /// `mode` must be given (spec §5, motion control).
    pub mode_required: bool,
    /// The allowed `aspect_ratio`s where the create body takes one (text2video,
    /// multi-image2video, images); empty = not a field (image2video follows its image).
    pub aspect_ratios: &'static [&'static str],
    /// The allowed `resolution`s (images); empty = not a field.
    pub resolutions: &'static [&'static str],
    /// `n` images, 1 to this (spec §7, §8: [1, 9]); 0 = not a field.
    pub max_n: u32,
    /// `sound`.
    pub sound: Sound,
    /// `cfg_scale`.
    pub cfg_scale: CfgScale,
    /// `camera_control` offered through Kling for this model. Spec §2, §3 list the field
    /// for any text2video / image2video model; genmux offers it where it was verified
    /// (kling-v2-6), and camera requests for the other models go to another provider.
    pub camera_control: bool,
    /// `static_mask` / `dynamic_masks` offered through Kling (spec §3, image2video); not
    /// offered yet for the same reason.
    pub masks: bool,
    /// `negative_prompt`.
    pub negative_prompt: bool,
    /// Multi-shot, where the model has it.
    pub multi_shot: Option<MultiShot>,
    /// Most subject-library `element_list` items (spec §8; "Field types": ≤ 3 on kling-v3
    /// image2video, ≤ 1 on v3 motion control); 0 = not a field.
    pub max_elements: u8,
    /// Most input images (start + end frame, `image_list`, references).
    pub max_images: u8,
    /// Longest prompt, characters; `None` where there is no prompt (lip sync).
    pub max_prompt_chars: Option<u32>,
    /// Upstream price in units.
    pub price: UnitPrice,
    /// Where the rules come from.
    pub source: &'static str,
}

use Operation::*;

/// The table: every Kling model genmux offers.
pub static MODELS: &[ModelRules] = &[
    ModelRules {
        provider_model: "kling-v2-5-turbo",
        model_name: Some("kling-v2-5-turbo"),
        // §2 text2video, §3 image2video with image / image_tail.
        operations: &[TextToVideo, ImageToVideo, StartEndFrame],
        // §2, §3: duration "5" or "10".
        durations: Some(SecondsSet::of(&[5, 10])),
        duration_on_wire: true,
        modes: MODES,
        mode_required: false,
        aspect_ratios: VIDEO_ASPECT_RATIOS,
        resolutions: &[],
        max_n: 0,
        sound: Sound::No,
        cfg_scale: CfgScale::Dropped,
        camera_control: false,
        masks: false,
        negative_prompt: true,
        multi_shot: None,
        max_elements: 0,
        // §3: image + image_tail.
        max_images: 2,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // "v2.5-turbo and v2.6, 5 s: std 1.5 u, pro 2.5 u; 10 s doubles".
        price: UnitPrice::PerSecond {
            std: 0.3,
            pro: 0.5,
            std_sound: None,
            pro_sound: None,
        },
        source: "spec/kling-api.md §2, §3, Indicative prices",
    },
    ModelRules {
        provider_model: "kling-v2-6",
        model_name: Some("kling-v2-6"),
        // §2 text2video; "Field types": kling-v2-6 also serves image2video (§3, with
        // image / image_tail).
        operations: &[TextToVideo, ImageToVideo, StartEndFrame],
        durations: Some(SecondsSet::of(&[5, 10])),
        duration_on_wire: true,
        modes: MODES,
        mode_required: false,
        aspect_ratios: VIDEO_ASPECT_RATIOS,
        resolutions: &[],
        max_n: 0,
        // "Kling 3.0": sound on kling-v2-6 requires mode pro.
        sound: Sound::ProOnly,
        cfg_scale: CfgScale::Dropped,
        // §2: camera_control (simple + config, or a preset type).
        camera_control: true,
        masks: false,
        negative_prompt: true,
        multi_shot: None,
        max_elements: 0,
        // §3: image + image_tail.
        max_images: 2,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // "v2.6 pro + audio 5 u" per 5 s.
        price: UnitPrice::PerSecond {
            std: 0.3,
            pro: 0.5,
            std_sound: None,
            pro_sound: Some(1.0),
        },
        source: "spec/kling-api.md §2, §3, Kling 3.0, Indicative prices",
    },
    ModelRules {
        provider_model: "kling-v3",
        model_name: Some("kling-v3"),
        operations: &[TextToVideo, ImageToVideo, StartEndFrame],
        // "Kling 3.0": 3–15 s, the spec's decision for client, catalog and simulator.
        durations: Some(SecondsSet::range(3, 15)),
        duration_on_wire: true,
        modes: MODES,
        mode_required: false,
        aspect_ratios: VIDEO_ASPECT_RATIOS,
        resolutions: &[],
        max_n: 0,
        sound: Sound::AnyMode,
        cfg_scale: CfgScale::Sent,
        camera_control: false,
        masks: false,
        negative_prompt: true,
        multi_shot: Some(MultiShot {
            max_shots: 6,
            min_shot_seconds: 1,
            shot_type: ShotType::Customize,
        }),
        // "Field types": v3 image2video takes element_list (≤ 3 subject-library ids;
        // text2video lists none). The catalog's klingElements are image groups, which /v1
        // does not take: those requests go to another provider.
        max_elements: 3,
        max_images: 2,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // "v3 per second: std 0.6 u, pro 0.8 u, with audio 0.9 / 1.2 u".
        price: UnitPrice::PerSecond {
            std: 0.6,
            pro: 0.8,
            std_sound: Some(0.9),
            pro_sound: Some(1.2),
        },
        source: "spec/kling-api.md Kling 3.0, Indicative prices",
    },
    ModelRules {
        provider_model: "kling-v1-6",
        model_name: Some("kling-v1-6"),
        // §4: multi-image2video is "only kling-v1-6".
        operations: &[MultiImageToVideo],
        durations: Some(SecondsSet::of(&[5, 10])),
        duration_on_wire: true,
        modes: MODES,
        mode_required: false,
        aspect_ratios: VIDEO_ASPECT_RATIOS,
        resolutions: &[],
        max_n: 0,
        sound: Sound::No,
        // §4 lists no cfg_scale.
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        negative_prompt: true,
        multi_shot: None,
        max_elements: 0,
        // §4: 1–4 images.
        max_images: 4,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // Assumed as v2.x: the spec gives no v1.6 price.
        price: UnitPrice::PerSecond {
            std: 0.3,
            pro: 0.5,
            std_sound: None,
            pro_sound: None,
        },
        source: "spec/kling-api.md §4 (price assumed as v2.x)",
    },
    ModelRules {
        provider_model: "motion-control",
        // "Field types": motion-control takes model_name, default kling-v2-6; sent
        // explicitly so the row and the price never depend on Kling's default.
        model_name: Some("kling-v2-6"),
        operations: &[MotionControl],
        // §5: motion video ≥ 3 s; ≤ 10 s (orientation image) or ≤ 30 s (video). Its
        // length is the motion video's, not a body field.
        durations: Some(SecondsSet::range(3, 30)),
        duration_on_wire: false,
        // §5: mode is required.
        modes: MODES,
        mode_required: true,
        aspect_ratios: &[],
        resolutions: &[],
        max_n: 0,
        sound: Sound::No,
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        negative_prompt: false,
        multi_shot: None,
        max_elements: 0,
        // §5: one character image.
        max_images: 1,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // "Motion control per second: std 0.9 u, pro 1.2 u".
        price: UnitPrice::PerSecond {
            std: 0.9,
            pro: 1.2,
            std_sound: None,
            pro_sound: None,
        },
        source: "spec/kling-api.md §5, Indicative prices",
    },
    ModelRules {
        provider_model: "motion-control-v3",
        // "Field types": motion-control also takes model_name kling-v3.
        model_name: Some("kling-v3"),
        operations: &[MotionControl],
        // §5, the endpoint's rules: motion video 3–10 s (orientation image) or 3–30 s.
        durations: Some(SecondsSet::range(3, 30)),
        duration_on_wire: false,
        modes: MODES,
        mode_required: true,
        aspect_ratios: &[],
        resolutions: &[],
        max_n: 0,
        sound: Sound::No,
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        negative_prompt: false,
        multi_shot: None,
        // "Field types": v3 motion control takes element_list with at most 1 item.
        max_elements: 1,
        max_images: 1,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // The spec prices motion control once ("std 0.9 u, pro 1.2 u", the v2.6 default)
        // and kling-v3 per second ("std 0.6 u, pro 0.8 u"); v3 motion control is assumed
        // to cost v3's per-second rate (the kept original sound is not generated audio).
        price: UnitPrice::PerSecond {
            std: 0.6,
            pro: 0.8,
            std_sound: None,
            pro_sound: None,
        },
        source: "spec/kling-api.md §5, Field types, Indicative prices (v3 per second; assumed for motion control)",
    },
    ModelRules {
        provider_model: "video-extend",
        model_name: None,
        operations: &[VideoExtend],
        // §6: each extension adds 4–5 s; not the caller's choice.
        durations: None,
        duration_on_wire: false,
        // §6: model and mode are inherited from the source.
        modes: &[],
        mode_required: false,
        aspect_ratios: &[],
        resolutions: &[],
        max_n: 0,
        sound: Sound::No,
        // §6 lists cfg_scale [0, 1].
        cfg_scale: CfgScale::Sent,
        camera_control: false,
        masks: false,
        negative_prompt: true,
        multi_shot: None,
        max_elements: 0,
        max_images: 0,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // Assumed one 5 s std generation: the spec gives no extend price.
        price: UnitPrice::PerRequest(1.5),
        source: "spec/kling-api.md §6 (price assumed)",
    },
    ModelRules {
        provider_model: "advanced-lip-sync",
        model_name: None,
        operations: &[LipSync],
        durations: None,
        duration_on_wire: false,
        modes: &[],
        mode_required: false,
        aspect_ratios: &[],
        resolutions: &[],
        max_n: 0,
        sound: Sound::No,
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        negative_prompt: false,
        multi_shot: None,
        max_elements: 0,
        max_images: 0,
        max_prompt_chars: None,
        // "Lip sync 0.5 u per 5 s".
        price: UnitPrice::PerBlock {
            seconds: 5,
            units: 0.5,
        },
        source: "spec/kling-api.md §1, Indicative prices",
    },
    ModelRules {
        provider_model: "kling-v2-1",
        model_name: Some("kling-v2-1"),
        // §7 images/generations without a reference image.
        operations: &[TextToImage],
        durations: None,
        duration_on_wire: false,
        modes: &[],
        mode_required: false,
        aspect_ratios: IMAGE_ASPECT_RATIOS,
        resolutions: IMAGE_RESOLUTIONS,
        max_n: 9,
        sound: Sound::No,
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        negative_prompt: true,
        multi_shot: None,
        max_elements: 0,
        max_images: 0,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // Assumed: the spec gives no image price.
        price: UnitPrice::PerImage { k1: 0.25, k2: 0.5 },
        source: "spec/kling-api.md §7 (price assumed)",
    },
    ModelRules {
        provider_model: "kling-v1-5",
        model_name: Some("kling-v1-5"),
        // §7: image_reference is required for kling-v1-5 with an image.
        operations: &[ImageToImage],
        durations: None,
        duration_on_wire: false,
        modes: &[],
        mode_required: false,
        aspect_ratios: IMAGE_ASPECT_RATIOS,
        resolutions: IMAGE_RESOLUTIONS,
        max_n: 9,
        sound: Sound::No,
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        // §7: negative_prompt is not allowed with a reference image.
        negative_prompt: false,
        multi_shot: None,
        max_elements: 0,
        max_images: 1,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        price: UnitPrice::PerImage { k1: 0.25, k2: 0.5 },
        source: "spec/kling-api.md §7 (price assumed)",
    },
    ModelRules {
        provider_model: "kling-image-o1",
        model_name: Some("kling-image-o1"),
        // §8 omni-image: only kling-image-o1.
        operations: &[OmniImage],
        durations: None,
        duration_on_wire: false,
        modes: &[],
        mode_required: false,
        aspect_ratios: OMNI_ASPECT_RATIOS,
        resolutions: IMAGE_RESOLUTIONS,
        max_n: 9,
        sound: Sound::No,
        cfg_scale: CfgScale::No,
        camera_control: false,
        masks: false,
        negative_prompt: false,
        multi_shot: None,
        // §8 element_list (elements + images ≤ 10).
        max_elements: 10,
        // §8: elements + images ≤ 10.
        max_images: 10,
        max_prompt_chars: Some(MAX_PROMPT_CHARS),
        // Assumed: the spec gives no omni-image price.
        price: UnitPrice::PerImage { k1: 0.5, k2: 1.0 },
        source: "spec/kling-api.md §8 (price assumed)",
    },
];

/// The rules of a provider model, or `None` for a name genmux does not know (an operator
/// override naming a newer Kling model is not offered with guessed limits).
pub fn rules(provider_model: &str) -> Option<&'static ModelRules> {
    MODELS.iter().find(|m| m.provider_model == provider_model)
}

impl ModelRules {
    /// Whether the model serves `op`.
    pub fn serves(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }

    /// How a task of unknown outcome is found (spec "Reconciliation"): by the external id
    /// in the query path where every endpoint of the model takes it, else through the list
    /// ([`Endpoint::query_accepts_external_id`] is the one statement of which do).
    pub fn unknown_lookup(&self) -> UnknownLookup {
        let by_query = self
            .operations
            .iter()
            .all(|op| crate::mapping::endpoint_for(*op).query_accepts_external_id());
        if by_query {
            UnknownLookup::ExternalIdQuery
        } else {
            UnknownLookup::ListScan
        }
    }

    /// Whether `secs` is an allowed `duration`.
    pub fn allows_duration(&self, secs: u32) -> bool {
        self.durations.is_some_and(|d| d.contains(secs))
    }

    /// The allowed durations in words, for messages (`5, 10` or `3 to 15`).
    pub fn durations_text(&self) -> String {
        let Some(set) = self.durations else {
            return "none".into();
        };
        let secs: Vec<u32> = (0..64).filter(|s| set.contains(*s)).collect();
        let contiguous = secs.windows(2).all(|w| w[1] == w[0] + 1);
        match (secs.first(), secs.last()) {
            (Some(lo), Some(hi)) if contiguous && secs.len() > 2 => format!("{lo} to {hi}"),
            _ => secs
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The mode sent for a request asking for `mode` with or without sound, or why the
    /// model cannot take it: `Ok(None)` leaves the upstream's default (`std`).
    pub fn wire_mode(&self, mode: Option<&str>, sound: bool) -> Result<Option<Mode>, Refusal> {
        let model = self.provider_model;
        let mode = match mode {
            None => None,
            Some(m) if self.modes.contains(&m) => Mode::parse(m),
            Some(m) if self.modes.is_empty() => {
                return Err(Refusal::Unsupported(format!(
                    "mode: {model} takes no mode (`{m}` given)"
                )))
            }
            Some(m) => {
                return Err(Refusal::Invalid(format!(
                    "mode: `{m}` is not allowed for {model} (allowed: {})",
                    self.modes.join(", ")
                )))
            }
        };
        if mode.is_none() && self.mode_required {
            return Err(Refusal::Invalid(format!(
                "mode: required for {model} (allowed: {})",
                self.modes.join(", ")
            )));
        }
        match (sound, self.sound) {
            (false, _) | (true, Sound::AnyMode) => Ok(mode),
            (true, Sound::No) => Err(Refusal::Unsupported(format!(
                "generateAudio: {model} cannot generate sound (spec/kling-api.md §2: V2.6 and later)"
            ))),
            (true, Sound::ProOnly) => match mode {
                Some(Mode::Std) => Err(Refusal::Invalid(format!(
                    "mode: std does not allow generateAudio on {model} (spec/kling-api.md: sound needs mode pro)"
                ))),
                _ => Ok(Some(Mode::Pro)),
            },
        }
    }

    /// Checks `duration` (when given) against [`ModelRules::durations`].
    pub fn check_duration(&self, secs: Option<u32>) -> Result<(), Refusal> {
        match secs {
            Some(d) if self.duration_on_wire && !self.allows_duration(d) => {
                Err(Refusal::Invalid(format!(
                    "duration: {d} is not allowed for {} (allowed: {} s)",
                    self.provider_model,
                    self.durations_text()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Checks `aspectRatio` (when given and sent) against [`ModelRules::aspect_ratios`].
    pub fn check_aspect_ratio(&self, op: Operation, aspect: Option<&str>) -> Result<(), Refusal> {
        match aspect {
            Some(a) if aspect_ratio_on_wire(op) && !self.aspect_ratios.contains(&a) => {
                Err(Refusal::Invalid(format!(
                    "aspectRatio: `{a}` is not allowed for {} (allowed: {})",
                    self.provider_model,
                    self.aspect_ratios.join(", ")
                )))
            }
            _ => Ok(()),
        }
    }

    /// Checks `resolution` (images) against [`ModelRules::resolutions`].
    pub fn check_resolution(&self, resolution: Option<&str>) -> Result<(), Refusal> {
        match resolution {
            Some(r) if !self.resolutions.contains(&r) => Err(Refusal::Invalid(format!(
                "resolution: `{r}` is not allowed for {} (allowed: {})",
                self.provider_model,
                if self.resolutions.is_empty() {
                    "none".to_string()
                } else {
                    self.resolutions.join(", ")
                }
            ))),
            _ => Ok(()),
        }
    }

    /// Checks `n` (images) against [`ModelRules::max_n`].
    pub fn check_n(&self, n: Option<u32>) -> Result<(), Refusal> {
        match n {
            Some(n) if n == 0 || n > self.max_n => Err(Refusal::Invalid(format!(
                "n: {n} is not allowed for {} (allowed: 1 to {})",
                self.provider_model, self.max_n
            ))),
            _ => Ok(()),
        }
    }

    /// The units Kling charges for a request with these price inputs (mode after
    /// [`ModelRules::wire_mode`]: sound on a pro-only model is priced as pro), or `None`
    /// when the model does not sell that combination.
    pub fn units(&self, inputs: &PriceInputs<'_>) -> Option<f64> {
        match self.price {
            UnitPrice::PerSecond {
                std,
                pro,
                std_sound,
                pro_sound,
            } => {
                let pro_mode =
                    inputs.mode == Some("pro") || (inputs.audio && self.sound == Sound::ProOnly);
                let per_second = match (pro_mode, inputs.audio) {
                    (false, false) => Some(std),
                    (true, false) => Some(pro),
                    (false, true) => std_sound,
                    (true, true) => pro_sound,
                }?;
                Some(per_second * f64::from(inputs.seconds))
            }
            UnitPrice::PerRequest(units) => Some(units),
            UnitPrice::PerBlock { seconds, units } => {
                Some(units * f64::from(inputs.seconds.div_ceil(seconds.max(1))))
            }
            UnitPrice::PerImage { k1, k2 } => {
                let per_image = if inputs.resolution == Some("2k") {
                    k2
                } else {
                    k1
                };
                Some(per_image * f64::from(inputs.images.max(1)))
            }
        }
    }
}

/// The create endpoint of an operation takes `aspect_ratio` (image2video follows its
/// image, spec §3; motion control, extend and lip sync have none).
pub fn aspect_ratio_on_wire(op: Operation) -> bool {
    matches!(
        crate::mapping::endpoint_for(op),
        Endpoint::Text2Video
            | Endpoint::MultiImage2Video
            | Endpoint::ImageGenerations
            | Endpoint::OmniImage
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_consistent() {
        for m in MODELS {
            assert!(!m.operations.is_empty(), "{}", m.provider_model);
            assert_eq!(
                rules(m.provider_model).map(|r| r.provider_model),
                Some(m.provider_model),
                "one row per model"
            );
            assert_eq!(m.mode_required, m.mode_required && !m.modes.is_empty());
            if m.duration_on_wire {
                assert!(m.durations.is_some(), "{}", m.provider_model);
            }
            if m.multi_shot.is_some() {
                assert!(m.durations.is_some(), "{}", m.provider_model);
            }
        }
        assert!(rules("kling-v9").is_none());
    }

    #[test]
    fn lookups_follow_the_endpoints() {
        assert_eq!(
            rules("kling-v3").unwrap().unknown_lookup(),
            UnknownLookup::ExternalIdQuery
        );
        assert_eq!(
            rules("advanced-lip-sync").unwrap().unknown_lookup(),
            UnknownLookup::ListScan
        );
    }

    #[test]
    fn modes_and_sound() {
        let v26 = rules("kling-v2-6").unwrap();
        assert_eq!(v26.wire_mode(None, true), Ok(Some(Mode::Pro)));
        assert!(v26
            .wire_mode(Some("std"), true)
            .unwrap_err()
            .message()
            .starts_with("mode: std does not allow generateAudio"));
        let v3 = rules("kling-v3").unwrap();
        assert_eq!(v3.wire_mode(Some("std"), true), Ok(Some(Mode::Std)));
        assert!(v3
            .wire_mode(Some("turbo"), false)
            .unwrap_err()
            .message()
            .contains("allowed: std, pro"));
        let turbo = rules("kling-v2-5-turbo").unwrap();
        assert!(matches!(
            turbo.wire_mode(None, true),
            Err(Refusal::Unsupported(m)) if m.starts_with("generateAudio")
        ));
        let motion = rules("motion-control").unwrap();
        assert!(motion
            .wire_mode(None, false)
            .unwrap_err()
            .message()
            .starts_with("mode: required"));
        assert!(rules("video-extend")
            .unwrap()
            .wire_mode(Some("pro"), false)
            .is_err());
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(rules("kling-v3").unwrap().durations_text(), "3 to 15");
        assert_eq!(rules("kling-v2-6").unwrap().durations_text(), "5, 10");
        assert!(rules("kling-v3").unwrap().allows_duration(7));
        assert!(!rules("kling-v2-6").unwrap().allows_duration(7));
        assert_eq!(
            rules("kling-v2-6").unwrap().check_duration(Some(7)),
            Err(Refusal::Invalid(
                "duration: 7 is not allowed for kling-v2-6 (allowed: 5, 10 s)".into()
            ))
        );
        let v3 = rules("kling-v3").unwrap();
        assert!(v3.check_aspect_ratio(TextToVideo, Some("4:3")).is_err());
        // image2video follows its image: the ratio is not sent, so not checked.
        assert!(v3.check_aspect_ratio(ImageToVideo, Some("4:3")).is_ok());
        let img = rules("kling-v2-1").unwrap();
        assert!(img.check_resolution(Some("4k")).is_err());
        assert!(img.check_n(Some(10)).is_err() && img.check_n(Some(9)).is_ok());
    }

    #[test]
    fn units_follow_the_price_list() {
        let at = |pm: &str, inputs: PriceInputs<'_>| rules(pm).unwrap().units(&inputs).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let secs = |s, mode, audio| PriceInputs {
            seconds: s,
            mode,
            audio,
            ..Default::default()
        };
        // v2.5-turbo 5 s std 1.5 u, pro 2.5; 10 s doubles.
        assert!(close(at("kling-v2-5-turbo", secs(5, None, false)), 1.5));
        assert!(close(
            at("kling-v2-5-turbo", secs(10, Some("pro"), false)),
            5.0
        ));
        // v2.6 pro + audio 5 u per 5 s, also when no mode was chosen (sent as pro).
        assert!(close(at("kling-v2-6", secs(5, None, true)), 5.0));
        // v3 per second.
        assert!(close(at("kling-v3", secs(7, Some("std"), true)), 6.3));
        assert!(close(at("kling-v3", secs(15, Some("pro"), false)), 12.0));
        // lip sync per started 5 s.
        assert!(close(at("advanced-lip-sync", secs(6, None, false)), 1.0));
        let imgs = PriceInputs {
            images: 4,
            resolution: Some("2k"),
            ..Default::default()
        };
        assert!(close(at("kling-image-o1", imgs), 4.0));
        assert_eq!(
            rules("kling-v2-5-turbo")
                .unwrap()
                .units(&secs(5, None, true)),
            None
        );
    }

    /// The upstream costs the offerings order candidates by are these units at
    /// [`crate::offerings::USD_PER_UNIT`]: the table and the cost rules do not drift apart.
    #[test]
    fn offering_costs_are_the_table_units() {
        let cases: &[(&str, PriceInputs<'static>)] = &[
            (
                "kling-v2-5-turbo",
                PriceInputs {
                    seconds: 10,
                    mode: Some("pro"),
                    ..Default::default()
                },
            ),
            (
                "kling-v2-6",
                PriceInputs {
                    seconds: 5,
                    audio: true,
                    ..Default::default()
                },
            ),
            (
                "kling-v3",
                PriceInputs {
                    seconds: 12,
                    mode: Some("std"),
                    audio: true,
                    ..Default::default()
                },
            ),
            (
                "kling-v1-6",
                PriceInputs {
                    seconds: 5,
                    mode: Some("std"),
                    ..Default::default()
                },
            ),
            (
                "motion-control",
                PriceInputs {
                    seconds: 8,
                    mode: Some("pro"),
                    ..Default::default()
                },
            ),
            ("video-extend", PriceInputs::default()),
            (
                "advanced-lip-sync",
                PriceInputs {
                    seconds: 12,
                    ..Default::default()
                },
            ),
            (
                "kling-v2-1",
                PriceInputs {
                    images: 3,
                    resolution: Some("2k"),
                    ..Default::default()
                },
            ),
            (
                "kling-image-o1",
                PriceInputs {
                    images: 2,
                    resolution: Some("1k"),
                    ..Default::default()
                },
            ),
        ];
        for (pm, inputs) in cases {
            let units = rules(pm).unwrap().units(inputs).unwrap();
            let cost = crate::offerings::cost(pm)
                .unwrap()
                .amount_micros(inputs)
                .unwrap();
            let want = (units * crate::offerings::USD_PER_UNIT * 1e6).round() as i64;
            assert!(
                (cost - want).abs() <= 1,
                "{pm}: cost {cost} µUSD, table {want}"
            );
        }
    }
}
