//! A simulator of the unified video API (`spec/unified-api.md`), for testing a provider
//! whose upstream is another unified API (genmux's `MidsyncProvider`).
//!
//! It speaks `/unified-video/…` and `/unified-image/…`: `models`, `quote`, `generate` and
//! `{taskId}/status`, camelCase, Bearer API keys, `{success: false, error}` rejections.
//! Validation and prices come from [`genmux_core::Catalog::builtin`] (so the simulator and
//! the gateway agree on every rule and every price). Tasks move on the same [`SimClock`]
//! as the Kling simulator, faults use the same seeded [`FaultPlan`]s, results are real
//! MP4/PNG files served by the simulator, and `callbackUrl` receives the status body when
//! a task finishes (signed with Standard Webhooks when a secret is configured).
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};
//! let sim = UnifiedSim::start(UnifiedSimConfig::default()).await?;
//! println!("unified API at {} with key {}", sim.base_url(), sim.api_key());
//! sim.advance(std::time::Duration::from_secs(60)).await;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
mod wire;

use std::net::SocketAddr;
use std::time::Duration;

pub use config::{UnifiedEndpoint, UnifiedKey, UnifiedSimConfig};
pub use wire::{Rejection, Unified, UnifiedTask, UnifiedWire};

use crate::clock::SimClock;
use crate::error::Result;
use crate::fault::FaultPlan;
use crate::framework::{Phase, Sim, SimAccount, SimConfig, SimHandle, SimSettings};

/// The unified simulator's shared state (a framework [`SimHandle`]).
pub type UnifiedState = SimHandle<Unified>;

/// One callback the unified simulator attempted.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedCallbackRecord {
    /// The task it reported.
    pub task_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Where it was sent.
    pub url: String,
    /// The exact body sent (the status body).
    pub body: serde_json::Value,
    /// HTTP status the receiver answered; `None` when lost or unreachable.
    pub response_status: Option<u16>,
    /// Dropped on purpose by a `lost_callback` fault.
    pub lost: bool,
}

/// The unified simulator's axum router over `state`, for in-process use.
pub fn router(state: UnifiedState) -> axum::Router {
    crate::running::SimState::router(&state)
}

impl UnifiedSimConfig {
    /// The framework configuration it stands for.
    pub fn into_framework(self) -> SimConfig<Unified> {
        let mut settings = SimSettings::new("unused");
        settings.accounts = self
            .keys
            .iter()
            .map(|k| SimAccount {
                balance: k.balance,
                ..SimAccount::new(k.key.clone())
            })
            .collect();
        settings.addr = self.addr;
        settings.public_base_url = self.public_base_url;
        settings.clock = self.clock;
        settings.clock_start_ms = self.clock_start_ms;
        settings.seed = self.seed;
        settings.queue = self.queue;
        settings.render = self.render;
        settings.failure_rate = self.failure_rate;
        settings.faults = self.faults;
        settings.callback_timeout = self.callback_timeout;
        settings.tick_interval = self.tick_interval;
        settings.media_ttl = wire::MEDIA_TTL;
        SimConfig {
            settings,
            wire: UnifiedWire {
                failure_message: self.failure_message,
                webhook_secret: self.webhook_secret,
            },
        }
    }
}

/// A running unified-API simulator on a loopback port.
#[derive(Debug)]
pub struct UnifiedSim {
    sim: Sim<Unified>,
}

impl UnifiedSim {
    /// Binds `config.addr` (default `127.0.0.1:0`), starts serving and ticking.
    pub async fn start(config: UnifiedSimConfig) -> Result<UnifiedSim> {
        config.validate().map_err(crate::Error::Config)?;
        Ok(UnifiedSim {
            sim: Sim::start(config.into_framework()).await?,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.sim.base_url()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.sim.addr()
    }

    /// The first configured API key.
    pub fn api_key(&self) -> &str {
        self.sim.api_key()
    }

    /// The simulator's clock.
    pub fn clock(&self) -> SimClock {
        self.sim.clock()
    }

    /// The shared state, also usable with [`router`].
    pub fn state(&self) -> &UnifiedState {
        self.sim.handle()
    }

    /// The framework simulator underneath.
    pub fn sim(&self) -> &Sim<Unified> {
        &self.sim
    }

    /// Advances the clock, moves due tasks and returns once their callbacks went out.
    pub async fn advance(&self, by: Duration) {
        self.sim.advance(by).await;
    }

    /// Replaces the fault plan of one endpoint.
    pub fn set_faults(&self, endpoint: UnifiedEndpoint, plan: FaultPlan) -> Result<()> {
        self.sim.set_faults(endpoint, plan)
    }

    /// Replaces the fault plan of every endpoint.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.sim.set_all_faults(plan)
    }

    /// Every callback attempted so far.
    pub fn callbacks(&self) -> Vec<UnifiedCallbackRecord> {
        self.sim
            .callbacks()
            .into_iter()
            .map(|c| UnifiedCallbackRecord {
                status: c.body["status"].as_str().unwrap_or_default().to_string(),
                task_id: c.task_id,
                url: c.url,
                body: c.body,
                response_status: c.response_status,
                lost: c.lost,
            })
            .collect()
    }

    fn key_index(&self, key: &str) -> Option<usize> {
        self.sim
            .handle()
            .settings()
            .accounts
            .iter()
            .position(|a| a.key == key)
    }

    /// The remaining points of an API key (`None` when unknown or unlimited).
    pub fn balance(&self, key: &str) -> Option<i64> {
        self.sim.handle().balance(self.key_index(key)?)
    }

    /// Sets the points left for `key` (`None` = unlimited); `false` for an unknown key. A
    /// key whose balance cannot cover a generation is answered 402, as an upstream
    /// account out of credit is.
    pub fn set_balance(&self, key: &str, balance: Option<i64>) -> bool {
        match self.key_index(key) {
            Some(i) => {
                self.sim.handle().set_balance(i, balance);
                true
            }
            None => false,
        }
    }

    /// The points a task is charged (0 once it failed); `None` for an unknown task.
    pub fn points_charged(&self, task_id: &str) -> Option<i64> {
        self.sim.handle().with_tasks(|b| {
            let t = b.tasks.get(task_id)?;
            Some(if t.phase == Phase::Succeeded || !t.phase.is_final() {
                t.charged
            } else {
                0
            })
        })
    }

    /// Stops serving and ticking.
    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}
