//! Pure functions between genmux and MiniMax's wire (`spec/upstreams.md`, "MiniMax
//! Hailuo"): the create body from a validated request, and task snapshots from query
//! answers, files and callbacks. No I/O here; [`crate::provider`] calls the client.

use crate::error::PROVIDER;
use crate::rules::{self, ModelRules};
use crate::wire::{
    BaseResp, CallbackStatus, FileObject, QueryResponse, QueryStatus, VideoGenerationRequest,
};
use genmux_core::{
    Asset, Error, ErrorKind, GenerationRequest, MediaInput, MediaKind, Operation, Result,
    Submission, TaskSnapshot, TaskStatus,
};
use serde_json::Value;

/// The catalog fields MiniMax's create body can carry, plus the gateway's own fields that
/// never go upstream (`projectId`, `callbackUrl` and `externalTaskId` are the caller's and
/// stay with the gateway, X3). Any other field set on a request is refused by name rather
/// than dropped.
const CARRIED_FIELDS: &[&str] = &[
    "model",
    "prompt",
    "duration",
    "resolution",
    "images",
    "projectId",
    "callbackUrl",
    "externalTaskId",
];

fn unsupported(msg: String) -> Error {
    Error::new(ErrorKind::Unsupported, msg).with_provider(PROVIDER)
}

/// The body of `POST /v1/video_generation` for `req` (validated, catalog defaults applied)
/// on MiniMax model `model`. `callback_url` is the gateway's inbound URL for this task,
/// never the caller's. MiniMax takes no id of ours, so the gateway's external id is not
/// sent (a task of unknown outcome is `NotFindable`).
///
/// Refused: an operation or model MiniMax does not serve (`Unsupported`), a field MiniMax
/// cannot carry (`Unsupported`, naming it), a duration/resolution pair MiniMax refuses
/// (`InvalidRequest`: 1080P only with 6 s).
pub fn video_generation_request(
    req: &GenerationRequest,
    op: Operation,
    model: &str,
    callback_url: Option<&str>,
) -> Result<VideoGenerationRequest> {
    let rules = rules::model(model).ok_or_else(|| {
        unsupported(format!(
            "model: MiniMax model `{model}` is not one genmux knows ({}, {}, {})",
            rules::HAILUO_2_3,
            rules::HAILUO_2_3_FAST,
            rules::HAILUO_02
        ))
    })?;
    refuse_uncarried_fields(req)?;
    let (first, last) = frames(req, op, &rules)?;
    let duration = req.duration.unwrap_or(rules::DEFAULT_DURATION);
    let resolution = req
        .resolution
        .clone()
        .unwrap_or_else(|| rules::DEFAULT_RESOLUTION.to_string());
    rules::check_duration_resolution(duration, &resolution)
        .map_err(|e| Error::invalid(e).with_provider(PROVIDER))?;
    Ok(VideoGenerationRequest {
        model: rules.id.to_string(),
        prompt: req.prompt.clone().filter(|p| !p.trim().is_empty()),
        prompt_optimizer: Some(rules::PROMPT_OPTIMIZER),
        duration: Some(duration),
        resolution: Some(resolution),
        first_frame_image: first,
        last_frame_image: last,
        callback_url: callback_url.map(str::to_string),
    })
}

/// Every field set on the request is one MiniMax carries (a `false` switch carries
/// nothing and passes).
fn refuse_uncarried_fields(req: &GenerationRequest) -> Result<()> {
    let Ok(Value::Object(fields)) = serde_json::to_value(req) else {
        return Err(Error::internal("a request that does not serialize").with_provider(PROVIDER));
    };
    for (name, value) in &fields {
        if CARRIED_FIELDS.contains(&name.as_str()) || *value == Value::Bool(false) {
            continue;
        }
        return Err(unsupported(format!(
            "{name}: MiniMax has no such parameter (it takes prompt, images, duration and resolution)"
        )));
    }
    Ok(())
}

/// `first_frame_image` and `last_frame_image` for the operation.
fn frames(
    req: &GenerationRequest,
    op: Operation,
    rules: &ModelRules,
) -> Result<(Option<String>, Option<String>)> {
    let want = match op {
        Operation::TextToVideo if rules.text_to_video => 0,
        Operation::ImageToVideo => 1,
        Operation::StartEndFrame if rules.last_frame => 2,
        _ => {
            return Err(unsupported(format!(
                "operation {op} is not served by MiniMax model {}",
                rules.id
            )))
        }
    };
    if req.images.len() != want {
        return Err(Error::invalid(format!(
            "images: {} given; MiniMax {} {op} takes {want}",
            req.images.len(),
            rules.id
        ))
        .with_provider(PROVIDER));
    }
    let mut refs = req.images.iter().map(image_ref);
    let first = refs.next().transpose()?;
    let last = refs.next().transpose()?;
    Ok((first, last))
}

