//! The framework every newer simulator is built on: one clock, one task lifecycle, one
//! fault injector, one configuration, one media shelf with expiring links, one callback
//! sender and one start/advance/shutdown wrapper — so a provider's simulator adds only its
//! wire (routes, validation, JSON shapes), its rules and its error shape (issue 16 point 3).
//!
//! A provider implements [`Wire`]:
//! - [`Wire::routes`]: its axum routes over a [`SimHandle`]; each handler wraps its work in
//!   [`guarded`] (faults in the provider's own error shape, [`WireError`]), authenticates
//!   with [`SimHandle::account_for`], validates the body strictly, then calls
//!   [`SimHandle::create`] / [`SimHandle::with_tasks`] / [`SimHandle::cancel`];
//! - [`Wire::outputs`]: the files a succeeded task produced (the framework stores them
//!   on its [`MediaShelf`] behind links that expire after
//!   [`SimSettings::media_ttl`]);
//! - [`Wire::callbacks`]: what it POSTs when a task changes [`Phase`] (none for
//!   poll-only APIs);
//! - [`Wire::provider_settings`]: the provider settings that point the genmux provider at
//!   the running simulator (for `genmux sim` and the sandbox).
//!
//! [`Sim`] runs it on a loopback port: `Sim::<MyWire>::start(config)`, `advance`,
//! `callbacks`, `tasks`, `set_faults`, `shutdown`. The framework serves `/media/{token}`
//! itself (403 once a link expired, as an expired signed URL answers).

mod callbacks;
mod guard;
mod media;
mod settings;
mod tasks;

pub use callbacks::{CallbackRecord, Outgoing};
pub use guard::{
    bearer, guard_with, guarded, json_ok, read_json, BodyError, InjectedFault, WireError,
};
pub use media::{Lookup, MediaShelf, MediaSpec};
pub use settings::{AccountStanding, SimAccount, SimSettings};
pub use tasks::{
    MediaLink, NewTask, Outcome, OverConcurrency, OverLimit, Phase, TaskBook, TaskRecord,
    Transition,
};

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::{wall_ms, SimClock};
use crate::error::{Error, Result};
use crate::fault::{FaultAction, FaultInjector, FaultKey, FaultPlan};
use crate::running::Running;

/// A task of simulator `W`.
pub type Record<W> = TaskRecord<<W as Wire>::Data, <W as Wire>::Endpoint>;

/// What a provider's simulator adds to the framework.
pub trait Wire: Sized + Send + Sync + 'static {
    /// The simulator's name (`genmux sim --listen NAME=ADDR`).
    const NAME: &'static str;
    /// The id of the genmux provider whose upstream it plays.
    const PROVIDER: &'static str;
    /// What happens to a create over the account's concurrency.
    const OVER_CONCURRENCY: OverConcurrency;
    /// Unfinished tasks per account in the default configuration (the upstream's usual
    /// account limit, so its waiting status shows in `genmux sim`); `None` = unlimited.
    const DEFAULT_CONCURRENCY: Option<u32> = None;
    /// The endpoint whose fault plan applies to `/media` downloads.
    const MEDIA_ENDPOINT: Self::Endpoint;
    /// The unit of fault injection.
    type Endpoint: FaultKey;
    /// The provider's own fields of a task (the validated request, model, …).
    type Data: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// The provider's error answer.
    type Error: WireError;
    /// Provider-specific configuration (blocked words, allowed models, …).
    type Config: Clone + Send + Sync + Default + std::fmt::Debug + 'static;

    /// The provider's routes; the framework adds `/media/{token}`.
    fn routes() -> axum::Router<SimHandle<Self>>;

    /// A new task id in the provider's format.
    fn task_id(rng: &mut StdRng) -> String {
        uuid_from(rng.random::<u128>())
    }

    /// The files a task produced, called once when it succeeds.
    fn outputs(task: &Record<Self>) -> Vec<MediaSpec>;

    /// The callbacks the provider sends when `task` reached `phase` at `at_ms` (the task
    /// may since have moved on; render the body as of `phase`). Only called for tasks
    /// with a callback URL.
    fn callbacks(
        _task: &Record<Self>,
        _phase: Phase,
        _at_ms: i64,
        _config: &SimConfig<Self>,
    ) -> Vec<Outgoing> {
        Vec::new()
    }

    /// The provider settings, by environment name, that point the provider at `sim`.
    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)>;

    /// Adjusts the configuration the sandbox (`genmux serve` with nothing configured,
    /// `genmux sim`) starts it with, e.g. a fresh callback signing secret.
    fn for_sandbox(_config: &mut SimConfig<Self>) {}
}

