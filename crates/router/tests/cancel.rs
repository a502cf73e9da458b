//! `Router::cancel` (issue 13 point 5): task affinity like status, refused before any
//! upstream call where the task's offering does not declare `cancel`.

mod support;

use genmux_core::{ErrorKind, Operation, TaskRef, TaskStatus};
use genmux_router::Router;
use support::*;

#[tokio::test(start_paused = true)]
async fn cancel_goes_to_the_provider_that_created_the_task() {
    let first = MemProvider::cancelling("first", 0.05);
    first.script([Act::Fail(unavailable())]);
    let second = MemProvider::cancelling("second", 0.20);
    let router = Router::builder()
        .provider(first.provider())
        .provider(second.provider())
        .build()
        .unwrap();
    let q = quote();
    let routed = router.submit(&q, &no_callback).await.unwrap();
    assert_eq!(routed.provider, "second");
    let task = routed.task_ref(&q);
    router.cancellable(&task).unwrap();
    // `first` is cheaper and healthy again, but the task lives on `second`.
    router.cancel(&task).await.unwrap();
    assert_eq!((first.cancel_calls(), second.cancel_calls()), (0, 1));
    let snap = router.status(&task).await.unwrap();
    assert_eq!(snap.status, TaskStatus::Cancelled);
    // The upstream's own refusal (already cancelled) comes back with the provider named.
    let again = router.cancel(&task).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    assert_eq!(again.provider(), Some("second"));
    assert!(again.message().contains("already cancelled"), "{again}");
}

#[tokio::test(start_paused = true)]
async fn an_offering_without_cancel_is_refused_before_the_provider_is_asked() {
    let p = MemProvider::serving("plain", 0.1);
    let router = Router::builder().provider(p.provider()).build().unwrap();
    let q = quote();
    let routed = router.submit(&q, &no_callback).await.unwrap();
    let task = routed.task_ref(&q);
    for err in [
        router.cancellable(&task).unwrap_err(),
        router.cancel(&task).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(err.provider(), Some("plain"));
        assert!(
            err.message().contains("cannot cancel") && err.message().contains(MODEL),
            "{err}"
        );
    }
    assert_eq!(p.cancel_calls(), 0);
    // The task is untouched: it still finishes.
    assert_eq!(
        router.status(&task).await.unwrap().status,
        TaskStatus::Succeeded
    );
}

#[tokio::test]
async fn cancel_for_an_unknown_provider_or_model_names_it() {
    let p = MemProvider::cancelling("a", 0.1);
    let router = Router::builder().provider(p.provider()).build().unwrap();
    let mut task = TaskRef {
        provider: "gone".into(),
        provider_task_id: "t".into(),
        model: MODEL.into(),
        provider_model: "a".into(),
        operation: Operation::TextToVideo,
    };
    let err = router.cancel(&task).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("`gone`"), "{err}");
    // A model the provider does not serve (say, since a catalog change): not cancellable.
    task.provider = "a".into();
    task.model = "kling-2.6-t2v".into();
    let err = router.cancel(&task).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.message()
            .contains("no longer serves model kling-2.6-t2v"),
        "{err}"
    );
    assert_eq!(p.cancel_calls(), 0);
}
