//! Outbound callbacks from the outbox (`design/RELIABILITY.md` "Callbacks", Standard
//! Webhooks 1.0): signed with the account's secret, stable `webhook-id`, 2xx = delivered,
//! 3xx = failure (never followed), 410 = endpoint disabled, `Retry-After` honoured, retries on
//! the schedule with jitter; every request goes through the SSRF guard.
//!
//! "The endpoint" a 410 disables (issue 13 point 10) is one callback URL of one account,
//! compared as [`endpoint_url`] normalizes it: later callbacks of that account to that URL
//! — of any task — are not sent (each is given up as `disabled`, with the reason in its
//! `last_error`) until the account or an operator enables it again
//! (`POST /v1/webhooks/endpoints/enable`). Other accounts, and other URLs of the same host,
//! are not affected.

use crate::AppState;
use genmux_core::Result;
use genmux_store::{Delivery, DisabledEndpoint, GiveUpReason};
use rand::Rng;
use std::time::Duration;
use tracing::Instrument;

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

/// The endpoint a callback URL names: the URL as the `url` crate normalizes it (scheme and
/// host lower-cased, default port dropped, dot segments and percent-encoding normalized)
/// without its fragment, which is never sent; so two spellings of one URL are one endpoint.
/// Text that does not parse (a stored URL always does: it was checked at submit) is kept
/// as given, trimmed.
pub fn endpoint_url(raw: &str) -> String {
    match url::Url::parse(raw.trim()) {
        Ok(mut u) => {
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => raw.trim().to_string(),
    }
}

/// Attempts one leased delivery and records the outcome.
pub async fn deliver(state: &AppState, d: Delivery) -> Result<()> {
    let outbox = &state.store().outbox;
    let endpoint = endpoint_url(&d.url);
    if let Some(off) = outbox.disabled_endpoint(&d.account_id, &endpoint).await? {
        // W2: a disabled endpoint gets nothing more; the delivery ends `disabled`, and its
        // `last_error` says why and how to undo it.
        let reason = format!(
            "not sent: the endpoint {endpoint} was disabled at {} ({}); enable it again with \
             POST /v1/webhooks/endpoints/enable",
            crate::wire::rfc3339(off.disabled_at),
            off.reason
        );
        outbox
            .skip_disabled(&d.webhook_id, &reason, state.clock().now())
            .await?;
        tracing::info!(webhook_id = %d.webhook_id, task = %d.task_id, account = %d.account_id,
            endpoint = %endpoint, "callback not sent: its endpoint is disabled");
        return Ok(());
    }
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
                state.metrics().callback_attempt("delivered");
                tracing::info!(webhook_id = %d.webhook_id, task = %d.task_id, "callback delivered");
                return Ok(());
            }
            if status.as_u16() == 410 {
                state.metrics().callback_attempt("gone");
                // The endpoint first, then this delivery: should the process stop between
                // the two, the delivery is leased again and finds the endpoint disabled.
                let at = state.clock().now();
                outbox
                    .disable_endpoint(DisabledEndpoint {
                        account_id: d.account_id.clone(),
                        url: endpoint.clone(),
                        reason: format!(
                            "it answered HTTP 410 Gone to callback {} of task {}",
                            d.webhook_id, d.task_id
                        ),
                        webhook_id: Some(d.webhook_id.clone()),
                        disabled_at: at,
                    })
                    .await?;
                outbox
                    .give_up(
                        &d.webhook_id,
                        GiveUpReason::Disabled,
                        "HTTP 410 Gone: the receiver disabled this endpoint; no more callbacks \
                         are sent to it until it is enabled again \
                         (POST /v1/webhooks/endpoints/enable)",
                        at,
                    )
                    .await?;
                tracing::warn!(webhook_id = %d.webhook_id, task = %d.task_id, account = %d.account_id,
                    endpoint = %endpoint, "callback endpoint answered 410 Gone: disabled");
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
            state.metrics().callback_attempt("exhausted");
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
            state.metrics().callback_attempt("failed");
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

/// Leases up to `n` due deliveries for this worker.
pub async fn lease(state: AppState, n: usize) -> Result<Vec<Delivery>> {
    let cfg = &state.config().delivery;
    state
        .store()
        .outbox
        .lease_due(
            &state.config().worker_id,
            state.clock().now(),
            u32::try_from(n).unwrap_or(u32::MAX),
            cfg.lease_for,
        )
        .await
}

/// Attempts one leased delivery in its own span, linked to the task's trace.
pub async fn deliver_leased(state: AppState, d: Delivery) -> Result<()> {
    let span = crate::telemetry::task_work_span!("genmux.deliver", d.task_id.as_str(), None);
    // The outbox row does not keep the trace context: the task row does, read only when
    // spans are exported.
    if crate::telemetry::exported(&span) {
        if let Ok(Some(task)) = state.store().tasks.get(&d.task_id).await {
            crate::telemetry::link(&span, task.trace_context.as_deref());
        }
    }
    let result = deliver(&state, d).instrument(span.clone()).await;
    if let Err(e) = &result {
        crate::telemetry::fail(&span, e);
    }
    result
}

/// One pass: lease up to a batch of due deliveries, attempt them concurrently and wait for
/// all of them. Returns how many. (The engine's deliverer keeps a pipeline instead.)
pub async fn deliver_due(state: &AppState) -> Result<usize> {
    let due = lease(state.clone(), state.config().delivery.batch as usize).await?;
    Ok(super::run_leased(
        due,
        "recording a delivery",
        |d| d.webhook_id.clone(),
        |d| deliver_leased(state.clone(), d),
    )
    .await)
}
