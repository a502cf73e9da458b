//! The pick step: a tiny pluggable function over candidates, modelled on tower's
//! `steer::Picker`. The router builds the candidate set (capability, circuit, in-flight
//! limit), then asks the picker for an index; on failover it removes the tried candidate
//! and asks again.

use crate::health::HealthSnapshot;
use genmux_core::{GenerationRequest, Offering, Operation};
use std::cmp::Ordering;

/// What the picker is choosing for.
#[derive(Clone, Copy, Debug)]
pub struct PickRequest<'a> {
    /// The validated request, catalog defaults applied.
    pub request: &'a GenerationRequest,
    /// The operation the catalog inferred.
    pub operation: Operation,
}

/// One offering able to serve the request.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The provider id.
    pub provider: &'a str,
    /// The offering.
    pub offering: &'a Offering,
    /// Upstream cost of this request in micro-USD ([`Offering::cost_micros`]).
    pub cost_micros: i64,
    /// The provider's current health.
    pub health: HealthSnapshot,
}

/// Chooses one candidate. Called with a non-empty slice; an index out of range is read as
/// the last candidate.
///
/// Closures work too:
///
/// ```
/// use genmux_router::{Candidate, PickRequest, Picker};
/// // Always prefer the lowest latency.
/// let fastest = |_: &PickRequest<'_>, c: &[Candidate<'_>]| {
///     (0..c.len()).min_by_key(|&i| c[i].health.latency).unwrap_or(0)
/// };
/// fn takes(_: impl Picker) {}
/// takes(fastest);
/// ```
pub trait Picker: Send + Sync + 'static {
    /// The index of the candidate to try next.
    fn pick(&self, request: &PickRequest<'_>, candidates: &[Candidate<'_>]) -> usize;
}

impl<F> Picker for F
where
    F: Fn(&PickRequest<'_>, &[Candidate<'_>]) -> usize + Send + Sync + 'static,
{
    fn pick(&self, request: &PickRequest<'_>, candidates: &[Candidate<'_>]) -> usize {
        self(request, candidates)
    }
}

/// The default picker: lowest upstream cost, then lowest error rate, then lowest latency;
/// ties go to the earlier candidate (registration order).
#[derive(Clone, Copy, Debug, Default)]
pub struct PriceFirst;

impl PriceFirst {
    fn compare(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
        a.cost_micros
            .cmp(&b.cost_micros)
            .then_with(|| a.health.error_rate.total_cmp(&b.health.error_rate))
            .then_with(|| a.health.latency.cmp(&b.health.latency))
    }
}

impl Picker for PriceFirst {
    fn pick(&self, _: &PickRequest<'_>, candidates: &[Candidate<'_>]) -> usize {
        let mut best = 0;
        for i in 1..candidates.len() {
            if Self::compare(&candidates[i], &candidates[best]) == Ordering::Less {
                best = i;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn offering() -> Offering {
        Offering {
            model: "m".into(),
            provider_model: "m".into(),
            capability: Default::default(),
            cost: Default::default(),
        }
    }

    #[test]
    fn price_then_error_rate_then_latency() {
        let o = offering();
        let req = GenerationRequest::default();
        let pr = PickRequest {
            request: &req,
            operation: Operation::TextToVideo,
        };
        let c = |provider, cost, error_rate, ms| Candidate {
            provider,
            offering: &o,
            cost_micros: cost,
            health: HealthSnapshot {
                error_rate,
                latency: Duration::from_millis(ms),
            },
        };
        let cands = [
            c("a", 300, 0.0, 1),
            c("b", 200, 0.5, 9),
            c("c", 200, 0.1, 9),
        ];
        assert_eq!(PriceFirst.pick(&pr, &cands), 2);
        let cands = [
            c("a", 200, 0.1, 5),
            c("b", 200, 0.1, 3),
            c("c", 200, 0.1, 3),
        ];
        assert_eq!(PriceFirst.pick(&pr, &cands), 1);
    }
}
