//! Native task → unified: status, assets, failure reason, charged units.

use crate::error::PROVIDER;
use crate::wire::{self, Task};
use genmux_core::{Asset, Error, MediaKind, Result, Submission, TaskSnapshot, TaskStatus};

/// Kling's status → genmux's (`succeed` is spelled `succeeded` in genmux).
pub fn status(s: wire::TaskStatus) -> TaskStatus {
    match s {
        wire::TaskStatus::Submitted => TaskStatus::Submitted,
        wire::TaskStatus::Processing => TaskStatus::Processing,
        wire::TaskStatus::Succeed => TaskStatus::Succeeded,
        wire::TaskStatus::Failed => TaskStatus::Failed,
    }
}

/// What a create answer means to the router.
pub fn submission(task: &Task, provider_model: &str) -> Submission {
    Submission {
        provider_task_id: task.task_id.clone(),
        provider_model: provider_model.to_string(),
        status: status(task.task_status),
        estimated_time_sec: None,
    }
}

/// A query answer or callback as a [`TaskSnapshot`]: videos become video assets (with
/// their id, which feeds video-extend and lip sync, and their duration parsed from the
/// string), images become image assets at their `index`.
///
/// A `succeed` task without any video or image is an error rather than an empty success,
/// so nobody is charged for nothing.
pub fn snapshot(task: &Task) -> Result<TaskSnapshot> {
    let st = status(task.task_status);
    let result = task.task_result.clone().unwrap_or_default();
    let mut assets: Vec<Asset> = result
        .videos
        .iter()
        .enumerate()
        .map(|(i, v)| Asset {
            kind: MediaKind::Video,
            url: v.url.clone(),
            id: Some(v.id.clone()),
            duration_secs: v
                .duration
                .as_deref()
                .and_then(|d| d.trim().parse::<f64>().ok())
                .filter(|d| d.is_finite() && *d >= 0.0),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            size_bytes: None,
        })
        .collect();
    assets.extend(result.images.iter().map(|img| Asset {
        kind: MediaKind::Image,
        url: img.url.clone(),
        id: None,
        duration_secs: None,
        index: img.index,
        size_bytes: None,
    }));
    if st == TaskStatus::Succeeded && assets.is_empty() {
        return Err(Error::internal(format!(
            "Kling task {} reports succeed without any video or image",
            task.task_id
        ))
        .with_provider(PROVIDER));
    }
    let error = match st {
        TaskStatus::Failed => Some(
            task.task_status_msg
                .clone()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| "Kling reported the task failed without a reason".into()),
        ),
        _ => None,
    };
    let usage = task
        .final_unit_deduction
        .as_ref()
        .map(|u| serde_json::json!({ "final_unit_deduction": u.0 }));
    Ok(TaskSnapshot {
        provider_task_id: task.task_id.clone(),
        status: st,
        assets: if st == TaskStatus::Succeeded {
            assets
        } else {
            Vec::new()
        },
        error,
        usage,
        billed_usd_micros: None,
    })
}

/// What Kling billed for `task` in micro-USD: its `final_unit_deduction` (units; failed
/// tasks are not charged) × `usd_per_unit`. `None` when the task carries no deduction or an
/// unreadable one.
pub fn billed_usd_micros(task: &Task, usd_per_unit: f64) -> Option<i64> {
    usd_micros(
        deduction_units(task.final_unit_deduction.as_ref())?,
        usd_per_unit,
    )
}

/// A `final_unit_deduction` as units, when readable and not negative.
pub fn deduction_units(amount: Option<&wire::Amount>) -> Option<f64> {
    let units: f64 = amount?.0.trim().parse().ok()?;
    (units.is_finite() && units >= 0.0).then_some(units)
}

fn usd_micros(units: f64, usd_per_unit: f64) -> Option<i64> {
    let micros = (units * usd_per_unit * 1e6).round();
    (micros.is_finite() && micros >= 0.0 && micros < i64::MAX as f64).then_some(micros as i64)
}

