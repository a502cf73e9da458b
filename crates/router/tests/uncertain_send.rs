//! R1 (RELIABILITY.md): an upstream timeout after the request was sent → no second
//! submission; the task comes back `unknown` with what is known, for reconciliation.

mod support;

use genmux_core::{Catalog, TaskStatus};
use genmux_router::{RetryConfig, Router, WaitOptions};
use std::time::Duration;
use support::*;

fn with_external_id() -> genmux_core::Quote {
    let mut req = request();
    req.external_task_id = Some("order-42".into());
    Catalog::builtin().quote(&req).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_timeout_after_send_is_never_resubmitted() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.always(Act::Fail(timed_out_after_send()));
    let dear = MemProvider::serving("dear", 0.20);
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .build()
        .unwrap();
    let r = router
        .submit(&with_external_id(), &no_callback)
        .await
        .unwrap();
    assert_eq!(r.submission.status, TaskStatus::Unknown);
    assert_eq!(r.provider, "cheap");
    assert_eq!(r.offering.provider_model, "cheap");
    assert_eq!(r.submission.provider_model, "cheap");
    assert_eq!(r.submission.provider_task_id, "");
    // X3: the upstream got a minted id, not the caller's externalTaskId.
    assert!(r.external_id.starts_with("gmx_"), "{}", r.external_id);
    assert_ne!(r.external_id, "order-42");
    assert_eq!((r.attempts, r.failovers), (1, 0));
    // One upstream submission in all: neither the same nor another provider was tried.
    assert_eq!((cheap.submits(), dear.submits()), (1, 0));
    // The task may be running: it keeps its in-flight slot until reconciled.
    assert_eq!(router.in_flight("cheap"), Some(1));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_never_answers_times_out_as_unknown() {
    let hangs = MemProvider::serving("hangs", 0.05);
    hangs.always(Act::Hang);
    let other = MemProvider::serving("other", 0.20);
    let router = Router::builder()
        .provider(hangs.provider())
        .provider(other.provider())
        .retry(RetryConfig {
            attempt_timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        })
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let r = router
        .submit(&with_external_id(), &no_callback)
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(r.submission.status, TaskStatus::Unknown);
    assert_eq!(r.provider, "hangs");
    assert_eq!((hangs.submits(), other.submits()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn waiting_on_an_unknown_task_names_the_external_id_instead_of_polling() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.always(Act::Fail(timed_out_after_send()));
    let router = Router::builder()
        .provider(cheap.provider())
        .build()
        .unwrap();
    let mut req = request();
    req.external_task_id = Some("order-43".into());
    let handle = router.generate(req).await.unwrap();
    assert_eq!(handle.status, TaskStatus::Unknown);
    assert_eq!(handle.task.provider, "cheap");
    let snap = router.wait(&handle, WaitOptions::default()).await.unwrap();
    assert_eq!(snap.status, TaskStatus::Unknown);
    assert!(
        snap.error.as_deref().unwrap().contains(&handle.external_id),
        "{snap:?}"
    );
    assert_eq!(cheap.status_calls(), 0);
    assert_eq!(cheap.submits(), 1);
}
