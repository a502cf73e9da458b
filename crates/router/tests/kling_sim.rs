//! End to end over loopback HTTP: the router drives the real `KlingProvider` against the
//! Kling simulator (`genmux-sim`), with an in-memory backup provider for failover.

mod support;

use genmux_core::{Catalog, ErrorKind, TaskStatus, UnknownTask};
use genmux_kling::{KlingConfig, KlingProvider};
use genmux_router::{BreakerConfig, RetryConfig, Router};
use genmux_sim::kling::{Endpoint, Feature, KlingSim, KlingSimConfig};
use genmux_sim::FaultPlan;
use std::sync::Arc;
use std::time::Duration;
use support::*;

async fn sim_and_provider() -> (KlingSim, genmux_core::Provider) {
    let sim = KlingSim::start(KlingSimConfig::default())
        .await
        .expect("simulator starts");
    let config = KlingConfig {
        base_url: sim.base_url().to_string(),
        ..KlingConfig::new(sim.access_key(), sim.secret_key())
    };
    let provider = KlingProvider::new(config, Catalog::builtin())
        .and_then(KlingProvider::into_provider)
        .expect("provider");
    (sim, provider)
}

/// A router over the Kling provider first and an in-memory backup second, with fast
/// retries; the backup reports its calls.
fn kling_then_backup(kling: genmux_core::Provider) -> (Router, Arc<MemProvider>) {
    let backup = MemProvider::serving("backup", 1.0);
    let router = Router::builder()
        .provider(kling)
        .provider(backup.provider())
        .retry(fast_retries())
        .build()
        .expect("router builds");
    (router, backup)
}

/// Applies `plan` to the simulator's text-to-video create endpoint.
fn fail_creates(sim: &KlingSim, plan: FaultPlan) {
    sim.set_faults(Endpoint::Create(Feature::Text2Video), plan)
        .expect("fault plan is valid");
}

fn fast_retries() -> RetryConfig {
    RetryConfig {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_task_is_created_on_the_simulator_and_queried_there() {
    let (sim, kling) = sim_and_provider().await;
    let (router, backup) = kling_then_backup(kling);
    let handle = router.generate(request()).await.unwrap();
    assert_eq!(handle.task.provider, "kling");
    assert_eq!(handle.task.provider_model, "kling-v2-5-turbo");
    assert_eq!(sim.state().tasks().len(), 1);
    assert_eq!(sim.state().tasks()[0].task_id, handle.task.provider_task_id);

    sim.advance(Duration::from_secs(900)).await;
    let snap = router.status(&handle.task).await.unwrap();
    assert_eq!(snap.status, TaskStatus::Succeeded, "{snap:?}");
    assert!(snap.assets[0].url.starts_with(sim.base_url()), "{snap:?}");
    assert_eq!(backup.submits() + backup.status_calls(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn upstream_5xx_fails_over_to_the_backup() {
    let (sim, kling) = sim_and_provider().await;
    fail_creates(
        &sim,
        FaultPlan {
            server_error: 1.0,
            ..Default::default()
        },
    );
    let (router, backup) = kling_then_backup(kling);
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(
        (r.provider.as_str(), r.attempts, r.failovers),
        ("backup", 2, 1)
    );
    assert_eq!(backup.submits(), 1);
    assert!(sim.state().tasks().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn upstream_429_with_retry_after_fails_over_to_the_backup() {
    let (sim, kling) = sim_and_provider().await;
    fail_creates(
        &sim,
        FaultPlan {
            rate_limit: 1.0,
            retry_after: Duration::from_secs(60),
            ..Default::default()
        },
    );
    let (router, backup) = kling_then_backup(kling);
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(r.provider, "backup");
    assert_eq!(backup.submits(), 1);
    assert!(sim.state().tasks().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_after_create_is_unknown_and_not_resubmitted() {
    let (sim, kling) = sim_and_provider().await;
    fail_creates(
        &sim,
        FaultPlan {
            drop_connection: 1.0,
            ..Default::default()
        },
    );
    let (router, backup) = kling_then_backup(kling);
    let mut req = request();
    req.external_task_id = Some("order-7".into());
    let q = Catalog::builtin().quote(&req).unwrap();
    let r = router.submit(&q, &no_callback).await.unwrap();
    assert_eq!(r.submission.status, TaskStatus::Unknown);
    assert_eq!(r.provider, "kling");
    // X3: Kling got an id the router minted, never the caller's externalTaskId.
    assert!(r.external_id.starts_with("gmx_"), "{}", r.external_id);
    // The simulator did create the task, exactly once; nothing went to the backup.
    let created = sim.state().tasks();
    assert_eq!(created.len(), 1);
    assert_eq!(backup.submits(), 0);
    // R1: the task is found again by the id that was sent.
    let found = router
        .find_unknown(&UnknownTask {
            provider: "kling".into(),
            external_id: r.external_id.clone(),
            model: q.model.clone(),
            provider_model: r.offering.provider_model.clone(),
            operation: q.operation,
            sent_at_unix_ms: 0,
        })
        .await
        .unwrap()
        .expect("the simulator holds the task");
    assert_eq!(found.provider_task_id, created[0].task_id);
    let absent = router
        .find_unknown(&UnknownTask {
            external_id: "gmx_never_sent".into(),
            provider: "kling".into(),
            model: q.model.clone(),
            provider_model: r.offering.provider_model.clone(),
            operation: q.operation,
            sent_at_unix_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(absent, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_simulator_opens_the_breaker_and_is_no_longer_called() {
    let (sim, kling) = sim_and_provider().await;
    fail_creates(
        &sim,
        FaultPlan {
            server_error: 1.0,
            ..Default::default()
        },
    );
    let router = Router::builder()
        .provider(kling)
        .breaker(BreakerConfig {
            window: 3,
            min_calls: 3,
            ..Default::default()
        })
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    for _ in 0..3 {
        let err = router.submit(&quote(), &no_callback).await.unwrap_err();
        // 500/5000 and 503/5001 map to provider_unavailable, 504/5002 to timeout.
        assert!(
            matches!(
                err.kind(),
                ErrorKind::ProviderUnavailable | ErrorKind::Timeout
            ),
            "{err}"
        );
    }
    // Once open, a healthy simulator would be able to take the task, but no call is made.
    sim.set_faults(Endpoint::Create(Feature::Text2Video), FaultPlan::default())
        .unwrap();
    let err = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert!(err.message().contains("circuit open"), "{err}");
    assert!(sim.state().tasks().is_empty());
    sim.shutdown().await;
}
