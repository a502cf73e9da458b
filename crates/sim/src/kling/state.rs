//! Shared simulator state: configuration, clock, faults, tasks and the callback log.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::auth::encode_token;
use super::config::{AuthClock, Endpoint, KlingSimConfig};
use crate::clock::{wall_ms, SimClock};
use crate::error::{Error, Result};
use crate::fault::{FaultInjector, FaultPlan};

/// One callback the simulator attempted.
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackRecord {
    /// The task it reported.
    pub task_id: String,
    /// The `task_status` in the body.
    pub task_status: String,
    /// Where it was sent.
    pub url: String,
    /// The `webhook-id` header (also set when unsigned, for de-duplication).
    pub webhook_id: String,
    /// HTTP status the receiver answered; `None` when lost or unreachable.
    pub response_status: Option<u16>,
    /// Dropped on purpose by a `lost_callback` fault.
    pub lost: bool,
}

struct Inner {
    config: KlingSimConfig,
    base_url: String,
    clock: SimClock,
    faults: FaultInjector<Endpoint>,
    callbacks: Mutex<Vec<CallbackRecord>>,
}

/// The simulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct KlingState {
    inner: Arc<Inner>,
}

impl KlingState {
    /// State for `config`, with result URLs under `base_url`.
    pub fn new(config: KlingSimConfig, base_url: String) -> Result<Self> {
        config.validate().map_err(Error::Config)?;
        let clock = SimClock::new(config.clock, config.clock_start_ms.unwrap_or_else(wall_ms));
        let faults =
            FaultInjector::new(config.seed, config.faults.clone()).map_err(Error::Config)?;
        Ok(KlingState {
            inner: Arc::new(Inner {
                config,
                base_url: base_url.trim_end_matches('/').to_string(),
                clock,
                faults,
                callbacks: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &KlingSimConfig {
        &self.inner.config
    }

    /// The base of result URLs.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The simulated clock.
    pub fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    /// Seconds on the clock JWTs are checked against.
    pub(crate) fn auth_now(&self) -> i64 {
        match self.inner.config.auth_clock {
            AuthClock::Wall => wall_ms().div_euclid(1000),
            AuthClock::Sim => self.inner.clock.now_secs(),
        }
    }

    /// A valid token for account `idx`.
    pub(crate) fn valid_token(&self, idx: usize) -> String {
        let a = &self.inner.config.accounts[idx];
        let now = self.auth_now();
        encode_token(&a.access_key, &a.secret_key, now + 1800, now - 5)
    }

    #[allow(dead_code)]
    pub(crate) fn faults(&self) -> &FaultInjector<Endpoint> {
        &self.inner.faults
    }

    /// Replaces one endpoint's fault plan.
    pub fn set_faults(&self, endpoint: Endpoint, plan: FaultPlan) -> Result<()> {
        self.inner.faults.set(endpoint, plan).map_err(Error::Config)
    }

    /// Replaces every endpoint's fault plan.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.inner.faults.set_all(plan).map_err(Error::Config)
    }

    /// Every callback attempted so far.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.inner
            .callbacks
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Moves due tasks and delivers pending callbacks.
    pub async fn settle(&self) {}

    /// Runs until `stop` turns true, settling whenever the clock moves.
    pub(crate) async fn run_ticker(self, mut stop: watch::Receiver<bool>) {
        let mut changed = self.inner.clock.changed();
        let mut every = tokio::time::interval(self.inner.config.tick_interval);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = changed.changed() => {}
                _ = every.tick() => {}
            }
            self.settle().await;
        }
    }
}
