//! The MiniMax video API on the wire (`spec/upstreams.md`, "MiniMax Hailuo"), exactly as
//! sent and received: create (`POST /v1/video_generation`), query
//! (`GET /v1/query/video_generation?task_id=`), file retrieval
//! (`GET /v1/files/retrieve?file_id=`) and the callbacks MiniMax POSTs.
//!
//! Every answer carries `base_resp {status_code, status_msg}`; a non-zero code is an error
//! even under HTTP 200 ([`crate::error`]). Answers are read tolerantly (unknown fields
//! ignored, an unknown status kept as [`QueryStatus::Other`]) because the spec marks what
//! lies beyond these fields *unverified*.

use serde::{Deserialize, Deserializer, Serialize};

/// `POST` — creates a video generation task.
pub const CREATE_PATH: &str = "/v1/video_generation";
/// `GET ?task_id=` — a task's status and, once done, its `file_id`.
pub const QUERY_PATH: &str = "/v1/query/video_generation";
/// `GET ?file_id=` — a file's metadata with its `download_url`.
pub const RETRIEVE_PATH: &str = "/v1/files/retrieve";

/// The body of `POST /v1/video_generation`. Absent options are not sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoGenerationRequest {
    /// `MiniMax-Hailuo-2.3`, `MiniMax-Hailuo-2.3-Fast` or `MiniMax-Hailuo-02`.
    pub model: String,
    /// At most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Whether MiniMax rewrites the prompt before generating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_optimizer: Option<bool>,
    /// 6 or 10 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// `768P` or `1080P` (1080P only with 6 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// The start frame: an http(s) URL or a `data:image/…;base64,` URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_frame_image: Option<String>,
    /// The end frame (`MiniMax-Hailuo-02` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_frame_image: Option<String>,
    /// Where MiniMax POSTs the challenge and then the status changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// MiniMax's verdict on a call: `status_code` 0 is success.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseResp {
    /// 0, or an error code of [`crate::error`]'s table.
    #[serde(default)]
    pub status_code: i64,
    /// MiniMax's words.
    #[serde(default)]
    pub status_msg: String,
}

/// The answer of `POST /v1/video_generation`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoGenerationResponse {
    /// The new task's id (empty on an error answer).
    #[serde(default, deserialize_with = "id_text")]
    pub task_id: String,
    /// The verdict.
    #[serde(default)]
    pub base_resp: BaseResp,
}

/// A task's state, as the query and the callbacks name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryStatus {
    /// Accepted, being prepared.
    Preparing,
    /// Waiting for a slot.
    Queueing,
    /// Generating.
    Processing,
    /// Done: `file_id` names the video.
    Success,
    /// Failed; `base_resp` may say why (1026/1027 sensitive content).
    Fail,
    /// A word the spec does not list (*unverified* territory): read as still running.
    Other(String),
}

impl QueryStatus {
    /// The wire word.
    pub fn as_str(&self) -> &str {
        match self {
            QueryStatus::Preparing => "Preparing",
            QueryStatus::Queueing => "Queueing",
            QueryStatus::Processing => "Processing",
            QueryStatus::Success => "Success",
            QueryStatus::Fail => "Fail",
            QueryStatus::Other(s) => s,
        }
    }

    /// Parses a wire word; unknown words are kept.
    pub fn parse(word: &str) -> Self {
        match word {
            "Preparing" => QueryStatus::Preparing,
            "Queueing" => QueryStatus::Queueing,
            "Processing" => QueryStatus::Processing,
            "Success" => QueryStatus::Success,
            "Fail" => QueryStatus::Fail,
            other => QueryStatus::Other(other.to_string()),
        }
    }
}

impl Serialize for QueryStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for QueryStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| QueryStatus::parse(&s))
    }
}

/// The answer of `GET /v1/query/video_generation?task_id=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResponse {
    /// The task.
    #[serde(default, deserialize_with = "id_text")]
    pub task_id: String,
    /// Its state.
    pub status: QueryStatus,
    /// The generated video's file, once `Success` (empty before).
    #[serde(default, deserialize_with = "opt_id_text")]
    pub file_id: Option<String>,
    /// Output width in pixels, once known.
    #[serde(default)]
    pub video_width: Option<u32>,
    /// Output height in pixels, once known.
    #[serde(default)]
    pub video_height: Option<u32>,
    /// The verdict on the query itself.
    #[serde(default)]
    pub base_resp: BaseResp,
}

/// A stored file, as `files/retrieve` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileObject {
    /// The file's id (a number on this endpoint, a string in the query; read as text).
    #[serde(default, deserialize_with = "id_text")]
    pub file_id: String,
    /// Size in bytes (MiniMax has been seen answering 0).
    #[serde(default)]
    pub bytes: Option<u64>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// E.g. `output.mp4`.
    #[serde(default)]
    pub filename: Option<String>,
    /// `video_generation`.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Where to download it; valid about 9 hours (spec).
    #[serde(default)]
    pub download_url: String,
}

