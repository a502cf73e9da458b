//! The router: candidates → pick → submit with failover; status with task affinity.

use crate::attempt::{
    Attempt, BreakerLayer, Call, InFlightSource, ObserveLayer, Outcome, RateLayer, Rejection,
    RetryLayer, RetryOf, SlotLayer, TelemetryLayer, TimeoutLayer, Upstream,
};
use crate::breaker::{Breaker, BreakerConfig, BreakerState};
use crate::budget::RetryBudget;
use crate::clock;
use crate::failover::{recovery, Recovery};
use crate::health::{Health, HealthSnapshot};
use crate::limits::{CallerLimiter, Limits, ProviderLimiter};
use crate::pick::{Candidate, PickRequest, Picker, PriceFirst};
use crate::registry::Registry;
use crate::retry::RetryConfig;
use crate::telemetry::{self, Telemetry};
use genmux_core::async_trait;
use genmux_core::catalog::price_inputs;
use genmux_core::{
    Catalog, Error, ErrorKind, GenerationRequest, Offering, Polling, Provider, ProviderSettings,
    Quote, Result, Submission, TaskRef, TaskSnapshot, TaskStatus, UnknownLookup, UnknownTask,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tracing::{Instrument, Span};

/// The outcome of [`Router::submit`].
#[derive(Clone, Debug, PartialEq)]
pub struct Routed {
    /// The provider that holds the task.
    pub provider: String,
    /// The offering it was submitted to.
    pub offering: Offering,
    /// The upstream's answer. Its status is [`TaskStatus::Unknown`] when the last attempt
    /// failed after the request left (the upstream may have accepted it); then
    /// `provider_task_id` is empty and the task must be reconciled through
    /// [`Routed::external_id`] — never resubmitted.
    pub submission: Submission,
    /// Upstream attempts made (1 = first try succeeded).
    pub attempts: u32,
    /// Times the router moved to another provider after a failure.
    pub failovers: u32,
    /// The id genmux minted for this submission and sent upstream as the provider's
    /// external / idempotency id (never the caller's `externalTaskId`, X3): how a task of
    /// unknown outcome is found again ([`Router::find_unknown`]).
    pub external_id: String,
}

impl Routed {
    /// Where the task lives, for [`Router::status`].
    pub fn task_ref(&self, quote: &Quote) -> TaskRef {
        TaskRef {
            provider: self.provider.clone(),
            provider_task_id: self.submission.provider_task_id.clone(),
            model: quote.model.clone(),
            provider_model: self.submission.provider_model.clone(),
            operation: quote.operation,
        }
    }
}

/// Counts one query (status, lookup, cancel) against `entry`'s request rate;
/// `RateLimited` with the wait as `Retry-After` when over it.
fn query_rate(entry: &Entry) -> Result<()> {
    entry.limiter.check_rate().map_err(|wait| {
        Error::new(
            ErrorKind::RateLimited,
            format!(
                "provider {} request rate reached; retry in {} ms",
                entry.id,
                wait.as_millis().max(1)
            ),
        )
        .with_provider(entry.id.to_string())
        .with_retry_after(wait)
    })
}

/// One candidate of [`Router::route_preview`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePreview {
    /// The provider id.
    pub provider: String,
    /// The upstream's model name.
    pub provider_model: String,
    /// The upstream cost of the request there, in micro-USD (`i64::MAX` when its cost
    /// table has no row for the request).
    pub cost_micros: i64,
}

/// A task created by [`Router::generate`], for [`Router::wait`] and [`Router::status`].
#[derive(Clone, Debug)]
pub struct TaskHandle {
    /// Where the task lives (provider and upstream id).
    pub task: TaskRef,
    /// The status at submission (`submitted`, or `unknown` when acceptance is uncertain).
    pub status: TaskStatus,
    /// The upstream's estimate of the time to finish.
    pub estimated_time_sec: Option<u32>,
    /// The id genmux sent upstream with the submission ([`Routed::external_id`]); empty for
    /// a handle made [`TaskHandle::from_ref`].
    pub external_id: String,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Failovers made.
    pub failovers: u32,
    /// Whether this handle still holds the provider's in-flight slot; [`Router::wait`]
    /// gives it back once, when it sees a final status.
    holds_slot: Arc<AtomicBool>,
}

