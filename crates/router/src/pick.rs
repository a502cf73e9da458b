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

/// The default picker: lowest upstream cost, then lowest error rate, then lowest latency,
/// then the provider id — never registration order, which `inventory` does not define
/// (issue 14 point 4). [`PriceThenOrder`] puts an operator's provider order before health.
#[derive(Clone, Copy, Debug, Default)]
pub struct PriceFirst;

fn by_health_then_id(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    a.health
        .error_rate
        .total_cmp(&b.health.error_rate)
        .then_with(|| a.health.latency.cmp(&b.health.latency))
        .then_with(|| a.provider.cmp(b.provider))
        .then_with(|| a.offering.provider_model.cmp(&b.offering.provider_model))
}

fn best_by(
    candidates: &[Candidate<'_>],
    cmp: impl Fn(&Candidate<'_>, &Candidate<'_>) -> Ordering,
) -> usize {
    let mut best = 0;
    for i in 1..candidates.len() {
        if cmp(&candidates[i], &candidates[best]) == Ordering::Less {
            best = i;
        }
    }
    best
}

impl Picker for PriceFirst {
    fn pick(&self, _: &PickRequest<'_>, candidates: &[Candidate<'_>]) -> usize {
        best_by(candidates, |a, b| {
            a.cost_micros
                .cmp(&b.cost_micros)
                .then_with(|| by_health_then_id(a, b))
        })
    }
}

/// Lowest upstream cost first; among equal costs, the operator's provider order (providers
/// it does not list come after those it does), then health, then the provider id
/// (issue 14 point 4: "ties go to a configured provider order, then health").
///
/// ```
/// use genmux_router::{PriceThenOrder, Router};
/// let router = Router::builder().picker(PriceThenOrder::new(["kling", "midsync"]));
/// # let _ = router;
/// ```
#[derive(Clone, Debug, Default)]
pub struct PriceThenOrder {
    order: std::sync::Arc<[String]>,
}

impl PriceThenOrder {
    /// A picker preferring `order` (provider ids, first preferred) among equal costs.
    pub fn new<I, S>(order: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PriceThenOrder {
            order: order.into_iter().map(Into::into).collect(),
        }
    }

    /// The configured order.
    pub fn order(&self) -> &[String] {
        &self.order
    }

    fn rank(&self, provider: &str) -> usize {
        self.order
            .iter()
            .position(|p| p == provider)
            .unwrap_or(usize::MAX)
    }
}

impl Picker for PriceThenOrder {
    fn pick(&self, _: &PickRequest<'_>, candidates: &[Candidate<'_>]) -> usize {
        best_by(candidates, |a, b| {
            a.cost_micros
                .cmp(&b.cost_micros)
                .then_with(|| self.rank(a.provider).cmp(&self.rank(b.provider)))
                .then_with(|| by_health_then_id(a, b))
        })
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
        // A full tie goes to the provider id, whatever the order of registration.
        let tied = [c("midsync", 200, 0.0, 1), c("kling", 200, 0.0, 1)];
        assert_eq!(PriceFirst.pick(&pr, &tied), 1);
        let tied = [c("kling", 200, 0.0, 1), c("midsync", 200, 0.0, 1)];
        assert_eq!(PriceFirst.pick(&pr, &tied), 0);
    }

    #[test]
    fn price_then_configured_order_then_health() {
        let o = offering();
        let req = GenerationRequest::default();
        let pr = PickRequest {
            request: &req,
            operation: Operation::TextToVideo,
        };
        let c = |provider, cost, error_rate| Candidate {
            provider,
            offering: &o,
            cost_micros: cost,
            health: HealthSnapshot {
                error_rate,
                latency: Duration::from_millis(1),
            },
        };
        let picker = PriceThenOrder::new(["midsync", "kling"]);
        // Cheaper wins whatever the order.
        assert_eq!(
            picker.pick(&pr, &[c("midsync", 300, 0.0), c("kling", 200, 0.0)]),
            1
        );
        // Equal cost: the configured order, even against better health.
        assert_eq!(
            picker.pick(&pr, &[c("kling", 200, 0.0), c("midsync", 200, 0.4)]),
            1
        );
        // Unlisted providers come after listed ones; among them, health.
        let cands = [c("x", 200, 0.2), c("y", 200, 0.1), c("kling", 200, 0.9)];
        assert_eq!(picker.pick(&pr, &cands), 2);
        assert_eq!(picker.pick(&pr, &cands[..2]), 1);
    }
}
