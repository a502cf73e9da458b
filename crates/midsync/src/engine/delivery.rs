//! Outbound callbacks from the outbox (`design/RELIABILITY.md` "Callbacks", Standard
//! Webhooks 1.0): signed with the account's secret, stable `webhook-id`, 2xx = delivered,
//! 3xx = failure (never followed), 410 = endpoint disabled, `Retry-After` honoured, retries on
//! the schedule with jitter; every request goes through the SSRF guard.

use crate::AppState;
use genmux_core::Result;
use genmux_store::{Delivery, GiveUpReason};
use rand::Rng;
use std::time::Duration;

/// Longest `Retry-After` honoured: a receiver cannot park a delivery forever.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The wait after failed attempt number `failed` (1 = the first attempt failed), with
/// jitter; `None` when the schedule is used up.
pub fn retry_wait(state: &AppState, failed: usize) -> Option<Duration> {
    let cfg = &state.config().delivery;
    let base = *cfg.schedule.get(failed.checked_sub(1)?)?;
    let j = cfg.jitter.clamp(0.0, 0.9);
    let factor = if j > 0.0 {
        rand::rng().random_range(1.0 - j..=1.0 + j)
    } else {
        1.0
    };
    Some(base.mul_f64(factor))
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// Attempts one leased delivery and records the outcome.
pub async fn deliver(state: &AppState, d: Delivery) -> Result<()> {
    let outbox = &state.store().outbox;
    let now = state.clock().now();
    let secret = state.webhook_secret(&d.account_id);
    let mut headers: Vec<(&str, String)> = secret
        .headers(&d.webhook_id, now.unix_timestamp(), &d.body)
        .into_iter()
        .collect();
    headers.push(("user-agent", "genmux-webhooks/1".into()));
    let timeout = state.config().delivery.timeout;
    let (error, hint) = match state
        .guard()
        .post(&d.url, &headers, d.body.clone(), timeout)
        .await
    {
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                outbox
                    .mark_delivered(&d.webhook_id, state.clock().now())
                    .await?;
                tracing::info!(webhook_id = %d.webhook_id, task = %d.task_id, "callback delivered");
                return Ok(());
            }
            if status.as_u16() == 410 {
                outbox
                    .give_up(
                        &d.webhook_id,
                        GiveUpReason::Disabled,
                        "HTTP 410 Gone: the receiver disabled this endpoint",
                        state.clock().now(),
                    )
                    .await?;
                return Ok(());
            }
            let hint = retry_after(&resp);
            let what = if status.is_redirection() {
                format!("HTTP {} (redirects are not followed)", status.as_u16())
            } else {
                format!("HTTP {}", status.as_u16())
            };
            (what, hint)
        }
        Err(e) => (e.to_string(), None),
    };
    let failed = usize::try_from(d.attempts).unwrap_or(0) + 1;
    match retry_wait(state, failed) {
        None => {
            outbox
                .give_up(
                    &d.webhook_id,
                    GiveUpReason::Exhausted,
                    &error,
                    state.clock().now(),
                )
                .await?;
            tracing::warn!(webhook_id = %d.webhook_id, %error, "callback retries exhausted");
        }
        Some(wait) => {
            let wait = match hint {
                Some(h) => wait.max(h),
                None => wait,
            };
            outbox
                .reschedule(
                    &d.webhook_id,
                    &state.config().worker_id,
                    state.clock().now() + wait,
                    &error,
                )
                .await?;
            tracing::info!(webhook_id = %d.webhook_id, %error, retry_in_s = wait.as_secs(), "callback attempt failed");
        }
    }
    Ok(())
}

/// One pass: lease due deliveries and attempt them concurrently. Returns how many.
pub async fn deliver_due(state: &AppState) -> Result<usize> {
    let cfg = &state.config().delivery;
    let due = state
        .store()
        .outbox
        .lease_due(
            &state.config().worker_id,
            state.clock().now(),
            cfg.batch,
            cfg.lease_for,
        )
        .await?;
    Ok(super::run_leased(
        due,
        "recording a delivery",
        |d| d.webhook_id.clone(),
        |d| {
            let state = state.clone();
            async move { deliver(&state, d).await }
        },
    )
    .await)
}
