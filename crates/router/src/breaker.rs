//! A circuit breaker per provider, in the manner of Resilience4j: a count-based window of
//! the last calls; when enough calls have been made and the failure rate reaches the
//! threshold, the circuit opens and every call fails fast (no upstream call) for the open
//! interval; then up to `half_open_trials` trial calls are let through: one failure reopens
//! the circuit, `half_open_trials` successes close it (`RELIABILITY.md` "Resilience").
//!
//! The breaker works the same whether a model has one provider or many: with one provider,
//! an open circuit makes the router fail fast instead of failing over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Circuit breaker settings.
///
/// Defaults: a window of the last 20 submissions, evaluated once 10 have been made; opens
/// at a 50 % failure rate; stays open 30 s; then lets 3 trial calls through.
///
/// A *failure* is an error the provider is responsible for, or one that refuses our
/// account there for every request alike: `provider_unavailable`, `timeout`, `internal`,
/// `unauthenticated`, `permission_denied`, `insufficient_points` (the upstream account is
/// out of funds), or any error after which the upstream may have accepted the task.
/// Errors about one request (`invalid_request`, `content_rejected`, …) and upstream
/// `rate_limited` answers show a working upstream and count as successes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    /// When false, circuits never open.
    pub enabled: bool,
    /// How many of the most recent calls the failure rate is computed over (1–64).
    pub window: u32,
    /// Calls needed in the window before the rate is evaluated.
    pub min_calls: u32,
    /// Failure rate, in percent, at or above which the circuit opens.
    pub failure_rate_percent: u32,
    /// How long an open circuit rejects calls before letting trial calls through.
    pub open_for: Duration,
    /// Trial calls allowed while half-open; that many successes close the circuit.
    pub half_open_trials: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            enabled: true,
            window: 20,
            min_calls: 10,
            failure_rate_percent: 50,
            open_for: Duration::from_secs(30),
            half_open_trials: 3,
        }
    }
}

impl BreakerConfig {
    /// A configuration whose circuits never open.
    pub fn disabled() -> Self {
        BreakerConfig {
            enabled: false,
            ..Default::default()
        }
    }

    pub(crate) fn check(&self) -> genmux_core::Result<()> {
        let bad = |m: String| Err(genmux_core::Error::invalid(format!("breaker: {m}")));
        if !(1..=64).contains(&self.window) {
            return bad(format!(
                "window: {} is out of range (allowed: 1 to 64)",
                self.window
            ));
        }
        if self.min_calls == 0 || self.min_calls > self.window {
            return bad(format!(
                "min_calls: {} is out of range (allowed: 1 to window = {})",
                self.min_calls, self.window
            ));
        }
        if !(1..=100).contains(&self.failure_rate_percent) {
            return bad(format!(
                "failure_rate_percent: {} is out of range (allowed: 1 to 100)",
                self.failure_rate_percent
            ));
        }
        if self.half_open_trials == 0 {
            return bad("half_open_trials: 0 is out of range (allowed: at least 1)".into());
        }
        Ok(())
    }
}

/// The state of a provider's circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls fail fast until the open interval ends.
    Open,
    /// A few trial calls are let through.
    HalfOpen,
}

impl BreakerState {
    /// The snake_case name used in metrics and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// The value recorded on the breaker-state gauge: 0 closed, 1 half-open, 2 open.
    pub fn gauge_value(self) -> u64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    /// Outcomes of the last `len` calls, newest in bit 0; a set bit is a failure.
    outcomes: u64,
    len: u32,
    opened_at: Option<Instant>,
    trials_started: u32,
    trial_successes: u32,
}

/// Whether a call may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead (`trial` when the circuit is half-open).
    Allowed { trial: bool },
    /// Fail fast; the circuit may let calls through after this long.
    Rejected { retry_after: Duration },
}

/// One provider's breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
    /// Nanoseconds since `epoch` until which the circuit is open; 0 when not open. Read
    /// without the lock while building candidate sets.
    open_until: AtomicU64,
    epoch: Instant,
}

