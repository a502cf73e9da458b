//! The task of `GET /contents/generations/tasks/{id}`, also the body of Ark's callbacks
//! (`spec/upstreams.md`, Seedance "Poll" and "Callback").
//!
//! Read tolerantly: every field but `id` may be missing or `null`; numbers may come as
//! integers, integral floats or digit strings; unknown fields are ignored; an unknown
//! `status` is kept as [`TaskStatus::Other`] (`cancelled` is *unverified* in the spec).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `status`: `queued` → `running` → `succeeded` | `failed` | `expired`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Accepted, waiting for capacity.
    Queued,
    /// Generating.
    Running,
    /// Finished; `content.video_url` holds the video.
    Succeeded,
    /// Finished without a video; `error` says why.
    Failed,
    /// Not finished before `execution_expires_after`.
    Expired,
    /// Cancelled (seen in some docs, *unverified*).
    Cancelled,
    /// A status the spec does not name (or none at all): kept as sent.
    Other(String),
    /// No status in the answer.
    #[default]
    Missing,
}

impl TaskStatus {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Expired => "expired",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Other(s) => s,
            TaskStatus::Missing => "",
        }
    }

    /// Reads the wire spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => TaskStatus::Queued,
            "running" => TaskStatus::Running,
            "succeeded" => TaskStatus::Succeeded,
            "failed" => TaskStatus::Failed,
            "expired" => TaskStatus::Expired,
            "cancelled" => TaskStatus::Cancelled,
            other => TaskStatus::Other(other.to_string()),
        }
    }
}

impl Serialize for TaskStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            Some(s) => TaskStatus::parse(&s),
            None => TaskStatus::Missing,
        })
    }
}

/// A task as a query answers it and a callback carries it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `cgt-…`.
    pub id: String,
    /// The model that ran it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub model: String,
    /// Where it is.
    #[serde(default)]
    pub status: TaskStatus,
    /// Why it failed, when it did.
    #[serde(default)]
    pub error: Option<TaskError>,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "lenient_int")]
    pub created_at: Option<i64>,
    /// Last change, Unix seconds.
    #[serde(default, deserialize_with = "lenient_int")]
    pub updated_at: Option<i64>,
    /// The results, once succeeded.
    #[serde(default)]
    pub content: Option<TaskContent>,
    /// The seed used.
    #[serde(default, deserialize_with = "lenient_int")]
    pub seed: Option<i64>,
    /// The resolution produced.
    #[serde(default)]
    pub resolution: Option<String>,
    /// The ratio produced (`adaptive` resolved to a real one).
    #[serde(default)]
    pub ratio: Option<String>,
    /// Seconds produced (the model's choice when −1 was asked).
    #[serde(default, deserialize_with = "lenient_int")]
    pub duration: Option<i64>,
    /// Frames per second (24).
    #[serde(default, deserialize_with = "lenient_int")]
    pub framespersecond: Option<i64>,
    /// Whether a sound track was generated.
    #[serde(default)]
    pub generate_audio: Option<bool>,
    /// Tokens; `completion_tokens` is what the account is charged.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// `error` of a failed task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskError {
    /// Ark's code (`OutputVideoSensitiveContentDetected`, …).
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    /// Ark's message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
}

/// `content` of a finished task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskContent {
    /// The video; the URL expires after 24 h.
    #[serde(default)]
    pub video_url: Option<String>,
    /// The last frame, when `return_last_frame` was asked.
    #[serde(default)]
    pub last_frame_url: Option<String>,
}

/// `usage`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens charged: w × h × fps × seconds / 1024 (spec "Billing").
    #[serde(default, deserialize_with = "lenient_int")]
    pub completion_tokens: Option<i64>,
    /// Total tokens.
    #[serde(default, deserialize_with = "lenient_int")]
    pub total_tokens: Option<i64>,
}

/// `null` reads as the type's default.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An integer sent as a JSON integer, an integral float or a string of digits; anything
/// else (including `null`) reads as absent rather than failing the whole answer.
pub(crate) fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_finished_task_reads_with_every_field() {
        let t: Task = serde_json::from_value(json!({
            "id": "cgt-20261206-abc", "model": "seedance-1-5-pro-251215",
            "status": "succeeded", "error": null,
            "created_at": 1_765_000_000, "updated_at": 1_765_000_090,
            "content": {"video_url": "https://ark.test/v.mp4"},
            "seed": 4_294_967_295u64, "resolution": "720p", "ratio": "16:9", "duration": 8,
            "framespersecond": 24, "generate_audio": true,
            "usage": {"completion_tokens": 172_800, "total_tokens": 172_800}
        }))
        .unwrap();
        assert_eq!(t.status, TaskStatus::Succeeded);
        assert_eq!(t.seed, Some(4_294_967_295));
        assert_eq!(
            t.content.unwrap().video_url.as_deref(),
            Some("https://ark.test/v.mp4")
        );
        assert_eq!(t.usage.unwrap().completion_tokens, Some(172_800));
        assert_eq!(t.error, None);
    }

    #[test]
    fn unknown_fields_nulls_and_odd_numbers_are_tolerated() {
        let t: Task = serde_json::from_value(json!({
            "id": "cgt-1", "model": null, "status": "paused", "brand_new": {"x": 1},
            "duration": 8.0, "framespersecond": "24", "seed": "random",
            "usage": {"completion_tokens": null}, "content": null, "error": {"code": null}
        }))
        .unwrap();
        assert_eq!(t.status, TaskStatus::Other("paused".into()));
        assert_eq!(t.model, "");
        assert_eq!(
            (t.duration, t.framespersecond, t.seed),
            (Some(8), Some(24), None)
        );
        assert_eq!(t.usage.unwrap().completion_tokens, None);
        assert_eq!(t.error.unwrap().code, "");
        let bare: Task = serde_json::from_value(json!({"id": "cgt-2", "status": null})).unwrap();
        assert_eq!(bare.status, TaskStatus::Missing);
    }

    #[test]
    fn statuses_round_trip_their_spelling() {
        for s in [
            "queued",
            "running",
            "succeeded",
            "failed",
            "expired",
            "cancelled",
            "new",
        ] {
            let st = TaskStatus::parse(s);
            assert_eq!(st.as_str(), s);
            assert_eq!(serde_json::to_value(&st).unwrap(), json!(s));
        }
    }

    #[test]
    fn a_task_without_an_id_is_not_a_task() {
        assert!(serde_json::from_value::<Task>(json!({"status": "queued"})).is_err());
    }
}
