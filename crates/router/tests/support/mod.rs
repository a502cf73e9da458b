//! In-memory providers implementing the core traits, scripted per submission, for the
//! router's tests.
#![allow(dead_code)]

use genmux_core::pricing::{PriceUnit, Rate};
use genmux_core::{
    async_trait, Asset, Capability, Catalog, Error, ErrorKind, GenerationRequest, MediaKind,
    Offering, PriceRule, Provider, Quote, Result, SecondsSet, Submission, SubmitRequest, TaskRef,
    TaskSnapshot, TaskStatus, UnknownLookup, VideoProvider,
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The catalog model every test routes.
pub const MODEL: &str = "kling-2.5-turbo";

/// What one submission does.
#[derive(Clone, Debug)]
pub enum Act {
    /// Accept and return a task id.
    Accept,
    /// Fail with this error.
    Fail(Error),
    /// Never answer (the request left, no response came back).
    Hang,
}

/// HTTP 429 with a Retry-After, as a provider's error table maps it.
pub fn too_many(retry_after: Duration) -> Error {
    Error::new(ErrorKind::RateLimited, "HTTP 429: too many requests").with_retry_after(retry_after)
}

/// HTTP 503, as a provider's error table maps it.
pub fn unavailable() -> Error {
    Error::new(
        ErrorKind::ProviderUnavailable,
        "HTTP 503: service unavailable",
    )
}

/// A read timeout after the body was sent.
pub fn timed_out_after_send() -> Error {
    Error::new(
        ErrorKind::Timeout,
        "read timed out after the request was sent",
    )
    .with_maybe_accepted()
}

/// An in-memory video provider.
pub struct MemProvider {
    id: String,
    offerings: Vec<Offering>,
    script: Mutex<VecDeque<Act>>,
    otherwise: Mutex<Act>,
    pub submits: AtomicU32,
    pub status_calls: AtomicU32,
    /// `cancel` calls that reached this provider.
    pub cancel_calls: AtomicU32,
    tasks: Mutex<HashMap<String, TaskStatus>>,
    /// Callback URLs the router passed, in order.
    pub callbacks: Mutex<Vec<Option<String>>>,
    /// Status answers before `succeeded` (each poll pops one).
    pub progress: Mutex<VecDeque<TaskStatus>>,
}

impl MemProvider {
    pub fn new(id: &str, offerings: Vec<Offering>) -> Arc<Self> {
        Arc::new(MemProvider {
            id: id.into(),
            offerings,
            script: Mutex::new(VecDeque::new()),
            otherwise: Mutex::new(Act::Accept),
            submits: AtomicU32::new(0),
            status_calls: AtomicU32::new(0),
            cancel_calls: AtomicU32::new(0),
            tasks: Mutex::new(HashMap::new()),
            callbacks: Mutex::new(Vec::new()),
            progress: Mutex::new(VecDeque::new()),
        })
    }

    /// One offering of [`MODEL`] costing `usd_per_sec` USD per second.
    pub fn serving(id: &str, usd_per_sec: f64) -> Arc<Self> {
        Self::new(id, vec![offering(id, usd_per_sec, capability())])
    }

    /// The next submissions do these, in order.
    pub fn script(&self, acts: impl IntoIterator<Item = Act>) -> &Self {
        self.script.lock().unwrap().extend(acts);
        self
    }

    /// Once the script is used up, every submission does this.
    pub fn always(&self, act: Act) -> &Self {
        *self.otherwise.lock().unwrap() = act;
        self
    }

    /// One offering of [`MODEL`] whose capability declares `cancel`.
    pub fn cancelling(id: &str, usd_per_sec: f64) -> Arc<Self> {
        let cap = Capability {
            cancel: true,
            ..capability()
        };
        Self::new(id, vec![offering(id, usd_per_sec, cap)])
    }

    pub fn cancel_calls(&self) -> u32 {
        self.cancel_calls.load(Ordering::SeqCst)
    }

    pub fn submits(&self) -> u32 {
        self.submits.load(Ordering::SeqCst)
    }

    pub fn status_calls(&self) -> u32 {
        self.status_calls.load(Ordering::SeqCst)
    }

    pub fn provider(self: &Arc<Self>) -> Provider {
        Provider::video(self.clone())
    }
}

#[async_trait]
impl VideoProvider for MemProvider {
    fn id(&self) -> &str {
        &self.id
    }

    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }

    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let n = self.submits.fetch_add(1, Ordering::SeqCst) + 1;
        self.callbacks
            .lock()
            .unwrap()
            .push(req.callback_url.map(str::to_string));
        let act = {
            let next = self.script.lock().unwrap().pop_front();
            next.unwrap_or_else(|| self.otherwise.lock().unwrap().clone())
        };
        match act {
            Act::Accept => {
                let id = format!("{}-task-{n}", self.id);
                self.tasks
                    .lock()
                    .unwrap()
                    .insert(id.clone(), TaskStatus::Submitted);
                Ok(Submission {
                    provider_task_id: id,
                    provider_model: req.offering.provider_model.clone(),
                    status: TaskStatus::Submitted,
                    estimated_time_sec: Some(5),
                })
            }
            Act::Fail(e) => Err(e),
            Act::Hang => std::future::pending().await,
        }
    }

    /// Cancels a task this provider holds (whatever its offering declares: the router
    /// must check the capability before it gets here); a finished or cancelled one is a
    /// `Conflict`, as an upstream would answer.
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        self.cancel_calls.fetch_add(1, Ordering::SeqCst);
        let mut tasks = self.tasks.lock().unwrap();
        match tasks.get_mut(&task.provider_task_id) {
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("task {} does not exist here", task.provider_task_id),
            )),
            Some(s) if s.is_final() => Err(Error::new(
                ErrorKind::Conflict,
                format!("task {} is already {s}", task.provider_task_id),
            )),
            Some(s) => {
                *s = TaskStatus::Cancelled;
                Ok(())
            }
        }
    }

    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.status_calls.fetch_add(1, Ordering::SeqCst);
        let known = self
            .tasks
            .lock()
            .unwrap()
            .get(&task.provider_task_id)
            .copied();
        let Some(known) = known else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("task {} does not exist here", task.provider_task_id),
            ));
        };
        if known == TaskStatus::Cancelled {
            return Ok(TaskSnapshot {
                provider_task_id: task.provider_task_id.clone(),
                status: TaskStatus::Cancelled,
                assets: Vec::new(),
                error: None,
                usage: None,
                billed_usd_micros: None,
            });
        }
        let status = self
            .progress
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(TaskStatus::Succeeded);
        Ok(TaskSnapshot {
            provider_task_id: task.provider_task_id.clone(),
            status,
            assets: if status == TaskStatus::Succeeded {
                vec![Asset {
                    kind: MediaKind::Video,
                    url: format!("https://{}.example/{}.mp4", self.id, task.provider_task_id),
                    id: None,
                    duration_secs: Some(5.0),
                    index: 0,
                    size_bytes: None,
                }]
            } else {
                Vec::new()
            },
            error: None,
            usage: None,
            billed_usd_micros: None,
        })
    }
}