/// What a recorded outcome changed.
pub(crate) type Transition = Option<BreakerState>;

impl Breaker {
    pub(crate) fn new(config: BreakerConfig, epoch: Instant) -> Self {
        Breaker {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                outcomes: 0,
                len: 0,
                opened_at: None,
                trials_started: 0,
                trial_successes: 0,
            }),
            open_until: AtomicU64::new(0),
            epoch,
        }
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves consistent counters; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Without locking: how long the circuit stays open, if it is open at `now`.
    pub(crate) fn open_remaining(&self, now: Instant) -> Option<Duration> {
        self.open_remaining_at(self.nanos(now))
    }

    /// [`Breaker::open_remaining`] with `now` already in nanoseconds since the epoch every
    /// breaker of a router shares (computed once per candidate set).
    pub(crate) fn open_remaining_at(&self, now_nanos: u64) -> Option<Duration> {
        let until = self.open_until.load(Ordering::Relaxed);
        (until > now_nanos).then(|| Duration::from_nanos(until - now_nanos))
    }

    /// `t` in nanoseconds since this breaker's epoch.
    pub(crate) fn nanos_since_epoch(&self, t: Instant) -> u64 {
        self.nanos(t)
    }

    /// The state at `now` (an open circuit whose interval has ended reads as half-open).
    pub(crate) fn state(&self, now: Instant) -> BreakerState {
        let inner = self.lock();
        match inner.state {
            BreakerState::Open if self.open_remaining(now).is_none() => BreakerState::HalfOpen,
            s => s,
        }
    }

    /// Asks to make a call at `now`. Returns the admission and the state change it caused
    /// (open → half-open).
    pub(crate) fn admit(&self, now: Instant) -> (Admission, Transition) {
        if !self.config.enabled {
            return (Admission::Allowed { trial: false }, None);
        }
        let mut inner = self.lock();
        let mut transition = None;
        if inner.state == BreakerState::Open {
            match self.open_remaining(now) {
                Some(retry_after) => return (Admission::Rejected { retry_after }, None),
                None => {
                    inner.state = BreakerState::HalfOpen;
                    inner.trials_started = 0;
                    inner.trial_successes = 0;
                    self.open_until.store(0, Ordering::Relaxed);
                    transition = Some(BreakerState::HalfOpen);
                }
            }
        }
        match inner.state {
            BreakerState::Closed => (Admission::Allowed { trial: false }, transition),
            BreakerState::HalfOpen if inner.trials_started < self.config.half_open_trials => {
                inner.trials_started += 1;
                (Admission::Allowed { trial: true }, transition)
            }
            // Every trial slot is taken; the outcome of a running trial decides.
            _ => (
                Admission::Rejected {
                    retry_after: Duration::ZERO,
                },
                transition,
            ),
        }
    }

    /// Gives back a trial slot that was admitted but not used (the call never left).
    pub(crate) fn cancel(&self, admission: Admission) {
        if let Admission::Allowed { trial: true } = admission {
            let mut inner = self.lock();
            if inner.state == BreakerState::HalfOpen {
                inner.trials_started = inner.trials_started.saturating_sub(1);
            }
        }
    }

    /// Records the outcome of an admitted call at `now`.
    pub(crate) fn record(&self, admission: Admission, failed: bool, now: Instant) -> Transition {
        if !self.config.enabled {
            return None;
        }
        let mut inner = self.lock();
        match (inner.state, admission) {
            (BreakerState::HalfOpen, Admission::Allowed { trial: true }) => {
                if failed {
                    Some(self.open(&mut inner, now))
                } else {
                    inner.trial_successes += 1;
                    if inner.trial_successes >= self.config.half_open_trials {
                        inner.state = BreakerState::Closed;
                        inner.outcomes = 0;
                        inner.len = 0;
                        Some(BreakerState::Closed)
                    } else {
                        None
                    }
                }
            }
            (BreakerState::Closed, _) => {
                let window = self.config.window;
                let mask = if window == 64 {
                    u64::MAX
                } else {
                    (1u64 << window) - 1
                };
                inner.outcomes = ((inner.outcomes << 1) | u64::from(failed)) & mask;
                inner.len = (inner.len + 1).min(window);
                let failures = inner.outcomes.count_ones();
                if inner.len >= self.config.min_calls
                    && failures * 100 >= self.config.failure_rate_percent * inner.len
                {
                    Some(self.open(&mut inner, now))
                } else {
                    None
                }
            }
            // A late answer from a call admitted before the circuit changed: the window it
            // belonged to is gone.
            _ => None,
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) -> BreakerState {
        inner.state = BreakerState::Open;
        inner.opened_at = Some(now);
        inner.outcomes = 0;
        inner.len = 0;
        let until = self
            .nanos(now)
            .saturating_add(u64::try_from(self.config.open_for.as_nanos()).unwrap_or(u64::MAX));
        // Never 0, which means "not open".
        self.open_until.store(until.max(1), Ordering::Relaxed);
        BreakerState::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window: 4,
            min_calls: 4,
            failure_rate_percent: 50,
            open_for: Duration::from_secs(10),
            half_open_trials: 2,
            enabled: true,
        }
    }

    fn call(b: &Breaker, failed: bool, now: Instant) -> (Admission, Transition) {
        let (a, t1) = b.admit(now);
        if let Admission::Allowed { .. } = a {
            (a, b.record(a, failed, now).or(t1))
        } else {
            (a, t1)
        }
    }

    #[test]
    fn opens_at_the_failure_rate_then_half_opens_and_closes() {
        let t0 = Instant::now();
        let b = Breaker::new(cfg(), t0);
        assert_eq!(call(&b, false, t0).1, None);
        assert_eq!(call(&b, true, t0).1, None);
        assert_eq!(call(&b, false, t0).1, None);
        // 2 failures of 4 = 50 % → open
        assert_eq!(call(&b, true, t0).1, Some(BreakerState::Open));
        let (a, _) = b.admit(t0 + Duration::from_secs(4));
        assert_eq!(
            a,
            Admission::Rejected {
                retry_after: Duration::from_secs(6)
            }
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        let (a1, t) = b.admit(later);
        assert_eq!(
            (a1, t),
            (
                Admission::Allowed { trial: true },
                Some(BreakerState::HalfOpen)
            )
        );
        let (a2, _) = b.admit(later);
        assert_eq!(a2, Admission::Allowed { trial: true });
        // a third concurrent trial is refused
        assert!(matches!(b.admit(later).0, Admission::Rejected { .. }));
        assert_eq!(b.record(a1, false, later), None);
        assert_eq!(b.record(a2, false, later), Some(BreakerState::Closed));
        assert_eq!(b.state(later), BreakerState::Closed);
    }

    #[test]
    fn a_failed_trial_reopens() {
        let t0 = Instant::now();
        let b = Breaker::new(cfg(), t0);
        for _ in 0..4 {
            call(&b, true, t0);
        }
        let later = t0 + Duration::from_secs(11);
        assert_eq!(call(&b, true, later).1, Some(BreakerState::Open));
        assert!(b.open_remaining(later).is_some());
    }

    #[test]
    fn disabled_never_opens() {
        let t0 = Instant::now();
        let b = Breaker::new(BreakerConfig::disabled(), t0);
        for _ in 0..100 {
            assert_eq!(call(&b, true, t0).0, Admission::Allowed { trial: false });
        }
    }

    #[test]
    fn config_is_checked() {
        assert!(BreakerConfig::default().check().is_ok());
        let e = BreakerConfig {
            window: 65,
            ..Default::default()
        }
        .check()
        .unwrap_err();
        assert!(e.message().contains("window: 65"), "{e}");
    }
}
