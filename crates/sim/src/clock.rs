//! The simulators' clock: tests advance it by hand, demos let it follow real time.
//!
//! Task timestamps (`created_at`, `updated_at`), lifecycle transitions and the 30-day /
//! 24-hour validity windows all read this clock, so a test can say "advance 60 s" and know
//! exactly which transitions happened.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// How a [`SimClock`] moves.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum ClockMode {
    /// Time stands still until [`SimClock::advance`] moves it (tests).
    #[default]
    Manual,
    /// Time follows the wall clock multiplied by `speed` (1.0 = real time; 10.0 = ten
    /// simulated seconds per real second), plus any manual advances (demos).
    RealTime {
        /// Simulated seconds per real second; must be finite and > 0.
        speed: f64,
    },
}

struct Inner {
    mode: ClockMode,
    /// Simulated Unix milliseconds at `start`.
    base_ms: i64,
    start: Instant,
    /// Sum of manual advances, in milliseconds.
    offset_ms: AtomicI64,
    /// Bumped on every manual advance so background tickers wake up.
    changed: watch::Sender<u64>,
}

/// A shared, cheaply cloned clock in Unix milliseconds.
#[derive(Clone)]
pub struct SimClock {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClock")
            .field("mode", &self.inner.mode)
            .field("now_ms", &self.now_ms())
            .finish()
    }
}

/// The wall clock in Unix milliseconds.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SimClock {
    /// A clock in `mode` starting at `start_ms` (Unix milliseconds).
    pub fn new(mode: ClockMode, start_ms: i64) -> Self {
        let (changed, _) = watch::channel(0);
        SimClock {
            inner: Arc::new(Inner {
                mode,
                base_ms: start_ms,
                start: Instant::now(),
                offset_ms: AtomicI64::new(0),
                changed,
            }),
        }
    }

    /// A manual clock starting at the current wall-clock time (so timestamps look real).
    pub fn manual() -> Self {
        SimClock::new(ClockMode::Manual, wall_ms())
    }

    /// A manual clock starting at `start_ms`.
    pub fn manual_at(start_ms: i64) -> Self {
        SimClock::new(ClockMode::Manual, start_ms)
    }

    /// A clock following real time at `speed` simulated seconds per real second.
    pub fn real_time(speed: f64) -> Self {
        SimClock::new(ClockMode::RealTime { speed }, wall_ms())
    }

    /// How this clock moves.
    pub fn mode(&self) -> ClockMode {
        self.inner.mode
    }

    /// The simulated time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let offset = self.inner.offset_ms.load(Ordering::SeqCst);
        let flowing = match self.inner.mode {
            ClockMode::Manual => 0,
            ClockMode::RealTime { speed } => {
                (self.inner.start.elapsed().as_secs_f64() * speed * 1000.0) as i64
            }
        };
        self.inner.base_ms + flowing + offset
    }

    /// The simulated time in Unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward by `by` and wakes whoever waits on [`SimClock::changed`].
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.inner.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.inner.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees a change on every [`SimClock::advance`].
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = SimClock::manual_at(1_000);
        assert_eq!(c.now_ms(), 1_000);
        c.advance(Duration::from_secs(60));
        assert_eq!(c.now_ms(), 61_000);
        assert_eq!(c.clone().now_secs(), 61);
    }

    #[test]
    fn advance_notifies_subscribers() {
        let c = SimClock::manual_at(0);
        let rx = c.changed();
        assert!(!rx.has_changed().unwrap());
        c.advance(Duration::from_millis(1));
        assert!(rx.has_changed().unwrap());
    }
}
