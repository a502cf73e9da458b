//! `POST /contents/generations/tasks`: the body and its answer (`spec/upstreams.md`,
//! Seedance "Create").

use serde::{Deserialize, Serialize};

/// The create body. Absent options are not sent, so Ark applies its own default — except
/// `generate_audio`, which the spec says to send explicitly (the mapping always sets it).
///
/// ```
/// use genmux_seedance::wire::{Content, CreateTaskRequest};
/// let body = CreateTaskRequest {
///     model: "seedance-1-5-pro-251215".into(),
///     content: vec![Content::text("a lighthouse in the fog")],
///     generate_audio: Some(false),
///     ..Default::default()
/// };
/// let json = serde_json::to_value(&body).unwrap();
/// assert_eq!(json["content"][0]["type"], "text");
/// assert_eq!(json["generate_audio"], false);
/// assert!(json.get("ratio").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateTaskRequest {
    /// The model id (`seedance-1-5-pro-251215` on BytePlus).
    pub model: String,
    /// The prompt and the frames.
    pub content: Vec<Content>,
    /// `480p` | `720p` | `1080p` (Ark's default 720p).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// `16:9` | `4:3` | `1:1` | `3:4` | `9:16` | `21:9` | `adaptive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<String>,
    /// Seconds (1.5 Pro: 4–12; −1 lets the model decide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// −1 = random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Keep the camera still.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_fixed: Option<bool>,
    /// Ark's watermark on the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<bool>,
    /// Generate a sound track (spec: send it explicitly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    /// Also return the last frame as an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_last_frame: Option<bool>,
    /// `default` | `flex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Seconds after which an unfinished task expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_expires_after: Option<u64>,
    /// Where Ark POSTs the task on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// One item of `content[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// `{type:"text", text}`: the prompt.
    Text {
        /// The prompt.
        text: String,
    },
    /// `{type:"image_url", image_url:{url}, role}`: a frame.
    ImageUrl {
        /// Where the image is (an http(s) URL or a `data:image/…;base64,` URI).
        image_url: ImageUrl,
        /// What the image is for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<ImageRole>,
    },
}

impl Content {
    /// A text item.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text { text: text.into() }
    }

    /// An image item with its role.
    pub fn image(url: impl Into<String>, role: ImageRole) -> Self {
        Content::ImageUrl {
            image_url: ImageUrl { url: url.into() },
            role: Some(role),
        }
    }
}

/// `image_url` of an image item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// The URL or data URI.
    pub url: String,
}

/// `role` of an image item (spec: `first_frame` | `last_frame` | `reference_image`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageRole {
    /// The video starts on this image.
    FirstFrame,
    /// The video ends on this image.
    LastFrame,
    /// A reference the video draws from (not the 1.5 Pro first/last frame modes).
    ReferenceImage,
}

impl ImageRole {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageRole::FirstFrame => "first_frame",
            ImageRole::LastFrame => "last_frame",
            ImageRole::ReferenceImage => "reference_image",
        }
    }
}

/// The create answer: `{"id":"cgt-…"}` (other fields ignored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateTaskResponse {
    /// The task id.
    pub id: String,
}
