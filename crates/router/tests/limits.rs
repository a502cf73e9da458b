//! Per-caller-key and per-provider limits (governor), and in-flight slots.

mod support;

use genmux_core::ErrorKind;
use genmux_router::{CallerLimit, Limits, ProviderLimit, Router};
use std::num::NonZeroU32;
use std::time::Duration;
use support::*;

#[tokio::test(start_paused = true)]
async fn each_caller_key_has_its_own_bucket() {
    let router = Router::builder()
        .provider(MemProvider::serving("p", 0.1).provider())
        .limits(Limits::new().caller(CallerLimit {
            requests_per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        }))
        .build()
        .unwrap();
    router.check_caller("key-a").unwrap();
    router.check_caller("key-a").unwrap();
    let err = router.check_caller("key-a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let wait = err.retry_after().expect("Retry-After");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert!(err.message().contains("burst 2"), "{err}");
    // Another key is not affected.
    router.check_caller("key-b").unwrap();
    // After the wait, key-a may go again.
    tokio::time::advance(wait).await;
    router.check_caller("key-a").unwrap();
}

#[tokio::test]
async fn without_a_caller_limit_every_check_passes() {
    let router = Router::builder().build().unwrap();
    for _ in 0..1000 {
        router.check_caller("k").unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_provider_over_its_request_rate_is_passed_over_without_a_call() {
    let cheap = MemProvider::serving("cheap", 0.05);
    let dear = MemProvider::serving("dear", 0.20);
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .limits(Limits::new().provider(
            "cheap",
            ProviderLimit {
                requests_per_second: NonZeroU32::new(1),
                ..Default::default()
            },
        ))
        .build()
        .unwrap();
    assert_eq!(
        router
            .submit(&quote(), &no_callback)
            .await
            .unwrap()
            .provider,
        "cheap"
    );
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(
        (r.provider.as_str(), r.attempts, r.failovers),
        ("dear", 1, 0)
    );
    assert_eq!((cheap.submits(), dear.submits()), (1, 1));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        router
            .submit(&quote(), &no_callback)
            .await
            .unwrap()
            .provider,
        "cheap"
    );
}

#[tokio::test(start_paused = true)]
async fn in_flight_slots_are_taken_by_tasks_and_released_when_they_finish() {
    let cheap = MemProvider::serving("cheap", 0.05);
    let dear = MemProvider::serving("dear", 0.20);
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .limits(Limits::new().provider(
            "cheap",
            ProviderLimit {
                max_in_flight: Some(1),
                ..Default::default()
            },
        ))
        .build()
        .unwrap();
    assert_eq!(
        router
            .submit(&quote(), &no_callback)
            .await
            .unwrap()
            .provider,
        "cheap"
    );
    assert_eq!(router.in_flight("cheap"), Some(1));
    // Kling-style concurrency limit reached: the next task goes elsewhere.
    assert_eq!(
        router
            .submit(&quote(), &no_callback)
            .await
            .unwrap()
            .provider,
        "dear"
    );
    assert!(router.task_finished("cheap"));
    assert_eq!(router.in_flight("cheap"), Some(0));
    assert_eq!(
        router
            .submit(&quote(), &no_callback)
            .await
            .unwrap()
            .provider,
        "cheap"
    );
    assert!(!router.task_finished("nobody"));
}

#[tokio::test(start_paused = true)]
async fn a_lone_provider_at_its_limit_answers_rate_limited_without_a_call() {
    let only = MemProvider::serving("only", 0.05);
    let router = Router::builder()
        .provider(only.provider())
        .limits(Limits::new().default_provider(ProviderLimit {
            max_in_flight: Some(2),
            ..Default::default()
        }))
        .build()
        .unwrap();
    router.submit(&quote(), &no_callback).await.unwrap();
    router.submit(&quote(), &no_callback).await.unwrap();
    let err = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(
        err.message().contains("in-flight limit reached (2 tasks)"),
        "{err}"
    );
    assert!(err.retry_after().is_some());
    assert_eq!(only.submits(), 2);
}

#[tokio::test(start_paused = true)]
async fn status_queries_count_against_the_provider_rate() {
    let only = MemProvider::serving("only", 0.05);
    let router = Router::builder()
        .provider(only.provider())
        .limits(Limits::new().provider(
            "only",
            ProviderLimit {
                requests_per_second: NonZeroU32::new(2),
                ..Default::default()
            },
        ))
        .build()
        .unwrap();
    let q = quote();
    let routed = router.submit(&q, &no_callback).await.unwrap();
    let task = routed.task_ref(&q);
    router.status(&task).await.unwrap();
    let err = router.status(&task).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.retry_after().is_some());
    assert_eq!(only.status_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_submission_gives_its_slot_back() {
    let hangs = MemProvider::serving("hangs", 0.05);
    hangs.always(Act::Hang);
    let router = Router::builder()
        .provider(hangs.provider())
        .limits(Limits::new().default_provider(ProviderLimit {
            max_in_flight: Some(1),
            ..Default::default()
        }))
        .build()
        .unwrap();
    // The caller gives up (a gateway request timeout, a client disconnect).
    let q = quote();
    let cancelled =
        tokio::time::timeout(Duration::from_secs(1), router.submit(&q, &no_callback)).await;
    assert!(cancelled.is_err());
    assert_eq!(router.in_flight("hangs"), Some(0));
}
