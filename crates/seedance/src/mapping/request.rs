//! Unified request → Ark create body (`spec/upstreams.md`, Seedance "Create").
//!
//! Every field of the body is set by the gateway or mapped from a catalog field the
//! catalog validated and priced (`design/RELIABILITY.md` X1; the test
//! `every_upstream_field_is_gateway_or_catalog_controlled` holds the mapping to it):
//!
//! | Ark field | from |
//! |---|---|
//! | `model` | the offering's provider model, in the region's spelling (gateway) |
//! | `content[]` text | `prompt` |
//! | `content[]` image_url + role | `images` (0: text to video, 1: `first_frame`, 2: + `last_frame`) |
//! | `resolution` | `resolution` |
//! | `ratio` | `aspectRatio` |
//! | `duration` | `duration` |
//! | `generate_audio` | `generateAudio`, always sent (spec: "send it explicitly") |
//! | `camera_fixed` | `fixedLens` |
//! | `watermark` | always `false` (gateway) |
//! | `callback_url` | the gateway's per-task callback URL, never the caller's |
//!
//! Not sent: `seed` (the catalog has no seed field, so Ark picks one), `return_last_frame`,
//! `service_tier`, `execution_expires_after` (Ark's defaults). The catalog's `nsfwChecker`
//! has no Ark counterpart: Ark moderates every task (its `…SensitiveContentDetected`
//! codes), so it is not forwarded. Ark has no field for an external id, so genmux's id for
//! the submission is not sent either (a task of unknown outcome is found by its callback).

use crate::error::PROVIDER;
use crate::rules;
use crate::wire::{Content, CreateTaskRequest, ImageRole};
use genmux_core::{Error, ErrorKind, GenerationRequest, MediaInput, Operation, Result};

/// Ark's text commands: parameters written into the prompt (`--rs 1080p --dur 12`), which
/// Seedance models read as if they were body fields. A caller could use them to change
/// what was priced, so a prompt carrying one is refused (X1). Names as BytePlus documents
/// them for Seedance (long and short forms).
const TEXT_COMMANDS: &[&str] = &[
    "resolution",
    "rs",
    "ratio",
    "rt",
    "duration",
    "dur",
    "framespersecond",
    "fps",
    "seed",
    "camerafixed",
    "cf",
    "watermark",
    "wm",
];