impl TaskHandle {
    /// A handle for a task known by reference only (e.g. after a restart). It holds no
    /// in-flight slot.
    pub fn from_ref(task: TaskRef) -> Self {
        TaskHandle {
            task,
            status: TaskStatus::Submitted,
            estimated_time_sec: None,
            external_id: String::new(),
            attempts: 0,
            failovers: 0,
            holds_slot: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn release_once(&self) -> bool {
        self.holds_slot.swap(false, Ordering::AcqRel)
    }
}

/// One provider with its live state.
pub(crate) struct Entry {
    pub(crate) id: Arc<str>,
    pub(crate) provider: Provider,
    pub(crate) offerings: Vec<Offering>,
    pub(crate) breaker: Breaker,
    pub(crate) health: Health,
    pub(crate) limiter: ProviderLimiter,
}

pub(crate) struct Inner {
    catalog: Catalog,
    pub(crate) entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
    /// Catalog model id → (entry, offering) pairs, in registration order.
    by_model: HashMap<String, Vec<(usize, usize)>>,
    picker: Box<dyn Picker>,
    retry: RetryConfig,
    budget: RetryBudget,
    callers: Option<CallerLimiter>,
    pub(crate) telemetry: Telemetry,
    /// Where in-flight tasks are counted when not in process (issue 14 point 6).
    in_flight_source: OnceLock<Arc<dyn InFlightSource>>,
}

/// Routes generation requests over providers. Cheap to clone (shared state).
///
/// See the crate docs for the request path; build one with [`Router::builder`].
#[derive(Clone)]
pub struct Router {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field(
                "providers",
                &self
                    .inner
                    .entries
                    .iter()
                    .map(|e| &*e.id)
                    .collect::<Vec<_>>(),
            )
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Router`].
///
/// ```
/// # use genmux_router::{Router, BreakerConfig, RetryConfig, Limits, PriceFirst};
/// let router = Router::builder()
///     .catalog(genmux_core::Catalog::builtin().clone())
///     .picker(PriceFirst)
///     .breaker(BreakerConfig::default())
///     .retry(RetryConfig::default())
///     .limits(Limits::new())
///     .build()
///     .unwrap();
/// assert!(router.provider("kling").is_none());
/// ```
#[must_use]
pub struct RouterBuilder {
    catalog: Option<Catalog>,
    registry: Registry,
    pending_error: Option<Error>,
    discover: Option<ProviderSettings>,
    picker: Box<dyn Picker>,
    breaker: BreakerConfig,
    retry: RetryConfig,
    limits: Limits,
    telemetry: Option<Telemetry>,
    in_flight_source: Option<Arc<dyn InFlightSource>>,
}

impl std::fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("registry", &self.registry)
            .field("breaker", &self.breaker)
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RouterBuilder {
    /// The model catalog (default: [`Catalog::builtin`]).
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Adds a provider explicitly. A duplicate id makes [`build`](Self::build) fail.
    pub fn provider(mut self, provider: Provider) -> Self {
        if let Err(e) = self.registry.register(provider) {
            self.pending_error.get_or_insert(e);
        }
        self
    }

    /// Adds every provider of a registry.
    pub fn registry(mut self, registry: Registry) -> Self {
        for p in registry.into_providers() {
            self = self.provider(p);
        }
        self
    }

    /// Also builds every provider registered with `inventory` from `settings` (those
    /// without credentials are skipped).
    pub fn discover(mut self, settings: ProviderSettings) -> Self {
        self.discover = Some(settings);
        self
    }

    /// The pick step (default [`PriceFirst`]).
    pub fn picker(mut self, picker: impl Picker) -> Self {
        self.picker = Box::new(picker);
        self
    }

    /// Circuit breaker settings, applied to each provider.
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// Retry, backoff and budget settings.
    pub fn retry(mut self, config: RetryConfig) -> Self {
        self.retry = config;
        self
    }

    /// Rate and in-flight limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where spans and metrics go (default [`Telemetry::global`]).
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Counts each provider's tasks in flight from `source` — durable state every replica
    /// shares — instead of in process (see [`InFlightSource`]; the gateway installs one
    /// over its store with [`Router::use_in_flight_source`]).
    pub fn in_flight_source(mut self, source: Arc<dyn InFlightSource>) -> Self {
        self.in_flight_source = Some(source);
        self
    }

    /// Builds the router. Fails on a duplicate provider id, on a provider builder error
    /// during discovery, or on out-of-range settings.
    pub fn build(self) -> Result<Router> {
        if let Some(e) = self.pending_error {
            return Err(e);
        }
        self.breaker.check()?;
        self.retry.check()?;
        let catalog = self.catalog.unwrap_or_else(|| Catalog::builtin().clone());
        let mut registry = match &self.discover {
            Some(settings) => Registry::from_inventory(settings, &catalog)?,
            None => Registry::new(),
        };
        for p in self.registry.into_providers() {
            registry.register(p)?;
        }
        let epoch = clock::now();
        let mut entries = Vec::with_capacity(registry.len());
        let mut by_id = HashMap::new();
        let mut by_model: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for provider in registry.into_providers() {
            let index = entries.len();
            // Offerings of models the catalog does not know (disabled by an operator
            // override) can never be requested; they are left out.
            let offerings: Vec<Offering> = provider
                .offerings()
                .into_iter()
                .filter(|(_, o)| catalog.model(&o.model).is_some())
                .map(|(_, o)| o.clone())
                .collect();
            for (j, o) in offerings.iter().enumerate() {
                by_model
                    .entry(o.model.clone())
                    .or_default()
                    .push((index, j));
            }
            by_id.insert(provider.id().to_string(), index);
            entries.push(Entry {
                id: Arc::from(provider.id()),
                limiter: ProviderLimiter::new(self.limits.for_provider(provider.id())),
                provider,
                offerings,
                breaker: Breaker::new(self.breaker, epoch),
                health: Health::default(),
            });
        }
        let in_flight_source = OnceLock::new();
        if let Some(source) = self.in_flight_source {
            let _ = in_flight_source.set(source);
        }
        Ok(Router {
            inner: Arc::new(Inner {
                catalog,
                entries,
                by_id,
                by_model,
                picker: self.picker,
                budget: RetryBudget::new(&self.retry, epoch),
                retry: self.retry,
                callers: self.limits.caller.map(CallerLimiter::new),
                telemetry: self.telemetry.unwrap_or_default(),
                in_flight_source,
            }),
        })
    }
}

/// What a submission collects for its final error: the offerings passed over and why,
/// and the errors of the attempts sent.
#[derive(Default)]
struct Report {
    rejected: Vec<(Arc<str>, String, Rejection)>,
    failures: Vec<Error>,
}

impl Report {
    fn reject(&mut self, entry: &Entry, offering: &Offering, why: Rejection) {
        self.rejected
            .push((entry.id.clone(), offering.provider_model.clone(), why));
    }

    fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .rejected
            .iter()
            .map(|(p, m, why)| {
                let why = match why {
                    Rejection::Capability(r) => r.clone(),
                    Rejection::Open(d) => {
                        format!("circuit open (retry in {} ms)", d.as_millis())
                    }
                    Rejection::Busy { max } => {
                        format!("in-flight limit reached ({max} tasks)")
                    }
                    Rejection::RateLimited(d) => {
                        format!("rate limit reached (retry in {} ms)", d.as_millis())
                    }
                    Rejection::RetryAfterTooLong(d) => {
                        format!("asked to retry after {} s", d.as_secs())
                    }
                    Rejection::InFlightUnknown(e) => {
                        format!("its tasks in flight cannot be counted ({e})")
                    }
                };
                format!("{p}/{m}: {why}")
            })
            .collect();
        parts.extend(self.failures.iter().map(|e| e.to_string()));
        parts.join("; ")
    }

    /// The error for a submission that no upstream accepted.
    fn into_error(self, model: &str, attempts: u32, budget_exhausted: bool) -> Error {
        let detail = self.describe();
        if let Some(last) = self.failures.last().cloned() {
            let mut msg = format!("{attempts} attempt(s) for {model} failed");
            if budget_exhausted {
                msg.push_str(" (retry budget exhausted)");
            }
            let mut e = Error::new(last.kind(), format!("{msg}: {detail}"))
                .with_retryable(last.is_retryable());
            if let Some(p) = last.provider() {
                e = e.with_provider(p);
            }
            if let Some(ra) = last.retry_after() {
                e = e.with_retry_after(ra);
            }
            return e.with_source(last);
        }
        // Nothing was sent: say why each offering was passed over. Transient reasons win
        // over capability, with the shortest wait as the hint.
        let mut transient: Option<(ErrorKind, Duration)> = None;
        for (_, _, why) in &self.rejected {
            let this = match why {
                Rejection::Capability(_) => continue,
                Rejection::Open(d) => (ErrorKind::ProviderUnavailable, *d),
                Rejection::Busy { .. } => (ErrorKind::RateLimited, Duration::from_secs(1)),
                Rejection::RateLimited(d) | Rejection::RetryAfterTooLong(d) => {
                    (ErrorKind::RateLimited, *d)
                }
                Rejection::InFlightUnknown(_) => {
                    (ErrorKind::ProviderUnavailable, Duration::from_secs(1))
                }
            };
            transient = Some(match transient {
                Some((k, d)) if d <= this.1 => (k, d),
                _ => this,
            });
        }
        match transient {
            Some((kind, wait)) => Error::new(
                kind,
                format!("no provider can take {model} right now: {detail}"),
            )
            .with_retry_after(wait),
            None if self.rejected.is_empty() => Error::new(
                ErrorKind::Unsupported,
                format!("model: no registered provider serves {model}"),
            ),
            None => Error::new(
                ErrorKind::Unsupported,
                format!("no provider offering supports this request for {model}: {detail}"),
            ),
        }
    }
}

/// What the caller of [`Router::submit_observed`] supplies and learns at each attempt.
#[async_trait]
pub trait SubmitObserver: Send + Sync {
    /// The callback URL to give `provider`'s upstream (`None`: no callback).
    fn callback_url(&self, provider: &str) -> Option<String>;

    /// The id to send upstream as the provider's external / idempotency id (the gateway
    /// passes its task id). `None`: the router mints one (`gmx_` + 128 random bits).
    fn external_id(&self) -> Option<String> {
        None
    }

    /// Runs after every gate has admitted the attempt, just before the request is sent to
    /// `provider`. An error ends the submission with that error; nothing is sent.
    async fn before_send(&self, provider: &str) -> Result<()>;
}

/// The observer of [`Router::submit`]: a callback URL per provider, nothing to record.
struct CallbackOnly<'a>(&'a (dyn Fn(&str) -> Option<String> + Send + Sync));

#[async_trait]
impl SubmitObserver for CallbackOnly<'_> {
    fn callback_url(&self, provider: &str) -> Option<String> {
        (self.0)(provider)
    }