/// A UUID-formatted id from 128 random bits.
pub fn uuid_from(bits: u128) -> String {
    let h = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A framework simulator's configuration: the shared settings and the provider's own.
#[derive(Clone, Debug)]
pub struct SimConfig<W: Wire> {
    /// Shared settings (accounts, clock, timings, faults, …).
    pub settings: SimSettings<W::Endpoint>,
    /// The provider's own.
    pub wire: W::Config,
}

impl<W: Wire> Default for SimConfig<W> {
    /// One account with the key `sim-<name>-key`, a manual clock, no faults, the
    /// provider's [`Wire::DEFAULT_CONCURRENCY`].
    fn default() -> Self {
        let mut settings = SimSettings::new(format!("sim-{}-key", W::NAME));
        settings.concurrency = W::DEFAULT_CONCURRENCY;
        SimConfig {
            settings,
            wire: W::Config::default(),
        }
    }
}

impl<W: Wire> SimConfig<W> {
    /// Changes the shared settings.
    pub fn with_settings(
        mut self,
        f: impl FnOnce(SimSettings<W::Endpoint>) -> SimSettings<W::Endpoint>,
    ) -> Self {
        self.settings = f(self.settings);
        self
    }

    /// Replaces the provider's own configuration.
    pub fn with_wire(mut self, wire: W::Config) -> Self {
        self.wire = wire;
        self
    }
}

/// Tasks and files of one simulator, under one lock.
pub struct Books<W: Wire> {
    /// Every task.
    pub tasks: TaskBook<W::Data, W::Endpoint>,
    /// Every file link handed out.
    pub media: MediaShelf,
    ids: StdRng,
    outcomes: StdRng,
    links: StdRng,
    outbox: Vec<(W::Endpoint, Outgoing)>,
    /// Tasks whose callback URL failed its challenge: no more callbacks.
    refused: HashSet<String>,
    /// Credit left per account (`None` = unlimited).
    balances: Vec<Option<i64>>,
}

/// Why [`SimHandle::create`] refused a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The account holds its limit of unfinished tasks ([`OverConcurrency::Reject`]).
    OverLimit(OverLimit),
    /// The account's balance cannot cover the charge.
    Insufficient {
        /// Credit left.
        balance: i64,
        /// What the task costs.
        needed: i64,
    },
}

struct Core<W: Wire> {
    config: SimConfig<W>,
    base_url: String,
    clock: SimClock,
    faults: FaultInjector<W::Endpoint>,
    books: Mutex<Books<W>>,
    callbacks: Mutex<Vec<CallbackRecord>>,
    /// Held across a whole settle, so `advance` returns only after every due callback.
    settling: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

/// Most callbacks a framework simulator has in flight at once.
pub const CALLBACKS_IN_FLIGHT: usize = 64;

/// The shared state of a framework simulator, handed to its routes; cheap to clone.
pub struct SimHandle<W: Wire> {
    inner: Arc<Core<W>>,
}

impl<W: Wire> Clone for SimHandle<W> {
    fn clone(&self) -> Self {
        SimHandle {
            inner: self.inner.clone(),
        }
    }
}

impl<W: Wire> std::fmt::Debug for SimHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("simulator", &W::NAME)
            .field("base_url", &self.inner.base_url)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks leaves the data consistent at each step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why [`SimHandle::account_for`] refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A key no account has.
    Unknown,
    /// The account is [`AccountStanding::Disabled`].
    Disabled,
}

