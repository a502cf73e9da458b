//! The xAI video API's bodies, exactly as on the wire (`spec/upstreams.md`, "xAI Grok
//! Imagine video"; field names checked against Vercel AI SDK `packages/xai`,
//! `xai-video-model.ts`).
//!
//! Answers are read tolerantly where the spec marks them *unverified*: unknown fields are
//! ignored, every field but the ids is optional, and an unknown `status` is kept as text
//! (the mapping treats it as still running, with a warning).

use serde::{Deserialize, Serialize};

/// Path of the create endpoint, under the base URL.
pub const GENERATIONS_PATH: &str = "/v1/videos/generations";
/// Path prefix of the query endpoint: `GET /v1/videos/{request_id}`.
pub const VIDEOS_PATH: &str = "/v1/videos";

/// `POST /v1/videos/generations`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateVideoRequest {
    /// `grok-imagine-video`, `grok-imagine-video-1.5`, …
    pub model: String,
    /// What to generate.
    pub prompt: String,
    /// The start frame, for image to video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageUrl>,
    /// Seconds, 1–15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// `16:9`, `9:16`, `1:1`, `4:3`, `3:4`, `3:2`, `2:3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// `480p` or `720p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// `{url}`: an https URL or a `data:` URI (Vercel AI SDK sends inline images as
/// `data:<type>;base64,…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// Where the image is.
    pub url: String,
}

/// The create answer: `{request_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreateVideoResponse {
    /// The id to poll.
    pub request_id: String,
}

/// `GET /v1/videos/{request_id}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VideoStatus {
    /// `pending`, `done`, `failed` (`expired` *unverified*). Absent on a 202 with an empty
    /// body (Vercel AI SDK: "xAI answers 202 while a generation is still running").
    #[serde(default)]
    pub status: Option<String>,
    /// The result, when `done`.
    #[serde(default)]
    pub video: Option<Video>,
    /// The model that ran.
    #[serde(default)]
    pub model: Option<String>,
    /// What the task cost.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Why it failed, when `failed`.
    #[serde(default)]
    pub error: Option<TaskError>,
    /// Progress, 0–100 (seen in Vercel AI SDK tests; not in the spec).
    #[serde(default)]
    pub progress: Option<f64>,
}

/// The generated video.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Video {
    /// Where to download it (expires).
    #[serde(default)]
    pub url: Option<String>,
    /// Length in seconds.
    #[serde(default)]
    pub duration: Option<f64>,
    /// `false`: the output was withheld by moderation (Vercel AI SDK reports it as a
    /// content-policy failure).
    #[serde(default)]
    pub respect_moderation: Option<bool>,
}

/// `usage` of a finished task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct Usage {
    /// The billed cost in ticks: 10^10 ticks = $1 (spec).
    #[serde(default)]
    pub cost_in_usd_ticks: Option<i64>,
}

/// `error` of a failed task: `{code, message}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TaskError {
    /// A machine-readable code (the spec names none).
    #[serde(default)]
    pub code: Option<String>,
    /// Words for humans.
    #[serde(default)]
    pub message: Option<String>,
}

/// An HTTP error body. The spec's `400 {"error":"…"}`; xAI's other APIs also answer
/// `{"code":"…","error":"…"}` and `{"error":{"message":"…","code":…}}` (Vercel AI SDK
/// `xai-error.ts`), so all three are read.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ErrorBody {
    /// `{"error":"…", "code"?: "…"}`.
    Text {
        /// The message.
        error: String,
        /// A code, on some endpoints.
        #[serde(default)]
        code: Option<String>,
    },
    /// `{"error":{"message":"…","code":…}}`.
    Object {
        /// The nested error.
        error: NestedError,
    },
}

/// `{"message":"…","code":…}` inside an error body.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct NestedError {
    /// The message.
    pub message: String,
    /// A code, text or number.
    #[serde(default)]
    pub code: Option<serde_json::Value>,
}

impl ErrorBody {
    /// The code, if the body names one.
    pub fn code(&self) -> Option<String> {
        match self {
            ErrorBody::Text { code, .. } => code.clone(),
            ErrorBody::Object { error } => error.code.as_ref().map(|c| match c {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            ErrorBody::Text { error, .. } => error,
            ErrorBody::Object { error } => &error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_body_leaves_out_what_is_not_set() {
        let body = CreateVideoRequest {
            model: "grok-imagine-video".into(),
            prompt: "a cat".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"model": "grok-imagine-video", "prompt": "a cat"})
        );
        let full = CreateVideoRequest {
            image: Some(ImageUrl {
                url: "https://x.test/a.png".into(),
            }),
            duration: Some(8),
            aspect_ratio: Some("9:16".into()),
            resolution: Some("480p".into()),
            ..body
        };
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            json!({"model": "grok-imagine-video", "prompt": "a cat",
                "image": {"url": "https://x.test/a.png"}, "duration": 8,
                "aspect_ratio": "9:16", "resolution": "480p"})
        );
    }

    #[test]
    fn status_answers_are_read_tolerantly() {
        let done: VideoStatus = serde_json::from_value(json!({
            "status": "done", "model": "grok-imagine-video", "progress": 100,
            "video": {"url": "https://vidgen.x.ai/v.mp4", "duration": 8, "respect_moderation": true},
            "usage": {"cost_in_usd_ticks": 5600000000_i64}, "something_new": [1, 2]
        }))
        .unwrap();
        assert_eq!(done.status.as_deref(), Some("done"));
        assert_eq!(done.video.as_ref().unwrap().duration, Some(8.0));
        assert_eq!(done.usage.unwrap().cost_in_usd_ticks, Some(5_600_000_000));
        let empty: VideoStatus = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty, VideoStatus::default());
    }

    #[test]
    fn error_bodies_of_every_shape() {
        let plain: ErrorBody =
            serde_json::from_value(json!({"error": "duration: must be 1-15"})).unwrap();
        assert_eq!(plain.message(), "duration: must be 1-15");
        assert_eq!(plain.code(), None);
        let coded: ErrorBody =
            serde_json::from_value(json!({"code": "invalid_argument", "error": "bad"})).unwrap();
        assert_eq!(coded.code().as_deref(), Some("invalid_argument"));
        let nested: ErrorBody =
            serde_json::from_value(json!({"error": {"message": "no key", "code": 401}})).unwrap();
        assert_eq!(
            (nested.message(), nested.code().as_deref()),
            ("no key", Some("401"))
        );
    }
}
