//! The Kling native `/v1` API simulator (`spec/kling-api.md`).
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use std::time::Duration;
//! use genmux_sim::kling::{KlingSim, KlingSimConfig};
//!
//! let sim = KlingSim::start(KlingSimConfig::default().with_seed(7)).await?;
//! // … a client creates a text2video task at sim.base_url() with sim.access_key() …
//! sim.advance(Duration::from_secs(60)).await; // the task is `succeed`, callbacks sent
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod envelope;
mod fields;
mod inputs;
mod routes;
mod state;
mod store;
mod validate;

use std::net::SocketAddr;
use std::time::Duration;

pub use auth::encode_token;
pub use config::{
    AccountStatus, AuthClock, Endpoint, Feature, KlingAccount, KlingSimConfig, Timings,
};
pub use state::{CallbackRecord, KlingState, TaskSummary};
pub use validate::IDENTIFY_FACE_UNITS;

use crate::clock::SimClock;
use crate::error::Result;
use crate::fault::FaultPlan;
use crate::running::Running;

/// Builds the simulator's axum router over `state`, for in-process use (for example with
/// `tower::ServiceExt::oneshot`). Served this way, a `drop_connection` fault cannot close a
/// socket; it answers 502 with the header `x-sim-fault: drop-connection` instead.
pub fn router(state: KlingState) -> axum::Router {
    routes::router(state)
}

/// A running Kling simulator on a loopback port.
pub struct KlingSim {
    state: KlingState,
    running: Running,
}

impl std::fmt::Debug for KlingSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlingSim")
            .field("base_url", &self.running.base_url())
            .finish()
    }
}

impl KlingSim {
    /// Binds `config.addr` (default `127.0.0.1:0`), starts serving and starts the ticker
    /// that moves tasks and sends callbacks whenever the clock moves.
    pub async fn start(config: KlingSimConfig) -> Result<KlingSim> {
        let public_base_url = config.public_base_url.clone();
        let (state, running) = Running::start(config.addr, public_base_url, |base_url| {
            KlingState::new(config, base_url)
        })
        .await?;
        Ok(KlingSim { state, running })
    }

    /// `http://127.0.0.1:<port>` (or the configured public base URL), without a trailing
    /// slash: the client's base URL.
    pub fn base_url(&self) -> &str {
        self.running.base_url()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The first account's AccessKey.
    pub fn access_key(&self) -> &str {
        &self.state.config().accounts[0].access_key
    }

    /// The first account's SecretKey.
    pub fn secret_key(&self) -> &str {
        &self.state.config().accounts[0].secret_key
    }

    /// Every configured account.
    pub fn accounts(&self) -> &[KlingAccount] {
        &self.state.config().accounts
    }

    /// A valid JWT for the first account, made the way the spec says a client makes one
    /// (`exp` = now + 1800 s, `nbf` = now − 5 s on the clock the simulator checks).
    pub fn token(&self) -> String {
        self.state.valid_token(0)
    }

    /// The simulator's clock.
    pub fn clock(&self) -> SimClock {
        self.state.clock()
    }

    /// The shared state (tasks, faults, callbacks), also usable with [`router`].
    pub fn state(&self) -> &KlingState {
        &self.state
    }

    /// Advances the clock by `by`, then moves every task that is due and sends its
    /// callbacks, returning once they were delivered (or lost): after
    /// `sim.advance(60 s).await` a test can assert on task states and received callbacks.
    pub async fn advance(&self, by: Duration) {
        self.state.clock().advance(by);
        self.state.settle().await;
    }

    /// Moves every task that is due at the current clock and sends pending callbacks.
    pub async fn settle(&self) {
        self.state.settle().await;
    }

    /// Replaces the fault plan of one endpoint (its random stream restarts from the seed).
    pub fn set_faults(&self, endpoint: Endpoint, plan: FaultPlan) -> Result<()> {
        self.state.set_faults(endpoint, plan)
    }

    /// Replaces the fault plan of every endpoint.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.state.set_all_faults(plan)
    }

    /// Every callback attempted so far, in order.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.state.callbacks()
    }

    /// Stops serving and ticking; open connections are closed.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