/// A text/image-to-video capability with 5 s and 10 s durations, found by external id.
pub fn capability() -> Capability {
    Capability {
        text_to_video: true,
        image_to_video: true,
        start_end_frame: true,
        negative_prompt: true,
        unknown_lookup: UnknownLookup::ExternalIdQuery,
        durations: Some(SecondsSet::of(&[5, 10])),
        ..Default::default()
    }
}

/// A per-second price rule.
pub fn per_second(usd: f64) -> PriceRule {
    PriceRule {
        unit: PriceUnit::Second,
        offset: 0,
        billing_increment: 1,
        audio_percent: 100,
        rates: vec![Rate {
            per_unit: usd,
            ..Default::default()
        }],
        source: None,
    }
}

/// An offering of [`MODEL`].
pub fn offering(provider_model: &str, usd_per_sec: f64, capability: Capability) -> Offering {
    Offering {
        model: MODEL.into(),
        provider_model: provider_model.into(),
        capability,
        cost: per_second(usd_per_sec),
    }
}

/// A valid request for [`MODEL`].
pub fn request() -> GenerationRequest {
    GenerationRequest {
        model: MODEL.into(),
        prompt: Some("a red fox running through snow".into()),
        duration: Some(10),
        ..Default::default()
    }
}

/// The quote of [`request`].
pub fn quote() -> Quote {
    Catalog::builtin()
        .quote(&request())
        .expect("the test request is valid")
}

/// No upstream callback URL.
pub fn no_callback(_: &str) -> Option<String> {
    None
}
