//! Pure mapping, unified ↔ Runway (`spec/upstreams.md`, Runway). No I/O.
//!
//! Request (every upstream field and what controls it — the X1 walk in the tests holds
//! the mapping to this list):
//!
//! | Runway field | from |
//! |---|---|
//! | `model` | the gateway: [`UpstreamModel::for_request`] (operation, catalog `quality`) |
//! | `promptText` | catalog `prompt` (≤ 1000 UTF-16 code units, [`rules::PROMPT_TEXT_MAX_UTF16`]) |
//! | `promptImage` | catalog `images` (`images[0]` first frame, `images[1]` / `endImage` last frame) |
//! | `ratio` | catalog `aspectRatio` ([`rules::ratio`]; 16:9 when an image request names none) |
//! | `duration` | catalog `duration` |
//! | `seed` | never set: the catalog has no seed field for Runway |
//!
//! The caller's `externalTaskId`, `projectId` and `callbackUrl` never reach Runway (it
//! takes no external id and sends no callbacks).

use crate::error::{task_failure, PROVIDER};
use crate::rules::{self, UpstreamModel};
use crate::wire::{
    self, ImageToVideoRequest, PositionedImage, PromptImage, Task, TextToVideoRequest,
};
use genmux_core::{
    Asset, Error, ErrorKind, GenerationRequest, MediaInput, MediaKind, Operation, Result,
    Submission, TaskSnapshot, TaskStatus,
};

/// A create call: which endpoint, with which body.
#[derive(Clone, Debug, PartialEq)]
pub enum Create {
    /// `POST /v1/image_to_video`.
    ImageToVideo(ImageToVideoRequest),
    /// `POST /v1/text_to_video`.
    TextToVideo(TextToVideoRequest),
}

impl Create {
    /// The Runway model the body names.
    pub fn model(&self) -> &str {
        match self {
            Create::ImageToVideo(b) => &b.model,
            Create::TextToVideo(b) => &b.model,
        }
    }

    /// The endpoint's path.
    pub fn path(&self) -> &'static str {
        match self {
            Create::ImageToVideo(_) => wire::IMAGE_TO_VIDEO_PATH,
            Create::TextToVideo(_) => wire::TEXT_TO_VIDEO_PATH,
        }
    }

    /// The body as JSON.
    pub fn body(&self) -> serde_json::Value {
        let v = match self {
            Create::ImageToVideo(b) => serde_json::to_value(b),
            Create::TextToVideo(b) => serde_json::to_value(b),
        };
        // Plain structs of strings and integers always serialize.
        v.unwrap_or(serde_json::Value::Null)
    }
}

fn refuse(kind: ErrorKind, message: String) -> Error {
    Error::new(kind, message).with_provider(PROVIDER)
}

/// spec: `promptText` ≤ 1000 UTF-16 code units. The catalog counts characters, so a
/// prompt of astral characters (emoji) can pass it and still be too long for Runway.
pub fn prompt_text(prompt: &str) -> Result<String> {
    let units = rules::utf16_len(prompt);
    if units > rules::PROMPT_TEXT_MAX_UTF16 {
        return Err(refuse(
            ErrorKind::InvalidRequest,
            format!(
                "prompt: {units} UTF-16 code units; Runway's promptText takes at most {} (spec/upstreams.md, Runway)",
                rules::PROMPT_TEXT_MAX_UTF16
            ),
        ));
    }
    Ok(prompt.to_string())
}

/// An image as Runway takes it: an https URL, or a `data:` URI built from bare Base64
/// whose bytes are a PNG, JPEG, WebP or GIF (spec: "https URL or data URI").
pub fn image_uri(field: &str, image: &MediaInput) -> Result<String> {
    match image {
        MediaInput::Url(u) => {
            if u.len() >= 8 && u[..8].eq_ignore_ascii_case("https://") {
                Ok(u.clone())
            } else {
                Err(refuse(
                    ErrorKind::Unsupported,
                    format!("{field}: `{u}` is not an https URL; Runway takes https URLs or data URIs only (spec/upstreams.md, Runway)"),
                ))
            }
        }
        MediaInput::Base64(b) => {
            let mime = image
                .decoded()
                .as_deref()
                .and_then(image_mime)
                .ok_or_else(|| {
                    refuse(
                        ErrorKind::InvalidRequest,
                        format!("{field}: the Base64 data is not a PNG, JPEG, WebP or GIF image"),
                    )
                })?;
            Ok(format!("data:{mime};base64,{b}"))
        }
    }
}

/// The MIME type of image bytes, by their magic.
fn image_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF8") {
        Some("image/gif")
    } else {
        None
    }
}

/// `promptImage`: one start frame as a plain string; a last frame (with or without a
/// first) as positioned images.
fn prompt_image(req: &GenerationRequest) -> Result<PromptImage> {
    let first = req
        .start_frame()
        .map(|m| image_uri("images[0]", m))
        .transpose()?;
    let last_field = if req.images.len() > 1 {
        "images[1]"
    } else {
        "endImage"
    };
    let last = req
        .end_frame()
        .map(|m| image_uri(last_field, m))
        .transpose()?;
    match (first, last) {
        (Some(uri), None) => Ok(PromptImage::Uri(uri)),
        (first, Some(last)) => {
            let mut list: Vec<PositionedImage> = first
                .map(|uri| PositionedImage {
                    uri,
                    position: wire::Position::First,
                })
                .into_iter()
                .collect();
            list.push(PositionedImage {
                uri: last,
                position: wire::Position::Last,
            });
            Ok(PromptImage::Positioned(list))
        }
        (None, None) => Err(refuse(
            ErrorKind::InvalidRequest,
            "images: image to video needs an image".into(),
        )),
    }
}

