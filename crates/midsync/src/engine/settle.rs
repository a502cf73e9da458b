//! Settlement: what happens when a provider reports a task's status, by poll or by callback.
//!
//! Order matters for crash safety and concurrency (`design/RELIABILITY.md` I2, W3, R4):
//! 1. a non-final status only moves the task (never backwards: `TaskStatus::transition`);
//! 2. a final status first resolves the hold (`post` on success, `void` on failure or
//!    cancellation). The
//!    ledger resolves a hold once, so of any number of concurrent settlers exactly one
//!    applies it, and the hold's state decides the outcome for all of them;
//!    When the gateway keeps results (issue 18), an upstream's success resolves nothing
//!    yet: it starts the copy of the assets (`assets::copy::begin`), and the copier
//!    settles the task — through this same path — once every asset is stored, or fails it
//!    (hold voided) if the upstream's URLs died first. So the callback announces success
//!    only once the copy is durable;
//! 3. then the usage row (one per task), then the outbound callback (one per task, stable
//!    id), then the task's final status. When the hold resolves as observed (the usual
//!    case) all of it is one store write (`TaskStore::settle`, one transaction, issue 21);
//!    otherwise step by step, each idempotent, so a crash between two steps is repaired by
//!    the next poll of the still-unfinished task.

use crate::wire::StatusResponse;
use crate::AppState;
use genmux_core::catalog::price_inputs;
use genmux_core::{Error, ErrorKind, GenerationRequest, Result, TaskSnapshot, TaskStatus};
use genmux_store::{
    CopyState, HoldState, NewDelivery, Resolution, Settled, Settlement, StoredBlob, TaskRecord,
    TaskUpdate, TaskUpdateOutcome, UsageRecord,
};
use serde_json::{json, Map, Value};
use tracing::Instrument;

/// The `webhook-id` of a task's outbound callback: stable across retries and restarts.
pub fn webhook_id(task_id: &str) -> String {
    format!("msg_{task_id}")
}

/// Upstream usage keys shown to callers in their usage rows (token counts).
const CALLER_USAGE_KEYS: &[&str] = &[
    "inputTokens",
    "outputTokens",
    "input_tokens",
    "output_tokens",
    "totalTokens",
];

fn usage_of(task: &TaskRecord, snap: &TaskSnapshot) -> (Value, i64, i64) {
    let mut usage = Map::new();
    usage.insert("operation".into(), json!(task.operation));
    if let Ok(req) = serde_json::from_value::<GenerationRequest>(task.request.clone()) {
        let inputs = price_inputs(&req, task.operation);
        if inputs.seconds > 0 {
            usage.insert("duration".into(), json!(inputs.seconds));
        }
        if task.operation.output() == genmux_core::MediaKind::Image {
            usage.insert("images".into(), json!(inputs.images));
        }
        for (k, v) in [
            ("resolution", inputs.resolution),
            ("mode", inputs.mode),
            ("quality", inputs.quality),
        ] {
            if let Some(v) = v {
                usage.insert(k.into(), json!(v));
            }
        }
        if inputs.audio {
            usage.insert("generateAudio".into(), json!(true));
        }
    }
    let mut tokens = (0i64, 0i64);
    if let Some(Value::Object(u)) = &snap.usage {
        let get = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| u.get(*n).and_then(Value::as_i64))
                .unwrap_or(0)
        };
        tokens = (
            get(["inputTokens", "input_tokens"]),
            get(["outputTokens", "output_tokens"]),
        );
        // Only metered amounts a caller understands; a provider's internal figures (Kling
        // `final_unit_deduction`, an upstream's points) are what we pay, recorded for
        // operators as the upstream cost instead (issue 14 point 4, issue 20).
        for (k, v) in u {
            if CALLER_USAGE_KEYS.contains(&k.as_str()) {
                usage.entry(k.clone()).or_insert(v.clone());
            }
        }
    }
    (Value::Object(usage), tokens.0, tokens.1)
}

/// What the caller of a task that failed upstream is told (issue 13 point 10): what to do,
/// not the provider's own words — those are kept in the task's `upstream_error` and the
/// log, for operators.
pub const FAILED_UPSTREAM: &str = "the provider could not generate this task; no points were \
     charged. Retry; if it fails again, change the prompt or the input images or videos";

