//! Pure functions unified ↔ xAI (`STYLE.md`: mapping without I/O, tested without HTTP).
//!
//! Only validated, priced catalog fields reach xAI (`design/RELIABILITY.md` X1): the
//! prompt, the start frame, the duration, the aspect ratio and the resolution, each
//! checked against [`crate::rules`]; the model is the offering's. xAI takes no id of ours
//! (no external or idempotency id in the spec), and nothing of the caller's own
//! (`externalTaskId`, `projectId`, `callbackUrl`) is sent.

use crate::error::{failed_task_reason, PROVIDER};
use crate::rules;
use crate::wire::{CreateVideoRequest, CreateVideoResponse, ImageUrl, VideoStatus};
use genmux_core::{
    Asset, Error, GenerationRequest, MediaInput, MediaKind, Operation, Result, Submission,
    TaskSnapshot, TaskStatus,
};
use serde_json::json;

/// Ticks per US dollar: `usage.cost_in_usd_ticks`, 10^10 ticks = $1 (spec).
pub const TICKS_PER_USD: i64 = 10_000_000_000;
/// Ticks per micro-USD (10^10 / 10^6).
pub const TICKS_PER_MICRO_USD: i64 = TICKS_PER_USD / 1_000_000;
/// Where a snapshot's `usage` carries xAI's billed cost, in ticks.
pub const USAGE_COST_TICKS: &str = "cost_in_usd_ticks";

fn invalid(message: String) -> Error {
    Error::invalid(message).with_provider(PROVIDER)
}

/// `images[0]` as xAI's `image.url`: a URL as given, a bare Base64 image as a `data:` URI
/// of its sniffed type (Vercel AI SDK sends inline images so).
fn image_url(input: &MediaInput) -> Result<String> {
    match input {
        MediaInput::Url(u) => Ok(u.clone()),
        MediaInput::Base64(b) => {
            let bytes = input.decoded().unwrap_or_default();
            let mime = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                "image/png"
            } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                "image/jpeg"
            } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
                "image/webp"
            } else {
                return Err(invalid(
                    "images[0]: the Base64 data is not a PNG, JPEG or WebP image (allowed: an https URL or a Base64 PNG/JPEG/WebP)".into(),
                ));
            };
            Ok(format!("data:{mime};base64,{b}"))
        }
    }
}

/// The create body for a (catalog-valid, defaulted) request on xAI model `provider_model`.
/// A value xAI does not accept is refused here, naming the field, the value and what is
/// allowed — so the router moves on rather than xAI answering 400.
pub fn create_request(
    req: &GenerationRequest,
    op: Operation,
    provider_model: &str,
) -> Result<CreateVideoRequest> {
    if !rules::knows_model(provider_model) {
        return Err(invalid(format!(
            "model: xAI model `{provider_model}` is not one genmux knows (allowed: {})",
            rules::MODELS.join(", ")
        )));
    }
    let image = match op {
        Operation::TextToVideo => None,
        Operation::ImageToVideo => {
            if req.images.len() > usize::from(rules::MAX_IMAGES) || req.end_frame().is_some() {
                return Err(invalid(format!(
                    "images: {} given, xAI takes one start frame and no end frame",
                    req.images.len()
                )));
            }
            let first = req.start_frame().ok_or_else(|| {
                invalid("images: image to video needs a start frame (images[0])".into())
            })?;
            Some(ImageUrl {
                url: image_url(first)?,
            })
        }
        other => {
            return Err(Error::new(
                genmux_core::ErrorKind::Unsupported,
                format!(
                "operation {other}: xAI video generation takes a prompt and at most a start frame"
            ),
            )
            .with_provider(PROVIDER))
        }
    };
    let prompt = req
        .prompt
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| invalid("prompt: required by xAI".into()))?;
    if let Some(d) = req.duration {
        if !rules::DURATIONS.contains(d) {
            return Err(invalid(format!(
                "duration: {d} s is not accepted by xAI (allowed: {}–{} s)",
                rules::MIN_DURATION_SECS,
                rules::MAX_DURATION_SECS
            )));
        }
    }
    let one_of = |field: &str, value: Option<&str>, allowed: &[&str]| -> Result<Option<String>> {
        match value {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(v) => Err(invalid(format!(
                "{field}: `{v}` is not accepted by xAI (allowed: {})",
                allowed.join(", ")
            ))),
        }
    };
    Ok(CreateVideoRequest {
        model: provider_model.to_string(),
        prompt: prompt.to_string(),
        image,
        duration: req.duration,
        aspect_ratio: one_of(
            "aspectRatio",
            req.aspect_ratio.as_deref(),
            rules::ASPECT_RATIOS,
        )?,
        resolution: one_of("resolution", req.resolution.as_deref(), rules::RESOLUTIONS)?,
    })
}

