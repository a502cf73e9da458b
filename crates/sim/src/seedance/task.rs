//! A task as Ark's query answers it and its callbacks carry it (`spec/upstreams.md`,
//! Seedance "Poll"): `queued` → `running` → `succeeded` | `failed` | `expired`.

use serde_json::{json, Value};

use super::error::ArkCode;
use super::rules;
use super::validate::CreateBody;
use crate::framework::{Phase, TaskRecord};

/// What the simulator keeps of a task: the checked body and what the model decided.
#[derive(Clone, Debug, PartialEq)]
pub struct ArkTask {
    /// The create body, Ark's defaults filled in.
    pub body: CreateBody,
    /// Seconds generated (the model's choice when −1 was asked).
    pub seconds: i64,
    /// The seed used (drawn when −1 was asked).
    pub seed: i64,
    /// The ratio generated (`adaptive` resolved).
    pub ratio: String,
    /// Why it fails, when it will (output moderation); a drawn failure without one is an
    /// internal error.
    pub failure: Option<ArkCode>,
}

/// Ark's status word for a phase. Cancellation is *unverified* in the spec and the
/// simulator offers no way to cancel.
pub fn status_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued | Phase::Throttled => "queued",
        Phase::Running => "running",
        Phase::Succeeded => "succeeded",
        Phase::Failed => "failed",
        Phase::Expired => "expired",
        Phase::Cancelled => "cancelled",
    }
}

/// The query body of `task` as of `phase`, last changed at `updated_ms`: the video URL and
/// the tokens once succeeded, the error once failed.
pub fn query_body<E>(task: &TaskRecord<ArkTask, E>, phase: Phase, updated_ms: i64) -> Value {
    let d = &task.data;
    let mut body = json!({
        "id": task.id,
        "model": d.body.model,
        "status": status_word(phase),
        "error": null,
        "created_at": task.created_ms / 1000,
        "updated_at": updated_ms / 1000,
        "seed": d.seed,
        "resolution": d.body.resolution,
        "ratio": d.ratio,
        "duration": d.seconds,
        "framespersecond": rules::FPS,
        "generate_audio": d.body.generate_audio,
    });
    match phase {
        Phase::Succeeded => {
            let mut content = json!({});
            if let Some(video) = task.outputs.first() {
                content["video_url"] = json!(video.url);
            }
            if let Some(frame) = task.outputs.get(1) {
                content["last_frame_url"] = json!(frame.url);
            }
            body["content"] = content;
            let tokens = rules::completion_tokens(&d.body.resolution, d.seconds);
            body["usage"] = json!({"completion_tokens": tokens, "total_tokens": tokens});
        }
        Phase::Failed => {
            let code = d.failure.unwrap_or(ArkCode::InternalServiceError);
            let message = match code {
                ArkCode::OutputVideoSensitiveContentDetected => {
                    "The generated video may contain sensitive information."
                }
                _ => "The task failed because of an internal error. Retry later.",
            };
            body["error"] = json!({"code": code.as_str(), "message": message});
        }
        _ => {}
    }
    body
}