/// The answer of `GET /v1/files/retrieve?file_id=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrieveResponse {
    /// The file (absent on an error answer).
    #[serde(default)]
    pub file: Option<FileObject>,
    /// The verdict.
    #[serde(default)]
    pub base_resp: BaseResp,
}

/// What MiniMax POSTs to a task's `callback_url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    /// The first POST: `{"challenge":"…"}`, to be answered within 3 s with the same JSON,
    /// or MiniMax sends nothing more for the task.
    Challenge(String),
    /// A later POST: a status change. Unsigned, so only a hint (confirm by a query).
    Status(CallbackStatus),
}

/// A status-change callback body: `{task_id, status, file_id?, base_resp}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackStatus {
    /// The task.
    #[serde(deserialize_with = "id_text")]
    pub task_id: String,
    /// Its new state.
    pub status: QueryStatus,
    /// The video's file, on `Success`.
    #[serde(default, deserialize_with = "opt_id_text")]
    pub file_id: Option<String>,
    /// Why it failed, on `Fail`.
    #[serde(default)]
    pub base_resp: BaseResp,
}

#[derive(Deserialize)]
struct ChallengeBody {
    challenge: String,
}

impl Callback {
    /// Reads a callback body: a challenge if it carries `challenge`, else a status change.
    pub fn parse(body: &[u8]) -> Result<Callback, String> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
        if value.get("challenge").is_some() {
            let c: ChallengeBody = serde_json::from_value(value)
                .map_err(|e| format!("challenge: not a string ({e})"))?;
            return Ok(Callback::Challenge(c.challenge));
        }
        serde_json::from_value::<CallbackStatus>(value)
            .map(Callback::Status)
            .map_err(|e| {
                format!(
                    "neither {{\"challenge\":…}} nor {{task_id, status, file_id?, base_resp}} ({e})"
                )
            })
    }
}

/// An id MiniMax sends as a string or as a number, read as text.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_id_text(d)?.unwrap_or_default())
}

/// [`id_text`], where absent, `null` and `""` mean none.
fn opt_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Option::<Id>::deserialize(d)? {
        Some(Id::Text(s)) if !s.is_empty() => Some(s),
        Some(Id::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_options_are_not_sent() {
        let body = serde_json::to_value(VideoGenerationRequest {
            model: "MiniMax-Hailuo-2.3".into(),
            duration: Some(10),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(body, json!({"model": "MiniMax-Hailuo-2.3", "duration": 10}));
    }

    #[test]
    fn ids_are_read_as_strings_or_numbers() {
        let q: QueryResponse = serde_json::from_slice(
            br#"{"task_id":"106916112212032","status":"Success","file_id":"205258526306433",
                 "video_width":1366,"video_height":768,"base_resp":{"status_code":0,"status_msg":"success"}}"#,
        )
        .unwrap();
        assert_eq!(q.file_id.as_deref(), Some("205258526306433"));
        assert_eq!(q.status, QueryStatus::Success);
        let r: RetrieveResponse = serde_json::from_slice(
            br#"{"file":{"file_id":205258526306433,"bytes":0,"created_at":1700469398,
                 "filename":"output.mp4","purpose":"video_generation",
                 "download_url":"https://cdn.test/v.mp4"},"base_resp":{"status_code":0,"status_msg":"success"}}"#,
        )
        .unwrap();
        assert_eq!(r.file.unwrap().file_id, "205258526306433");
        let pending: QueryResponse = serde_json::from_slice(
            br#"{"task_id":"1","status":"Queueing","file_id":"","base_resp":{"status_code":0}}"#,
        )
        .unwrap();
        assert_eq!(pending.file_id, None);
    }

    #[test]
    fn unknown_statuses_and_fields_are_tolerated() {
        let q: QueryResponse = serde_json::from_slice(
            br#"{"task_id":"1","status":"Rendering","extra":{"a":1},"base_resp":{"status_code":0}}"#,
        )
        .unwrap();
        assert_eq!(q.status, QueryStatus::Other("Rendering".into()));
        assert_eq!(serde_json::to_value(&q.status).unwrap(), json!("Rendering"));
    }

    #[test]
    fn callbacks_are_challenges_or_status_changes() {
        assert_eq!(
            Callback::parse(br#"{"challenge":"c-123"}"#).unwrap(),
            Callback::Challenge("c-123".into())
        );
        let Callback::Status(s) = Callback::parse(
            br#"{"task_id":"t1","status":"Success","file_id":"f1","base_resp":{"status_code":0,"status_msg":"success"}}"#,
        )
        .unwrap() else {
            panic!("a status change")
        };
        assert_eq!(
            (s.task_id.as_str(), s.file_id.as_deref()),
            ("t1", Some("f1"))
        );
        assert!(Callback::parse(b"not json")
            .unwrap_err()
            .starts_with("not JSON"));
        assert!(Callback::parse(br#"{"challenge":7}"#)
            .unwrap_err()
            .starts_with("challenge"));
        assert!(Callback::parse(br#"{"status":"Success"}"#)
            .unwrap_err()
            .starts_with("neither"));
    }
}