/// What a create answer means to the router: xAI's `request_id` is the task id.
pub fn submission(answer: &CreateVideoResponse, provider_model: &str) -> Submission {
    Submission {
        provider_task_id: answer.request_id.clone(),
        provider_model: provider_model.to_string(),
        status: TaskStatus::Submitted,
        estimated_time_sec: None,
    }
}

/// A query answer as a [`TaskSnapshot`].
///
/// - `pending` → processing (xAI has no separate queued state);
/// - `done` with a video URL → succeeded with one video asset; `done` with
///   `respect_moderation: false` → failed as a content refusal, and `done` without a URL →
///   failed, so nobody is charged for nothing (both as Vercel AI SDK reports them);
/// - `failed` → failed with [`failed_task_reason`]; `expired` (*unverified*) → failed;
/// - no `status` (a 202 with an empty body) → processing, or succeeded if a video is there;
/// - any other status → processing, with a warning (tolerant where the spec is
///   unverified: confirm against xAI's docs when a new status shows up).
///
/// `usage.cost_in_usd_ticks` is kept in `usage` and priced in [`billed_usd_micros`].
pub fn snapshot(request_id: &str, answer: &VideoStatus) -> TaskSnapshot {
    let url = answer
        .video
        .as_ref()
        .and_then(|v| v.url.clone())
        .filter(|u| !u.trim().is_empty());
    let withheld = answer.video.as_ref().and_then(|v| v.respect_moderation) == Some(false);
    let done = |url: Option<String>| match url {
        _ if withheld => (
            TaskStatus::Failed,
            Some(failed_task_reason(
                Some("respect_moderation"),
                Some("the video was withheld by content moderation"),
            )),
            None,
        ),
        Some(u) => (TaskStatus::Succeeded, None, Some(u)),
        None => (
            TaskStatus::Failed,
            Some("provider_unavailable: xAI reported done without a video URL".to_string()),
            None,
        ),
    };
    let (status, error, asset_url) = match answer.status.as_deref() {
        Some("pending") => (TaskStatus::Processing, None, None),
        Some("done") => done(url),
        Some("failed") => {
            let e = answer.error.clone().unwrap_or_default();
            (
                TaskStatus::Failed,
                Some(failed_task_reason(e.code.as_deref(), e.message.as_deref())),
                None,
            )
        }
        Some("expired") => (
            TaskStatus::Failed,
            Some("provider_unavailable: xAI: the request expired before it finished".into()),
            None,
        ),
        None if url.is_some() => done(url),
        None => (TaskStatus::Processing, None, None),
        Some(other) => {
            tracing::warn!(
                provider = PROVIDER,
                request_id,
                status = other,
                "xAI reported a status genmux does not know; treated as still processing"
            );
            (TaskStatus::Processing, None, None)
        }
    };
    let assets = asset_url
        .map(|url| Asset {
            kind: MediaKind::Video,
            url,
            id: None,
            duration_secs: answer
                .video
                .as_ref()
                .and_then(|v| v.duration)
                .filter(|d| d.is_finite() && *d >= 0.0),
            index: 0,
            size_bytes: None,
        })
        .into_iter()
        .collect();
    let ticks = answer.usage.and_then(|u| u.cost_in_usd_ticks);
    TaskSnapshot {
        provider_task_id: request_id.to_string(),
        status,
        assets,
        error,
        usage: ticks.map(|t| json!({ USAGE_COST_TICKS: t })),
        billed_usd_micros: ticks.and_then(billed_usd_micros),
    }
}

/// xAI's billed cost in micro-USD: ticks / 10^4 (10^10 ticks = $1), rounded half up;
/// `None` for a negative figure.
pub fn billed_usd_micros(ticks: i64) -> Option<i64> {
    (ticks >= 0).then(|| ticks.saturating_add(TICKS_PER_MICRO_USD / 2) / TICKS_PER_MICRO_USD)
}

#[cfg(test)]
mod tests;
