//! Lip sync in two steps (`spec/kling-api.md` §1): `POST /v1/videos/identify-face`
//! (synchronous) finds the faces, then `POST /v1/videos/advanced-lip-sync` creates the task.

use super::{null_as_default, Amount};
use serde::{Deserialize, Serialize};

/// `POST /v1/videos/identify-face`: exactly one of `video_id` / `video_url`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifyFaceRequest {
    /// A Kling-generated video, ≤ 30 days old, ≤ 60 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// .mp4/.mov, ≤ 100 MB, 2–60 s, 720p/1080p, each side 512–2160 px.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
}

/// identify-face `data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifyFaceResponse {
    /// Valid for 24 h; goes into advanced-lip-sync.
    pub session_id: String,
    /// The faces found.
    #[serde(default, deserialize_with = "null_as_default")]
    pub face_data: Vec<FaceData>,
    /// Units charged for this call (issue 15 point 5: identify-face is billed on its own,
    /// before any lip-sync task exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_unit_deduction: Option<Amount>,
}

/// One face found by identify-face.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceData {
    /// Goes into `face_choose.face_id`.
    pub face_id: String,
    /// A picture of the face (URL).
    #[serde(default, deserialize_with = "null_as_default")]
    pub face_image: String,
    /// Start of the interval in which the face can be lip-synced, ms.
    pub start_time: i64,
    /// End of that interval, ms.
    pub end_time: i64,
}

/// `face_choose[]` (currently one face only): exactly one of `audio_id` / `sound_file`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaceChoose {
    /// From identify-face.
    pub face_id: String,
    /// Generated speech audio (2–60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_id: Option<String>,
    /// Base64 or URL; .mp3/.wav/.m4a, ≤ 5 MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_file: Option<String>,
    /// Crop start in the audio, ms.
    pub sound_start_time: u64,
    /// Crop end in the audio, ms.
    pub sound_end_time: u64,
    /// Where the cropped audio starts in the video, ms.
    pub sound_insert_time: u64,
    /// [0, 2], default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_volume: Option<f64>,
    /// [0, 2], default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_audio_volume: Option<f64>,
}

/// `POST /v1/videos/advanced-lip-sync`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvancedLipSyncRequest {
    /// From identify-face.
    pub session_id: String,
    /// One face.
    pub face_choose: Vec<FaceChoose>,
    /// Caller-chosen unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identify_face_round_trip() {
        let resp: IdentifyFaceResponse = serde_json::from_value(json!({
            "session_id": "s-1",
            "face_data": [{"face_id": "f-0", "face_image": "https://k.test/f0.png",
                           "start_time": 0, "end_time": 5200}]
        }))
        .unwrap();
        assert_eq!(resp.face_data[0].end_time, 5200);
        let req = IdentifyFaceRequest {
            video_id: Some("v-1".into()),
            video_url: None,
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"video_id": "v-1"})
        );
    }

    #[test]
    fn lip_sync_body_shape() {
        let req = AdvancedLipSyncRequest {
            session_id: "s-1".into(),
            face_choose: vec![FaceChoose {
                face_id: "f-0".into(),
                sound_file: Some("https://k.test/a.mp3".into()),
                sound_start_time: 0,
                sound_end_time: 3000,
                sound_insert_time: 500,
                sound_volume: Some(1.5),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"session_id": "s-1", "face_choose": [{
                "face_id": "f-0", "sound_file": "https://k.test/a.mp3",
                "sound_start_time": 0, "sound_end_time": 3000, "sound_insert_time": 500,
                "sound_volume": 1.5}]})
        );
    }
}
