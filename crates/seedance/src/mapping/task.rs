//! Ark task → unified: status, the video, the failure reason, tokens and what they cost
//! (`spec/upstreams.md`, Seedance "Poll", "Callback", "Billing").

use crate::error::PROVIDER;
use crate::wire::{self, CreateTaskResponse, Task};
use genmux_core::{Asset, Error, MediaKind, Result, Submission, TaskSnapshot, TaskStatus};

/// Ark's status → genmux's. `expired` and the *unverified* `cancelled` end the task
/// without a video (genmux never cancels an Ark task, so either is a failure of the
/// upstream's, refunded). A status the spec does not name — or none — reads as still
/// running, with a warning: the next query will tell more (a status list from BytePlus
/// naming it would confirm what it means).
pub fn status(s: &wire::TaskStatus) -> TaskStatus {
    match s {
        wire::TaskStatus::Queued => TaskStatus::Submitted,
        wire::TaskStatus::Running => TaskStatus::Processing,
        wire::TaskStatus::Succeeded => TaskStatus::Succeeded,
        wire::TaskStatus::Failed | wire::TaskStatus::Expired | wire::TaskStatus::Cancelled => {
            TaskStatus::Failed
        }
        wire::TaskStatus::Other(_) | wire::TaskStatus::Missing => {
            tracing::warn!(
                provider = PROVIDER,
                status = s.as_str(),
                "Ark reported a task status the spec does not name; treating it as running"
            );
            TaskStatus::Processing
        }
    }
}

/// What a create answer means to the router: the task is queued.
pub fn submission(created: &CreateTaskResponse, provider_model: &str) -> Submission {
    Submission {
        provider_task_id: created.id.clone(),
        provider_model: provider_model.to_string(),
        status: TaskStatus::Submitted,
        estimated_time_sec: None,
    }
}

/// A query answer or callback as a [`TaskSnapshot`]: the video (its URL expires after
/// 24 h, so the gateway copies it before announcing success), the failure reason with
/// Ark's code, and `usage` as Ark reported it (`completion_tokens` is the charge).
///
/// A `succeeded` task without a `video_url` is an error rather than an empty success, so
/// nobody is charged for nothing.
pub fn snapshot(task: &Task) -> Result<TaskSnapshot> {
    let st = status(&task.status);
    let video = task
        .content
        .as_ref()
        .and_then(|c| c.video_url.as_deref())
        .filter(|u| !u.trim().is_empty());
    let assets = match (st, video) {
        (TaskStatus::Succeeded, Some(url)) => vec![Asset {
            kind: MediaKind::Video,
            url: url.to_string(),
            id: None,
            duration_secs: task.duration.filter(|d| *d > 0).map(|d| d as f64),
            index: 0,
            size_bytes: None,
        }],
        (TaskStatus::Succeeded, None) => {
            return Err(Error::internal(format!(
                "Ark task {} reports succeeded without a video_url",
                task.id
            ))
            .with_provider(PROVIDER))
        }
        _ => Vec::new(),
    };
    let error = (st == TaskStatus::Failed).then(|| failure_reason(task));
    let usage = task.usage.as_ref().and_then(|u| {
        let mut m = serde_json::Map::new();
        if let Some(t) = u.completion_tokens {
            m.insert("completion_tokens".into(), t.into());
        }
        if let Some(t) = u.total_tokens {
            m.insert("total_tokens".into(), t.into());
        }
        (!m.is_empty()).then_some(serde_json::Value::Object(m))
    });
    Ok(TaskSnapshot {
        provider_task_id: task.id.clone(),
        status: st,
        assets,
        error,
        usage,
        billed_usd_micros: None,
    })
}

fn failure_reason(task: &Task) -> String {
    let detail = task
        .error
        .as_ref()
        .filter(|e| !(e.code.is_empty() && e.message.is_empty()));
    match (&task.status, detail) {
        (_, Some(e)) => format!("Ark {}: {}", e.code, e.message),
        (wire::TaskStatus::Expired, None) => "Ark: the task expired before it finished".into(),
        (wire::TaskStatus::Cancelled, None) => "Ark: the task was cancelled".into(),
        _ => "Ark reported the task failed without a reason".into(),
    }
}

/// What Ark billed for a finished task in micro-USD (spec "Billing": the charge is
/// `usage.completion_tokens`, at `usd_per_million` per million tokens, twice that with a
/// sound track). `None` for a task that did not succeed (Ark charges successes), without
/// tokens, or that does not say whether it made sound (its rate would be a guess).
pub fn billed_usd_micros(task: &Task, usd_per_million: f64) -> Option<i64> {
    if task.status != wire::TaskStatus::Succeeded {
        return None;
    }
    let tokens = task.usage.as_ref()?.completion_tokens?;
    let rate = usd_per_million * if task.generate_audio? { 2.0 } else { 1.0 };
    // tokens × USD per million = micro-USD.
    let micros = (tokens as f64 * rate).round();
    (micros.is_finite() && micros >= 0.0 && micros < i64::MAX as f64).then_some(micros as i64)
}

/// A callback body (Ark POSTs the query body, spec "Callback") as a task. Unsigned: the
/// caller treats what it says as a hint until a query confirms it.
pub fn parse_callback_body(body: &[u8]) -> Result<Task> {
    serde_json::from_slice::<Task>(body)
        .map_err(|e| Error::invalid(format!("not an Ark task: {e}")).with_provider(PROVIDER))
}
