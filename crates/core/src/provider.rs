//! Provider traits, offerings, layers and registration.
//!
//! A provider crate implements [`VideoProvider`] and/or [`ImageProvider`], declares its
//! [`Offering`]s, and registers a [`ProviderRegistration`] with `inventory`
//! (`ARCHITECTURE.md` "Extending"). The router holds providers as [`Provider`]s.

use crate::capability::Capability;
use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::pricing::{PriceInputs, PriceRule};
use crate::request::{GenerationRequest, MediaKind, Operation};
use crate::task::{Submission, TaskRef, TaskSnapshot, UnknownTask};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One catalog model as served by one provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Offering {
    /// The catalog model id (`kling-2.5-turbo`).
    pub model: String,
    /// The upstream's model name (`kling-v2-5-turbo`).
    pub provider_model: String,
    /// What this offering supports.
    pub capability: Capability,
    /// Upstream cost in USD (evaluated in micro-USD); orders candidates by price.
    pub cost: PriceRule,
}

impl Offering {
    /// Upstream cost of a request in micro-USD; `i64::MAX` when the cost table has no row
    /// for it (such an offering sorts last rather than failing selection).
    pub fn cost_micros(&self, inputs: &PriceInputs<'_>) -> i64 {
        self.cost.amount_micros(inputs).unwrap_or(i64::MAX)
    }
}

/// What a provider is asked to submit.
#[derive(Clone, Copy, Debug)]
pub struct SubmitRequest<'a> {
    /// The validated request, with catalog defaults applied.
    pub request: &'a GenerationRequest,
    /// The operation inferred by the catalog.
    pub operation: Operation,
    /// The offering chosen by the router.
    pub offering: &'a Offering,
    /// Where the upstream should send its status callbacks (the gateway's per-task inbound
    /// URL), if anywhere. This is not the caller's `callbackUrl`.
    pub callback_url: Option<&'a str>,
    /// The id genmux minted for this submission, sent upstream as the provider's external
    /// or idempotency id wherever it takes one, so a submission of unknown outcome can be
    /// found again (R1). Never the caller's `externalTaskId`: upstreams see our ids only
    /// (`design/RELIABILITY.md` X3).
    pub external_id: &'a str,
}

/// A video generation provider. Object safe; held as `Arc<dyn VideoProvider>`.
#[async_trait]
pub trait VideoProvider: Send + Sync + 'static {
    /// Stable provider id (`kling`, `midsync`).
    fn id(&self) -> &str;
    /// The video models this provider serves.
    fn offerings(&self) -> &[Offering];
    /// Creates an upstream task. On an error after the request was sent, the error must be
    /// marked [`Error::with_maybe_accepted`].
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission>;
    /// Queries a task this provider created.
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot>;
    /// Finds a task whose submission outcome is unknown by the id genmux sent with it, as
    /// the offering's [`crate::UnknownLookup`] declares. `Ok(None)` means the upstream
    /// positively has no such task (it never accepted the submission, so a refund is
    /// safe); an error means it could not tell. The default queries [`Self::status`] with
    /// the external id in place of the task id ([`crate::UnknownLookup::ExternalIdQuery`]).
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        find_by_status_query(self.status(&task.as_query()).await)
    }
    /// Cancels a task this provider created, for an offering whose capability declares
    /// `cancel`. `Ok(())` means the upstream accepted the cancellation: the task will not
    /// finish (nor be billed upstream); the caller records it as
    /// [`crate::TaskStatus::Cancelled`]. An upstream that says the task already finished
    /// answers `Conflict`. The default: `Unsupported`.
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        Err(cancel_unsupported(self.id(), task))
    }
    /// Parses (and verifies, when the provider signs) an inbound status callback.
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        let _ = (headers, body);
        Err(
            Error::new(ErrorKind::Unsupported, "this provider sends no callbacks")
                .with_provider(self.id()),
        )
    }
    /// The answer to a callback that is a handshake rather than a status report, sent back
    /// at once with nothing settled: MiniMax's first POST, `{"challenge":"…"}`, must be
    /// echoed within 3 s or no status callback follows (`spec/upstreams.md` MiniMax
    /// "Callback"). The default `None`: every callback is a report for
    /// [`Self::parse_callback`].
    fn callback_handshake(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Option<serde_json::Value> {
        let _ = (headers, body);
        None
    }
}

