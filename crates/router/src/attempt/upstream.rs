//! The centre of the attempt path: the provider's own `submit`, with the callback URL the
//! observer gives for that provider and the submission's external id, inside the
//! `genmux.upstream` span whose context the provider's HTTP client sends as `traceparent`.
//! Errors are named after the provider when it did not name itself.

use super::{Attempt, Call, Outcome, Sent};
use crate::telemetry;
use genmux_core::SubmitRequest;
use std::time::Instant;
use tracing::Instrument;

/// See the module docs.
pub(crate) struct Upstream;

impl Call for Upstream {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        // A poll-only upstream (spec/upstreams.md: Runway, xAI) is given no callback URL.
        let callback = if a.offering.capability.polling.poll_only {
            None
        } else {
            a.observer.callback_url(&a.entry.id)
        };
        let span = telemetry::upstream_span(&a.entry.id, "submit");
        let result = a
            .entry
            .provider
            .submit(SubmitRequest {
                request: &a.quote.request,
                operation: a.quote.operation,
                offering: a.offering,
                callback_url: callback.as_deref(),
                external_id: a.external_id,
            })
            .instrument(span.clone())
            .await
            .map_err(|e| match e.provider() {
                Some(_) => e,
                None => e.with_provider(a.entry.id.to_string()),
            });
        if let Err(e) = &result {
            telemetry::fail(&span, e);
        }
        let done = crate::clock::now();
        Outcome::Sent(Sent {
            result,
            took: done.saturating_duration_since(now),
            done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::fixture_with;
    use genmux_core::{Error, ErrorKind};

    #[tokio::test(start_paused = true)]
    async fn the_provider_gets_its_callback_url_and_our_id_and_its_errors_are_named() {
        let f = fixture_with(Default::default(), Default::default());
        let Outcome::Sent(sent) = Upstream.call(&f.attempt(), crate::clock::now()).await else {
            panic!("sent")
        };
        assert_eq!(sent.result.unwrap().provider_task_id, "mem-1");
        *f.mem.fail.lock().unwrap() = Some(Error::new(ErrorKind::InvalidRequest, "no"));
        let Outcome::Sent(sent) = Upstream.call(&f.attempt(), crate::clock::now()).await else {
            panic!("sent")
        };
        assert_eq!(sent.error().unwrap().provider(), Some("mem"));
        assert_eq!(
            *f.mem.sent.lock().unwrap(),
            vec![
                (
                    Some("https://gw.example/callbacks/mem".to_string()),
                    "ext-1".to_string()
                );
                2
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_only_offering_gets_no_callback_url() {
        let mut f = fixture_with(Default::default(), Default::default());
        f.entry.offerings[0].capability.polling.poll_only = true;
        let Outcome::Sent(sent) = Upstream.call(&f.attempt(), crate::clock::now()).await else {
            panic!("sent")
        };
        assert!(sent.result.is_ok());
        assert_eq!(
            *f.mem.sent.lock().unwrap(),
            vec![(None, "ext-1".to_string())]
        );
    }
}
