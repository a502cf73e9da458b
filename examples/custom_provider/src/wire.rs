//! The Echo Video API's bodies exactly as on the wire (snake_case).

use serde::{Deserialize, Serialize};

/// §Create: `POST /v1/videos`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateVideo {
    /// `echo-video-1`.
    pub model: String,
    /// 1–2500 characters.
    pub prompt: String,
    /// 5.
    pub seconds: u32,
    /// `16:9` (default) or `9:16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// The caller's unique id for the task (genmux's minted id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<String>,
}

/// §Task: where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted, waiting.
    Queued,
    /// Rendering.
    Running,
    /// Finished with a video.
    Done,
    /// Finished without one (not billed).
    Failed,
}

/// §Task: a task as create, query and find answer it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoTask {
    /// The API's task id.
    pub id: String,
    /// Where it is.
    pub status: Status,
    /// The caller's id, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<String>,
    /// Length asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    /// The MP4, once `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// Credits billed, once `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_charged: Option<u32>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// §Find: `GET /v1/videos?client_ref=…`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskList {
    /// The matching tasks (0 or 1).
    pub data: Vec<VideoTask>,
}

/// §Errors: the body of every error answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// §Errors: `type` and `message`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `auth`, `insufficient_credit`, `rate_limit`, `invalid_request`, `content_policy`,
    /// `not_found`, `server_error`, `timeout`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For humans.
    pub message: String,
}
