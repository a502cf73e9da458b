//! The timeout layer: an attempt without an answer within
//! [`RetryConfig::attempt_timeout`](crate::RetryConfig::attempt_timeout) ends as a
//! `timeout` that **may have been accepted** — the request may have left — so it is never
//! resent anywhere (`RELIABILITY.md` R1). It sits inside the retry layer (`STYLE.md`: the
//! timeout sits inside the retry), so each attempt has its own deadline.

use super::{Attempt, Call, Outcome, Sent};
use genmux_core::{Error, ErrorKind};
use std::time::{Duration, Instant};

/// See the module docs.
pub(crate) struct TimeoutLayer<S> {
    limit: Option<Duration>,
    inner: S,
}

impl<S> TimeoutLayer<S> {
    pub(crate) fn new(limit: Option<Duration>, inner: S) -> Self {
        TimeoutLayer { limit, inner }
    }
}

impl<S: Call> Call for TimeoutLayer<S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        let Some(limit) = self.limit else {
            return self.inner.call(a, now).await;
        };
        let deadline = now + limit;
        match tokio::time::timeout_at(deadline.into(), self.inner.call(a, now)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Sent(Sent {
                result: Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no answer to the submission within {} s",
                        limit.as_secs_f64()
                    ),
                )
                .with_provider(a.entry.id.to_string())
                .with_maybe_accepted()),
                took: limit,
                done: deadline,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, Script};

    #[tokio::test(start_paused = true)]
    async fn no_answer_in_time_is_a_timeout_that_may_have_been_accepted() {
        let f = fixture_with(Default::default(), Default::default());
        let hangs = Script::hanging();
        let layer = TimeoutLayer::new(Some(Duration::from_secs(30)), &hangs);
        let started = tokio::time::Instant::now();
        let Outcome::Sent(sent) = layer.call(&f.attempt(), crate::clock::now()).await else {
            panic!("a timed-out attempt was sent")
        };
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        let e = sent.error().expect("an error");
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.maybe_accepted() && !e.is_retryable());
        assert_eq!(e.provider(), Some("mem"));
        assert_eq!(sent.took, Duration::from_secs(30));

        let accepting = Script::accepting();
        let layer = TimeoutLayer::new(Some(Duration::from_secs(30)), &accepting);
        let Outcome::Sent(sent) = layer.call(&f.attempt(), crate::clock::now()).await else {
            panic!("sent")
        };
        assert!(sent.result.is_ok());
    }
}
