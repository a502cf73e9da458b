//! The cheapest capable, available provider is chosen.

mod support;

use genmux_core::{Capability, ErrorKind, SecondsSet};
use genmux_router::{BreakerConfig, Limits, ProviderLimit, RetryConfig, Router};
use proptest::prelude::*;
use support::*;

#[derive(Clone, Debug)]
struct Spec {
    cost_cents: u32,
    capable: bool,
    available: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (0u32..500, any::<bool>(), prop::bool::weighted(0.8)).prop_map(|(c, capable, available)| Spec {
        cost_cents: c,
        capable,
        available,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn cheapest_capable_available_provider_serves(specs in prop::collection::vec(spec(), 1..10)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut builder = Router::builder()
                .breaker(BreakerConfig::default())
                .retry(RetryConfig::default());
            let mut limits = Limits::new();
            let mut providers = Vec::new();
            for (i, s) in specs.iter().enumerate() {
                let id = format!("p{i}");
                // The request asks for 10 s; an incapable offering only does 5 s.
                let capability = Capability {
                    durations: Some(SecondsSet::of(if s.capable { &[5, 10] } else { &[5] })),
                    ..capability()
                };
                let p = MemProvider::new(
                    &id,
                    vec![offering(&id, f64::from(s.cost_cents) / 100.0, capability)],
                );
                if !s.available {
                    // No in-flight slot free: the provider is passed over.
                    limits = limits.provider(&id, ProviderLimit { max_in_flight: Some(0), ..Default::default() });
                }
                builder = builder.provider(p.provider());
                providers.push(p);
            }
            let router = builder.limits(limits).build().unwrap();
            let result = router.submit(&quote(), &no_callback).await;

            let eligible: Vec<(usize, &Spec)> =
                specs.iter().enumerate().filter(|(_, s)| s.capable && s.available).collect();
            match eligible.iter().map(|(_, s)| s.cost_cents).min() {
                Some(cheapest) => {
                    let routed = result.unwrap();
                    let chosen: usize = routed.provider[1..].parse().unwrap();
                    prop_assert_eq!(specs[chosen].cost_cents, cheapest, "chose {}", routed.provider);
                    prop_assert!(specs[chosen].capable && specs[chosen].available);
                    prop_assert_eq!(routed.attempts, 1);
                    // Only the chosen provider was called.
                    let calls: u32 = providers.iter().map(|p| p.submits()).sum();
                    prop_assert_eq!(calls, 1);
                }
                None => {
                    let err = result.unwrap_err();
                    if specs.iter().any(|s| s.capable) {
                        prop_assert_eq!(err.kind(), ErrorKind::RateLimited, "{}", err);
                        prop_assert!(err.message().contains("in-flight limit"), "{}", err);
                    } else {
                        prop_assert_eq!(err.kind(), ErrorKind::Unsupported, "{}", err);
                        // Every offering is named with its reason.
                        for i in 0..specs.len() {
                            let needle = format!("p{i}/p{i}: duration: 10 is not supported");
                            prop_assert!(err.message().contains(&needle), "{}", err);
                        }
                    }
                    prop_assert_eq!(providers.iter().map(|p| p.submits()).sum::<u32>(), 0);
                }
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_open_circuit_drops_the_cheaper_provider() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.always(Act::Fail(unavailable()));
    let dear = MemProvider::serving("dear", 0.20);
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .breaker(BreakerConfig {
            window: 2,
            min_calls: 2,
            ..Default::default()
        })
        .build()
        .unwrap();
    // Two failures on `cheap` (each failed over to `dear`) open its circuit.
    for _ in 0..2 {
        let r = router.submit(&quote(), &no_callback).await.unwrap();
        assert_eq!(r.provider, "dear");
    }
    assert_eq!(
        router.breaker_state("cheap"),
        Some(genmux_router::BreakerState::Open)
    );
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(
        (r.provider.as_str(), r.attempts, r.failovers),
        ("dear", 1, 0)
    );
    assert_eq!(cheap.submits(), 2, "no call to an open circuit");
}

#[tokio::test]
async fn an_unknown_model_says_no_provider_serves_it() {
    let router = Router::builder()
        .provider(MemProvider::serving("p", 0.1).provider())
        .build()
        .unwrap();
    let q = genmux_core::Catalog::builtin()
        .quote(&genmux_core::GenerationRequest {
            model: "grok-video".into(),
            prompt: Some("a golden retriever runs toward the camera".into()),
            duration: Some(10),
            resolution: Some("720p".into()),
            ..Default::default()
        })
        .unwrap();
    let err = router.submit(&q, &no_callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.message()
            .contains("no registered provider serves grok-video"),
        "{err}"
    );
}

#[tokio::test]
async fn a_custom_picker_decides() {
    let cheap = MemProvider::serving("cheap", 0.05);
    let dear = MemProvider::serving("dear", 0.20);
    // Prefer the most expensive (a "quality first" policy).
    let dearest = |_: &genmux_router::PickRequest<'_>, c: &[genmux_router::Candidate<'_>]| {
        (0..c.len()).max_by_key(|&i| c[i].cost_micros).unwrap_or(0)
    };
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .picker(dearest)
        .build()
        .unwrap();
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(r.provider, "dear");
    assert_eq!(cheap.submits(), 0);
}