/// An image as MiniMax takes it: an http(s) URL as is, bare Base64 as a
/// `data:image/<type>;base64,` URI (the form MiniMax's docs show; *unverified* by the spec).
fn image_ref(input: &MediaInput) -> Result<String> {
    match input {
        MediaInput::Url(u) => Ok(u.clone()),
        MediaInput::Base64(b64) => {
            let bytes = input.decoded().unwrap_or_default();
            let mime = if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                "image/jpeg"
            } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
                "image/webp"
            } else {
                return Err(Error::invalid(
                    "images: the Base64 image is not PNG, JPEG or WebP (MiniMax takes these)",
                )
                .with_provider(PROVIDER));
            };
            Ok(format!("data:{mime};base64,{b64}"))
        }
    }
}

/// The submission for a created task.
pub fn submission(task_id: &str, model: &str) -> Submission {
    Submission {
        provider_task_id: task_id.to_string(),
        provider_model: model.to_string(),
        status: TaskStatus::Submitted,
        estimated_time_sec: None,
    }
}

/// A MiniMax status as genmux's: `Preparing` and `Queueing` have not started, `Processing`
/// runs, `Success` and `Fail` are final. A word the spec does not list is read as still
/// running (with a warning), so a new status never fails a task on a guess.
pub fn task_status(status: &QueryStatus) -> TaskStatus {
    match status {
        QueryStatus::Preparing | QueryStatus::Queueing => TaskStatus::Submitted,
        QueryStatus::Processing => TaskStatus::Processing,
        QueryStatus::Success => TaskStatus::Succeeded,
        QueryStatus::Fail => TaskStatus::Failed,
        QueryStatus::Other(word) => {
            tracing::warn!(status = %word, "minimax: unknown task status; read as processing");
            TaskStatus::Processing
        }
    }
}

/// What a query answer says, before any file is retrieved.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryOutcome {
    /// Not done, or failed: the snapshot says all.
    Snapshot(TaskSnapshot),
    /// Done: the video is file `file_id`, whose download URL `files/retrieve` gives.
    Retrieve {
        /// The task.
        task_id: String,
        /// The video's file.
        file_id: String,
    },
}

/// Reads a query answer about `task_id` (the id asked for, when the answer omits it).
pub fn query_outcome(q: &QueryResponse, task_id: &str) -> Result<QueryOutcome> {
    let id = if q.task_id.is_empty() {
        task_id
    } else {
        &q.task_id
    };
    let status = task_status(&q.status);
    match status {
        TaskStatus::Succeeded => match &q.file_id {
            Some(file_id) => Ok(QueryOutcome::Retrieve {
                task_id: id.to_string(),
                file_id: file_id.clone(),
            }),
            // Done without a file: asked again later rather than failed on a guess.
            None => Err(Error::new(
                ErrorKind::ProviderUnavailable,
                format!("MiniMax task {id}: status Success without a file_id"),
            )
            .with_provider(PROVIDER)),
        },
        TaskStatus::Failed => Ok(QueryOutcome::Snapshot(failed(id, &q.base_resp))),
        _ => Ok(QueryOutcome::Snapshot(pending(id, status))),
    }
}

fn pending(task_id: &str, status: TaskStatus) -> TaskSnapshot {
    TaskSnapshot {
        provider_task_id: task_id.to_string(),
        status,
        assets: Vec::new(),
        error: None,
        usage: None,
        billed_usd_micros: None,
    }
}

fn failed(task_id: &str, base_resp: &BaseResp) -> TaskSnapshot {
    let reason = if base_resp.status_code != 0 {
        format!(
            "MiniMax task failed: {} {}",
            base_resp.status_code, base_resp.status_msg
        )
    } else {
        "MiniMax task failed (no reason given)".to_string()
    };
    TaskSnapshot {
        error: Some(reason),
        ..pending(task_id, TaskStatus::Failed)
    }
}

/// The finished task whose video is `file`. MiniMax reports no billed amount of its own,
/// so `billed_usd_micros` stays `None`.
pub fn succeeded(task_id: &str, file: &FileObject) -> TaskSnapshot {
    TaskSnapshot {
        assets: vec![Asset {
            kind: MediaKind::Video,
            url: file.download_url.clone(),
            id: Some(file.file_id.clone()).filter(|s| !s.is_empty()),
            duration_secs: None,
            index: 0,
            size_bytes: file.bytes.filter(|b| *b > 0),
        }],
        ..pending(task_id, TaskStatus::Succeeded)
    }
}

/// What a status callback says, as a hint: the task and its status, without assets (the
/// download URL comes only from `files/retrieve`, and the gateway confirms by a query).
pub fn callback_hint(c: &CallbackStatus) -> TaskSnapshot {
    match task_status(&c.status) {
        TaskStatus::Failed => failed(&c.task_id, &c.base_resp),
        status => pending(&c.task_id, status),
    }
}

#[cfg(test)]
mod tests;
