//! The circuit-breaker layer: an open circuit passes the provider over without a call; a
//! sent attempt's outcome is recorded on the circuit and on the provider's health (what
//! the picker ranks by).

use super::{Attempt, Call, Outcome, Rejection};
use crate::breaker::{Admission, Breaker};
use crate::telemetry::Telemetry;
use genmux_core::{Error, ErrorKind};
use std::time::Instant;

/// Whether an error says the provider is unhealthy, for its circuit and health (see
/// [`BreakerConfig`](crate::BreakerConfig)): it failed to answer, or it refuses our
/// account (credentials, access, funds) — which no request of anyone can get past.
pub(crate) fn is_provider_failure(e: &Error) -> bool {
    e.maybe_accepted()
        || matches!(
            e.kind(),
            ErrorKind::ProviderUnavailable
                | ErrorKind::Timeout
                | ErrorKind::Internal
                | ErrorKind::Unauthenticated
                | ErrorKind::PermissionDenied
                | ErrorKind::InsufficientPoints
        )
}

/// See the module docs.
pub(crate) struct BreakerLayer<'r, S> {
    telemetry: &'r Telemetry,
    inner: S,
}

impl<'r, S> BreakerLayer<'r, S> {
    pub(crate) fn new(telemetry: &'r Telemetry, inner: S) -> Self {
        BreakerLayer { telemetry, inner }
    }
}

/// An admitted call's permit; dropped unrecorded (the attempt was refused further in, or
/// abandoned mid-call) it gives a half-open trial back, so that an attempt that never
/// reached the upstream cannot wedge a half-open circuit.
struct Permit<'a> {
    breaker: &'a Breaker,
    admission: Admission,
    armed: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.breaker.cancel(self.admission);
        }
    }
}

impl<S: Call> Call for BreakerLayer<'_, S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        let entry = a.entry;
        let (admission, transition) = entry.breaker.admit(now);
        if let Some(state) = transition {
            self.telemetry.breaker(&entry.id, state);
        }
        if let Admission::Rejected { retry_after } = admission {
            return Outcome::PassedOver(Rejection::Open(retry_after));
        }
        let mut permit = Permit {
            breaker: &entry.breaker,
            admission,
            armed: true,
        };
        let outcome = self.inner.call(a, now).await;
        if let Outcome::Sent(sent) = &outcome {
            let failed = sent.error().is_some_and(is_provider_failure);
            entry.health.record(failed, sent.took);
            permit.armed = false;
            if let Some(state) = entry.breaker.record(admission, failed, sent.done) {
                self.telemetry.breaker(&entry.id, state);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, unavailable, Script};
    use crate::{BreakerConfig, BreakerState};
    use std::time::Duration;

    fn config() -> BreakerConfig {
        BreakerConfig {
            window: 2,
            min_calls: 2,
            failure_rate_percent: 50,
            open_for: Duration::from_secs(10),
            half_open_trials: 1,
            enabled: true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_open_the_circuit_and_an_open_circuit_passes_over_without_a_call() {
        let f = fixture_with(config(), Default::default());
        let inner = Script::failing(unavailable());
        let layer = BreakerLayer::new(&f.telemetry, &inner);
        let now = crate::clock::now();
        assert!(matches!(
            layer.call(&f.attempt(), now).await,
            Outcome::Sent(_)
        ));
        assert!(matches!(
            layer.call(&f.attempt(), now).await,
            Outcome::Sent(_)
        ));
        assert_eq!(f.entry.breaker.state(now), BreakerState::Open);
        assert!(f.entry.health.snapshot().error_rate > 0.0);
        match layer.call(&f.attempt(), now).await {
            Outcome::PassedOver(Rejection::Open(wait)) => {
                assert_eq!(wait, Duration::from_secs(10))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(inner.calls(), 2, "no call while open");
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_open_trial_not_sent_is_given_back() {
        let f = fixture_with(config(), Default::default());
        let failing = Script::failing(unavailable());
        let layer = BreakerLayer::new(&f.telemetry, &failing);
        let t0 = crate::clock::now();
        for _ in 0..2 {
            layer.call(&f.attempt(), t0).await;
        }
        let later = t0 + Duration::from_secs(10);
        // The single trial call is refused further in (a slot, the rate, the observer).
        let refusing = Script::passing_over();
        let layer = BreakerLayer::new(&f.telemetry, &refusing);
        assert!(matches!(
            layer.call(&f.attempt(), later).await,
            Outcome::PassedOver(Rejection::Busy { .. })
        ));
        assert_eq!(f.entry.breaker.state(later), BreakerState::HalfOpen);
        // …so the trial is still there for the next attempt, which closes the circuit.
        let accepting = Script::accepting();
        let layer = BreakerLayer::new(&f.telemetry, &accepting);
        assert!(matches!(
            layer.call(&f.attempt(), later).await,
            Outcome::Sent(_)
        ));
        assert_eq!(f.entry.breaker.state(later), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_of_the_request_is_no_provider_failure_but_an_account_refusal_is() {
        use genmux_core::ErrorKind::*;
        for (kind, failure) in [
            (InvalidRequest, false),
            (ContentRejected, false),
            (RateLimited, false),
            (Unauthenticated, true),
            (PermissionDenied, true),
            (InsufficientPoints, true),
            (ProviderUnavailable, true),
        ] {
            assert_eq!(
                is_provider_failure(&Error::new(kind, "x")),
                failure,
                "{kind}"
            );
        }
        assert!(is_provider_failure(
            &Error::new(InvalidRequest, "x").with_maybe_accepted()
        ));
    }
}
