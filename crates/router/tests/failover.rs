//! Failover on 429 / 5xx before acceptance; retries honour Retry-After and back off.

mod support;

use genmux_core::{ErrorKind, TaskStatus};
use genmux_router::{RetryConfig, Router};
use std::time::Duration;
use support::*;

fn two(cheap: &std::sync::Arc<MemProvider>, dear: &std::sync::Arc<MemProvider>) -> Router {
    Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_429_on_the_cheaper_provider_fails_over_without_waiting() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(too_many(Duration::from_secs(20)))]);
    let dear = MemProvider::serving("dear", 0.20);
    let router = two(&cheap, &dear);
    let started = tokio::time::Instant::now();
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(r.provider, "dear");
    assert_eq!((r.attempts, r.failovers), (2, 1));
    assert_eq!(r.submission.status, TaskStatus::Submitted);
    assert_eq!(r.offering.provider_model, "dear");
    assert_eq!((cheap.submits(), dear.submits()), (1, 1));
    // Another provider does not have to honour the first one's Retry-After.
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_503_on_the_cheaper_provider_fails_over() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(unavailable())]);
    let dear = MemProvider::serving("dear", 0.20);
    let router = two(&cheap, &dear);
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(
        (r.provider.as_str(), r.attempts, r.failovers),
        ("dear", 2, 1)
    );
    // The cheaper provider's health now ranks it lower only on ties; price still wins:
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!((r.provider.as_str(), r.attempts), ("cheap", 1));
}

#[tokio::test(start_paused = true)]
async fn a_non_retryable_error_is_returned_without_failover() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(genmux_core::Error::new(
        ErrorKind::ContentRejected,
        "prompt violates the content policy",
    ))]);
    let dear = MemProvider::serving("dear", 0.20);
    let router = two(&cheap, &dear);
    let err = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentRejected);
    assert_eq!(err.provider(), Some("cheap"));
    assert_eq!(dear.submits(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_single_provider_is_retried_after_its_retry_after() {
    let only = MemProvider::serving("only", 0.05);
    only.script([Act::Fail(too_many(Duration::from_secs(3)))]);
    let router = Router::builder().provider(only.provider()).build().unwrap();
    let started = tokio::time::Instant::now();
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(
        (r.provider.as_str(), r.attempts, r.failovers),
        ("only", 2, 0)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_exponentially_and_stop_at_max_attempts() {
    let only = MemProvider::serving("only", 0.05);
    only.always(Act::Fail(unavailable()));
    let retry = RetryConfig {
        max_attempts: 4,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(60),
        ..Default::default()
    };
    let router = Router::builder()
        .provider(only.provider())
        .retry(retry)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
    assert!(err.message().contains("4 attempt(s)"), "{err}");
    assert_eq!(only.submits(), 4);
    // Backoffs of 1, 2 and 4 s with equal jitter: between 3.5 s and 7 s in all.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(3500) && waited <= Duration::from_secs(7),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_the_cap_is_not_waited_for() {
    let only = MemProvider::serving("only", 0.05);
    only.script([Act::Fail(too_many(Duration::from_secs(600)))]);
    let router = Router::builder().provider(only.provider()).build().unwrap();
    let started = tokio::time::Instant::now();
    let err = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(only.submits(), 1);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_callback_url_is_asked_for_the_chosen_provider() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(unavailable())]);
    let dear = MemProvider::serving("dear", 0.20);
    let router = two(&cheap, &dear);
    let url = |p: &str| Some(format!("https://gw.example/callbacks/{p}/t1"));
    router.submit(&quote(), &url).await.unwrap();
    assert_eq!(
        cheap.callbacks.lock().unwrap().as_slice(),
        [Some("https://gw.example/callbacks/cheap/t1".to_string())]
    );
    assert_eq!(
        dear.callbacks.lock().unwrap().as_slice(),
        [Some("https://gw.example/callbacks/dear/t1".to_string())]
    );
}

/// Records each provider an attempt is about to be sent to; refuses `refuse` if set.
struct Recorder {
    seen: std::sync::Mutex<Vec<String>>,
    refuse: Option<&'static str>,
}

#[genmux_core::async_trait]
impl genmux_router::SubmitObserver for Recorder {
    fn callback_url(&self, provider: &str) -> Option<String> {
        Some(format!("https://gw.example/callbacks/{provider}"))
    }
    async fn before_send(&self, provider: &str) -> genmux_core::Result<()> {
        self.seen.lock().unwrap().push(provider.to_string());
        match self.refuse {
            Some(p) if p == provider => Err(genmux_core::Error::new(
                ErrorKind::Conflict,
                format!("not sending to {provider}"),
            )),
            _ => Ok(()),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_observer_hears_of_every_attempt_before_it_is_sent() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(unavailable())]);
    let dear = MemProvider::serving("dear", 0.20);
    let router = two(&cheap, &dear);
    let observer = Recorder {
        seen: Default::default(),
        refuse: None,
    };
    let r = router.submit_observed(&quote(), &observer).await.unwrap();
    assert_eq!(r.provider, "dear");
    assert_eq!(*observer.seen.lock().unwrap(), ["cheap", "dear"]);
    assert_eq!((cheap.submits(), dear.submits()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn an_observer_refusal_ends_the_submission_before_the_send() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(unavailable())]);
    let dear = MemProvider::serving("dear", 0.20);
    let router = two(&cheap, &dear);
    let observer = Recorder {
        seen: Default::default(),
        refuse: Some("dear"),
    };
    let err = router
        .submit_observed(&quote(), &observer)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(err.message(), "not sending to dear");
    assert_eq!(*observer.seen.lock().unwrap(), ["cheap", "dear"]);
    assert_eq!(
        (cheap.submits(), dear.submits()),
        (1, 0),
        "nothing sent to dear"
    );
}
