//! The in-flight slot layer: a provider with `max_in_flight` tasks running is passed over
//! without a call (Kling counts concurrency per account: `spec/kling-api.md` 1303).
//!
//! Two ways of counting (issue 14 point 6):
//!
//! - **In process** (the default, an embedded router): a slot is taken before the send, kept
//!   while the task may run upstream (accepted, or of unknown outcome), given back at once
//!   on a failure that was certainly not accepted, and by
//!   [`Router::task_finished`](crate::Router::task_finished) /
//!   [`Router::wait`](crate::Router::wait) when the task ends.
//! - **From durable state** shared by every replica ([`InFlightSource`]; the gateway counts
//!   its store's unfinished tasks): nothing is held in process. The task's own record is the
//!   slot, so it is released wherever and whenever the task settles, and a restart starts
//!   from the tasks still running.

use super::{Attempt, Call, Outcome, Rejection};
use crate::limits::ProviderLimiter;
use genmux_core::{async_trait, Result};
use std::time::Instant;

/// Where the router reads how many tasks a provider has in flight, when that count is kept
/// outside the process — shared by every replica of a gateway and kept across restarts.
///
/// The gateway's source counts the provider's unfinished tasks (`submitted`, `processing`,
/// `unknown`) in its store. Its record of the submission being routed is written before
/// the first attempt, naming the provider picked first: so two replicas routing at once to
/// the last slot of a provider each see the other's record, and at most one of them takes
/// it (at worst both pass the provider over). An attempt at another provider (after a
/// failover) names it only just before the send, which leaves a window in which two
/// replicas can both take that provider's last slot; the upstream's own concurrency
/// refusal (Kling 1303, retried) bounds the damage.
#[async_trait]
pub trait InFlightSource: Send + Sync + 'static {
    /// How many tasks of `provider` are in flight (accepted or of unknown outcome, not
    /// final), leaving out the submission being routed, whose external id is `routing`:
    /// its own record must not count against it. The router only asks whether the count
    /// reached the provider's limit `enough`, so the source may stop counting there (and
    /// answer `enough`).
    async fn in_flight(&self, provider: &str, routing: &str, enough: u32) -> Result<u32>;
}

/// See the module docs.
pub(crate) struct SlotLayer<'r, S> {
    source: Option<&'r dyn InFlightSource>,
    inner: S,
}

impl<'r, S> SlotLayer<'r, S> {
    pub(crate) fn new(source: Option<&'r dyn InFlightSource>, inner: S) -> Self {
        SlotLayer { source, inner }
    }
}

/// A slot taken in process; dropped still armed (the attempt was not sent, failed for
/// certain, or was abandoned mid-call) it is given back.
struct Slot<'a> {
    limiter: &'a ProviderLimiter,
    armed: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.limiter.release_slot();
        }
    }
}

