//! The attempt path (issue 14 point 5): one upstream attempt at one candidate, as a stack
//! of small layers around the provider's `submit`, in tower's shape — each layer wraps an
//! inner [`Call`], does one thing before and/or after it, and is tested alone.
//!
//! | layer (outermost first) | before the inner call | after it |
//! |---|---|---|
//! | [`BreakerLayer`] | circuit open → passed over | the outcome goes on the circuit and the provider's health |
//! | [`SlotLayer`] | in-flight limit reached → passed over; takes a slot | keeps it when the task may run upstream, gives it back otherwise |
//! | [`RateLayer`] | request rate spent → passed over | – |
//! | [`RetryLayer`] | retry budget spent → the submission stops trying; backoff before retrying a provider already tried | – |
//! | [`ObserveLayer`] | the observer's `before_send` (its error ends the submission) | – |
//! | [`TelemetryLayer`] | the `genmux.submit.attempt` span | attempt metrics, span status |
//! | [`TimeoutLayer`] | – | no answer in time → `timeout`, maybe accepted |
//! | [`Upstream`] | `Provider::submit` with the observer's callback URL, in the `genmux.upstream` span (kind client) | errors name the provider |
//!
//! The gates sit outermost so that a refusal costs no upstream call, and in this order so
//! that a refused attempt keeps nothing of the gates before it: a layer that refuses
//! returns [`Outcome::PassedOver`], and every outer layer gives back what it took (a
//! half-open trial call, an in-flight slot). The same happens when the submission's future
//! is dropped mid-attempt (a caller that gave up): each layer's guard gives back on drop.
//!
//! [`Router::submit`](crate::Router::submit) is candidates → pick → this call per
//! candidate → [`recovery`](crate::recovery) on a failure.

mod breaker;
mod observe;
mod rate;
mod retry;
mod slots;
mod telemetry;
mod timeout;
mod upstream;

#[cfg(test)]
pub(crate) mod testing;

pub(crate) use breaker::BreakerLayer;
pub(crate) use observe::ObserveLayer;
pub(crate) use rate::RateLayer;
pub(crate) use retry::RetryLayer;
pub use slots::InFlightSource;
pub(crate) use slots::SlotLayer;
pub(crate) use telemetry::TelemetryLayer;
pub(crate) use timeout::TimeoutLayer;
pub(crate) use upstream::Upstream;

use crate::router::{Entry, SubmitObserver};
use genmux_core::{Error, Offering, Quote, Result, Submission};
use std::future::Future;
use std::time::{Duration, Instant};

/// One attempt at one candidate: everything a layer may need to know.
pub(crate) struct Attempt<'a> {
    /// The provider, with its circuit, health and limiter.
    pub(crate) entry: &'a Entry,
    /// The offering tried.
    pub(crate) offering: &'a Offering,
    /// The quoted request.
    pub(crate) quote: &'a Quote,
    /// The offering's upstream cost for this request, micro-USD.
    pub(crate) cost_micros: i64,
    /// The id sent upstream as the provider's external / idempotency id.
    pub(crate) external_id: &'a str,
    /// The caller's observer (callback URL, `before_send`).
    pub(crate) observer: &'a dyn SubmitObserver,
    /// The submission's span (the parent of the attempt's).
    pub(crate) parent: &'a tracing::Span,
    /// Upstream attempts this submission already made (0: this would be the first).
    pub(crate) made: u32,
    /// Set when this provider already failed transiently in this submission.
    pub(crate) retry: Option<RetryOf>,
    /// Whether this attempt moves the submission to another provider than the last one
    /// an attempt was sent to.
    pub(crate) failover: bool,
    /// Failovers of the submission, this one included.
    pub(crate) failovers: u32,
}

/// A retry of a provider already tried in this submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RetryOf {
    /// The provider's `Retry-After` from its failure, if it gave one.
    pub(crate) hint: Option<Duration>,
    /// Retries of tried providers the submission already made: the backoff's exponent.
    pub(crate) round: u32,
}

/// Why an offering was not tried (no upstream call was made for it).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Rejection {
    /// Its capability does not cover the request.
    Capability(String),
    /// Its provider's circuit is open for this long.
    Open(Duration),
    /// Its provider has `max` tasks in flight.
    Busy { max: u32 },
    /// Its provider's request rate is spent for this long.
    RateLimited(Duration),
    /// It asked to be retried after longer than the router waits.
    RetryAfterTooLong(Duration),
    /// How many tasks its provider has in flight could not be read.
    InFlightUnknown(String),
}

/// What came of an attempt.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The request was sent.
    Sent(Sent),
    /// A gate passed the candidate over; nothing was sent.
    PassedOver(Rejection),
    /// The retry budget is spent: nothing was sent, and the submission stops trying.
    BudgetSpent,
    /// The observer refused the attempt: nothing was sent, and the submission ends with
    /// this error.
    Refused(Error),
}

/// A sent attempt's answer.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The upstream's answer (its errors name the provider).
    pub(crate) result: Result<Submission>,
    /// From the send to the answer (or to the deadline).
    pub(crate) took: Duration,
    /// When the answer came (or the deadline passed).
    pub(crate) done: Instant,
}

impl Sent {
    /// The error, if the attempt failed.
    pub(crate) fn error(&self) -> Option<&Error> {
        self.result.as_ref().err()
    }

    /// Whether the upstream holds (or may hold) the task: accepted, or failed after the
    /// request left.
    pub(crate) fn may_run(&self) -> bool {
        self.error().is_none_or(Error::maybe_accepted)
    }
}

/// One layer of the attempt path, or the provider call at its centre. `now` is the time
/// the outer layers read (one clock read serves every gate).
pub(crate) trait Call: Sync {
    /// Makes (or refuses) the attempt.
    fn call(&self, attempt: &Attempt<'_>, now: Instant) -> impl Future<Output = Outcome> + Send;
}

impl<S: Call> Call for &S {
    fn call(&self, attempt: &Attempt<'_>, now: Instant) -> impl Future<Output = Outcome> + Send {
        (**self).call(attempt, now)
    }
}
