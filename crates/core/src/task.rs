//! Tasks: status, the transition rule, assets, and what providers answer.

use crate::request::{MediaKind, Operation};
use serde::{Deserialize, Serialize};

/// The life of a generation task.
///
/// `Unknown` is for a submission whose acceptance is uncertain (the request left but no
/// answer came back): it is reconciled by polling, never resubmitted. `Succeeded`,
/// `Failed` and `Cancelled` are final (issue 13 point 5 added `Cancelled`: a task its
/// caller cancelled through a provider that supports it; its hold is voided like a
/// failure's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Accepted by the upstream, not started.
    Submitted,
    /// Running upstream.
    Processing,
    /// Finished with assets.
    Succeeded,
    /// Finished without a result; the hold is voided.
    Failed,
    /// The upstream may or may not have accepted the submission.
    Unknown,
    /// Cancelled at the caller's request before it finished; the hold is voided.
    Cancelled,
}

/// The outcome of applying an observed status to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The task moves to the new status.
    Moved(TaskStatus),
    /// Nothing changes (same status, or a stale observation such as `processing` after
    /// `succeeded`). A stale update is a no-op, not an error.
    Unchanged,
}

impl TaskStatus {
    /// The snake_case name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Submitted => "submitted",
            TaskStatus::Processing => "processing",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Unknown => "unknown",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Parses [`TaskStatus::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "submitted" => TaskStatus::Submitted,
            "processing" => TaskStatus::Processing,
            "succeeded" => TaskStatus::Succeeded,
            "failed" => TaskStatus::Failed,
            "unknown" => TaskStatus::Unknown,
            "cancelled" => TaskStatus::Cancelled,
            _ => return None,
        })
    }

    /// Every status, in the order of the enum.
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Submitted,
        TaskStatus::Processing,
        TaskStatus::Succeeded,
        TaskStatus::Failed,
        TaskStatus::Unknown,
        TaskStatus::Cancelled,
    ];

    /// Succeeded, failed or cancelled: nothing will change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }

    /// Failed or cancelled: finished without a result, its hold voided (nothing charged).
    pub fn is_refunded(self) -> bool {
        matches!(self, TaskStatus::Failed | TaskStatus::Cancelled)
    }

    /// How far along a status is; a task only ever moves to a higher rank.
    fn rank(self) -> u8 {
        match self {
            TaskStatus::Unknown => 0,
            TaskStatus::Submitted => 1,
            TaskStatus::Processing => 2,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Cancelled => 3,
        }
    }

    /// Applies an observed status. A finished task never moves (not even to another final
    /// status: a cancelled task stays cancelled whatever the provider reports later, and a
    /// finished one cannot be cancelled), and no task moves backwards; `unknown` can be
    /// resolved to anything.
    ///
    /// ```
    /// use genmux_core::{TaskStatus::*, Transition};
    /// assert_eq!(Submitted.transition(Processing), Transition::Moved(Processing));
    /// assert_eq!(Succeeded.transition(Processing), Transition::Unchanged);
    /// assert_eq!(Succeeded.transition(Failed), Transition::Unchanged);
    /// assert_eq!(Unknown.transition(Failed), Transition::Moved(Failed));
    /// assert_eq!(Processing.transition(Cancelled), Transition::Moved(Cancelled));
    /// assert_eq!(Cancelled.transition(Succeeded), Transition::Unchanged);
    /// ```
    pub fn transition(self, observed: TaskStatus) -> Transition {
        if self.is_final() || observed == TaskStatus::Unknown {
            return Transition::Unchanged;
        }
        if observed.rank() > self.rank() {
            Transition::Moved(observed)
        } else {
            Transition::Unchanged
        }
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A generated file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// Video or image.
    pub kind: MediaKind,
    /// Where to download it (upstream URLs expire: Kling 30 days, Seedance 24 h).
    pub url: String,
    /// The provider's id of the asset (Kling video ids feed video-extend and lip sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Length in seconds, for videos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Position in a multi-image result, from 0.
    pub index: u32,
    /// Size in bytes, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// Where a task lives upstream: enough for the creating provider to query it again
/// (task affinity, `ARCHITECTURE.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRef {
    /// The provider id that created the task.
    pub provider: String,
    /// The upstream's task id.
    pub provider_task_id: String,
    /// The catalog model id.
    pub model: String,
    /// The upstream's model name.
    pub provider_model: String,
    /// The operation (selects the upstream query endpoint).
    pub operation: Operation,
}

/// A task whose submission outcome is unknown, as the engine asks its provider to find it
/// ([`crate::VideoProvider::find_unknown`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTask {
    /// The provider the submission was sent to.
    pub provider: String,
    /// The id genmux sent with the submission ([`crate::SubmitRequest::external_id`]).
    pub external_id: String,
    /// The catalog model id.
    pub model: String,
    /// The upstream's model name, when known.
    pub provider_model: String,
    /// The operation (selects the upstream endpoint).
    pub operation: Operation,
    /// When the submission left, in Unix milliseconds: a scan of the provider's task list
    /// (newest first) that reaches tasks created well before it has seen every candidate.
    pub sent_at_unix_ms: i64,
}

impl UnknownTask {
    /// The same task as a status query by external id.
    pub fn as_query(&self) -> TaskRef {
        TaskRef {
            provider: self.provider.clone(),
            provider_task_id: self.external_id.clone(),
            model: self.model.clone(),
            provider_model: self.provider_model.clone(),
            operation: self.operation,
        }
    }
}

/// A provider's answer to a submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// The upstream's task id.
    pub provider_task_id: String,
    /// The upstream's model name.
    pub provider_model: String,
    /// The status the upstream reported (usually `submitted`).
    pub status: TaskStatus,
    /// The upstream's estimate, if it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_time_sec: Option<u32>,
}

