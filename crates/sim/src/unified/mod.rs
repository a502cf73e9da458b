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
mod routes;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

pub use config::{UnifiedEndpoint, UnifiedKey, UnifiedSimConfig};
pub use state::{UnifiedCallbackRecord, UnifiedState};

use crate::clock::SimClock;
use crate::error::Result;
use crate::fault::FaultPlan;
use crate::running::Running;

/// The unified simulator's axum router over `state`, for in-process use.
pub fn router(state: UnifiedState) -> axum::Router {
    routes::router(state)
}

/// A running unified-API simulator on a loopback port.
pub struct UnifiedSim {
    state: UnifiedState,
    running: Running,
}

impl std::fmt::Debug for UnifiedSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnifiedSim")
            .field("base_url", &self.running.base_url())
            .finish()
    }
}

impl UnifiedSim {
    /// Binds `config.addr` (default `127.0.0.1:0`), starts serving and ticking.
    pub async fn start(config: UnifiedSimConfig) -> Result<UnifiedSim> {
        let public_base_url = config.public_base_url.clone();
        let (state, running) = Running::start(config.addr, public_base_url, |base_url| {
            UnifiedState::new(config, base_url)
        })
        .await?;
        Ok(UnifiedSim { state, running })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The first configured API key.
    pub fn api_key(&self) -> &str {
        &self.state.config().keys[0].key
    }

    /// The simulator's clock.
    pub fn clock(&self) -> SimClock {
        self.state.clock()
    }

    /// The shared state, also usable with [`router`].
    pub fn state(&self) -> &UnifiedState {
        &self.state
    }

    /// Advances the clock, moves due tasks and returns once their callbacks went out.
    pub async fn advance(&self, by: Duration) {
        self.state.clock().advance(by);
        self.state.settle().await;
    }

    /// Replaces the fault plan of one endpoint.
    pub fn set_faults(&self, endpoint: UnifiedEndpoint, plan: FaultPlan) -> Result<()> {
        self.state.set_faults(endpoint, plan)
    }

    /// Replaces the fault plan of every endpoint.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.state.set_all_faults(plan)
    }

    /// Every callback attempted so far.
    pub fn callbacks(&self) -> Vec<UnifiedCallbackRecord> {
        self.state.callbacks()
    }

    /// The remaining points of an API key (`None` when unknown or unlimited).
    pub fn balance(&self, key: &str) -> Option<i64> {
        self.state.balance(key)
    }

    /// Sets the points left for `key` (`None` = unlimited); `false` for an unknown key.
    pub fn set_balance(&self, key: &str, balance: Option<i64>) -> bool {
        self.state.set_balance(key, balance)
    }

    /// The points a task is charged (0 once it failed); `None` for an unknown task.
    pub fn points_charged(&self, task_id: &str) -> Option<i64> {
        self.state.points_charged(task_id)
    }

    /// Stops serving and ticking.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