/// Who wrote a failure reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reporter {
    /// A provider (poll or callback): its text is for operators only.
    Upstream,
    /// The gateway itself (a task given up on): its text is for the caller.
    Gateway,
    /// The copier, once a success's results are stored: the upstream's report, applied.
    Copier,
}

/// Applies a provider's report about `task`. Returns the store's outcome of the task
/// update (`Moved` for exactly one of several concurrent settlers of the same change).
pub async fn settle(
    state: &AppState,
    task: &TaskRecord,
    snap: TaskSnapshot,
) -> Result<TaskUpdateOutcome> {
    settle_reported(state, task, snap, Reporter::Upstream, None, Vec::new()).await
}

/// `stored`: assets the copier stored whose records commit with the settlement.
async fn settle_reported(
    state: &AppState,
    task: &TaskRecord,
    snap: TaskSnapshot,
    reporter: Reporter,
    operator_note: Option<&str>,
    stored: Vec<(String, StoredBlob)>,
) -> Result<TaskUpdateOutcome> {
    let span = crate::telemetry::task_work_span!(
        "genmux.settle",
        task.id.as_str(),
        task.trace_context.as_deref()
    );
    let outcome = apply_report(state, task, snap, reporter, operator_note, stored)
        .instrument(span.clone())
        .await;
    if let Err(e) = &outcome {
        crate::telemetry::fail(&span, e);
    }
    outcome
}

async fn apply_report(
    state: &AppState,
    task: &TaskRecord,
    snap: TaskSnapshot,
    reporter: Reporter,
    operator_note: Option<&str>,
    stored: Vec<(String, StoredBlob)>,
) -> Result<TaskUpdateOutcome> {
    let store = state.store();
    let provider_task_id = Some(snap.provider_task_id.clone()).filter(|s| !s.is_empty());
    if reporter == Reporter::Upstream && crate::assets::copy::copies(state, &snap) {
        return crate::assets::copy::begin(state, task, snap).await;
    }
    if !snap.status.is_final() {
        return store
            .tasks
            .update(
                &task.id,
                TaskUpdate {
                    status: snap.status,
                    assets: Vec::new(),
                    error: None,
                    upstream_error: None,
                    provider_task_id,
                    provider_model: None,
                },
            )
            .await;
    }
    let observed = snap.status;
    let asked = if observed == TaskStatus::Succeeded {
        HoldState::Posted
    } else {
        HoldState::Voided
    };
    // The usual case — the hold resolves as observed — in one write (issue 21): the hold,
    // the usage row, the callback, the copy job and the final status commit together.
    let plan = Plan::new(state, task, &snap, reporter, operator_note, observed)?;
    let settlement = Settlement {
        task_id: task.id.clone(),
        hold: asked,
        usage: plan.usage,
        delivery: plan.delivery,
        update: plan.update,
        copy_done_at: (reporter == Reporter::Copier).then(|| state.clock().now()),
        // Cloned: the step-by-step path below records them too when this one cannot.
        stored_assets: stored.clone(),
    };
    let decided = match store.tasks.settle(settlement).await {
        Ok(Settled {
            resolution,
            outcome,
        }) => {
            count_resolution(state, &resolution);
            if let Some(outcome) = outcome {
                return Ok(finished(state, outcome));
            }
            // An earlier settlement resolved the hold the other way: it stands.
            match resolution.hold().state {
                HoldState::Posted => TaskStatus::Succeeded,
                // A voided hold ends the task without a result: cancelled when that is
                // what was observed (the caller cancelled it, issue 13 point 5), failed
                // otherwise.
                HoldState::Voided if observed == TaskStatus::Cancelled => TaskStatus::Cancelled,
                HoldState::Voided => TaskStatus::Failed,
                HoldState::Held => {
                    return Err(Error::internal(format!(
                        "hold of task {} still held after resolving it",
                        task.id
                    )))
                }
            }
        }
        // A task always has a hold (it is placed before submission); without one there is
        // nothing to charge, and the task still ends.
        Err(e) if e.kind() == ErrorKind::NotFound => {
            tracing::error!(task = %task.id, "settling a task that has no hold");
            observed
        }
        Err(e) => return Err(e),
    };
    if decided != observed {
        tracing::warn!(task = %task.id, %observed, %decided,
            "provider reports contradict an earlier settlement; the first one stands");
    }
    // The rest step by step, each idempotent, in the order that survives a crash between
    // them: the callback is queued before the task turns final (a task still unfinished is
    // settled again by the next poll, and the queue keeps the first copy of its callback).
    let plan = Plan::new(state, task, &snap, reporter, operator_note, decided)?;
    if let Some(usage) = &plan.usage {
        store.usage.append(usage).await?;
    }
    if let Some(delivery) = plan.delivery {
        store.outbox.enqueue(delivery).await?;
    }
    // The blobs exist whatever was decided: recorded, so the retention sweep deletes them.
    for (asset_id, blob) in &stored {
        store.assets.mark_stored(asset_id, blob).await?;
    }
    if reporter == Reporter::Copier {
        let end = if decided == TaskStatus::Succeeded {
            CopyState::Done
        } else {
            CopyState::Failed
        };
        store
            .assets
            .finish_copy(&task.id, end, None, state.clock().now())
            .await?;
    }
    let outcome = store.tasks.update(&task.id, plan.update).await?;
    Ok(finished(state, outcome))
}

