//! The poller: leases due unfinished tasks, asks the provider that created each one (task
//! affinity, within the router's per-provider rate) and settles what it hears. Polls back
//! off exponentially with jitter; `Retry-After` is honoured. Because every unfinished task
//! keeps a poll time, a restarted gateway resumes all of them (leases of a dead worker
//! expire and are taken over).

use super::settle::{fail, settle};
use crate::AppState;
use genmux_core::{Result, TaskRef, TaskStatus, UnknownLookup, UnknownTask};
use genmux_store::TaskRecord;
use rand::Rng;
use std::time::Duration;
use time::OffsetDateTime;
use tracing::Instrument;

/// The wait before poll number `attempt` (1 = first): doubling from the first delay up to
/// the maximum, ±20 % jitter.
pub fn poll_backoff(state: &AppState, attempt: i64) -> Duration {
    let cfg = &state.config().poll;
    let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    let base = cfg
        .first_delay
        .saturating_mul(2u32.saturating_pow(exp))
        .min(cfg.max_delay);
    let factor = rand::rng().random_range(0.8..=1.2);
    base.mul_f64(factor).max(Duration::from_millis(1))
}

fn age(task: &TaskRecord, now: OffsetDateTime) -> Duration {
    let secs = (now - task.created_at).whole_milliseconds().max(0);
    Duration::from_millis(u64::try_from(secs).unwrap_or(u64::MAX))
}

/// The next poll of `task`, `after` from now but never sooner than its offering's least
/// interval between polls (spec/upstreams.md, Runway: "no more than every 5 s").
async fn reschedule(state: &AppState, task: &TaskRecord, after: Duration) -> Result<()> {
    let after = after.max(min_poll_interval(state, task));
    let at = state.clock().now() + after;
    state
        .store()
        .tasks
        .reschedule(&task.id, &state.config().worker_id, Some(at))
        .await
        .map(|_| ())
}

/// The status query of `task`, created upstream as `upstream_id` (task affinity: its own
/// provider and model).
pub(crate) fn task_ref(task: &TaskRecord, upstream_id: String) -> TaskRef {
    TaskRef {
        provider: task.provider.clone(),
        provider_task_id: upstream_id,
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        operation: task.operation,
    }
}

/// The lookup of `task`, a submission of unknown outcome sent with `external_id`.
pub(crate) fn unknown_task(task: &TaskRecord, external_id: &str) -> UnknownTask {
    UnknownTask {
        provider: task.provider.clone(),
        external_id: external_id.to_string(),
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        operation: task.operation,
        sent_at_unix_ms: (task.created_at.unix_timestamp_nanos() / 1_000_000) as i64,
    }
}

/// The least interval between two polls of `task` its offering declares (zero for most).
pub fn min_poll_interval(state: &AppState, task: &TaskRecord) -> Duration {
    state
        .router()
        .polling(&task.provider, &task.model)
        .min_interval()
}

/// Polls one leased task and settles or reschedules it.
pub async fn poll_task(state: &AppState, task: TaskRecord) -> Result<()> {
    let cfg = &state.config().poll;
    let now = state.clock().now();
    let age = age(&task, now);
    // An unknown submission has no upstream id yet: it is looked up by the id the gateway
    // sent with it, as its offering declares (R1, X4).
    let Some(upstream_id) = task.provider_task_id.clone() else {
        return reconcile_unknown(state, task, age).await;
    };
    if age > cfg.max_task_age {
        fail(
            state,
            &task,
            &format!(
                "the provider did not finish the task within {} s; points refunded",
                cfg.max_task_age.as_secs()
            ),
        )
        .await?;
        return Ok(());
    }
    let tref = task_ref(&task, upstream_id);
    match state.router().status(&tref).await {
        Ok(snap) => {
            let copying = crate::assets::copy::copies(state, &snap);
            let outcome = settle(state, &task, snap).await?;
            if copying && !outcome.record().status.is_final() {
                // The upstream is done; the copier settles the task (issue 18).
                state
                    .store()
                    .tasks
                    .reschedule(&task.id, &state.config().worker_id, None)
                    .await?;
            } else if !outcome.record().status.is_final() {
                reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
            }
        }
        Err(e) => {
            let mut wait = poll_backoff(state, task.poll_attempts);
            if let Some(after) = e.retry_after() {
                wait = wait.max(after);
            }
            tracing::warn!(task = %task.id, provider = %task.provider, error = %e, retry_in_ms = wait.as_millis() as u64, "status poll failed");
            reschedule(state, &task, wait).await?;
        }
    }
    Ok(())
}

/// Whether the row still names the provider that was asked and is still an unsubmitted
/// `unknown`: a request still routing the task may have renamed it to the next provider
/// (failover) since it was leased, or a callback may have settled it.
async fn still_unknown_at(state: &AppState, task: &TaskRecord) -> Result<bool> {
    let current = state.store().tasks.get(&task.id).await?;
    Ok(current.is_some_and(|c| {
        c.provider == task.provider
            && c.provider_task_id.is_none()
            && c.status == TaskStatus::Unknown
    }))
}

