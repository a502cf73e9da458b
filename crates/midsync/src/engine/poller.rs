//! The poller: leases due unfinished tasks, asks the provider that created each one (task
//! affinity, within the router's per-provider rate) and settles what it hears. Polls back
//! off exponentially with jitter; `Retry-After` is honoured. Because every unfinished task
//! keeps a poll time, a restarted gateway resumes all of them (leases of a dead worker
//! expire and are taken over).

use super::settle::{fail, settle};
use crate::AppState;
use genmux_core::{ErrorKind, Result, TaskRef, TaskStatus};
use genmux_store::TaskRecord;
use rand::Rng;
use std::time::Duration;
use time::OffsetDateTime;

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

async fn reschedule(state: &AppState, task: &TaskRecord, after: Duration) -> Result<()> {
    let at = state.clock().now() + after;
    state
        .store()
        .tasks
        .reschedule(&task.id, &state.config().worker_id, Some(at))
        .await
        .map(|_| ())
}

/// Polls one leased task and settles or reschedules it.
pub async fn poll_task(state: &AppState, task: TaskRecord) -> Result<()> {
    let cfg = &state.config().poll;
    let now = state.clock().now();
    let age = age(&task, now);
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
    // An unknown submission has no upstream id yet: it is looked up by the external id
    // the gateway sent with it (R1).
    let Some(upstream_id) = task
        .provider_task_id
        .clone()
        .or_else(|| task.external_task_id.clone())
    else {
        if age > cfg.unknown_grace {
            fail(state, &task, "the submission's outcome is unknown and it cannot be looked up upstream; points refunded").await?;
        } else {
            reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
        }
        return Ok(());
    };
    let tref = TaskRef {
        provider: task.provider.clone(),
        provider_task_id: upstream_id,
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        operation: task.operation,
    };
    match state.router().status(&tref).await {
        Ok(snap) => {
            let outcome = settle(state, &task, snap).await?;
            if !outcome.record().status.is_final() {
                reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
            }
        }
        Err(e)
            if e.kind() == ErrorKind::NotFound
                && task.status == TaskStatus::Unknown
                && age > cfg.unknown_grace =>
        {
            // A request still routing this task may have renamed it to the next provider
            // (failover) since it was leased: refund only if the row still names the
            // provider that was asked.
            let current = state.store().tasks.get(&task.id).await?;
            if current.as_ref().is_some_and(|c| {
                c.provider != task.provider
                    || c.provider_task_id.is_some()
                    || c.status != TaskStatus::Unknown
            }) {
                reschedule(state, &task, poll_backoff(state, task.poll_attempts)).await?;
                return Ok(());
            }
            // The upstream never accepted it: nothing will be billed upstream, so refund.
            tracing::info!(task = %task.id, "unknown submission not found upstream; refunding");
            fail(
                state,
                &task,
                "the provider has no record of this submission; points refunded",
            )
            .await?;
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

/// One pass: lease due tasks and poll them concurrently. Returns how many were leased.
pub async fn poll_due(state: &AppState) -> Result<usize> {
    let cfg = &state.config().poll;
    let tasks = state
        .store()
        .tasks
        .lease_due(
            &state.config().worker_id,
            state.clock().now(),
            cfg.batch,
            cfg.lease_for,
        )
        .await?;
    Ok(super::run_leased(
        tasks,
        "polling a task",
        |t| t.id.clone(),
        |task| {
            let state = state.clone();
            async move { poll_task(&state, task).await }
        },
    )
    .await)
}
