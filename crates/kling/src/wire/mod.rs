//! The Kling `/v1` API exactly as on the wire (`spec/kling-api.md`): snake_case field
//! names, durations as strings (`"5"`), Unix-millisecond timestamps, and every response in
//! the `{code, message, request_id, data}` envelope.
//!
//! - [`task`]: the task object every create, query, list and callback returns.
//! - [`video`]: text2video, image2video, multi-image2video, motion-control, video-extend.
//! - [`lip_sync`]: identify-face and advanced-lip-sync.
//! - [`image`]: images/generations and images/omni-image.

pub mod image;
pub mod lip_sync;
pub mod task;
pub mod video;

pub use image::{
    ElementItem, ImageGenerationRequest, ImageReference, OmniImageRequest, Resolution,
};
pub use lip_sync::{
    AdvancedLipSyncRequest, FaceChoose, FaceData, IdentifyFaceRequest, IdentifyFaceResponse,
};
pub use task::{ParentVideo, Task, TaskImage, TaskInfo, TaskResult, TaskStatus, TaskVideo};
pub use video::{
    CameraConfig, CameraControl, CameraType, CharacterOrientation, DynamicMask, Image2VideoRequest,
    ImageItem, MotionControlRequest, MultiImage2VideoRequest, MultiShotPrompt, ShotType,
    Text2VideoRequest, TrajectoryPoint, VideoExtendRequest, VoiceItem, WatermarkInfo,
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The response envelope: `code` 0 is success, anything else an error with `message`
/// (`spec/kling-api.md` "Common rules").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// 0 on success; an error code from the table in `spec/kling-api.md` otherwise.
    pub code: i64,
    /// Human-readable message (`"SUCCEED"` on success); `null` reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    /// Kling's id of this request, for support tickets; `null` reads as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_id: String,
    /// The payload; absent or `null` on errors.
    #[serde(default = "none")]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// Reads an explicit JSON `null` as the field's default. spec/kling-api.md "Field types":
/// responses may carry explicit `null`s (`message`, `request_id`, `task_info`, …), so every
/// defaulted response field goes through this (an `Option` field reads `null` as `None`
/// by itself).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The endpoints that create asynchronous tasks. Each also has a query (`GET
/// {path}/{id}`) and a list (`GET {path}?pageNum=&pageSize=`) at the same path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/videos/text2video` (§2).
    Text2Video,
    /// `POST /v1/videos/image2video` (§3).
    Image2Video,
    /// `POST /v1/videos/multi-image2video` (§4).
    MultiImage2Video,
    /// `POST /v1/videos/motion-control` (§5).
    MotionControl,
    /// `POST /v1/videos/video-extend` (§6).
    VideoExtend,
    /// `POST /v1/videos/advanced-lip-sync` (§1).
    AdvancedLipSync,
    /// `POST /v1/images/generations` (§7).
    ImageGenerations,
    /// `POST /v1/images/omni-image` (§8).
    OmniImage,
}

impl Endpoint {
    /// Every task endpoint.
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Text2Video,
        Endpoint::Image2Video,
        Endpoint::MultiImage2Video,
        Endpoint::MotionControl,
        Endpoint::VideoExtend,
        Endpoint::AdvancedLipSync,
        Endpoint::ImageGenerations,
        Endpoint::OmniImage,
    ];

    /// The create path; queries and lists live under the same path.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Text2Video => "/v1/videos/text2video",
            Endpoint::Image2Video => "/v1/videos/image2video",
            Endpoint::MultiImage2Video => "/v1/videos/multi-image2video",
            Endpoint::MotionControl => "/v1/videos/motion-control",
            Endpoint::VideoExtend => "/v1/videos/video-extend",
            Endpoint::AdvancedLipSync => "/v1/videos/advanced-lip-sync",
            Endpoint::ImageGenerations => "/v1/images/generations",
            Endpoint::OmniImage => "/v1/images/omni-image",
        }
    }

    /// Whether the single-task query (`GET <path>/{id}`) accepts the `external_task_id`
    /// in place of the `task_id`. Every create body takes `external_task_id`; the seed
    /// documents the query by external id for text2video, image2video and
    /// multi-image2video, and the 2026 docs add motion-control, video-extend,
    /// images/generations and omni-image (spec/kling-api.md "Reconciliation"), which
    /// leaves advanced-lip-sync, found through its task list.
    pub fn query_accepts_external_id(self) -> bool {
        !matches!(self, Endpoint::AdvancedLipSync)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path())
    }
}