/// Counts the points a resolution moved.
fn count_resolution(state: &AppState, resolution: &Resolution) {
    if let Resolution::Applied(hold) = resolution {
        let movement = match hold.state {
            HoldState::Posted => crate::telemetry::Movement::Posted,
            _ => crate::telemetry::Movement::Voided,
        };
        state.metrics().points(movement, hold.points);
    }
}

/// What a task's final status `decided` writes besides its hold: the usage row (a
/// success), the caller's callback and the task update. No I/O.
struct Plan {
    usage: Option<UsageRecord>,
    delivery: Option<NewDelivery>,
    update: TaskUpdate,
}

impl Plan {
    fn new(
        state: &AppState,
        task: &TaskRecord,
        snap: &TaskSnapshot,
        reporter: Reporter,
        operator_note: Option<&str>,
        decided: TaskStatus,
    ) -> Result<Plan> {
        let observed = snap.status;
        let agrees = decided == observed;
        let provider_task_id = Some(snap.provider_task_id.clone()).filter(|s| !s.is_empty());
        let usage = (decided == TaskStatus::Succeeded).then(|| {
            let (usage, input_tokens, output_tokens) = usage_of(task, snap);
            UsageRecord {
                task_id: task.id.clone(),
                account_id: task.account_id.clone(),
                api_key_id: task.api_key_id.clone(),
                model: task.model.clone(),
                points: task.points,
                usage,
                input_tokens,
                output_tokens,
                created_at: state.clock().now(),
                caller_external_id: task.caller_external_id.clone(),
                upstream_cost_micros: snap.billed_usd_micros,
                margin_micros: snap.billed_usd_micros.map(|cost| {
                    task.points
                        .saturating_mul(1_000_000 / genmux_core::pricing::POINTS_PER_USD)
                        .saturating_sub(cost)
                }),
            }
        });
        // The caller sees the gateway's words; an upstream's own failure text is kept for
        // operators (issue 13 point 10).
        let (upstream_error, reported) = match reporter {
            Reporter::Upstream | Reporter::Copier => (snap.error.clone(), None),
            // The gateway's own reason is the caller's; a note for operators (why a copy
            // failed) is kept where an upstream's text would be.
            Reporter::Gateway => (operator_note.map(str::to_string), snap.error.clone()),
        };
        if let Some(text) = &upstream_error {
            tracing::warn!(task = %task.id, provider = %task.provider,
                provider_task_id = ?provider_task_id, status = %observed, upstream = %text,
                "provider's failure text withheld from the caller; kept on the task record");
        }
        let error = if !agrees {
            Some("the provider reported contradicting results".to_string())
        } else if decided == TaskStatus::Failed {
            Some(reported.unwrap_or_else(|| FAILED_UPSTREAM.to_string()))
        } else if decided == TaskStatus::Cancelled {
            Some(reported.unwrap_or_else(|| "the provider reported the task cancelled".to_string()))
        } else {
            None
        };
        let update = TaskUpdate {
            status: decided,
            assets: if agrees {
                snap.assets.clone()
            } else {
                Vec::new()
            },
            error,
            upstream_error,
            provider_task_id,
            provider_model: None,
        };
        let delivery = match &task.callback_url {
            Some(url) => {
                let mut finished = task.clone();
                finished.status = decided;
                if !update.assets.is_empty() {
                    finished.assets = update.assets.clone();
                }
                if update.error.is_some() {
                    finished.error = update.error.clone();
                }
                if let Some(id) = &update.provider_task_id {
                    finished.provider_task_id = Some(id.clone());
                }
                let body = serde_json::to_vec(&StatusResponse::from_record(&finished))
                    .map_err(|e| Error::internal(format!("callback body: {e}")))?;
                Some(NewDelivery {
                    webhook_id: webhook_id(&task.id),
                    task_id: task.id.clone(),
                    account_id: task.account_id.clone(),
                    url: url.clone(),
                    body,
                    next_attempt_at: state.clock().now(),
                })
            }
            None => None,
        };
        Ok(Plan {
            usage,
            delivery,
            update,
        })
    }
}

