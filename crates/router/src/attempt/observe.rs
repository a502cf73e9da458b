//! The observer layer: the caller's [`SubmitObserver::before_send`] runs after every gate
//! admitted the attempt and just before the request leaves, so a caller that must find
//! the task after a crash can record where it is going (the gateway renames its task row
//! to the provider: R4 in `design/RELIABILITY.md`). Its error ends the submission with
//! nothing sent.
//!
//! [`SubmitObserver::before_send`]: crate::SubmitObserver::before_send

use super::{Attempt, Call, Outcome};
use std::time::Instant;

/// See the module docs.
pub(crate) struct ObserveLayer<S> {
    inner: S,
}

impl<S> ObserveLayer<S> {
    pub(crate) fn new(inner: S) -> Self {
        ObserveLayer { inner }
    }
}

impl<S: Call> Call for ObserveLayer<S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        match a.observer.before_send(&a.entry.id).await {
            Ok(()) => self.inner.call(a, now).await,
            Err(e) => Outcome::Refused(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, Script};

    #[tokio::test(start_paused = true)]
    async fn the_observer_hears_before_the_send_and_its_refusal_sends_nothing() {
        let mut f = fixture_with(Default::default(), Default::default());
        let inner = Script::accepting();
        let layer = ObserveLayer::new(&inner);
        assert!(matches!(
            layer.call(&f.attempt(), crate::clock::now()).await,
            Outcome::Sent(_)
        ));
        assert_eq!(*f.observer.seen.lock().unwrap(), [f.entry.id.to_string()]);
        f.observer.refuse = true;
        match layer.call(&f.attempt(), crate::clock::now()).await {
            Outcome::Refused(e) => assert_eq!(e.message(), "not sending to mem"),
            other => panic!("{other:?}"),
        }
        assert_eq!(inner.calls(), 1, "nothing sent after the refusal");
    }
}
