//! What every framework simulator is configured with, whatever its wire.

use std::net::SocketAddr;
use std::time::Duration;

use crate::clock::ClockMode;
use crate::fault::{FaultKey, FaultPlan, Faults};

/// What an account can do, so a test can make the upstream refuse for account reasons
/// (out of credit, disabled) and watch the router fail over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccountStanding {
    /// Creates tasks.
    #[default]
    Active,
    /// Refuses creates: no balance or quota left.
    OutOfCredit,
    /// Refuses every call: the key is disabled or the account suspended.
    Disabled,
}

/// One upstream account, reached with a Bearer key.
#[derive(Clone, Debug, PartialEq)]
pub struct SimAccount {
    /// The Bearer key.
    pub key: String,
    /// Unfinished tasks this account may hold; `None` = the simulator's default
    /// ([`SimSettings::concurrency`]).
    pub concurrency: Option<u32>,
    /// Whether it may create tasks.
    pub standing: AccountStanding,
    /// Credit left in the provider's unit (points, credits); `None` = unlimited. A create
    /// that costs more than is left is refused; tasks that end without results are
    /// refunded.
    pub balance: Option<i64>,
}

impl SimAccount {
    /// An active account with the default concurrency.
    pub fn new(key: impl Into<String>) -> Self {
        SimAccount {
            key: key.into(),
            concurrency: None,
            standing: AccountStanding::Active,
            balance: None,
        }
    }

    /// The same account with `balance` left.
    pub fn with_balance(mut self, balance: i64) -> Self {
        self.balance = Some(balance);
        self
    }

    /// The same account with its own concurrency limit.
    pub fn with_concurrency(mut self, n: u32) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// The same account in `standing`.
    pub fn with_standing(mut self, standing: AccountStanding) -> Self {
        self.standing = standing;
        self
    }
}

/// Settings shared by every framework simulator: where it listens, its accounts, clock,
/// seed, timings, failure shares, faults, media lifetime and callback delivery.
#[derive(Clone, Debug)]
pub struct SimSettings<E> {
    /// Address to bind; default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// URL placed in result URLs instead of `http://<bound addr>`.
    pub public_base_url: Option<String>,
    /// Accounts, by Bearer key; at least one.
    pub accounts: Vec<SimAccount>,
    /// How the clock moves.
    pub clock: ClockMode,
    /// Clock start in Unix ms; `None` = the wall clock at start.
    pub clock_start_ms: Option<i64>,
    /// Seed of every random choice (ids, outcomes, faults).
    pub seed: u64,
    /// Time from creation until a task may start running.
    pub queue: Duration,
    /// Time a task runs.
    pub render: Duration,
    /// Unfinished tasks per account when the account sets none; `None` = unlimited.
    pub concurrency: Option<u32>,
    /// Share of tasks that end failed (0–1).
    pub failure_rate: f64,
    /// Share of tasks that expire without running (0–1); `failure_rate + expiry_rate ≤ 1`.
    pub expiry_rate: f64,
    /// How long a result URL serves its file after the task finished.
    pub media_ttl: Duration,
    /// Fault plans per endpoint.
    pub faults: Faults<E>,
    /// Real time allowed for one callback delivery.
    pub callback_timeout: Duration,
    /// Real time between ticks when the clock follows real time.
    pub tick_interval: Duration,
}

impl<E> SimSettings<E> {
    /// One active account with `key`, a manual clock, no faults and no failures.
    pub fn new(key: impl Into<String>) -> Self {
        SimSettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_base_url: None,
            accounts: vec![SimAccount::new(key)],
            clock: ClockMode::Manual,
            clock_start_ms: None,
            seed: 0,
            queue: Duration::from_secs(2),
            render: Duration::from_secs(30),
            concurrency: None,
            failure_rate: 0.0,
            expiry_rate: 0.0,
            media_ttl: Duration::from_secs(24 * 3600),
            faults: Faults::default(),
            callback_timeout: Duration::from_secs(5),
            tick_interval: Duration::from_millis(100),
        }
    }

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

    /// A clock following real time at `speed` simulated seconds per second.
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.clock = ClockMode::RealTime { speed };
        self
    }

    /// The same default plan on every endpoint.
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults = Faults {
            default: plan,
            per_endpoint: Default::default(),
        };
        self
    }

    /// A share of tasks that fail.
    pub fn with_failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// A share of tasks that expire.
    pub fn with_expiry_rate(mut self, rate: f64) -> Self {
        self.expiry_rate = rate;
        self
    }

    /// Replaces the accounts.
    pub fn with_accounts(mut self, accounts: Vec<SimAccount>) -> Self {
        self.accounts = accounts;
        self
    }

    /// Unfinished tasks per account (accounts without their own limit).
    pub fn with_concurrency(mut self, n: u32) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// Queue and render times.
    pub fn with_timings(mut self, queue: Duration, render: Duration) -> Self {
        self.queue = queue;
        self.render = render;
        self
    }

    /// How long result URLs serve.
    pub fn with_media_ttl(mut self, ttl: Duration) -> Self {
        self.media_ttl = ttl;
        self
    }

    /// The concurrency limit of account `idx`.
    pub fn limit_of(&self, idx: usize) -> Option<u32> {
        self.accounts
            .get(idx)
            .and_then(|a| a.concurrency)
            .or(self.concurrency)
    }
}

impl<E: FaultKey> SimSettings<E> {
    /// Checks the values; the error names the setting and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if self.accounts.is_empty() {
            return Err("accounts: at least one account is needed".into());
        }
        if self.accounts.iter().any(|a| a.key.is_empty()) {
            return Err("accounts: a key must not be empty".into());
        }
        for (name, r) in [
            ("failure_rate", self.failure_rate),
            ("expiry_rate", self.expiry_rate),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("{name} = {r} is outside [0, 1]"));
            }
        }
        if self.failure_rate + self.expiry_rate > 1.0 + 1e-9 {
            return Err("failure_rate + expiry_rate exceed 1".into());
        }
        if let ClockMode::RealTime { speed } = self.clock {
            if !(speed.is_finite() && speed > 0.0) {
                return Err(format!(
                    "speed = {speed} is not allowed (allowed: a number > 0)"
                ));
            }
        }
        if self.tick_interval.is_zero() {
            return Err("tick_interval must be > 0".into());
        }
        Ok(())
    }
}