impl<S: Call> Call for SlotLayer<'_, S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        let limiter = &a.entry.limiter;
        let Some(source) = self.source else {
            if !limiter.take_slot() {
                let max = limiter.max_in_flight().unwrap_or(0);
                return Outcome::PassedOver(Rejection::Busy { max });
            }
            let mut slot = Slot {
                limiter,
                armed: true,
            };
            let outcome = self.inner.call(a, now).await;
            if let Outcome::Sent(sent) = &outcome {
                // The task may be running upstream: its slot stays taken until it ends.
                slot.armed = !sent.may_run();
            }
            return outcome;
        };
        let Some(max) = limiter.max_in_flight() else {
            return self.inner.call(a, now).await;
        };
        match source.in_flight(&a.entry.id, a.external_id, max).await {
            Ok(n) if n >= max => Outcome::PassedOver(Rejection::Busy { max }),
            Ok(_) => {
                // The count read the database: the gates further in read the clock anew.
                self.inner.call(a, crate::clock::now()).await
            }
            Err(e) => Outcome::PassedOver(Rejection::InFlightUnknown(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, timed_out_after_send, unavailable, Script};
    use crate::ProviderLimit;
    use genmux_core::{Error, ErrorKind};
    use std::sync::Mutex;

    fn one_slot() -> ProviderLimit {
        ProviderLimit {
            max_in_flight: Some(1),
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_is_kept_while_the_task_may_run_and_given_back_otherwise() {
        let f = fixture_with(Default::default(), one_slot());
        let now = crate::clock::now();
        let accepting = Script::accepting();
        let layer = SlotLayer::new(None, &accepting);
        assert!(matches!(
            layer.call(&f.attempt(), now).await,
            Outcome::Sent(_)
        ));
        assert_eq!(f.entry.limiter.in_flight(), 1, "accepted: kept");
        match layer.call(&f.attempt(), now).await {
            Outcome::PassedOver(Rejection::Busy { max: 1 }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(accepting.calls(), 1, "no call at the limit");
        f.entry.limiter.release_slot();

        let failing = Script::failing(unavailable());
        SlotLayer::new(None, &failing).call(&f.attempt(), now).await;
        assert_eq!(
            f.entry.limiter.in_flight(),
            0,
            "failed before acceptance: given back"
        );

        let uncertain = Script::failing(timed_out_after_send());
        SlotLayer::new(None, &uncertain)
            .call(&f.attempt(), now)
            .await;
        assert_eq!(f.entry.limiter.in_flight(), 1, "maybe accepted: kept");
        f.entry.limiter.release_slot();

        let refusing = Script::passing_over();
        SlotLayer::new(None, &refusing)
            .call(&f.attempt(), now)
            .await;
        assert_eq!(f.entry.limiter.in_flight(), 0, "not sent: given back");
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_attempt_gives_its_slot_back() {
        let f = fixture_with(Default::default(), one_slot());
        let hangs = Script::hanging();
        let layer = SlotLayer::new(None, &hangs);
        let attempt = f.attempt();
        let abandoned = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            layer.call(&attempt, crate::clock::now()),
        )
        .await;
        assert!(abandoned.is_err());
        assert_eq!(f.entry.limiter.in_flight(), 0);
    }

    /// A source answering a fixed count, recording what it was asked.
    struct Counted {
        answer: Result<u32>,
        asked: Mutex<Vec<(String, String, u32)>>,
    }

    #[async_trait]
    impl InFlightSource for Counted {
        async fn in_flight(&self, provider: &str, routing: &str, enough: u32) -> Result<u32> {
            self.asked
                .lock()
                .unwrap()
                .push((provider.to_string(), routing.to_string(), enough));
            self.answer.clone()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn with_a_source_the_count_decides_and_nothing_is_held_in_process() {
        let f = fixture_with(Default::default(), one_slot());
        let now = crate::clock::now();
        let free = Counted {
            answer: Ok(0),
            asked: Mutex::default(),
        };
        let accepting = Script::accepting();
        let layer = SlotLayer::new(Some(&free), &accepting);
        assert!(matches!(
            layer.call(&f.attempt(), now).await,
            Outcome::Sent(_)
        ));
        assert_eq!(
            f.entry.limiter.in_flight(),
            0,
            "the durable record is the slot"
        );
        assert_eq!(
            *free.asked.lock().unwrap(),
            [(f.entry.id.to_string(), "ext-1".to_string(), 1)],
            "asked for this provider, leaving out this submission, up to its limit"
        );

        let full = Counted {
            answer: Ok(1),
            asked: Mutex::default(),
        };
        match SlotLayer::new(Some(&full), &accepting)
            .call(&f.attempt(), now)
            .await
        {
            Outcome::PassedOver(Rejection::Busy { max: 1 }) => {}
            other => panic!("{other:?}"),
        }
        let broken = Counted {
            answer: Err(Error::new(ErrorKind::ProviderUnavailable, "database down")),
            asked: Mutex::default(),
        };
        match SlotLayer::new(Some(&broken), &accepting)
            .call(&f.attempt(), now)
            .await
        {
            Outcome::PassedOver(Rejection::InFlightUnknown(why)) => {
                assert!(why.contains("database down"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(accepting.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_limit_the_source_is_not_asked() {
        let f = fixture_with(Default::default(), ProviderLimit::default());
        let source = Counted {
            answer: Ok(1000),
            asked: Mutex::default(),
        };
        let accepting = Script::accepting();
        let layer = SlotLayer::new(Some(&source), &accepting);
        assert!(matches!(
            layer.call(&f.attempt(), crate::clock::now()).await,
            Outcome::Sent(_)
        ));
        assert!(source.asked.lock().unwrap().is_empty());
    }
}
