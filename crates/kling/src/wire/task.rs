//! The task object: the `data` of every create, query and callback, and each item of a
//! list (`spec/kling-api.md` "Common rules", §1, §2, §6, §7).

use super::{null_as_default, Amount};
use serde::{Deserialize, Serialize};

/// `task_status`: `submitted` → `processing` → `succeed` | `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Accepted, not started.
    Submitted,
    /// Running.
    Processing,
    /// Finished with results (spelled `succeed` by Kling).
    Succeed,
    /// Finished without results; `task_status_msg` says why.
    Failed,
}

/// A Kling task as returned by create (a subset), query, list and callbacks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Kling's task id.
    pub task_id: String,
    /// Where the task is.
    pub task_status: TaskStatus,
    /// The failure reason, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_status_msg: Option<String>,
    /// The caller's external id and, for extend and lip sync, the source video.
    #[serde(default, deserialize_with = "null_as_default")]
    pub task_info: TaskInfo,
    /// The results, once `succeed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_result: Option<TaskResult>,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Last change, Unix milliseconds.
    pub updated_at: i64,
    /// Units charged (queries only; failed tasks are not charged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_unit_deduction: Option<Amount>,
}

/// `task_info`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The caller-chosen id given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// The extended or lip-synced source video (§1, §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_video: Option<ParentVideo>,
}

/// `task_info.parent_video`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParentVideo {
    /// The source video's id.
    pub id: String,
    /// The source video's URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    /// The source video's length in seconds, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

/// `task_result`: videos for video tasks, images for image tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Generated videos (`{id, url, duration}`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub videos: Vec<TaskVideo>,
    /// Generated images (`{index, url}`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<TaskImage>,
}

/// One generated video. URLs are valid for 30 days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskVideo {
    /// The video id (feeds video-extend and lip sync).
    pub id: String,
    /// Download URL.
    pub url: String,
    /// Length in seconds as a decimal string, e.g. `"5.1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// The same video with Kling's watermark, when `watermark_info.enabled` was asked for
    /// (spec "Field types": `watermark_url` on results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_url: Option<String>,
}

/// One generated image. URLs are valid for 30 days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskImage {
    /// Position in the result, from 0.
    pub index: u32,
    /// Download URL.
    pub url: String,
    /// The same image with Kling's watermark, when asked for (spec "Field types").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Envelope;

    #[test]
    fn parses_a_finished_extend_query() {
        let body = r#"{
          "code": 0, "message": "SUCCEED", "request_id": "req-1",
          "data": {
            "task_id": "t-1", "task_status": "succeed", "task_status_msg": "",
            "task_info": {"external_task_id": "ext-1",
                          "parent_video": {"id": "v-0", "url": "https://k.test/v0.mp4", "duration": "5"}},
            "task_result": {"videos": [{"id": "v-1", "url": "https://k.test/v1.mp4", "duration": "10.1"}]},
            "created_at": 1722769557708, "updated_at": 1722769567708,
            "final_unit_deduction": "1.5"
          }
        }"#;
        let env: Envelope<Task> = serde_json::from_str(body).unwrap();
        let t = env.data.unwrap();
        assert_eq!(t.task_status, TaskStatus::Succeed);
        assert_eq!(t.task_info.external_task_id.as_deref(), Some("ext-1"));
        assert_eq!(t.task_info.parent_video.unwrap().id, "v-0");
        let v = &t.task_result.unwrap().videos[0];
        assert_eq!(
            (v.id.as_str(), v.duration.as_deref()),
            ("v-1", Some("10.1"))
        );
        assert_eq!(t.created_at, 1_722_769_557_708);
        assert_eq!(t.final_unit_deduction, Some(Amount("1.5".into())));
    }

    #[test]
    fn parses_a_create_answer_and_numeric_deduction() {
        let t: Task = serde_json::from_str(
            r#"{"task_id":"t-2","task_info":{},"task_status":"submitted",
                "created_at":1,"updated_at":1,"final_unit_deduction":2}"#,
        )
        .unwrap();
        assert_eq!(t.task_status, TaskStatus::Submitted);
        assert!(t.task_result.is_none());
        assert_eq!(t.final_unit_deduction, Some(Amount("2".into())));
    }

    #[test]
    fn rejects_an_unknown_status() {
        let err = serde_json::from_str::<Task>(
            r#"{"task_id":"t","task_status":"succeeded","created_at":1,"updated_at":1}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("succeeded"), "{err}");
    }
}
