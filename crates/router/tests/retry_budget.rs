//! R3 (RELIABILITY.md): under total failure, upstream attempts ≤ 1.2 × requests + floor.

mod support;

use genmux_core::ErrorKind;
use genmux_router::{BreakerConfig, RetryConfig, Router};
use support::*;

#[tokio::test(start_paused = true)]
async fn attempts_under_total_failure_stay_within_the_budget() {
    let providers: Vec<_> = (0..3)
        .map(|i| {
            let p = MemProvider::serving(&format!("p{i}"), 0.05 + f64::from(i) * 0.01);
            p.always(Act::Fail(unavailable()));
            p
        })
        .collect();
    let retry = RetryConfig::default();
    let mut builder = Router::builder()
        // The breaker would stop the traffic on its own; this test is about the budget.
        .breaker(BreakerConfig::disabled())
        .retry(retry);
    for p in &providers {
        builder = builder.provider(p.provider());
    }
    let router = builder.build().unwrap();

    let requests = 500u64;
    for _ in 0..requests {
        let err = router.submit(&quote(), &no_callback).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
    }
    let attempts: u64 = providers.iter().map(|p| u64::from(p.submits())).sum();
    let bound = requests + requests * u64::from(retry.budget_percent) / 100 + retry.budget_floor();
    assert!(attempts <= bound, "{attempts} attempts > {bound}");
    // Failover did happen while the budget lasted.
    assert!(attempts > requests + retry.budget_floor(), "{attempts}");
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_budget_is_named_in_the_error() {
    let a = MemProvider::serving("a", 0.05);
    let b = MemProvider::serving("b", 0.06);
    a.always(Act::Fail(unavailable()));
    b.always(Act::Fail(unavailable()));
    let router = Router::builder()
        .provider(a.provider())
        .provider(b.provider())
        .breaker(BreakerConfig::disabled())
        .retry(RetryConfig {
            budget_percent: 0,
            budget_min_per_sec: 0,
            ..Default::default()
        })
        .build()
        .unwrap();
    let err = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert!(err.message().contains("retry budget exhausted"), "{err}");
    assert_eq!(a.submits() + b.submits(), 1);
}
