//! Task affinity: status goes to the provider that created the task; generate + wait.

mod support;

use genmux_core::{ErrorKind, TaskStatus};
use genmux_router::{Router, WaitOptions};
use std::time::Duration;
use support::*;

#[tokio::test(start_paused = true)]
async fn status_goes_to_the_provider_that_created_the_task() {
    let first = MemProvider::serving("first", 0.05);
    first.script([Act::Fail(unavailable())]);
    let second = MemProvider::serving("second", 0.20);
    let router = Router::builder()
        .provider(first.provider())
        .provider(second.provider())
        .build()
        .unwrap();
    let q = quote();
    let routed = router.submit(&q, &no_callback).await.unwrap();
    assert_eq!(routed.provider, "second");
    // `first` is cheaper and healthy again, but the task lives on `second`.
    let snap = router.status(&routed.task_ref(&q)).await.unwrap();
    assert_eq!(snap.status, TaskStatus::Succeeded);
    assert!(snap.assets[0].url.starts_with("https://second.example/"));
    assert_eq!((first.status_calls(), second.status_calls()), (0, 1));
}

#[tokio::test]
async fn status_for_an_unknown_provider_lists_the_registered_ones() {
    let router = Router::builder()
        .provider(MemProvider::serving("a", 0.1).provider())
        .provider(MemProvider::serving("b", 0.1).provider())
        .build()
        .unwrap();
    let mut task = quote_task();
    task.provider = "gone".into();
    let err = router.status(&task).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("`gone`"), "{err}");
    assert!(err.message().contains("available: a, b"), "{err}");
}

fn quote_task() -> genmux_core::TaskRef {
    genmux_core::TaskRef {
        provider: "a".into(),
        provider_task_id: "t".into(),
        model: MODEL.into(),
        provider_model: "a".into(),
        operation: genmux_core::Operation::TextToVideo,
    }
}

#[tokio::test(start_paused = true)]
async fn generate_then_wait_polls_with_backoff_until_done_and_frees_the_slot() {
    let p = MemProvider::serving("p", 0.1);
    p.progress
        .lock()
        .unwrap()
        .extend([TaskStatus::Processing, TaskStatus::Processing]);
    let router = Router::builder().provider(p.provider()).build().unwrap();
    let handle = router.generate(request()).await.unwrap();
    assert_eq!(handle.task.provider, "p");
    assert_eq!(handle.status, TaskStatus::Submitted);
    assert_eq!(router.in_flight("p"), Some(1));
    let started = tokio::time::Instant::now();
    let options = WaitOptions::default();
    let snap = router.wait(&handle, options).await.unwrap();
    assert_eq!(snap.status, TaskStatus::Succeeded);
    assert_eq!(snap.assets.len(), 1);
    assert_eq!(p.status_calls(), 3);
    // The first poll waits for the provider's estimate (5 s); later ones back off.
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(router.in_flight("p"), Some(0));
    // Waiting again does not release a second time.
    router.wait(&handle, options).await.unwrap();
    assert_eq!(router.in_flight("p"), Some(0));
}

#[tokio::test(start_paused = true)]
async fn wait_gives_up_at_its_deadline() {
    let p = MemProvider::serving("p", 0.1);
    p.progress
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(TaskStatus::Processing, 1000));
    let router = Router::builder().provider(p.provider()).build().unwrap();
    let handle = router.generate(request()).await.unwrap();
    let err = router
        .wait(
            &handle,
            WaitOptions {
                timeout: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("last status: processing"), "{err}");
    assert_eq!(
        router.in_flight("p"),
        Some(1),
        "an unfinished task keeps its slot"
    );
}

#[tokio::test]
async fn generate_rejects_an_invalid_request_before_any_provider_sees_it() {
    let p = MemProvider::serving("p", 0.1);
    let router = Router::builder().provider(p.provider()).build().unwrap();
    let mut req = request();
    req.duration = Some(7);
    let err = router.generate(req).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.message().contains("duration"), "{err}");
    assert_eq!(p.submits(), 0);
}