/// `POST /v1/videos/identify-face` (§1): synchronous, creates no task.
pub const IDENTIFY_FACE_PATH: &str = "/v1/videos/identify-face";

/// Query of a list endpoint: `pageNum` 1–1000 (default 1), `pageSize` 1–500 (default 30).
/// These two are camelCase on the wire, unlike every body field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Page number, from 1.
    #[serde(rename = "pageNum", default, skip_serializing_if = "Option::is_none")]
    pub page_num: Option<u32>,
    /// Tasks per page.
    #[serde(rename = "pageSize", default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// A length in whole seconds, sent as a string (`"5"`, `"10"`) as the spec requires.
/// Accepts a JSON number too when reading, since some answers echo it as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seconds(pub u32);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::String(s) => s.trim().parse::<u32>().ok(),
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        };
        parsed.map(Seconds).ok_or_else(|| {
            serde::de::Error::custom(format!("duration: {v} is not a whole number of seconds"))
        })
    }
}

/// `std` or `pro`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Standard.
    Std,
    /// Professional (higher quality, higher price).
    Pro,
}

impl Mode {
    /// Parses `std` / `pro`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "std" => Some(Mode::Std),
            "pro" => Some(Mode::Pro),
            _ => None,
        }
    }
}

/// `on` / `off` (`sound`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// `yes` / `no` (`keep_original_sound`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNo {
    /// Yes.
    Yes,
    /// No.
    No,
}

/// A field that Kling documents as a string but may send as a number
/// (`final_unit_deduction`); kept as the text it arrived as.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(pub String);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Amount(s)),
            serde_json::Value::Number(n) => Ok(Amount(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "{other} is not an amount"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_strings_on_the_wire() {
        assert_eq!(serde_json::to_string(&Seconds(5)).unwrap(), "\"5\"");
        assert_eq!(
            serde_json::from_str::<Seconds>("\"10\"").unwrap(),
            Seconds(10)
        );
        assert_eq!(serde_json::from_str::<Seconds>("10").unwrap(), Seconds(10));
        let err = serde_json::from_str::<Seconds>("\"five\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"five\""), "{err}");
    }

    #[test]
    fn list_query_uses_camel_case() {
        let q = ListQuery {
            page_num: Some(2),
            page_size: Some(500),
        };
        assert_eq!(
            serde_json::to_value(q).unwrap(),
            serde_json::json!({"pageNum": 2, "pageSize": 500})
        );
        assert_eq!(
            serde_json::to_value(ListQuery::default()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn error_envelope_has_no_data() {
        let e: Envelope<Task> = serde_json::from_str(
            r#"{"code":1201,"message":"prompt too long","request_id":"r1","data":null}"#,
        )
        .unwrap();
        assert_eq!(
            (e.code, e.message.as_str(), e.data),
            (1201, "prompt too long", None)
        );
        let e: Envelope<Task> =
            serde_json::from_str(r#"{"code":1000,"message":"auth failed","request_id":"r2"}"#)
                .unwrap();
        assert!(e.data.is_none());
    }

    #[test]
    fn endpoint_paths() {
        let paths: Vec<_> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        assert_eq!(
            paths,
            [
                "/v1/videos/text2video",
                "/v1/videos/image2video",
                "/v1/videos/multi-image2video",
                "/v1/videos/motion-control",
                "/v1/videos/video-extend",
                "/v1/videos/advanced-lip-sync",
                "/v1/images/generations",
                "/v1/images/omni-image",
            ]
        );
    }
}