/// The answer of [`SimHandle::cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was unfinished and is now cancelled.
    Cancelled,
    /// It had already ended in this phase.
    AlreadyFinal(Phase),
    /// No such task for this account.
    NotFound,
}

impl<W: Wire> SimHandle<W> {
    /// State for `config`, with result URLs under `base_url`.
    pub fn new(config: SimConfig<W>, base_url: String) -> Result<Self> {
        let s = &config.settings;
        s.validate().map_err(Error::Config)?;
        let clock = SimClock::new(s.clock, s.clock_start_ms.unwrap_or_else(wall_ms));
        let faults = FaultInjector::new(s.seed, s.faults.clone()).map_err(Error::Config)?;
        let http = reqwest::Client::builder()
            .timeout(s.callback_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the callback HTTP client: {e}")))?;
        let seed = s.seed;
        Ok(SimHandle {
            inner: Arc::new(Core {
                books: Mutex::new(Books {
                    tasks: TaskBook::default(),
                    media: MediaShelf::default(),
                    ids: StdRng::seed_from_u64(seed ^ 0x1D5_0000_0001),
                    outcomes: StdRng::seed_from_u64(seed ^ 0x0C0_0000_0002),
                    links: StdRng::seed_from_u64(seed ^ 0x11C_0000_0003),
                    outbox: Vec::new(),
                    refused: HashSet::new(),
                    balances: s.accounts.iter().map(|a| a.balance).collect(),
                }),
                config,
                base_url: base_url.trim_end_matches('/').to_string(),
                clock,
                faults,
                callbacks: Mutex::new(Vec::new()),
                settling: tokio::sync::Mutex::new(()),
                http,
            }),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig<W> {
        &self.inner.config
    }

    /// The shared settings.
    pub fn settings(&self) -> &SimSettings<W::Endpoint> {
        &self.inner.config.settings
    }

    /// The base of result URLs (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The simulated clock.
    pub fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    /// Now on the simulated clock, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The fault injector.
    pub fn faults(&self) -> &FaultInjector<W::Endpoint> {
        &self.inner.faults
    }

    /// The account a request's Bearer key belongs to.
    pub fn account_for(&self, req: &axum::extract::Request) -> Result<usize, AuthFailure> {
        let key = bearer(req).ok_or(AuthFailure::Missing)?;
        let (idx, account) = self
            .settings()
            .accounts
            .iter()
            .enumerate()
            .find(|(_, a)| a.key == key)
            .ok_or(AuthFailure::Unknown)?;
        if account.standing == AccountStanding::Disabled {
            return Err(AuthFailure::Disabled);
        }
        Ok(idx)
    }

    /// The standing of account `idx`.
    pub fn standing(&self, idx: usize) -> AccountStanding {
        self.settings().accounts[idx].standing
    }

    /// Runs `f` over the tasks and files after applying every move due now.
    pub fn with_tasks<T>(&self, f: impl FnOnce(&mut Books<W>) -> T) -> T {
        let mut books = lock(&self.inner.books);
        self.advance_books(&mut books);
        f(&mut books)
    }

    /// Creates a task for `account`, queued now, with an outcome drawn from the failure
    /// and expiry shares, charging the account `charge` (its provider unit; 0 for
    /// providers without balances). Refused when the balance cannot cover the charge, or
    /// under [`OverConcurrency::Reject`] when the account holds its limit of unfinished
    /// tasks. The charge is refunded when the task ends without results. Returns a copy
    /// of the new task.
    pub fn create(
        &self,
        account: usize,
        endpoint: W::Endpoint,
        callback_url: Option<String>,
        data: W::Data,
        charge: i64,
    ) -> std::result::Result<Record<W>, Refusal> {
        let s = self.settings();
        self.with_tasks(|b| {
            if let Some(balance) = b.balances[account] {
                if balance < charge {
                    return Err(Refusal::Insufficient {
                        balance,
                        needed: charge,
                    });
                }
            }
            let draw: f64 = b.outcomes.random();
            let outcome = if draw < s.failure_rate {
                Outcome::Fail
            } else if draw < s.failure_rate + s.expiry_rate {
                Outcome::Expire
            } else {
                Outcome::Succeed
            };
            let id = W::task_id(&mut b.ids);
            let task = b
                .tasks
                .create(
                    NewTask {
                        id,
                        account,
                        endpoint,
                        callback_url,
                        queue_ms: s.queue.as_millis() as i64,
                        render_ms: s.render.as_millis() as i64,
                        outcome,
                        charged: charge,
                        data,
                    },
                    self.now_ms(),
                    s.limit_of(account),
                    W::OVER_CONCURRENCY,
                )
                .cloned()
                .map_err(Refusal::OverLimit)?;
            if let Some(balance) = b.balances[account].as_mut() {
                *balance -= charge;
            }
            Ok(task)
        })
    }

    /// Credit left for account `idx` (`None` = unlimited).
    pub fn balance(&self, idx: usize) -> Option<i64> {
        self.with_tasks(|b| b.balances.get(idx).copied().flatten())
    }

    /// Sets the credit left for account `idx` (`None` = unlimited).
    pub fn set_balance(&self, idx: usize, balance: Option<i64>) {
        self.with_tasks(|b| {
            if let Some(slot) = b.balances.get_mut(idx) {
                *slot = balance;
            }
        })
    }

    /// Cancels `account`'s task `id` now.
    pub fn cancel(&self, account: usize, id: &str) -> CancelOutcome {
        let now = self.now_ms();
        self.with_tasks(|b| {
            let Some(index) = b.tasks.index_of(id) else {
                return CancelOutcome::NotFound;
            };
            if b.tasks.at(index).account != account {
                return CancelOutcome::NotFound;
            }
            let phase = b.tasks.at(index).phase;
            if b.tasks.cancel(index, now) {
                self.queue_callbacks(b);
                CancelOutcome::Cancelled
            } else {
                CancelOutcome::AlreadyFinal(phase)
            }
        })
    }

    /// A new link to `spec`, valid for `ttl` from now (for providers that mint a fresh
    /// download URL on each request, such as MiniMax's `files/retrieve`). Links with the
    /// same `content_seed` serve the same bytes.
    pub fn new_link(&self, spec: MediaSpec, content_seed: u64, ttl: Duration) -> MediaLink {
        let expires = self.now_ms() + ttl.as_millis() as i64;
        let base = self.inner.base_url.clone();
        let mut b = lock(&self.inner.books);
        let Books { media, links, .. } = &mut *b;
        media.put(&base, spec, content_seed, expires, links)
    }

    /// Every callback attempted so far, in order.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        lock(&self.inner.callbacks).clone()
    }

    fn advance_books(&self, b: &mut Books<W>) {
        let s = self.settings();
        let now = self.now_ms();
        let succeeded = b.tasks.advance(now, |a| s.limit_of(a), W::OVER_CONCURRENCY);
        for index in succeeded {
            let task = b.tasks.at(index);
            let specs = W::outputs(task);
            let finished = task.finished_ms.unwrap_or(now);
            let seed = content_seed(&task.id);
            let expires = finished + s.media_ttl.as_millis() as i64;
            let Books {
                tasks,
                media,
                links,
                ..
            } = &mut *b;
            let outputs = specs
                .into_iter()
                .enumerate()
                .map(|(k, spec)| {
                    media.put(
                        &self.inner.base_url,
                        spec,
                        seed.wrapping_add(k as u64),
                        expires,
                        links,
                    )
                })
                .collect();
            tasks.at_mut(index).outputs = outputs;
        }
        self.queue_callbacks(b);
    }

    fn give_refunds(b: &mut Books<W>) {
        for (account, amount) in b.tasks.take_refunds() {
            if let Some(Some(balance)) = b.balances.get_mut(account) {
                *balance += amount;
            }
        }
    }

    fn queue_callbacks(&self, b: &mut Books<W>) {
        Self::give_refunds(b);
        for t in b.tasks.take_transitions() {
            let task = b.tasks.at(t.index);
            if task.callback_url.is_none() {
                continue;
            }
            for out in W::callbacks(task, t.phase, t.at_ms, &self.inner.config) {
                b.outbox.push((task.endpoint, out));
            }
        }
    }

    /// Moves every due task and sends pending callbacks; returns when all were attempted.
    /// Callbacks of different tasks go out at once (up to [`CALLBACKS_IN_FLIGHT`]), as a
    /// provider's do: sent one after another, a receiver that takes 50 ms under load held
    /// the simulator to 20 callbacks a second (issue 21). One task's callbacks keep their
    /// order.
    pub async fn settle(&self) {
        let _one_at_a_time = self.inner.settling.lock().await;
        let pending = self.with_tasks(|b| std::mem::take(&mut b.outbox));
        let mut per_task: Vec<Vec<(W::Endpoint, Outgoing, bool)>> = Vec::new();
        let mut slot: std::collections::HashMap<String, usize> = Default::default();
        for (endpoint, out) in pending {
            // Drawn in queue order, so a seed loses the same callbacks however the sends
            // interleave.
            let lost = self.inner.faults.lose_callback(endpoint);
            let i = *slot.entry(out.task_id.clone()).or_insert_with(|| {
                per_task.push(Vec::new());
                per_task.len() - 1
            });
            per_task[i].push((endpoint, out, lost));
        }
        let mut sending = tokio::task::JoinSet::new();
        for calls in per_task {
            if sending.len() >= CALLBACKS_IN_FLIGHT {
                sending.join_next().await;
            }
            let sim = self.clone();
            sending.spawn(async move {
                for (endpoint, out, lost) in calls {
                    sim.deliver(endpoint, out, lost).await;
                }
            });
        }
        while sending.join_next().await.is_some() {}
    }

    /// Sends `out`, retried as it says; `first_lost` is the fault draw of the first attempt.
    async fn deliver(&self, endpoint: W::Endpoint, out: Outgoing, first_lost: bool) {
        let mut lost = first_lost;
        for attempt in 0..=out.retries {
            if attempt > 0 {
                lost = self.inner.faults.lose_callback(endpoint);
            }
            if self.attempt(&out, lost).await {
                break;
            }
        }
    }

    /// One delivery attempt of `out` (`lost`: dropped by a `lost_callback` fault); whether
    /// it needs no further attempt (answered 2xx, lost on purpose or skipped).
    async fn attempt(&self, out: &Outgoing, lost: bool) -> bool {
        let mut record = CallbackRecord {
            task_id: out.task_id.clone(),
            url: out.url.clone(),
            body: out.body.clone(),
            response_status: None,
            response_body: None,
            lost: false,
            skipped: lock(&self.inner.books).refused.contains(&out.task_id),
        };
        if !record.skipped {
            record.lost = lost;
        }
        if !record.skipped && !record.lost {
            let mut req = self.inner.http.post(&out.url).json(&out.body);
            for (name, value) in &out.headers {
                req = req.header(name, value);
            }
            match req.send().await {
                Ok(resp) => {
                    record.response_status = Some(resp.status().as_u16());
                    record.response_body = resp.json().await.ok();
                }
                Err(e) => {
                    tracing::debug!(url = %out.url, error = %e, "simulator callback not delivered")
                }
            }
            if let Some(expected) = &out.expect_echo {
                let echoed = record
                    .response_status
                    .is_some_and(|s| (200..300).contains(&s))
                    && record.response_body.as_ref() == Some(expected);
                if !echoed {
                    lock(&self.inner.books).refused.insert(out.task_id.clone());
                }
            }
        }
        let done = record.lost
            || record.skipped
            || record
                .response_status
                .is_some_and(|s| (200..300).contains(&s));
        lock(&self.inner.callbacks).push(record);
        done
    }
}

fn content_seed(s: &str) -> u64 {
    s.bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
}

async fn media_route<W: Wire>(
    State(sim): State<SimHandle<W>>,
    Path(token): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let decision = sim.faults().decide(W::MEDIA_ENDPOINT);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.action {
        FaultAction::Error { status, .. } => {
            return StatusCode::from_u16(status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
        FaultAction::Drop => {
            if let Some(kill) = req.extensions().get::<crate::server::ConnectionKill>() {
                kill.trigger();
                return std::future::pending::<Response>().await;
            }
            return StatusCode::BAD_GATEWAY.into_response();
        }
        _ => {}
    }
    let now = sim.now_ms();
    let found = lock(&sim.inner.books).media.get(&token, now);
    match found {
        Lookup::Found(content_type, bytes) => {
            let bytes = if decision.action == FaultAction::Malformed {
                bytes[..bytes.len() / 2].to_vec()
            } else {
                bytes
            };
            let mut r = Response::new(axum::body::Body::from(bytes));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
            r
        }
        // Object storage answers an expired signed link 403 with an XML error.
        Lookup::Expired => (
            StatusCode::FORBIDDEN,
            [(http::header::CONTENT_TYPE, "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        )
            .into_response(),
        Lookup::Missing => (StatusCode::NOT_FOUND, "no such media").into_response(),
    }
}

impl<W: Wire> crate::running::SimState for SimHandle<W> {
    fn router(&self) -> axum::Router {
        W::routes()
            .route("/media/{token}", axum::routing::get(media_route::<W>))
            .with_state(self.clone())
    }

    fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    fn tick_interval(&self) -> Duration {
        self.settings().tick_interval
    }

    fn settle_due(&self) -> impl std::future::Future<Output = ()> + Send {
        self.settle()
    }
}

/// A framework simulator running on a loopback port.
pub struct Sim<W: Wire> {
    handle: SimHandle<W>,
    running: Running,
}

impl<W: Wire> std::fmt::Debug for Sim<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("simulator", &W::NAME)
            .field("base_url", &self.running.base_url())
            .finish()
    }
}

impl<W: Wire> Sim<W> {
    /// Binds `config.settings.addr`, starts serving and the ticker that moves tasks and
    /// sends callbacks whenever the clock moves.
    pub async fn start(config: SimConfig<W>) -> Result<Sim<W>> {
        let addr = config.settings.addr;
        let public = config.settings.public_base_url.clone();
        let (handle, running) =
            Running::start(addr, public, |base| SimHandle::new(config, base)).await?;
        Ok(Sim { handle, running })
    }

    /// `http://127.0.0.1:<port>` (or the public base URL), without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The first account's key.
    pub fn api_key(&self) -> &str {
        &self.handle.settings().accounts[0].key
    }

    /// The shared state.
    pub fn handle(&self) -> &SimHandle<W> {
        &self.handle
    }

    /// The simulated clock.
    pub fn clock(&self) -> SimClock {
        self.handle.clock()
    }

    /// Advances the clock by `by`, moves every due task and returns once its callbacks
    /// were attempted.
    pub async fn advance(&self, by: Duration) {
        self.handle.clock().advance(by);
        self.handle.settle().await;
    }

    /// Moves every due task and sends pending callbacks.
    pub async fn settle(&self) {
        self.handle.settle().await;
    }

    /// Replaces one endpoint's fault plan (its stream restarts from the seed).
    pub fn set_faults(&self, endpoint: W::Endpoint, plan: FaultPlan) -> Result<()> {
        self.handle
            .faults()
            .set(endpoint, plan)
            .map_err(Error::Config)
    }

    /// Replaces every endpoint's fault plan.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.handle.faults().set_all(plan).map_err(Error::Config)
    }

    /// Every callback attempted so far.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.handle.callbacks()
    }

    /// Every task, oldest first, after the moves due now.
    pub fn tasks(&self) -> Vec<Record<W>> {
        self.handle
            .with_tasks(|b| b.tasks.iter().cloned().collect())
    }

    /// Stops serving and ticking.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_have_the_uuid_v4_shape() {
        let id = uuid_from(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(id.len(), 36);
        let parts: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert!(id.split('-').nth(2).unwrap().starts_with('4'));
    }
}