    async fn before_send(&self, _provider: &str) -> Result<()> {
        Ok(())
    }
}

/// A candidate's place in the router and what its attempts left, beside the public
/// [`Candidate`].
#[derive(Clone, Copy)]
struct Track {
    entry: usize,
    offering: usize,
    /// The provider's `Retry-After` from a failed attempt, when it is to be retried.
    hint: Option<Duration>,
    /// Whether it failed transiently in this submission (a retry waits a backoff).
    tried: bool,
}

impl Router {
    /// A builder with the built-in catalog, no providers, [`PriceFirst`] and default
    /// breaker, retry and telemetry settings.
    pub fn builder() -> RouterBuilder {
        RouterBuilder {
            catalog: None,
            registry: Registry::new(),
            pending_error: None,
            discover: None,
            picker: Box::new(PriceFirst),
            breaker: BreakerConfig::default(),
            retry: RetryConfig::default(),
            limits: Limits::default(),
            telemetry: None,
            in_flight_source: None,
        }
    }

    /// The catalog requests are validated and quoted against.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// A registered provider by id.
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.entry(id).map(|e| &e.provider)
    }

    /// Every registered provider id, in registration order.
    pub fn provider_ids(&self) -> impl Iterator<Item = &str> {
        self.inner.entries.iter().map(|e| &*e.id)
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.inner.by_id.get(id).map(|&i| &self.inner.entries[i])
    }

    fn require_entry(&self, id: &str) -> Result<&Entry> {
        self.entry(id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "provider: no provider `{id}` is registered (available: {})",
                    self.provider_ids().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// The state of a provider's circuit now.
    pub fn breaker_state(&self, provider: &str) -> Option<BreakerState> {
        self.entry(provider).map(|e| e.breaker.state(clock::now()))
    }

    /// A provider's health now.
    pub fn health(&self, provider: &str) -> Option<HealthSnapshot> {
        self.entry(provider).map(|e| e.health.snapshot())
    }

    /// Tasks this provider holds in flight (accepted or unknown, not yet finished), as
    /// counted in this process. With an [`InFlightSource`] the limit is enforced on the
    /// source's count and nothing is counted here (this stays 0).
    pub fn in_flight(&self, provider: &str) -> Option<u32> {
        self.entry(provider).map(|e| e.limiter.in_flight())
    }

    /// Counts tasks in flight from `source` from now on, instead of in process: durable
    /// state that every replica shares and that outlives a restart (issue 14 point 6). The
    /// gateway installs one over its store when it starts. Returns false, changing
    /// nothing, when a source was already installed.
    pub fn use_in_flight_source(&self, source: Arc<dyn InFlightSource>) -> bool {
        self.inner.in_flight_source.set(source).is_ok()
    }

    /// Whether tasks in flight are counted from an [`InFlightSource`].
    pub fn counts_in_flight_durably(&self) -> bool {
        self.inner.in_flight_source.get().is_some()
    }

    /// Gives back the in-flight slot of a task of `provider` that reached a final status
    /// (or was reconciled as never accepted). Returns false for an unknown provider.
    /// With an [`InFlightSource`] there is nothing to give back: the task's final record
    /// stops counting by itself, wherever it settled.
    ///
    /// The gateway calls this once per finished task; [`Router::wait`] does it for
    /// embedded use.
    pub fn task_finished(&self, provider: &str) -> bool {
        match self.entry(provider) {
            Some(e) => {
                e.limiter.release_slot();
                true
            }
            None => false,
        }
    }

    /// Checks and counts one request of caller `key` against the per-caller limit;
    /// `RateLimited` with a `Retry-After` when over it. Always `Ok` without a caller limit.
    pub fn check_caller(&self, key: &str) -> Result<()> {
        match &self.inner.callers {
            Some(c) => c.check(key),
            None => Ok(()),
        }
    }

    /// Validates, prices and submits a request with no upstream callback URL, for apps
    /// that embed genmux; then [`Router::wait`] for the result.
    pub async fn generate(&self, request: GenerationRequest) -> Result<TaskHandle> {
        let span = telemetry::submission_span!("genmux.generate");
        let result = async {
            let quote = self.inner.catalog.quote(&request)?;
            let routed = self
                .submit_in(&span, &quote, &CallbackOnly(&|_| None))
                .await?;
            let task = routed.task_ref(&quote);
            Ok(TaskHandle {
                task,
                status: routed.submission.status,
                estimated_time_sec: routed.submission.estimated_time_sec,
                external_id: routed.external_id,
                attempts: routed.attempts,
                failovers: routed.failovers,
                holds_slot: Arc::new(AtomicBool::new(true)),
            })
        }
        .instrument(span.clone())
        .await;
        if let Err(e) = &result {
            telemetry::fail(&span, e);
        }
        result
    }

    /// Submits a quoted request: candidates → pick → attempt, failing over on retryable
    /// errors before acceptance (see [`RetryConfig`] for exactly what is retried).
    /// `callback_url` maps the chosen provider id to the upstream callback URL.
    pub async fn submit(
        &self,
        quote: &Quote,
        callback_url: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    ) -> Result<Routed> {
        self.submit_observed(quote, &CallbackOnly(callback_url))
            .await
    }

    /// [`Router::submit`] with an observer that also runs before each attempt is sent, so
    /// a caller that must find the task after a crash can record which provider may hold
    /// it (the gateway does, for R4 in `design/RELIABILITY.md`).
    pub async fn submit_observed(
        &self,
        quote: &Quote,
        observer: &dyn SubmitObserver,
    ) -> Result<Routed> {
        let span = telemetry::submission_span!("genmux.submit");
        let result = self
            .submit_in(&span, quote, observer)
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            telemetry::fail(&span, e);
        }
        result
    }

    /// The candidate set for a request at `now`, with the reasons others were dropped.
    fn candidates<'a>(
        &'a self,
        request: &GenerationRequest,
        operation: genmux_core::Operation,
        now: Instant,
        report: &mut Report,
        candidates: &mut Vec<Candidate<'a>>,
        tracks: &mut Vec<Track>,
    ) {
        let Some(pairs) = self.inner.by_model.get(&request.model) else {
            return;
        };
        candidates.reserve(pairs.len());
        tracks.reserve(pairs.len());
        // Every breaker of a router shares one epoch: convert `now` once.
        let Some(&(first, _)) = pairs.first() else {
            return;
        };
        let now_nanos = self.inner.entries[first].breaker.nanos_since_epoch(now);
        let inputs = price_inputs(request, operation);
        for &(entry_index, offering_index) in pairs {
            let entry = &self.inner.entries[entry_index];
            let offering = &entry.offerings[offering_index];
            if let Err(why) = offering.capability.supports(request, operation) {
                report.reject(entry, offering, Rejection::Capability(why));
                continue;
            }
            if let Some(wait) = entry.breaker.open_remaining_at(now_nanos) {
                report.reject(entry, offering, Rejection::Open(wait));
                continue;
            }
            if !entry.limiter.has_slot() {
                let max = entry.limiter.max_in_flight().unwrap_or(0);
                report.reject(entry, offering, Rejection::Busy { max });
                continue;
            }
            candidates.push(Candidate {
                provider: &entry.id,
                offering,
                cost_micros: offering.cost_micros(&inputs),
                health: entry.health.snapshot(),
            });
            tracks.push(Track {
                entry: entry_index,
                offering: offering_index,
                hint: None,
                tried: false,
            });
        }
    }

    /// The pick step alone, for benchmarks and diagnostics: the candidate the router would
    /// try first for a quoted request, as `(provider, provider_model)`.
    pub fn pick_first(&self, quote: &Quote) -> Option<(&str, &str)> {
        let mut report = Report::default();
        let (mut candidates, mut tracks) = (Vec::new(), Vec::new());
        self.candidates(
            &quote.request,
            quote.operation,
            clock::now(),
            &mut report,
            &mut candidates,
            &mut tracks,
        );
        if candidates.is_empty() {
            return None;
        }
        let pick = PickRequest {
            request: &quote.request,
            operation: quote.operation,
        };
        let i = self
            .inner
            .picker
            .pick(&pick, &candidates)
            .min(candidates.len() - 1);
        Some((
            candidates[i].provider,
            &candidates[i].offering.provider_model,
        ))
    }

    /// Every candidate for a quoted request, in the order the router would try them now
    /// (the picker applied repeatedly, as on failover), with each one's upstream cost in
    /// micro-USD — the routing preview operators see beside a quote (issue 14 point 4).
    /// Candidates whose circuit is open or whose in-flight limit is reached are left out,
    /// as a submission would leave them out.
    pub fn route_preview(&self, quote: &Quote) -> Vec<RoutePreview> {
        let mut report = Report::default();
        let (mut candidates, mut tracks) = (Vec::new(), Vec::new());
        self.candidates(
            &quote.request,
            quote.operation,
            clock::now(),
            &mut report,
            &mut candidates,
            &mut tracks,
        );
        let pick = PickRequest {
            request: &quote.request,
            operation: quote.operation,
        };
        let mut out = Vec::with_capacity(candidates.len());
        while !candidates.is_empty() {
            let i = self
                .inner
                .picker
                .pick(&pick, &candidates)
                .min(candidates.len() - 1);
            let c = candidates.remove(i);
            out.push(RoutePreview {
                provider: c.provider.to_string(),
                provider_model: c.offering.provider_model.clone(),
                cost_micros: c.cost_micros,
            });
        }
        out
    }

    /// The attempt path: each upstream attempt goes through these layers around the
    /// provider (see the `attempt` module).
    fn attempt_path(&self) -> impl Call + '_ {
        let inner = &*self.inner;
        let source = inner.in_flight_source.get().map(|s| &**s);
        BreakerLayer::new(
            &inner.telemetry,
            SlotLayer::new(
                source,
                RateLayer::new(RetryLayer::new(
                    &inner.budget,
                    &inner.retry,
                    ObserveLayer::new(TelemetryLayer::new(
                        &inner.telemetry,
                        TimeoutLayer::new(inner.retry.attempt_timeout, Upstream),
                    )),
                )),
            ),
        )
    }

    /// Candidates → pick → the layered attempt per candidate → [`recovery`] after a
    /// failure, until an upstream accepts, the table says stop, or attempts, candidates or
    /// the retry budget run out.
    async fn submit_in(
        &self,
        span: &Span,
        quote: &Quote,
        observer: &dyn SubmitObserver,
    ) -> Result<Routed> {
        let inner = &*self.inner;
        let t = &inner.telemetry;
        let request = &quote.request;
        let operation = quote.operation;
        if !span.is_disabled() {
            span.record("genmux.model", quote.model.as_str());
            span.record("genmux.operation", operation.as_str());
            span.record("genmux.price_points", quote.points);
            // Prompts may hold personal data: on spans only when the application opts in.
            if let Some(p) = request.prompt.as_deref().filter(|_| t.records_prompts()) {
                span.record("genmux.prompt", p);
            }
        }
        t.request(&quote.model, operation.as_str());
        let external_id = observer
            .external_id()
            .unwrap_or_else(|| format!("gmx_{:032x}", rand::random::<u128>()));
        // Clock reads are a measurable share of an in-process submission: read it once
        // for the deposit, the candidate set and the first attempt's gates.
        let mut now = clock::now();
        inner.budget.deposit(now);

        let mut report = Report::default();
        let (mut candidates, mut tracks) = (Vec::new(), Vec::new());
        self.candidates(
            request,
            operation,
            now,
            &mut report,
            &mut candidates,
            &mut tracks,
        );
        let pick_request = PickRequest { request, operation };
        let path = self.attempt_path();
        let mut retry_pool: Vec<(Candidate<'_>, Track)> = Vec::new();
        let mut attempts = 0u32;
        let mut failovers = 0u32;
        let mut retries_of_tried = 0u32;
        let mut previous: Option<usize> = None;
        let mut budget_exhausted = false;

        while attempts < inner.retry.max_attempts {
            if candidates.is_empty() {
                // Every candidate has been tried once: go round again with those that
                // failed transiently.
                if retry_pool.is_empty() {
                    break;
                }
                for (c, s) in retry_pool.drain(..) {
                    candidates.push(c);
                    tracks.push(s);
                }
            }
            let i = inner
                .picker
                .pick(&pick_request, &candidates)
                .min(candidates.len() - 1);
            let candidate = candidates.remove(i);
            let mut track = tracks.remove(i);
            let entry = &inner.entries[track.entry];
            let offering = &entry.offerings[track.offering];
            if attempts > 0 {
                now = clock::now();
            }
            let failover = previous.is_some_and(|p| p != track.entry);
            let attempt = Attempt {
                entry,
                offering,
                quote,
                cost_micros: candidate.cost_micros,
                external_id: &external_id,
                observer,
                parent: span,
                made: attempts,
                retry: track.tried.then_some(RetryOf {
                    hint: track.hint,
                    round: retries_of_tried,
                }),
                failover,
                failovers: failovers + u32::from(failover),
            };
            let sent = match path.call(&attempt, now).await {
                Outcome::Sent(sent) => sent,
                Outcome::PassedOver(why) => {
                    report.reject(entry, offering, why);
                    continue;
                }
                Outcome::BudgetSpent => {
                    budget_exhausted = true;
                    break;
                }
                Outcome::Refused(e) => return Err(e),
            };
            attempts += 1;
            failovers += u32::from(failover);
            retries_of_tried += u32::from(track.tried);
            previous = Some(track.entry);
            let e = match sent.result {
                Ok(submission) => {
                    return Ok(self.routed(
                        span,
                        entry,
                        offering,
                        submission,
                        attempts,
                        failovers,
                        &external_id,
                    ))
                }
                Err(e) => e,
            };
            match recovery(&e, inner.retry.max_retry_after) {
                Recovery::Stop if e.maybe_accepted() => {
                    // R1: never resubmit, here or elsewhere. The task may be running: the
                    // slot layer kept its in-flight slot.
                    let submission = Submission {
                        provider_task_id: String::new(),
                        provider_model: offering.provider_model.clone(),
                        status: TaskStatus::Unknown,
                        estimated_time_sec: None,
                    };
                    return Ok(self.routed(
                        span,
                        entry,
                        offering,
                        submission,
                        attempts,
                        failovers,
                        &external_id,
                    ));
                }
                Recovery::Stop => return Err(e),
                Recovery::RetrySame => {
                    track.tried = true;
                    track.hint = e.retry_after();
                    report.failures.push(e);
                    retry_pool.push((candidate, track));
                }
                Recovery::NextProvider => {
                    if let Some(wait) = e.retry_after().filter(|w| *w > inner.retry.max_retry_after)
                    {
                        report.reject(entry, offering, Rejection::RetryAfterTooLong(wait));
                    }
                    report.failures.push(e);
                }
            }
        }
        span.record("genmux.attempts", i64::from(attempts));
        span.record("genmux.failovers", i64::from(failovers));
        Err(report.into_error(&quote.model, attempts, budget_exhausted))
    }

    #[allow(clippy::too_many_arguments)]
    fn routed(
        &self,
        span: &Span,
        entry: &Entry,
        offering: &Offering,
        submission: Submission,
        attempts: u32,
        failovers: u32,
        external_id: &str,
    ) -> Routed {
        if !span.is_disabled() {
            span.record("genmux.provider", &*entry.id);
            span.record("genmux.provider_model", offering.provider_model.as_str());
            span.record("genmux.attempts", i64::from(attempts));
            span.record("genmux.failovers", i64::from(failovers));
            span.record("genmux.status", submission.status.as_str());
        }
        Routed {
            provider: entry.id.to_string(),
            offering: offering.clone(),
            submission,
            attempts,
            failovers,
            external_id: external_id.to_string(),
        }
    }

    /// Whether a registered provider serves `model` and, when `field` is given (a top-level
    /// catalog field name), can take that field for it ([`genmux_core::Capability::serves_field`]).
    /// The models document offers only what this admits (issue 13).
    pub fn offers(&self, model: &str, field: Option<&str>) -> bool {
        let Some(pairs) = self.inner.by_model.get(model) else {
            return false;
        };
        pairs.iter().any(|&(e, o)| {
            let offering = &self.inner.entries[e].offerings[o];
            field.is_none_or(|f| offering.capability.serves_field(f))
        })
    }

    /// Checks that some registered provider could take this (catalog-valid) request, by
    /// capability alone — breakers and in-flight slots change by the second, this does
    /// not. `Unsupported`, naming the model or the first field no provider serves and each
    /// provider's reason, when none can: the gateway refuses such a request before any
    /// hold (issue 13).
    pub fn check_served(&self, quote: &Quote) -> Result<()> {
        let model = &quote.model;
        let pairs = self
            .inner
            .by_model
            .get(model)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if pairs.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "model: `{model}` is not served by any configured provider (configured: {})",
                    self.provider_ids().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let mut reasons = Vec::with_capacity(pairs.len());
        for &(e, o) in pairs {
            let entry = &self.inner.entries[e];
            let offering = &entry.offerings[o];
            match offering
                .capability
                .supports(&quote.request, quote.operation)
            {
                Ok(()) => return Ok(()),
                Err(why) => reasons.push((entry.id.clone(), why)),
            }
        }
        let first = &reasons[0].1;
        let field = first
            .split_once(':')
            .map(|(f, _)| f)
            .filter(|f| !f.contains(' '))
            .unwrap_or("model");
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{field}: no configured provider serves this request for {model} ({})",
                reasons
                    .iter()
                    .map(|(p, why)| format!("{p}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ))
    }

    /// How `provider` finds a task of `model` whose submission outcome is unknown, as its
    /// offering declares; `None` when the provider or offering is not registered.
    pub fn unknown_lookup(&self, provider: &str, model: &str) -> Option<UnknownLookup> {
        self.entry(provider)?
            .offerings
            .iter()
            .find(|o| o.model == model)
            .map(|o| o.capability.unknown_lookup)
    }

    /// How `provider`'s tasks of `model` report progress, as its offering declares: poll
    /// only or by callback, and the least interval between two status queries. The default
    /// (callbacks, no minimum) when the provider or offering is not registered.
    pub fn polling(&self, provider: &str, model: &str) -> Polling {
        self.entry(provider)
            .and_then(|e| e.offerings.iter().find(|o| o.model == model))
            .map(|o| o.capability.polling)
            .unwrap_or_default()
    }

    /// Asks the provider that may hold a task of unknown submission outcome whether it has
    /// it, by the id genmux sent ([`Routed::external_id`]), within the provider's request
    /// rate. `Ok(None)`: it positively does not (the submission was never accepted).
    /// `Unsupported` when the offering declares [`UnknownLookup::NotFindable`].
    pub async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        let entry = self.require_entry(&task.provider)?;
        if self.unknown_lookup(&task.provider, &task.model) == Some(UnknownLookup::NotFindable) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "provider {} cannot find a {} task by our id; it waits for the provider's callback",
                    entry.id, task.model
                ),
            )
            .with_provider(entry.id.to_string()));
        }
        query_rate(entry)?;
        entry
            .provider
            .find_unknown(task)
            .instrument(telemetry::upstream_span(&entry.id, "find unknown"))
            .await
            .map_err(|e| match e.provider() {
                Some(_) => e,
                None => e.with_provider(entry.id.to_string()),
            })
    }

    /// Queries a task on the provider that created it (task affinity), within that
    /// provider's request rate. `NotFound` (listing the providers) for an unknown provider.
    pub async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let t = &self.inner.telemetry;
        let span = telemetry::task_span!("genmux.status", task);
        let result = self
            .task_call(task, "status query", |p| p.status(task))
            .instrument(span.clone())
            .await;
        match &result {
            Ok(s) => {
                span.record("genmux.status", s.status.as_str());
            }
            Err(e) => {
                if let Some(entry) = self.entry(&task.provider) {
                    t.error(&entry.id, e.kind().as_str());
                }
                telemetry::fail(&span, e);
            }
        }
        result
    }

    /// Cancels a task on the provider that created it (task affinity, like
    /// [`Router::status`]), within that provider's request rate (issue 13 point 5).
    ///
    /// Refused before any upstream call with `Unsupported` (naming the provider and the
    /// model) when the task's offering does not declare [`genmux_core::Capability::cancel`];
    /// `NotFound` for an unknown provider. `Ok(())` means the upstream accepted the
    /// cancellation; recording it (status `cancelled`, hold voided) is the caller's job.
    pub async fn cancel(&self, task: &TaskRef) -> Result<()> {
        let t = &self.inner.telemetry;
        let span = telemetry::task_span!("genmux.cancel", task);
        let result = match self.cancellable(task) {
            Ok(()) => {
                self.task_call(task, "cancellation", |p| p.cancel(task))
                    .instrument(span.clone())
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            if let Some(entry) = self.entry(&task.provider) {
                t.error(&entry.id, e.kind().as_str());
            }
            telemetry::fail(&span, e);
        }
        result
    }

    /// Whether the offering `task` was created under can cancel it: `Ok(())`, or the
    /// reason as an error (`NotFound` for an unknown provider, `Unsupported` otherwise).
    pub fn cancellable(&self, task: &TaskRef) -> Result<()> {
        let entry = self.require_entry(&task.provider)?;
        let unsupported = |why: String| {
            Err(Error::new(ErrorKind::Unsupported, why).with_provider(entry.id.to_string()))
        };
        match entry.provider.offering_for(task) {
            Some(o) if o.capability.cancel => Ok(()),
            Some(o) => unsupported(format!(
                "provider {} cannot cancel {} tasks (upstream model {}): its API offers no way to cancel them",
                entry.id, task.model, o.provider_model
            )),
            None => unsupported(format!(
                "provider {} no longer serves model {}, so its task cannot be cancelled",
                entry.id, task.model
            )),
        }
    }

    /// One upstream call about an existing task, on the provider that created it: the
    /// provider's request rate, the attempt timeout, and the provider named on errors.
    async fn task_call<'a, T, F>(
        &'a self,
        task: &TaskRef,
        what: &'static str,
        call: impl FnOnce(&'a Provider) -> F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let entry = self.require_entry(&task.provider)?;
        query_rate(entry)?;
        let upstream = telemetry::upstream_span(&entry.id, what);
        let query = call(&entry.provider).instrument(upstream.clone());
        let answer = match self.inner.retry.attempt_timeout {
            Some(limit) => tokio::time::timeout(limit, query)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Timeout,
                        format!("no answer to the {what} within {} s", limit.as_secs_f64()),
                    ))
                }),
            None => query.await,
        };
        if let Err(e) = &answer {
            telemetry::fail(&upstream, e);
        }
        answer.map_err(|e| match e.provider() {
            Some(_) => e,
            None => e.with_provider(entry.id.to_string()),
        })
    }
}
