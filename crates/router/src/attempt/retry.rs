//! The retry layer: every attempt after a submission's first withdraws from the retry
//! budget shared by all submissions (`RELIABILITY.md` R3: under total failure, attempts
//! stay ≤ 1.2 × requests + a floor); a spent budget stops the submission without a call.
//! A retry of a provider already tried waits a capped, jittered exponential backoff, and
//! at least what the provider asked for (`Retry-After`).

use super::{Attempt, Call, Outcome};
use crate::budget::RetryBudget;
use crate::retry::{backoff, RetryConfig};
use std::time::Instant;

/// See the module docs.
pub(crate) struct RetryLayer<'r, S> {
    budget: &'r RetryBudget,
    config: &'r RetryConfig,
    inner: S,
}

impl<'r, S> RetryLayer<'r, S> {
    pub(crate) fn new(budget: &'r RetryBudget, config: &'r RetryConfig, inner: S) -> Self {
        RetryLayer {
            budget,
            config,
            inner,
        }
    }
}

impl<S: Call> Call for RetryLayer<'_, S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        if a.made > 0 && !self.budget.withdraw(now) {
            return Outcome::BudgetSpent;
        }
        let Some(retry) = a.retry else {
            return self.inner.call(a, now).await;
        };
        let wait = backoff(
            self.config.initial_backoff,
            self.config.max_backoff,
            retry.round,
        )
        .max(retry.hint.unwrap_or_default());
        tokio::time::sleep(wait).await;
        self.inner.call(a, crate::clock::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, Script};
    use crate::attempt::RetryOf;
    use std::time::Duration;

    fn config() -> RetryConfig {
        RetryConfig {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            budget_percent: 0,
            budget_min_per_sec: 1,
            budget_ttl: Duration::from_secs(2),
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn first_attempts_are_free_and_later_ones_spend_the_budget() {
        let f = fixture_with(Default::default(), Default::default());
        let config = config();
        let t0 = crate::clock::now();
        let budget = RetryBudget::new(&config, t0);
        let inner = Script::accepting();
        let layer = RetryLayer::new(&budget, &config, &inner);
        for _ in 0..5 {
            assert!(matches!(
                layer.call(&f.attempt(), t0).await,
                Outcome::Sent(_)
            ));
        }
        // A floor of 1 per second over 2 s: two later attempts, then none.
        let mut later = f.attempt();
        later.made = 1;
        for _ in 0..2 {
            assert!(matches!(layer.call(&later, t0).await, Outcome::Sent(_)));
        }
        assert!(matches!(layer.call(&later, t0).await, Outcome::BudgetSpent));
        assert_eq!(inner.calls(), 7, "no call once the budget is spent");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_waits_the_backoff_and_at_least_the_retry_after() {
        let f = fixture_with(Default::default(), Default::default());
        let config = config();
        let budget = RetryBudget::new(&config, crate::clock::now());
        let inner = Script::accepting();
        let layer = RetryLayer::new(&budget, &config, &inner);
        let mut retry = f.attempt();
        retry.made = 1;
        // Round 2: 4 s capped at 8, with equal jitter → between 2 and 4 s.
        retry.retry = Some(RetryOf {
            hint: None,
            round: 2,
        });
        let started = tokio::time::Instant::now();
        layer.call(&retry, crate::clock::now()).await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(2) && waited <= Duration::from_secs(4),
            "{waited:?}"
        );
        retry.retry = Some(RetryOf {
            hint: Some(Duration::from_secs(20)),
            round: 0,
        });
        let started = tokio::time::Instant::now();
        layer.call(&retry, crate::clock::now()).await;
        assert_eq!(started.elapsed(), Duration::from_secs(20));
        // A first try of a provider does not wait.
        let started = tokio::time::Instant::now();
        layer.call(&f.attempt(), crate::clock::now()).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
