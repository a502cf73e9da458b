//! The request-rate layer: a provider whose requests per second are spent is passed over
//! without a call (its `governor` limiter, [`ProviderLimit`](crate::ProviderLimit)).

use super::{Attempt, Call, Outcome, Rejection};
use std::time::Instant;

/// See the module docs.
pub(crate) struct RateLayer<S> {
    inner: S,
}

impl<S> RateLayer<S> {
    pub(crate) fn new(inner: S) -> Self {
        RateLayer { inner }
    }
}

impl<S: Call> Call for RateLayer<S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        match a.entry.limiter.check_rate() {
            Ok(()) => self.inner.call(a, now).await,
            Err(wait) => Outcome::PassedOver(Rejection::RateLimited(wait)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, Script};
    use crate::ProviderLimit;
    use std::num::NonZeroU32;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn over_the_rate_the_provider_is_passed_over_until_the_rate_refills() {
        let f = fixture_with(
            Default::default(),
            ProviderLimit {
                requests_per_second: NonZeroU32::new(1),
                ..Default::default()
            },
        );
        let inner = Script::accepting();
        let layer = RateLayer::new(&inner);
        let now = crate::clock::now();
        assert!(matches!(
            layer.call(&f.attempt(), now).await,
            Outcome::Sent(_)
        ));
        match layer.call(&f.attempt(), now).await {
            Outcome::PassedOver(Rejection::RateLimited(wait)) => {
                assert!(
                    wait > Duration::ZERO && wait <= Duration::from_secs(1),
                    "{wait:?}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(inner.calls(), 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(matches!(
            layer.call(&f.attempt(), crate::clock::now()).await,
            Outcome::Sent(_)
        ));
        assert_eq!(inner.calls(), 2);
    }
}
