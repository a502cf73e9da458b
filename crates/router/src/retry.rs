//! Retry settings and the backoff schedule.
//!
//! What is retried (in the manner of `object_store`'s `RetryConfig` docs) is decided by one
//! table, [`recovery`](crate::recovery): after a **transient** error before the upstream
//! could have accepted the task (`rate_limited`, `provider_unavailable`, `timeout`, or any
//! error a provider marked retryable, with a `Retry-After` of at most
//! [`RetryConfig::max_retry_after`]), the provider stays a candidate and is tried again
//! after a backoff, once the candidates not yet tried had their turn. After a refusal of
//! our account there (credentials, permission, funds, quota) or the provider's own
//! rejection of the request, the next provider is tried and this one is not again. What is
//! never retried: an error after which the upstream may have accepted the task
//! ([`genmux_core::Error::maybe_accepted`]) — the task is returned as `unknown` — and
//! content-policy refusals and conflicts, which are returned as they are.
//!
//! Every attempt after the first of a request withdraws from a retry budget shared by all
//! requests (tower's `retry::budget`): retries stay under `budget_percent` of requests plus
//! `budget_min_per_sec × budget_ttl` (`RELIABILITY.md` R3).

use std::time::Duration;

/// Retry, backoff and timeout settings.
///
/// Defaults: at most 3 upstream attempts per submission; backoff 250 ms doubling up to
/// 5 s with jitter; `Retry-After` hints up to 30 s are waited for (a longer hint skips that
/// provider); each attempt times out after 120 s (a timeout counts as "may have been
/// accepted"); retry budget 20 % of requests plus 1 retry per second over a 10 s window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryConfig {
    /// Most upstream attempts for one submission (first try included), at least 1.
    pub max_attempts: u32,
    /// Backoff before the first retry of a provider already tried.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` the router waits for; a provider asking for longer is not
    /// tried again for that submission (the next one is).
    pub max_retry_after: Duration,
    /// Deadline for one upstream submission, inside the retry loop (`STYLE.md`: the timeout
    /// sits inside the retry). `None` leaves timeouts to the provider.
    pub attempt_timeout: Option<Duration>,
    /// Retries allowed as a percentage of requests.
    pub budget_percent: u32,
    /// Retries allowed per second regardless of traffic (the floor).
    pub budget_min_per_sec: u32,
    /// How long a request's deposit counts towards the budget.
    pub budget_ttl: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            attempt_timeout: Some(Duration::from_secs(120)),
            budget_percent: 20,
            budget_min_per_sec: 1,
            budget_ttl: Duration::from_secs(10),
        }
    }
}

impl RetryConfig {
    /// No retries at all: one attempt per submission.
    pub fn none() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..Default::default()
        }
    }

    /// The floor of the budget: retries allowed in one `budget_ttl` window with no traffic.
    pub fn budget_floor(&self) -> u64 {
        u64::from(self.budget_min_per_sec) * self.budget_ttl.as_secs().max(1)
    }

    pub(crate) fn check(&self) -> genmux_core::Result<()> {
        let bad = |m: String| Err(genmux_core::Error::invalid(format!("retry: {m}")));
        if self.max_attempts == 0 {
            return bad("max_attempts: 0 is out of range (allowed: at least 1)".into());
        }
        if self.budget_percent > 100 {
            return bad(format!(
                "budget_percent: {} is out of range (allowed: 0 to 100)",
                self.budget_percent
            ));
        }
        if !(1..=3600).contains(&self.budget_ttl.as_secs()) {
            return bad(format!(
                "budget_ttl: {:?} is out of range (allowed: 1 s to 1 h)",
                self.budget_ttl
            ));
        }
        if self.initial_backoff > self.max_backoff {
            return bad(format!(
                "initial_backoff: {:?} exceeds max_backoff {:?}",
                self.initial_backoff, self.max_backoff
            ));
        }
        Ok(())
    }
}

/// Capped exponential backoff with "equal jitter" (AWS architecture blog, "Exponential
/// Backoff and Jitter"): half the capped delay plus a random share of the other half, so
/// waits never collapse to zero yet callers spread out. `retry` counts from 0.
pub(crate) fn backoff(initial: Duration, max: Duration, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
    let capped = initial.saturating_mul(factor).min(max);
    let half = capped / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = if nanos == 0 {
        0
    } else {
        rand::random_range(0..=nanos)
    };
    half + Duration::from_nanos(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_with_jitter_in_range() {
        let (i, m) = (Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..100 {
            let b0 = backoff(i, m, 0);
            assert!(b0 >= Duration::from_millis(50) && b0 <= i, "{b0:?}");
            let b2 = backoff(i, m, 2);
            assert!(b2 >= Duration::from_millis(200) && b2 <= Duration::from_millis(400));
            let b30 = backoff(i, m, 30);
            assert!(b30 >= m / 2 && b30 <= m, "{b30:?}");
        }
    }

    #[test]
    fn config_is_checked() {
        assert!(RetryConfig::default().check().is_ok());
        let e = RetryConfig {
            max_attempts: 0,
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(e.message().contains("max_attempts"), "{e}");
        assert_eq!(RetryConfig::default().budget_floor(), 10);
    }
}