/// A task as a provider reports it (status query or inbound callback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSnapshot {
    /// The upstream's task id.
    pub provider_task_id: String,
    /// Normalized status.
    pub status: TaskStatus,
    /// Results, when succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<Asset>,
    /// Failure reason, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Metered usage reported upstream (tokens, units), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<serde_json::Value>,
    /// What the upstream billed this account for the task, in micro-USD, from the
    /// provider's own figures (Kling `final_unit_deduction` × the account's USD per unit);
    /// `None` when the provider reports none. Recorded on the usage row with the margin
    /// (issue 14 point 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_usd_micros: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::TaskStatus::{self, *};
    use super::Transition;

    const ALL: [TaskStatus; 6] = TaskStatus::ALL;

    #[test]
    fn transition_table() {
        use Transition::{Moved as M, Unchanged as U};
        // rows: from; columns: observed in ALL order
        // (Submitted, Processing, Succeeded, Failed, Unknown, Cancelled)
        let table = [
            (
                Submitted,
                [U, M(Processing), M(Succeeded), M(Failed), U, M(Cancelled)],
            ),
            (Processing, [U, U, M(Succeeded), M(Failed), U, M(Cancelled)]),
            (Succeeded, [U, U, U, U, U, U]),
            (Failed, [U, U, U, U, U, U]),
            (
                Unknown,
                [
                    M(Submitted),
                    M(Processing),
                    M(Succeeded),
                    M(Failed),
                    U,
                    M(Cancelled),
                ],
            ),
            (Cancelled, [U, U, U, U, U, U]),
        ];
        for (from, row) in table {
            for (observed, want) in ALL.iter().zip(row) {
                assert_eq!(from.transition(*observed), want, "{from} + {observed}");
            }
        }
    }

    #[test]
    fn applying_any_sequence_never_leaves_a_final_status() {
        use proptest::prelude::*;
        proptest!(|(seq in proptest::collection::vec(0usize..6, 0..20))| {
            let mut s = Submitted;
            let mut finished: Option<TaskStatus> = None;
            for i in seq {
                if let Transition::Moved(n) = s.transition(ALL[i]) { s = n; }
                if let Some(f) = finished { prop_assert_eq!(s, f); }
                if s.is_final() { finished = Some(s); }
            }
        });
    }

    #[test]
    fn parse_round_trips() {
        for s in ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("succeed"), None);
        assert_eq!(TaskStatus::parse("canceled"), None);
    }

    #[test]
    fn final_and_refunded() {
        let finals: Vec<_> = ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [Succeeded, Failed, Cancelled]);
        let refunded: Vec<_> = ALL.into_iter().filter(|s| s.is_refunded()).collect();
        assert_eq!(refunded, [Failed, Cancelled]);
        assert_eq!(serde_json::to_string(&Cancelled).unwrap(), "\"cancelled\"");
    }
}
