//! Runway's bodies and answers exactly as on the wire (`spec/upstreams.md`, Runway;
//! field names and shapes as in the official `runwayml/sdk-python` 5.13, API version
//! `2024-11-06`).
//!
//! Requests are strict (only the spec's fields, camelCase); answers are tolerant where the
//! spec marks them *unverified*: unknown fields are ignored and an unknown `status` is kept
//! as [`TaskStatus::Other`] (mapped to "processing" with a warning).

use serde::{Deserialize, Serialize};

/// `POST /v1/image_to_video`.
pub const IMAGE_TO_VIDEO_PATH: &str = "/v1/image_to_video";
/// `POST /v1/text_to_video`.
pub const TEXT_TO_VIDEO_PATH: &str = "/v1/text_to_video";
/// `GET` / `DELETE /v1/tasks/{id}`.
pub const TASKS_PATH: &str = "/v1/tasks";
/// The `X-Runway-Version` header every call carries (spec: required).
pub const VERSION_HEADER: &str = "X-Runway-Version";
/// The API version genmux speaks.
pub const API_VERSION: &str = "2024-11-06";

/// Where an image sits in the output video (`promptImage[].position`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// The first frame.
    First,
    /// The last frame.
    Last,
}

/// One positioned image of `promptImage`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionedImage {
    /// An https URL or a `data:` URI.
    pub uri: String,
    /// Where it goes.
    pub position: Position,
}

/// `promptImage`: one image (the first frame), or images with positions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PromptImage {
    /// An https URL or a `data:` URI, used as the first frame.
    Uri(String),
    /// `[{uri, position: "first"|"last"}]`.
    Positioned(Vec<PositionedImage>),
}

/// `POST /v1/image_to_video` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageToVideoRequest {
    /// `gen4_turbo`, `gen4.5`, … ([`crate::rules::UpstreamModel`]).
    pub model: String,
    /// The image(s).
    pub prompt_image: PromptImage,
    /// ≤ 1000 UTF-16 code units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_text: Option<String>,
    /// `1280:720`, `720:1280`, `1104:832`, `832:1104`, `960:960`, `1584:672`.
    pub ratio: String,
    /// Seconds: 5 or 10 for gen4 models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// 0–4294967295; random when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
}

/// `POST /v1/text_to_video` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextToVideoRequest {
    /// `gen4.5` (or veo3.x).
    pub model: String,
    /// Required; ≤ 1000 UTF-16 code units.
    pub prompt_text: String,
    /// `1280:720` or `720:1280`.
    pub ratio: String,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// 0–4294967295; random when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
}

/// The answer to a create: `{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreatedTask {
    /// Runway's task id (a UUID).
    pub id: String,
}

/// A task's `status`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum TaskStatus {
    /// Queued.
    Pending,
    /// Over the account's concurrency: waits in the queue.
    Throttled,
    /// Generating; `progress` 0–1.
    Running,
    /// Done; `output[]` holds the URLs.
    Succeeded,
    /// Failed; `failure` and `failureCode` say why.
    Failed,
    /// Cancelled by `DELETE /v1/tasks/{id}`.
    Cancelled,
    /// A status the spec does not list (*unverified* territory): kept, treated as running.
    Other(String),
}

impl From<String> for TaskStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "PENDING" => TaskStatus::Pending,
            "THROTTLED" => TaskStatus::Throttled,
            "RUNNING" => TaskStatus::Running,
            "SUCCEEDED" => TaskStatus::Succeeded,
            "FAILED" => TaskStatus::Failed,
            "CANCELLED" => TaskStatus::Cancelled,
            _ => TaskStatus::Other(s),
        }
    }
}

impl TaskStatus {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::Throttled => "THROTTLED",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Succeeded => "SUCCEEDED",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Cancelled => "CANCELLED",
            TaskStatus::Other(s) => s,
        }
    }
}

/// `GET /v1/tasks/{id}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// The task id.
    pub id: String,
    /// The status.
    pub status: TaskStatus,
    /// ISO 8601 creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// 0–1 while `RUNNING`.
    #[serde(default)]
    pub progress: Option<f64>,
    /// Result URLs when `SUCCEEDED` (they expire in 24–48 h).
    #[serde(default)]
    pub output: Vec<String>,
    /// Why it failed, in words.
    #[serde(default)]
    pub failure: Option<String>,
    /// Dotted failure class: `SAFETY.INPUT.*`, `SAFETY.OUTPUT.*`, `INTERNAL.BAD_OUTPUT.*`,
    /// `ASSET.INVALID`, …
    #[serde(default)]
    pub failure_code: Option<String>,
}

/// An error answer: `{"error": "…"}`, with an `issues` list (*unverified*) kept as JSON.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// Per-field problems, when given (*unverified*: shape not documented).
    #[serde(default)]
    pub issues: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompt_image_is_a_string_or_positions() {
        let one = PromptImage::Uri("https://x.test/a.png".into());
        assert_eq!(
            serde_json::to_value(&one).unwrap(),
            json!("https://x.test/a.png")
        );
        let two = PromptImage::Positioned(vec![
            PositionedImage {
                uri: "https://x.test/a.png".into(),
                position: Position::First,
            },
            PositionedImage {
                uri: "https://x.test/b.png".into(),
                position: Position::Last,
            },
        ]);
        assert_eq!(
            serde_json::to_value(&two).unwrap(),
            json!([{"uri": "https://x.test/a.png", "position": "first"},
                   {"uri": "https://x.test/b.png", "position": "last"}])
        );
    }

    #[test]
    fn requests_are_camel_case_without_absent_fields() {
        let body = ImageToVideoRequest {
            model: "gen4_turbo".into(),
            prompt_image: PromptImage::Uri("https://x.test/a.png".into()),
            prompt_text: Some("hi".into()),
            ratio: "1280:720".into(),
            duration: Some(5),
            seed: None,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"model": "gen4_turbo", "promptImage": "https://x.test/a.png",
                   "promptText": "hi", "ratio": "1280:720", "duration": 5})
        );
    }

    #[test]
    fn tasks_parse_every_status_and_tolerate_unknowns() {
        let t: Task = serde_json::from_value(json!({
            "id": "t1", "status": "RUNNING", "createdAt": "2026-12-06T08:00:00Z",
            "progress": 0.4, "somethingNew": true
        }))
        .unwrap();
        assert_eq!(t.status, TaskStatus::Running);
        assert_eq!(t.progress, Some(0.4));
        let t: Task = serde_json::from_value(json!({
            "id": "t2", "status": "FAILED", "failure": "nope", "failureCode": "SAFETY.INPUT.TEXT"
        }))
        .unwrap();
        assert_eq!(t.failure_code.as_deref(), Some("SAFETY.INPUT.TEXT"));
        let t: Task = serde_json::from_value(json!({"id": "t3", "status": "ARCHIVED"})).unwrap();
        assert_eq!(t.status, TaskStatus::Other("ARCHIVED".into()));
        for s in [
            "PENDING",
            "THROTTLED",
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
            "CANCELLED",
        ] {
            assert_eq!(TaskStatus::from(s.to_string()).as_str(), s);
        }
    }
}
