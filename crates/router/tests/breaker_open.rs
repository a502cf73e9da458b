//! R2 (RELIABILITY.md): 100 % 5xx → the breaker opens; calls while open fail fast with no
//! upstream call; after the open interval trial calls close it again. One provider only.

mod support;

use genmux_core::ErrorKind;
use genmux_router::{BreakerConfig, BreakerState, RetryConfig, Router};
use std::time::Duration;
use support::*;

#[tokio::test(start_paused = true)]
async fn an_open_breaker_fails_fast_without_calling_upstream() {
    let only = MemProvider::serving("only", 0.05);
    only.always(Act::Fail(unavailable()));
    let config = BreakerConfig::default();
    let router = Router::builder()
        .provider(only.provider())
        .breaker(config)
        .retry(RetryConfig::none())
        .build()
        .unwrap();

    // Until min_calls failures, every request reaches the upstream.
    for _ in 0..config.min_calls {
        let err = router.submit(&quote(), &no_callback).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
    }
    assert_eq!(only.submits(), config.min_calls);
    assert_eq!(router.breaker_state("only"), Some(BreakerState::Open));

    for _ in 0..100 {
        let err = router.submit(&quote(), &no_callback).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
        assert!(err.message().contains("circuit open"), "{err}");
        let wait = err
            .retry_after()
            .expect("a Retry-After for the open interval");
        assert!(wait > Duration::ZERO && wait <= config.open_for, "{wait:?}");
    }
    assert_eq!(
        only.submits(),
        config.min_calls,
        "no upstream call while open"
    );

    // After the open interval, trial calls go through; the upstream has recovered.
    tokio::time::advance(config.open_for).await;
    assert_eq!(router.breaker_state("only"), Some(BreakerState::HalfOpen));
    only.always(Act::Accept);
    for _ in 0..config.half_open_trials {
        router.submit(&quote(), &no_callback).await.unwrap();
    }
    assert_eq!(router.breaker_state("only"), Some(BreakerState::Closed));
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_reopens_the_breaker() {
    let only = MemProvider::serving("only", 0.05);
    only.always(Act::Fail(unavailable()));
    let config = BreakerConfig {
        window: 4,
        min_calls: 4,
        ..Default::default()
    };
    let router = Router::builder()
        .provider(only.provider())
        .breaker(config)
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    for _ in 0..4 {
        router.submit(&quote(), &no_callback).await.unwrap_err();
    }
    tokio::time::advance(config.open_for).await;
    router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(only.submits(), 5);
    assert_eq!(router.breaker_state("only"), Some(BreakerState::Open));
    router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(only.submits(), 5);
}

#[tokio::test(start_paused = true)]
async fn request_errors_do_not_open_the_breaker() {
    let only = MemProvider::serving("only", 0.05);
    only.always(Act::Fail(genmux_core::Error::new(
        ErrorKind::ContentRejected,
        "policy",
    )));
    let router = Router::builder().provider(only.provider()).build().unwrap();
    for _ in 0..50 {
        let err = router.submit(&quote(), &no_callback).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ContentRejected);
    }
    assert_eq!(router.breaker_state("only"), Some(BreakerState::Closed));
    assert_eq!(only.submits(), 50);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_call_does_not_wedge_the_half_open_circuit() {
    let only = MemProvider::serving("only", 0.05);
    only.always(Act::Fail(unavailable()));
    let config = BreakerConfig {
        window: 2,
        min_calls: 2,
        half_open_trials: 1,
        ..Default::default()
    };
    let router = Router::builder()
        .provider(only.provider())
        .breaker(config)
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    for _ in 0..2 {
        router.submit(&quote(), &no_callback).await.unwrap_err();
    }
    tokio::time::advance(config.open_for).await;
    // The only trial call hangs and its caller gives up.
    only.always(Act::Hang);
    let q = quote();
    let trial = tokio::time::timeout(Duration::from_secs(1), router.submit(&q, &no_callback));
    assert!(trial.await.is_err());
    // The trial slot came back: the next call is let through and closes the circuit.
    only.always(Act::Accept);
    router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(router.breaker_state("only"), Some(BreakerState::Closed));
}