/// R1 / X4: a submission whose outcome is unknown. Where the offering can find tasks by the
/// id we sent (query or list scan), the provider's answer decides: found → settled like
/// any report; positively absent after the grace → refunded (nothing runs upstream). Where
/// it cannot (the unified API), the hold stays and the task `unknown` until the provider's
/// callback names it or the operator deadline passes; only then is the hold voided.
async fn reconcile_unknown(state: &AppState, task: TaskRecord, age: Duration) -> Result<()> {
    let cfg = &state.config().poll;
    let lookup = state
        .router()
        .unknown_lookup(&task.provider, &task.model)
        .unwrap_or(UnknownLookup::NotFindable);
    let external_id = match (&task.external_task_id, lookup) {
        (Some(id), UnknownLookup::ExternalIdQuery | UnknownLookup::ListScan) => id.clone(),
        _ => return await_callback(state, task, age).await,
    };
    let unknown = unknown_task(&task, &external_id);
    match state.router().find_unknown(&unknown).await {
        Ok(Some(snap)) => {
            tracing::info!(task = %task.id, provider = %task.provider, upstream = %snap.provider_task_id, "unknown submission found upstream");
            let outcome = settle(state, &task, snap).await?;
            if !outcome.record().status.is_final() {
                reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
            }
        }
        Ok(None) if age > cfg.unknown_grace => {
            if !still_unknown_at(state, &task).await? {
                reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
                return Ok(());
            }
            // The upstream never accepted it: nothing will be billed upstream, so refund.
            tracing::info!(task = %task.id, provider = %task.provider, "unknown submission not found upstream; refunding");
            fail(
                state,
                &task,
                "the provider has no record of this submission; points refunded",
            )
            .await?;
        }
        Ok(None) => {
            // Not (yet) visible upstream; asked again until the grace has passed.
            reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
        }
        Err(e) => {
            // Could not tell: never a refund on a failed lookup.
            let mut wait = poll_backoff(state, task.poll_attempts);
            if let Some(after) = e.retry_after() {
                wait = wait.max(after);
            }
            tracing::warn!(task = %task.id, provider = %task.provider, error = %e, retry_in_ms = wait.as_millis() as u64, "looking up an unknown submission failed");
            reschedule(state, &task, wait).await?;
        }
    }
    Ok(())
}

/// An unknown submission its provider cannot look up: wait for the callback (which finds
/// the task by its token and settles it) until the operator deadline.
async fn await_callback(state: &AppState, task: TaskRecord, age: Duration) -> Result<()> {
    let cfg = &state.config().poll;
    if age <= cfg.unknown_deadline {
        // Nothing to ask upstream; look again at the deadline (or sooner, at the normal
        // cadence, so a deadline shortened by a restart with new settings takes effect).
        let left = cfg.unknown_deadline - age;
        reschedule(
            state,
            &task,
            left.min(cfg.max_delay).max(Duration::from_millis(1)),
        )
        .await?;
        return Ok(());
    }
    if !still_unknown_at(state, &task).await? {
        reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
        return Ok(());
    }
    let outcome = fail(
        state,
        &task,
        &format!(
            "the provider never confirmed this submission within {} h; points refunded",
            cfg.unknown_deadline.as_secs() / 3600
        ),
    )
    .await?;
    // Counted and audited once, by the settler that moved the task.
    if matches!(outcome, genmux_store::TaskUpdateOutcome::Moved(_)) {
        state.count_unknown_voided();
        tracing::warn!(task = %task.id, account = %task.account_id, provider = %task.provider,
            points = task.points, deadline_secs = cfg.unknown_deadline.as_secs(),
            "unknown submission unresolved at the operator deadline: hold voided (the provider may still bill this task)");
        state
            .store()
            .accounts
            .record_unknown_voided(
                &task.account_id,
                &task.id,
                task.points,
                &format!(
                    "submission to {} unconfirmed after {} s; hold voided",
                    task.provider,
                    cfg.unknown_deadline.as_secs()
                ),
            )
            .await?;
    }
    Ok(())
}

/// Leases up to `n` tasks whose poll is due for this worker.
pub async fn lease(state: AppState, n: usize) -> Result<Vec<TaskRecord>> {
    let cfg = &state.config().poll;
    state
        .store()
        .tasks
        .lease_due(
            &state.config().worker_id,
            state.clock().now(),
            u32::try_from(n).unwrap_or(u32::MAX),
            cfg.lease_for,
        )
        .await
}

/// Polls one leased task in its own span, under the task's trace.
pub async fn poll_leased(state: AppState, task: TaskRecord) -> Result<()> {
    let span = crate::telemetry::task_work_span!(
        "genmux.poll",
        task.id.as_str(),
        task.trace_context.as_deref()
    );
    poll_task(&state, task).instrument(span).await
}

/// One pass: lease up to a batch of due tasks, poll them concurrently and wait for all of
/// them. Returns how many were leased. (The engine's poller keeps a pipeline instead.)
pub async fn poll_due(state: &AppState) -> Result<usize> {
    let tasks = lease(state.clone(), state.config().poll.batch as usize).await?;
    Ok(super::run_leased(
        tasks,
        "polling a task",
        |t| t.id.clone(),
        |task| poll_leased(state.clone(), task),
    )
    .await)
}