/// Adds what identify-face charged before a lip-sync task existed (its own
/// `final_unit_deduction`, issue 15 point 5) to the task's snapshot: to the billed USD and,
/// as `identify_face_unit_deduction`, to the usage beside the task's own deduction.
pub fn add_identify_face_units(snap: &mut TaskSnapshot, units: f64, usd_per_unit: f64) {
    let extra = usd_micros(units, usd_per_unit).unwrap_or(0);
    snap.billed_usd_micros = Some(snap.billed_usd_micros.unwrap_or(0).saturating_add(extra));
    let mut usage = match snap.usage.take() {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    usage.insert(
        "identify_face_unit_deduction".into(),
        serde_json::json!(units.to_string()),
    );
    snap.usage = Some(serde_json::Value::Object(usage));
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::ErrorKind;
    use serde_json::json;

    fn task(v: serde_json::Value) -> Task {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn statuses() {
        use wire::TaskStatus as W;
        assert_eq!(status(W::Submitted), TaskStatus::Submitted);
        assert_eq!(status(W::Processing), TaskStatus::Processing);
        assert_eq!(status(W::Succeed), TaskStatus::Succeeded);
        assert_eq!(status(W::Failed), TaskStatus::Failed);
    }

    #[test]
    fn videos_become_assets_with_id_duration_and_index() {
        let t = task(json!({
            "task_id": "t-1", "task_status": "succeed", "created_at": 1, "updated_at": 2,
            "task_result": {"videos": [
                {"id": "v-1", "url": "https://k.test/1.mp4", "duration": "5.1"},
                {"id": "v-2", "url": "https://k.test/2.mp4", "duration": "ten"}
            ]},
            "final_unit_deduction": "2.5"
        }));
        let s = snapshot(&t).unwrap();
        assert_eq!(s.status, TaskStatus::Succeeded);
        assert_eq!(s.assets.len(), 2);
        assert_eq!(s.assets[0].kind, MediaKind::Video);
        assert_eq!(s.assets[0].id.as_deref(), Some("v-1"));
        assert_eq!(s.assets[0].duration_secs, Some(5.1));
        assert_eq!(s.assets[0].url, "https://k.test/1.mp4");
        assert_eq!((s.assets[1].index, s.assets[1].duration_secs), (1, None));
        assert_eq!(s.usage, Some(json!({"final_unit_deduction": "2.5"})));
        assert_eq!(s.error, None);
    }

    #[test]
    fn images_keep_their_index() {
        let t = task(json!({
            "task_id": "t-2", "task_status": "succeed", "created_at": 1, "updated_at": 2,
            "task_result": {"images": [
                {"index": 1, "url": "https://k.test/b.png"},
                {"index": 0, "url": "https://k.test/a.png"}
            ]}
        }));
        let s = snapshot(&t).unwrap();
        let got: Vec<_> = s
            .assets
            .iter()
            .map(|a| (a.kind, a.index, a.url.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (MediaKind::Image, 1, "https://k.test/b.png"),
                (MediaKind::Image, 0, "https://k.test/a.png")
            ]
        );
    }

    #[test]
    fn failed_carries_the_reason() {
        let t = task(json!({"task_id": "t-3", "task_status": "failed",
            "task_status_msg": "content safety", "created_at": 1, "updated_at": 2}));
        let s = snapshot(&t).unwrap();
        assert_eq!(
            (s.status, s.error.as_deref()),
            (TaskStatus::Failed, Some("content safety"))
        );
        let t = task(
            json!({"task_id": "t-4", "task_status": "failed", "task_status_msg": "",
            "created_at": 1, "updated_at": 2}),
        );
        assert!(snapshot(&t)
            .unwrap()
            .error
            .unwrap()
            .contains("without a reason"));
    }

    #[test]
    fn running_tasks_have_no_assets_and_empty_success_is_an_error() {
        let t = task(
            json!({"task_id": "t-5", "task_status": "processing", "created_at": 1, "updated_at": 2}),
        );
        let s = snapshot(&t).unwrap();
        assert_eq!(
            (s.status, s.assets.len(), s.error),
            (TaskStatus::Processing, 0, None)
        );
        let t = task(
            json!({"task_id": "t-6", "task_status": "succeed", "created_at": 1, "updated_at": 2,
            "task_result": {"videos": []}}),
        );
        let e = snapshot(&t).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(e.message().contains("t-6"));
    }

    #[test]
    fn submission_from_create_answer() {
        let t = task(
            json!({"task_id": "t-7", "task_status": "submitted", "task_info": {},
            "created_at": 1, "updated_at": 1}),
        );
        let s = submission(&t, "kling-v2-6");
        assert_eq!(
            (
                s.provider_task_id.as_str(),
                s.provider_model.as_str(),
                s.status
            ),
            ("t-7", "kling-v2-6", TaskStatus::Submitted)
        );
    }
}
