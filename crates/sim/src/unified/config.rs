//! Configuration of the unified-API simulator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use genmux_core::webhook::WebhookSecret;

use crate::clock::ClockMode;
use crate::fault::{FaultKey, FaultPlan, Faults};

/// One endpoint of the unified simulator, the unit of fault injection (both the
/// `/unified-video` and `/unified-image` prefixes share it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnifiedEndpoint {
    /// `GET /unified-*/models`.
    Models,
    /// `POST /unified-*/quote`.
    Quote,
    /// `POST /unified-*/generate`.
    Generate,
    /// `GET /unified-*/{taskId}/status`.
    Status,
    /// `GET /media/...`.
    Media,
}

impl FaultKey for UnifiedEndpoint {
    fn stable_id(&self) -> u64 {
        match self {
            UnifiedEndpoint::Models => 2001,
            UnifiedEndpoint::Quote => 2002,
            UnifiedEndpoint::Generate => 2003,
            UnifiedEndpoint::Status => 2004,
            UnifiedEndpoint::Media => 2005,
        }
    }
}

/// An API key the simulator accepts, with an optional points balance.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedKey {
    /// The Bearer key.
    pub key: String,
    /// Points left; `None` = unlimited. Generating more than is left answers 402;
    /// failed tasks are refunded.
    pub balance: Option<i64>,
}

impl UnifiedKey {
    /// A key with unlimited points.
    pub fn new(key: impl Into<String>) -> Self {
        UnifiedKey {
            key: key.into(),
            balance: None,
        }
    }
}

/// Everything the unified simulator can be told. `Default` gives one key
/// (`sim-unified-key`, unlimited), a manual clock, no faults, no failures.
#[derive(Clone, Debug)]
pub struct UnifiedSimConfig {
    /// Address to bind; default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// URL placed in result URLs instead of `http://<bound addr>`.
    pub public_base_url: Option<String>,
    /// Accepted API keys; at least one.
    pub keys: Vec<UnifiedKey>,
    /// How the clock moves.
    pub clock: ClockMode,
    /// Clock start in Unix ms; `None` = the wall clock at start.
    pub clock_start_ms: Option<i64>,
    /// Seed of every random choice.
    pub seed: u64,
    /// `submitted` → `processing`.
    pub queue: Duration,
    /// `processing` → final.
    pub render: Duration,
    /// Share of tasks that end `failed`.
    pub failure_rate: f64,
    /// `error` of failed tasks.
    pub failure_message: String,
    /// When set, callbacks carry Standard Webhooks signature headers.
    pub webhook_secret: Option<WebhookSecret>,
    /// Fault plans.
    pub faults: Faults<UnifiedEndpoint>,
    /// Real time allowed for one callback delivery.
    pub callback_timeout: Duration,
    /// Real time between ticks when the clock follows real time.
    pub tick_interval: Duration,
}

impl Default for UnifiedSimConfig {
    fn default() -> Self {
        UnifiedSimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_base_url: None,
            keys: vec![UnifiedKey::new("sim-unified-key")],
            clock: ClockMode::Manual,
            clock_start_ms: None,
            seed: 0,
            queue: Duration::from_secs(2),
            render: Duration::from_secs(30),
            failure_rate: 0.0,
            failure_message: "generation failed: the simulator's configured failure share".into(),
            webhook_secret: None,
            faults: Faults {
                default: FaultPlan::default(),
                per_endpoint: HashMap::new(),
            },
            callback_timeout: Duration::from_secs(5),
            tick_interval: Duration::from_millis(100),
        }
    }
}

impl UnifiedSimConfig {
    /// Listens on `127.0.0.1:<port>` (0 = any free port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from(([127, 0, 0, 1], port));
        self
    }

    /// Seeds every random choice.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Lets the clock follow real time at `speed` simulated seconds per real second.
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.clock = ClockMode::RealTime { speed };
        self
    }

    /// The same fault plan on every endpoint.
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults.default = plan;
        self
    }

    /// A fault plan for one endpoint.
    pub fn with_endpoint_faults(mut self, endpoint: UnifiedEndpoint, plan: FaultPlan) -> Self {
        self.faults.per_endpoint.insert(endpoint, plan);
        self
    }

    /// Share of tasks that end `failed`.
    pub fn with_failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// Signs callbacks with this secret.
    pub fn with_webhook_secret(mut self, secret: WebhookSecret) -> Self {
        self.webhook_secret = Some(secret);
        self
    }

    /// Replaces the accepted keys.
    pub fn with_keys(mut self, keys: Vec<UnifiedKey>) -> Self {
        self.keys = keys;
        self
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.keys.is_empty() || self.keys.iter().any(|k| k.key.trim().is_empty()) {
            return Err("keys: at least one non-empty API key is required".into());
        }
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(format!(
                "failure_rate = {} is outside [0, 1]",
                self.failure_rate
            ));
        }
        if let ClockMode::RealTime { speed } = self.clock {
            if !(speed.is_finite() && speed > 0.0) {
                return Err(format!("clock speed = {speed} must be finite and > 0"));
            }
        }
        if self.tick_interval.is_zero() {
            return Err("tick_interval must be > 0".into());
        }
        Ok(())
    }
}