/// Tells the router and the metrics of a task that turned final.
fn finished(state: &AppState, outcome: TaskUpdateOutcome) -> TaskUpdateOutcome {
    if let TaskUpdateOutcome::Moved(r) = &outcome {
        state.router().task_finished(&r.provider);
        state.metrics().settled(r.status);
        tracing::info!(task = %r.id, status = %r.status, provider = %r.provider, "task settled");
    }
    outcome
}

/// Records a task its provider accepted to cancel (`POST …/{taskId}/cancel`, issue 13
/// point 5): cancelled, hold voided, callback queued — through [`settle`], so the hold is
/// resolved exactly once even if a poll or a provider callback settles the task at the
/// same moment (then the first settlement stands, and the outcome says which it was).
pub async fn cancelled(state: &AppState, task: &TaskRecord) -> Result<TaskUpdateOutcome> {
    settle_reported(
        state,
        task,
        TaskSnapshot {
            provider_task_id: task.provider_task_id.clone().unwrap_or_default(),
            status: TaskStatus::Cancelled,
            assets: Vec::new(),
            error: Some("cancelled at the caller's request".to_string()),
            usage: None,
            billed_usd_micros: None,
        },
        // The gateway's own words, for the caller.
        Reporter::Gateway,
        None,
        Vec::new(),
    )
    .await
}

/// Settles a task whose results were copied (issue 18): `snap` is the upstream's report of
/// success with the gateway's asset URLs in place of the upstream's; `stored` are the
/// assets stored but not yet recorded (their records commit with the settlement, issue 21:
/// one durable write fewer per copy).
pub(crate) async fn copied(
    state: &AppState,
    task: &TaskRecord,
    snap: TaskSnapshot,
    stored: Vec<(String, StoredBlob)>,
) -> Result<TaskUpdateOutcome> {
    settle_reported(state, task, snap, Reporter::Copier, None, stored).await
}

/// Fails a task whose results could not be copied (issue 18 point 4): hold voided (the
/// caller is not charged for results it never received), `message` for the caller,
/// `detail` kept on the task for operators.
pub(crate) async fn copy_failed(
    state: &AppState,
    task: &TaskRecord,
    message: &str,
    detail: &str,
) -> Result<TaskUpdateOutcome> {
    settle_reported(
        state,
        task,
        TaskSnapshot {
            provider_task_id: task.provider_task_id.clone().unwrap_or_default(),
            status: TaskStatus::Failed,
            assets: Vec::new(),
            error: Some(message.to_string()),
            usage: None,
            billed_usd_micros: None,
        },
        Reporter::Gateway,
        Some(&format!("copying the results: {detail}")),
        Vec::new(),
    )
    .await
}

/// Ends a task the engine gives up on (too old, or an unknown submission the provider never
/// heard of): failed, hold voided, callback queued.
pub async fn fail(state: &AppState, task: &TaskRecord, reason: &str) -> Result<TaskUpdateOutcome> {
    settle_reported(
        state,
        task,
        TaskSnapshot {
            provider_task_id: task.provider_task_id.clone().unwrap_or_default(),
            status: TaskStatus::Failed,
            assets: Vec::new(),
            error: Some(reason.to_string()),
            usage: None,
            billed_usd_micros: None,
        },
        Reporter::Gateway,
        None,
        Vec::new(),
    )
    .await
}