/// The default [`VideoProvider::find_unknown`]: a status query by external id, where
/// `NotFound` is the upstream's word that it never accepted the task.
fn find_by_status_query(answer: Result<TaskSnapshot>) -> Result<Option<TaskSnapshot>> {
    match answer {
        Ok(snap) => Ok(Some(snap)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// An image generation provider. Object safe; held as `Arc<dyn ImageProvider>`.
#[async_trait]
pub trait ImageProvider: Send + Sync + 'static {
    /// Stable provider id.
    fn id(&self) -> &str;
    /// The image models this provider serves.
    fn offerings(&self) -> &[Offering];
    /// Creates an upstream task (see [`VideoProvider::submit`]).
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission>;
    /// Queries a task this provider created.
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot>;
    /// Finds a task of unknown submission outcome (see [`VideoProvider::find_unknown`]).
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        find_by_status_query(self.status(&task.as_query()).await)
    }
    /// Cancels a task this provider created (see [`VideoProvider::cancel`]). The default:
    /// `Unsupported`.
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        Err(cancel_unsupported(self.id(), task))
    }
    /// Parses an inbound status callback.
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        let _ = (headers, body);
        Err(
            Error::new(ErrorKind::Unsupported, "this provider sends no callbacks")
                .with_provider(self.id()),
        )
    }
    /// The answer to a handshake callback (see [`VideoProvider::callback_handshake`]).
    fn callback_handshake(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Option<serde_json::Value> {
        let _ = (headers, body);
        None
    }
}

/// The error of a provider that has no way to cancel a task upstream.
fn cancel_unsupported(provider: &str, task: &TaskRef) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "provider {provider} cannot cancel {} tasks: its API offers no way to cancel them",
            task.model
        ),
    )
    .with_provider(provider)
}

/// A provider as the router holds it: its video and/or image halves under one id.
#[derive(Clone)]
pub struct Provider {
    id: String,
    video: Option<Arc<dyn VideoProvider>>,
    image: Option<Arc<dyn ImageProvider>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.id)
            .field("video", &self.video.is_some())
            .field("image", &self.image.is_some())
            .finish()
    }
}

impl Provider {
    /// A provider with only a video half.
    pub fn video(p: Arc<dyn VideoProvider>) -> Self {
        Provider {
            id: p.id().to_string(),
            video: Some(p),
            image: None,
        }
    }

    /// A provider with only an image half.
    pub fn image(p: Arc<dyn ImageProvider>) -> Self {
        Provider {
            id: p.id().to_string(),
            video: None,
            image: Some(p),
        }
    }

    /// A provider with both halves; their ids must agree.
    pub fn both(video: Arc<dyn VideoProvider>, image: Arc<dyn ImageProvider>) -> Result<Self> {
        if video.id() != image.id() {
            return Err(Error::internal(format!(
                "provider halves disagree on their id: {} vs {}",
                video.id(),
                image.id()
            )));
        }
        Ok(Provider {
            id: video.id().to_string(),
            video: Some(video),
            image: Some(image),
        })
    }

    /// The provider id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The video half.
    pub fn video_half(&self) -> Option<&Arc<dyn VideoProvider>> {
        self.video.as_ref()
    }

    /// The image half.
    pub fn image_half(&self) -> Option<&Arc<dyn ImageProvider>> {
        self.image.as_ref()
    }

    /// Every offering with the kind of model it serves.
    pub fn offerings(&self) -> Vec<(MediaKind, &Offering)> {
        let v = self
            .video
            .iter()
            .flat_map(|p| p.offerings().iter().map(|o| (MediaKind::Video, o)));
        let i = self
            .image
            .iter()
            .flat_map(|p| p.offerings().iter().map(|o| (MediaKind::Image, o)));
        v.chain(i).collect()
    }

