//! Embedding genmux with failover: two in-memory providers serve one model; the cheaper one
//! is failing (HTTP 503), so the router fails over to the other. The run prints which
//! provider served the request and why.
//!
//! ```text
//! cargo run --example embed_failover
//! ```

use genmux::core::pricing::{PriceUnit, Rate};
use genmux::core::{
    async_trait, Asset, Capability, Layer, MediaKind, Offering, PriceRule, Provider, Result,
    SecondsSet, Submission, SubmitRequest, TaskRef, TaskSnapshot, TaskStatus, VideoProvider,
};
use genmux::router::WaitOptions;
use genmux::{Error, ErrorKind, GenerationRequest, Router};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An in-memory provider: `healthy = false` answers every submission with a 503.
struct InMemory {
    id: &'static str,
    healthy: bool,
    offerings: Vec<Offering>,
}

impl InMemory {
    fn new(id: &'static str, usd_per_second: f64, healthy: bool) -> Arc<Self> {
        Arc::new(InMemory {
            id,
            healthy,
            offerings: vec![Offering {
                model: "kling-2.5-turbo".into(),
                provider_model: format!("{id}-kling-2.5"),
                capability: Capability {
                    text_to_video: true,
                    durations: Some(SecondsSet::of(&[5, 10])),
                    ..Default::default()
                },
                cost: PriceRule {
                    unit: PriceUnit::Second,
                    offset: 0,
                    billing_increment: 1,
                    audio_percent: 100,
                    rates: vec![Rate {
                        per_unit: usd_per_second,
                        ..Default::default()
                    }],
                    source: None,
                },
            }],
        })
    }
}

#[async_trait]
impl VideoProvider for InMemory {
    fn id(&self) -> &str {
        self.id
    }
    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        if !self.healthy {
            return Err(Error::new(
                ErrorKind::ProviderUnavailable,
                "HTTP 503: upstream overloaded",
            ));
        }
        Ok(Submission {
            provider_task_id: format!("{}-0001", self.id),
            provider_model: req.offering.provider_model.clone(),
            status: TaskStatus::Submitted,
            estimated_time_sec: None,
        })
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        Ok(TaskSnapshot {
            provider_task_id: task.provider_task_id.clone(),
            status: TaskStatus::Succeeded,
            assets: vec![Asset {
                kind: MediaKind::Video,
                url: format!("memory://{}/{}.mp4", self.id, task.provider_task_id),
                id: None,
                duration_secs: Some(5.0),
                index: 0,
                size_bytes: None,
            }],
            error: None,
            usage: None,
            billed_usd_micros: None,
        })
    }
}

/// A `Layer` that writes down every submission outcome, to explain the routing afterwards.
#[derive(Clone, Default)]
struct AttemptLog(Arc<Mutex<Vec<String>>>);

struct Logged {
    inner: Arc<dyn VideoProvider>,
    log: AttemptLog,
}

#[async_trait]
impl VideoProvider for Logged {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn offerings(&self) -> &[Offering] {
        self.inner.offerings()
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let cost = req
            .offering
            .cost_micros(&genmux::core::catalog::price_inputs(
                req.request,
                req.operation,
            ));
        let result = self.inner.submit(req).await;
        let line = match &result {
            Ok(s) => format!(
                "{} (${:.2}): accepted as {}",
                self.id(),
                cost as f64 / 1e6,
                s.provider_task_id
            ),
            Err(e) => format!("{} (${:.2}): {}", self.id(), cost as f64 / 1e6, e),
        };
        self.log
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
        result
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.inner.status(task).await
    }
    // A layer forwards every call, or it hides what the provider can do.
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        self.inner.cancel(task).await
    }
}

impl Layer for AttemptLog {
    fn layer_video(&self, inner: Arc<dyn VideoProvider>) -> Arc<dyn VideoProvider> {
        Arc::new(Logged {
            inner,
            log: self.clone(),
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let log = AttemptLog::default();
    let router = Router::builder()
        .provider(Provider::video(InMemory::new("budget-gen", 0.04, false)).layer(&log))
        .provider(Provider::video(InMemory::new("premium-gen", 0.10, true)).layer(&log))
        .build()?;

    let handle = router
        .generate(GenerationRequest {
            model: "kling-2.5-turbo".into(),
            prompt: Some("a lighthouse in a storm, waves crashing".into()),
            duration: Some(5),
            ..Default::default()
        })
        .await?;

    println!(
        "served by {} ({}) after {} attempt(s), {} failover(s)",
        handle.task.provider, handle.task.provider_model, handle.attempts, handle.failovers
    );
    println!("why:");
    for line in log.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        println!("  - {line}");
    }
    if handle.failovers > 0 {
        println!(
            "  the cheaper provider failed before accepting the task, so the router tried the next cheapest"
        );
    }

    let done = router
        .wait(
            &handle,
            WaitOptions {
                initial_interval: Duration::from_millis(50),
                max_interval: Duration::from_millis(200),
                ..Default::default()
            },
        )
        .await?;
    println!("status: {}; video: {}", done.status, done.assets[0].url);
    Ok(())
}
