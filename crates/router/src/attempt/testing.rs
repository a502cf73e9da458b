//! Test doubles for the layers of the attempt path: an attempt at an in-memory provider
//! (`mem`), a scripted inner call, and a recording observer.

use super::{Attempt, Call, Outcome, Rejection, Sent};
use crate::breaker::Breaker;
use crate::health::Health;
use crate::limits::ProviderLimiter;
use crate::router::{Entry, SubmitObserver};
use crate::telemetry::Telemetry;
use crate::{BreakerConfig, ProviderLimit};
use genmux_core::{
    async_trait, Capability, Catalog, Error, ErrorKind, GenerationRequest, Offering, Provider,
    Quote, Result, Submission, SubmitRequest, TaskRef, TaskSnapshot, TaskStatus, VideoProvider,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// HTTP 503 before acceptance.
pub(crate) fn unavailable() -> Error {
    Error::new(ErrorKind::ProviderUnavailable, "HTTP 503").with_provider("mem")
}

/// A read timeout after the body was sent.
pub(crate) fn timed_out_after_send() -> Error {
    Error::new(ErrorKind::Timeout, "read timed out after sending")
        .with_provider("mem")
        .with_maybe_accepted()
}

/// A provider that accepts everything, or fails with `fail` when set, recording the
/// callback URLs and external ids it was sent.
pub(crate) struct Mem {
    offerings: Vec<Offering>,
    pub(crate) fail: Mutex<Option<Error>>,
    pub(crate) sent: Mutex<Vec<(Option<String>, String)>>,
}

#[async_trait]
impl VideoProvider for Mem {
    fn id(&self) -> &str {
        "mem"
    }
    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        self.sent.lock().unwrap().push((
            req.callback_url.map(str::to_string),
            req.external_id.to_string(),
        ));
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(Submission {
            provider_task_id: "mem-1".into(),
            provider_model: req.offering.provider_model.clone(),
            status: TaskStatus::Submitted,
            estimated_time_sec: None,
        })
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        Err(Error::new(
            ErrorKind::NotFound,
            task.provider_task_id.clone(),
        ))
    }
}

/// An observer recording `before_send`, refusing when `refuse` is set.
#[derive(Default)]
pub(crate) struct Observer {
    pub(crate) seen: Mutex<Vec<String>>,
    pub(crate) refuse: bool,
}

#[async_trait]
impl SubmitObserver for Observer {
    fn callback_url(&self, provider: &str) -> Option<String> {
        Some(format!("https://gw.example/callbacks/{provider}"))
    }
    async fn before_send(&self, provider: &str) -> Result<()> {
        self.seen.lock().unwrap().push(provider.to_string());
        if self.refuse {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("not sending to {provider}"),
            ));
        }
        Ok(())
    }
}

/// One provider entry and a quoted request for attempts at it.
pub(crate) struct Fixture {
    pub(crate) entry: Entry,
    pub(crate) mem: Arc<Mem>,
    pub(crate) quote: Quote,
    pub(crate) telemetry: Telemetry,
    pub(crate) observer: Observer,
    pub(crate) parent: tracing::Span,
}

/// A fixture whose provider has these breaker settings and limits.
pub(crate) fn fixture_with(breaker: BreakerConfig, limit: ProviderLimit) -> Fixture {
    let offering = Offering {
        model: "kling-2.5-turbo".into(),
        provider_model: "mem-model".into(),
        capability: Capability {
            text_to_video: true,
            ..Default::default()
        },
        cost: Default::default(),
    };
    let mem = Arc::new(Mem {
        offerings: vec![offering.clone()],
        fail: Mutex::new(None),
        sent: Mutex::default(),
    });
    let quote = Catalog::builtin()
        .quote(&GenerationRequest {
            model: "kling-2.5-turbo".into(),
            prompt: Some("a red fox running through snow".into()),
            duration: Some(5),
            ..Default::default()
        })
        .expect("a valid request");
    Fixture {
        entry: Entry {
            id: Arc::from("mem"),
            provider: Provider::video(mem.clone()),
            offerings: vec![offering],
            breaker: Breaker::new(breaker, crate::clock::now()),
            health: Health::default(),
            limiter: ProviderLimiter::new(limit),
        },
        mem,
        quote,
        telemetry: Telemetry::global(),
        observer: Observer::default(),
        parent: tracing::Span::none(),
    }
}

impl Fixture {
    /// A first attempt (no retry, no failover) with external id `ext-1`.
    pub(crate) fn attempt(&self) -> Attempt<'_> {
        Attempt {
            entry: &self.entry,
            offering: &self.entry.offerings[0],
            quote: &self.quote,
            cost_micros: 0,
            external_id: "ext-1",
            observer: &self.observer,
            parent: &self.parent,
            made: 0,
            retry: None,
            failover: false,
            failovers: 0,
        }
    }
}

/// What a [`Script`] answers.
enum Act {
    Accept,
    Fail(Error),
    PassOver,
    Hang,
}

/// An inner call that always does one thing, counting its calls.
pub(crate) struct Script {
    act: Act,
    calls: AtomicU32,
}

impl Script {
    fn new(act: Act) -> Self {
        Script {
            act,
            calls: AtomicU32::new(0),
        }
    }
    /// Sent and accepted.
    pub(crate) fn accepting() -> Self {
        Self::new(Act::Accept)
    }
    /// Sent and failed with `e`.
    pub(crate) fn failing(e: Error) -> Self {
        Self::new(Act::Fail(e))
    }
    /// Passed over by a gate further in (`Busy`).
    pub(crate) fn passing_over() -> Self {
        Self::new(Act::PassOver)
    }
    /// Sent, never answered.
    pub(crate) fn hanging() -> Self {
        Self::new(Act::Hang)
    }
    /// Calls so far.
    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Call for Script {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let result = match &self.act {
            Act::Accept => Ok(Submission {
                provider_task_id: "mem-1".into(),
                provider_model: a.offering.provider_model.clone(),
                status: TaskStatus::Submitted,
                estimated_time_sec: None,
            }),
            Act::Fail(e) => Err(e.clone()),
            Act::PassOver => return Outcome::PassedOver(Rejection::Busy { max: 0 }),
            Act::Hang => std::future::pending().await,
        };
        Outcome::Sent(Sent {
            result,
            took: std::time::Duration::from_millis(10),
            done: now,
        })
    }
}