/// The create body for `req` (validated by the catalog, defaults applied) as operation
/// `op` on the Ark model `model_id` (already in the region's spelling), with the gateway's
/// `callback_url`.
///
/// `Unsupported` when the catalog allows what this Seedance model cannot do (an aspect
/// ratio Ark lacks), `InvalidRequest` naming the field when a priced value is missing or
/// out of the model's range: either way the router tries the next provider.
pub fn create_request(
    req: &GenerationRequest,
    op: Operation,
    model_id: &str,
    callback_url: Option<&str>,
) -> Result<CreateTaskRequest> {
    let rules = rules::rules(model_id).ok_or_else(|| {
        unsupported(format!(
            "model `{model_id}` is not a Seedance model genmux knows (known: {}, {})",
            rules::BYTEPLUS_1_5_PRO,
            rules::VOLCENGINE_1_5_PRO
        ))
    })?;
    let mut content = Vec::with_capacity(3);
    if let Some(prompt) = req.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
        if let Some(cmd) = text_command(prompt) {
            return Err(invalid(format!(
                "prompt: `{cmd}` is an Ark text command that would override a priced parameter; \
                 remove it and use the request's own fields"
            )));
        }
        content.push(Content::text(prompt));
    }
    content.extend(frames(req, op, rules)?);
    if content.is_empty() {
        return Err(invalid("prompt: required for text to video".into()));
    }
    let resolution = req
        .resolution
        .as_deref()
        .ok_or_else(|| invalid("resolution: missing (the catalog prices it)".into()))?;
    if !rules.resolutions.contains(&resolution) {
        return Err(unsupported(format!(
            "resolution: `{resolution}` is not a Seedance resolution (allowed: {})",
            rules.resolutions.join(", ")
        )));
    }
    let ratio = match req.aspect_ratio.as_deref() {
        // `adaptive` is Ark's, not a catalog value: never sent on a caller's behalf.
        Some(r) if r != "adaptive" && rules.ratios.contains(&r) => Some(r.to_string()),
        Some(r) => {
            return Err(unsupported(format!(
                "aspectRatio: `{r}` is not a Seedance ratio (allowed: {})",
                rules
                    .ratios
                    .iter()
                    .filter(|r| **r != "adaptive")
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        None => None,
    };
    let duration = req
        .duration
        .ok_or_else(|| invalid("duration: missing (the catalog prices it)".into()))?;
    if !rules.durations.contains(duration) {
        return Err(unsupported(format!(
            "duration: {duration} s is not a Seedance 1.5 Pro duration (allowed: 4 to 12)"
        )));
    }
    let audio = req.generate_audio.unwrap_or(false);
    if audio && !rules.audio {
        return Err(unsupported(format!(
            "generateAudio: `{model_id}` makes no sound track"
        )));
    }
    if req.fixed_lens.is_some() && !rules.camera_fixed {
        return Err(unsupported(format!(
            "fixedLens: `{model_id}` takes no camera_fixed"
        )));
    }
    Ok(CreateTaskRequest {
        model: model_id.to_string(),
        content,
        resolution: Some(resolution.to_string()),
        ratio,
        duration: Some(i64::from(duration)),
        seed: None,
        camera_fixed: req.fixed_lens,
        watermark: Some(false),
        generate_audio: Some(audio),
        return_last_frame: None,
        service_tier: None,
        execution_expires_after: None,
        callback_url: callback_url.map(str::to_string),
    })
}

/// The image items for `op`: none for text to video, the first frame, or the first and
/// last frames (spec, 1.5 Pro: "0 images = text to video, 1 = first frame, 2 = first +
/// last frame").
fn frames(
    req: &GenerationRequest,
    op: Operation,
    rules: &rules::ModelRules,
) -> Result<Vec<Content>> {
    if req.end_image.is_some() {
        return Err(unsupported(
            "endImage: Seedance takes a last frame only after a first frame; give both in images"
                .into(),
        ));
    }
    let want = match op {
        Operation::TextToVideo => 0,
        Operation::ImageToVideo => 1,
        Operation::StartEndFrame => 2,
        other => {
            return Err(unsupported(format!(
                "operation {other}: Seedance makes text to video, image to video and start/end frame videos"
            )))
        }
    };
    if want > usize::from(rules.max_images) || req.images.len() != want {
        return Err(invalid(format!(
            "images: {} given; {op} takes {want}",
            req.images.len()
        )));
    }
    let roles = [ImageRole::FirstFrame, ImageRole::LastFrame];
    req.images
        .iter()
        .zip(roles)
        .enumerate()
        .map(|(i, (image, role))| Ok(Content::image(image_url(image, i)?, role)))
        .collect()
}

/// An image as Ark's `image_url.url`: a URL as given, Base64 as a `data:` URI of the
/// format its bytes show.
fn image_url(image: &MediaInput, index: usize) -> Result<String> {
    match image {
        MediaInput::Url(url) => Ok(url.clone()),
        MediaInput::Base64(b64) => {
            let bytes = image.decoded().unwrap_or_default();
            let format = image_format(&bytes).ok_or_else(|| {
                invalid(format!(
                    "images[{index}]: the Base64 data is not a JPEG, PNG, WebP, GIF, BMP or TIFF image"
                ))
            })?;
            Ok(format!("data:image/{format};base64,{b64}"))
        }
    }
}

/// The image format of `bytes` by its magic number.
fn image_format(bytes: &[u8]) -> Option<&'static str> {
    Some(match bytes {
        [0x89, b'P', b'N', b'G', ..] => "png",
        [0xFF, 0xD8, 0xFF, ..] => "jpeg",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "webp",
        [b'G', b'I', b'F', b'8', ..] => "gif",
        [b'B', b'M', ..] => "bmp",
        [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => "tiff",
        _ => return None,
    })
}

/// The first Ark text command in `prompt` (`--dur`, `--rs=1080p`, …), if any.
fn text_command(prompt: &str) -> Option<&str> {
    prompt.split_whitespace().find(|token| {
        token.strip_prefix("--").is_some_and(|rest| {
            let name = rest.split('=').next().unwrap_or_default();
            TEXT_COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(name))
        })
    })
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest, message).with_provider(PROVIDER)
}

fn unsupported(message: String) -> Error {
    Error::new(ErrorKind::Unsupported, message).with_provider(PROVIDER)
}
