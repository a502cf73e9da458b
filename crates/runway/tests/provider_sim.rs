//! `RunwayProvider` against the Runway simulator, beyond the conformance suite: cancel
//! (confirmed by Runway, never on a guess; a finished task is neither cancelled nor
//! deleted), statuses as genmux shows them (`THROTTLED` queued, `SAFETY.*` a content
//! refusal), no lookup by our id, and `Router::wait` polling no closer than Runway's 5 s.

use genmux_core::{
    Catalog, ErrorKind, GenerationRequest, Operation, Provider, SubmitRequest, TaskRef, TaskStatus,
    UnknownTask,
};
use genmux_router::{Router, WaitOptions};
use genmux_runway::{RunwayConfig, RunwayProvider};
use genmux_sim::framework::{Phase, SimConfig};
use genmux_sim::runway::RunwaySim;
use std::time::{Duration, Instant};

fn provider(sim: &RunwaySim) -> Provider {
    RunwayProvider::new(
        RunwayConfig::new(sim.api_key()).with_base_url(sim.base_url()),
        Catalog::builtin(),
    )
    .unwrap()
    .into_provider()
}

fn request(prompt: &str) -> GenerationRequest {
    Catalog::builtin()
        .quote(&GenerationRequest {
            model: "runway".into(),
            prompt: Some(prompt.into()),
            aspect_ratio: Some("16:9".into()),
            duration: Some(5),
            ..Default::default()
        })
        .unwrap()
        .request
}

async fn submit(p: &Provider, prompt: &str) -> TaskRef {
    let req = request(prompt);
    let offering = p.offerings()[0].1.clone();
    let sub = p
        .submit(SubmitRequest {
            request: &req,
            operation: Operation::TextToVideo,
            offering: &offering,
            callback_url: None,
            external_id: "task_ours_1",
        })
        .await
        .unwrap();
    TaskRef {
        provider: "runway".into(),
        provider_task_id: sub.provider_task_id,
        model: "runway".into(),
        provider_model: sub.provider_model,
        operation: Operation::TextToVideo,
    }
}

#[tokio::test]
async fn cancel_is_confirmed_by_runway_and_spares_finished_tasks() {
    let sim = RunwaySim::start(SimConfig::default()).await.unwrap();
    let p = provider(&sim);
    let running = submit(&p, "a fox in the snow").await;
    sim.advance(Duration::from_secs(3)).await;
    p.cancel(&running).await.unwrap();
    assert_eq!(sim.tasks()[0].phase, Phase::Cancelled);
    assert_eq!(
        p.status(&running).await.unwrap().status,
        TaskStatus::Cancelled
    );
    // Cancelling again: Runway still says CANCELLED, so it is confirmed again.
    p.cancel(&running).await.unwrap();

    let finished = submit(&p, "a hare in the snow").await;
    sim.advance(Duration::from_secs(60)).await;
    let e = p.cancel(&finished).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.message().contains("already SUCCEEDED"), "{e}");
    let t = &sim.tasks()[1];
    assert_eq!(t.phase, Phase::Succeeded);
    assert!(!t.data.deleted, "a finished task is not deleted");
    assert_eq!(
        p.status(&finished).await.unwrap().status,
        TaskStatus::Succeeded
    );

    let missing = TaskRef {
        provider_task_id: "00000000-0000-4000-a000-000000000000".into(),
        ..finished
    };
    assert_eq!(
        p.cancel(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn throttled_shows_queued_and_safety_shows_a_content_refusal() {
    let sim = RunwaySim::start(SimConfig::default().with_settings(|s| s.with_concurrency(1)))
        .await
        .unwrap();
    let p = provider(&sim);
    let first = submit(&p, "a fox in the snow").await;
    let second = submit(&p, "a forbidden fox").await;
    sim.advance(Duration::from_secs(3)).await;
    assert_eq!(
        p.status(&first).await.unwrap().status,
        TaskStatus::Processing
    );
    let queued = p.status(&second).await.unwrap();
    assert_eq!(queued.status, TaskStatus::Submitted);
    assert_eq!(queued.usage.unwrap()["runwayStatus"], "THROTTLED");
    sim.advance(Duration::from_secs(120)).await;
    let failed = p.status(&second).await.unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    let msg = failed.error.unwrap();
    assert!(
        msg.starts_with("content_rejected: Runway task") && msg.contains("SAFETY.INPUT.TEXT"),
        "{msg}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_task_of_unknown_outcome_is_never_reported_absent() {
    let sim = RunwaySim::start(SimConfig::default()).await.unwrap();
    let p = provider(&sim);
    let e = p
        .find_unknown(&UnknownTask {
            provider: "runway".into(),
            external_id: "task_ours_2".into(),
            model: "runway".into(),
            provider_model: "gen4".into(),
            operation: Operation::TextToVideo,
            sent_at_unix_ms: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    sim.shutdown().await;
}

/// The embedded path: `Router::wait` asked to poll every 10 ms still waits Runway's 5 s
/// between polls. The task finishes after 3.2 s of real time (simulated clock at 10×), so
/// it is seen finished only at the first poll, 5 s in.
#[tokio::test]
async fn router_wait_polls_no_closer_than_five_seconds() {
    let sim = RunwaySim::start(SimConfig::default().with_settings(|s| s.with_speed(10.0)))
        .await
        .unwrap();
    let router = Router::builder().provider(provider(&sim)).build().unwrap();
    let handle = router.generate(request("a fox in the snow")).await.unwrap();
    let started = Instant::now();
    let done = router
        .wait(
            &handle,
            WaitOptions {
                timeout: Duration::from_secs(60),
                initial_interval: Duration::from_millis(10),
                max_interval: Duration::from_millis(10),
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Succeeded);
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "polled after {:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}