    fn unsupported(&self, kind: MediaKind) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!("provider {} serves no {kind:?} models", self.id),
        )
        .with_provider(self.id.clone())
    }

    /// Submits to the half matching the operation's output kind.
    pub async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        match req.operation.output() {
            MediaKind::Video => match &self.video {
                Some(p) => p.submit(req).await,
                None => Err(self.unsupported(MediaKind::Video)),
            },
            MediaKind::Image => match &self.image {
                Some(p) => p.submit(req).await,
                None => Err(self.unsupported(MediaKind::Image)),
            },
        }
    }

    /// Queries a task on the half matching its operation.
    pub async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        match task.operation.output() {
            MediaKind::Video => match &self.video {
                Some(p) => p.status(task).await,
                None => Err(self.unsupported(MediaKind::Video)),
            },
            MediaKind::Image => match &self.image {
                Some(p) => p.status(task).await,
                None => Err(self.unsupported(MediaKind::Image)),
            },
        }
    }

    /// Looks up a task of unknown submission outcome on the half matching its operation.
    pub async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        match task.operation.output() {
            MediaKind::Video => match &self.video {
                Some(p) => p.find_unknown(task).await,
                None => Err(self.unsupported(MediaKind::Video)),
            },
            MediaKind::Image => match &self.image {
                Some(p) => p.find_unknown(task).await,
                None => Err(self.unsupported(MediaKind::Image)),
            },
        }
    }

    /// Cancels a task on the half matching its operation.
    pub async fn cancel(&self, task: &TaskRef) -> Result<()> {
        match task.operation.output() {
            MediaKind::Video => match &self.video {
                Some(p) => p.cancel(task).await,
                None => Err(self.unsupported(MediaKind::Video)),
            },
            MediaKind::Image => match &self.image {
                Some(p) => p.cancel(task).await,
                None => Err(self.unsupported(MediaKind::Image)),
            },
        }
    }

    /// The offering a task of this provider was created under: the same catalog model,
    /// media kind and (when the task names it) upstream model.
    pub fn offering_for(&self, task: &TaskRef) -> Option<&Offering> {
        let kind = task.operation.output();
        let mut of_model = self
            .offerings()
            .into_iter()
            .filter(|(k, o)| *k == kind && o.model == task.model)
            .map(|(_, o)| o)
            .collect::<Vec<_>>();
        if let Some(exact) = of_model
            .iter()
            .position(|o| o.provider_model == task.provider_model)
        {
            return Some(of_model.swap_remove(exact));
        }
        of_model.into_iter().next()
    }

    /// Parses an inbound callback for a task of `operation`.
    pub fn parse_callback(
        &self,
        operation: Operation,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<TaskSnapshot> {
        match operation.output() {
            MediaKind::Video => match &self.video {
                Some(p) => p.parse_callback(headers, body),
                None => Err(self.unsupported(MediaKind::Video)),
            },
            MediaKind::Image => match &self.image {
                Some(p) => p.parse_callback(headers, body),
                None => Err(self.unsupported(MediaKind::Image)),
            },
        }
    }

    /// The answer to a handshake callback about a task of `operation`, if the body is one
    /// ([`VideoProvider::callback_handshake`]).
    pub fn callback_handshake(
        &self,
        operation: Operation,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Option<serde_json::Value> {
        match operation.output() {
            MediaKind::Video => self.video.as_ref()?.callback_handshake(headers, body),
            MediaKind::Image => self.image.as_ref()?.callback_handshake(headers, body),
        }
    }

    /// Wraps both halves in a layer.
    pub fn layer(self, layer: &dyn Layer) -> Provider {
        Provider {
            id: self.id,
            video: self.video.map(|v| layer.layer_video(v)),
            image: self.image.map(|i| layer.layer_image(i)),
        }
    }
}

/// Wraps a provider in another with the same interface (retry, throttle, tracing,
/// metrics), mapping `Arc<dyn …>` → `Arc<dyn …>` as OpenDAL layers do.
pub trait Layer: Send + Sync {
    /// Wraps a video provider; the default leaves it as is.
    fn layer_video(&self, inner: Arc<dyn VideoProvider>) -> Arc<dyn VideoProvider> {
        inner
    }
    /// Wraps an image provider; the default leaves it as is.
    fn layer_image(&self, inner: Arc<dyn ImageProvider>) -> Arc<dyn ImageProvider> {
        inner
    }
}

/// Settings handed to a provider's builder: credentials and base URLs by environment name
/// (`KLING_ACCESS_KEY`, `KLING_BASE_URL`, …), as the provider's registration declares them
/// ([`crate::settings`]); resolved from the config file, flags and environment by the
/// application.
#[derive(Clone, Debug, Default)]
pub struct ProviderSettings {
    values: BTreeMap<String, String>,
}

impl ProviderSettings {
    /// Empty settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Settings read from the process environment.
    pub fn from_env() -> Self {
        ProviderSettings {
            values: std::env::vars().collect(),
        }
    }

    /// Sets a value.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// A value, if set and non-empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// A provider crate's entry in the registry, collected with `inventory`.
///
/// `settings` declares everything the provider reads (issue 14 point 2): an application
/// resolves them from its config file (`[providers.<id>]`), flags and environment with
/// [`crate::settings::SettingSources`] and never names a provider's settings itself.
/// `build` receives them by environment name, defaults filled in, and returns `Ok(None)`
/// when they hold no credentials for this provider.
#[derive(Debug)]
pub struct ProviderRegistration {
    /// Provider id; also the config section `[providers.<id>]`.
    pub id: &'static str,
    /// One line for `genmux providers` and docs.
    pub description: &'static str,
    /// The settings the provider reads, in the order `genmux providers` lists them.
    pub settings: &'static [crate::settings::SettingSpec],
    /// Builds the provider from settings and the catalog.
    pub build: fn(&ProviderSettings, &Catalog) -> Result<Option<Provider>>,
}

inventory::collect!(ProviderRegistration);

/// Every provider registration linked into this binary.
pub fn registrations() -> impl Iterator<Item = &'static ProviderRegistration> {
    inventory::iter::<ProviderRegistration>.into_iter()
}