/// The Runway `ratio` for the request's aspect ratio on the operation's endpoint.
fn ratio(req: &GenerationRequest, op: Operation) -> Result<String> {
    let aspect = match (req.aspect_ratio.as_deref(), op) {
        (Some(a), _) => a,
        (None, Operation::TextToVideo) => {
            return Err(refuse(
                ErrorKind::InvalidRequest,
                "aspectRatio: required for text to video".into(),
            ))
        }
        (None, _) => rules::DEFAULT_ASPECT_RATIO,
    };
    rules::ratio(op, aspect).map(str::to_string).ok_or_else(|| {
        refuse(
            ErrorKind::Unsupported,
            format!(
                "aspectRatio: `{aspect}` is not a ratio Runway's {op} takes (allowed: {}; spec/upstreams.md, Runway)",
                rules::aspect_ratios(op)
            ),
        )
    })
}

/// The create call for a (catalog-valid) request. Refuses, naming the field, what Runway
/// cannot take: a prompt over 1000 UTF-16 units, an aspect ratio the endpoint lacks, a
/// watermark (Runway has no such option), a non-https image URL.
pub fn create_request(req: &GenerationRequest, op: Operation) -> Result<Create> {
    let model = UpstreamModel::for_request(op, req.quality.as_deref()).ok_or_else(|| {
        refuse(
            ErrorKind::Unsupported,
            format!("operation {op} is not served by Runway's gen4 models"),
        )
    })?;
    if req.watermark == Some(true) {
        return Err(refuse(
            ErrorKind::Unsupported,
            "watermark: Runway's API has no watermark option (spec/upstreams.md, Runway)".into(),
        ));
    }
    let prompt = req.prompt.as_deref().map(prompt_text).transpose()?;
    let ratio = ratio(req, op)?;
    Ok(match op {
        Operation::TextToVideo => Create::TextToVideo(TextToVideoRequest {
            model: model.as_str().into(),
            prompt_text: prompt.ok_or_else(|| {
                refuse(
                    ErrorKind::InvalidRequest,
                    "prompt: required for text to video".into(),
                )
            })?,
            ratio,
            duration: req.duration,
            seed: None,
        }),
        _ => Create::ImageToVideo(ImageToVideoRequest {
            model: model.as_str().into(),
            prompt_image: prompt_image(req)?,
            prompt_text: prompt,
            ratio,
            duration: req.duration,
            seed: None,
        }),
    })
}

/// What a create answer means to the router: Runway answers `{id}` only; the task starts
/// `PENDING` (submitted). `provider_model` is the offering's.
pub fn submission(created: &wire::CreatedTask, provider_model: &str) -> Submission {
    Submission {
        provider_task_id: created.id.clone(),
        provider_model: provider_model.to_string(),
        status: TaskStatus::Submitted,
        estimated_time_sec: None,
    }
}

/// Runway's status → genmux's. `THROTTLED` (over the account's concurrency, waiting) is
/// shown as queued, like `PENDING`; an unknown status (*unverified*) as processing.
pub fn status(s: &wire::TaskStatus) -> TaskStatus {
    match s {
        wire::TaskStatus::Pending | wire::TaskStatus::Throttled => TaskStatus::Submitted,
        wire::TaskStatus::Running => TaskStatus::Processing,
        wire::TaskStatus::Succeeded => TaskStatus::Succeeded,
        wire::TaskStatus::Failed => TaskStatus::Failed,
        wire::TaskStatus::Cancelled => TaskStatus::Cancelled,
        wire::TaskStatus::Other(other) => {
            tracing::warn!(status = %other, "runway: unknown task status; treated as processing");
            TaskStatus::Processing
        }
    }
}

/// A task as a [`TaskSnapshot`]: `output[]` become video assets; a failure carries its
/// `failureCode` and words (classed by [`crate::error::failure_row`]); Runway's own status
/// and progress are kept in `usage` for display. A `SUCCEEDED` task without output is an
/// error, so nobody is charged for nothing.
pub fn snapshot(task: &Task) -> Result<TaskSnapshot> {
    let st = status(&task.status);
    if st == TaskStatus::Succeeded && task.output.is_empty() {
        return Err(Error::internal(format!(
            "Runway task {} reports SUCCEEDED without any output",
            task.id
        ))
        .with_provider(PROVIDER));
    }
    let assets = if st == TaskStatus::Succeeded {
        task.output
            .iter()
            .enumerate()
            .map(|(i, url)| Asset {
                kind: MediaKind::Video,
                url: url.clone(),
                id: None,
                duration_secs: None,
                index: u32::try_from(i).unwrap_or(u32::MAX),
                size_bytes: None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let error = (st == TaskStatus::Failed).then(|| {
        let e = task_failure(
            &task.id,
            task.failure.as_deref(),
            task.failure_code.as_deref(),
        );
        format!("{}: {}", e.kind(), e.message())
    });
    let mut usage = serde_json::json!({ "runwayStatus": task.status.as_str() });
    if let Some(p) = task.progress.filter(|p| p.is_finite()) {
        usage["progress"] = serde_json::json!(p.clamp(0.0, 1.0));
    }
    if let Some(code) = &task.failure_code {
        usage["failureCode"] = serde_json::json!(code);
    }
    Ok(TaskSnapshot {
        provider_task_id: task.id.clone(),
        status: st,
        assets,
        error,
        usage: Some(usage),
        billed_usd_micros: None,
    })
}

#[cfg(test)]
mod tests;
