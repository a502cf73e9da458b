//! Per-provider health: an exponentially weighted moving average of the error rate and of
//! the latency of submissions, kept in atomics so that reading it while ordering candidates
//! costs two loads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Weight of the newest observation in both averages (1/8, as TCP's SRTT estimator).
const ALPHA_NUM: u64 = 1;
const ALPHA_DEN: u64 = 8;
/// Error rates are kept in parts per million so that they fit an integer atomic.
const PPM: u64 = 1_000_000;
/// Marks a latency average with no observation yet.
const NO_SAMPLE: u64 = u64::MAX;

/// A provider's health as the picker sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HealthSnapshot {
    /// Moving average of failed submissions, 0.0 (none) to 1.0 (all).
    pub error_rate: f64,
    /// Moving average of submission latency; zero before the first observation.
    pub latency: Duration,
}

/// Live health of one provider.
#[derive(Debug)]
pub(crate) struct Health {
    error_ppm: AtomicU64,
    latency_micros: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            error_ppm: AtomicU64::new(0),
            latency_micros: AtomicU64::new(NO_SAMPLE),
        }
    }
}

fn ewma(old: u64, sample: u64) -> u64 {
    // old + α (sample − old), in integers; concurrent updates may lose one sample, which an
    // average tolerates.
    (old * (ALPHA_DEN - ALPHA_NUM) + sample * ALPHA_NUM) / ALPHA_DEN
}

impl Health {
    /// Records one submission outcome.
    pub(crate) fn record(&self, failed: bool, latency: Duration) {
        let sample = if failed { PPM } else { 0 };
        let old = self.error_ppm.load(Ordering::Relaxed);
        self.error_ppm.store(ewma(old, sample), Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX / 2);
        let old = self.latency_micros.load(Ordering::Relaxed);
        let new = if old == NO_SAMPLE {
            micros
        } else {
            ewma(old, micros)
        };
        self.latency_micros.store(new, Ordering::Relaxed);
    }

    /// The current averages.
    pub(crate) fn snapshot(&self) -> HealthSnapshot {
        let latency = match self.latency_micros.load(Ordering::Relaxed) {
            NO_SAMPLE => 0,
            l => l,
        };
        HealthSnapshot {
            error_rate: self.error_ppm.load(Ordering::Relaxed) as f64 / PPM as f64,
            latency: Duration::from_micros(latency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_raise_the_error_rate_and_successes_lower_it() {
        let h = Health::default();
        assert_eq!(h.snapshot(), HealthSnapshot::default());
        h.record(true, Duration::from_millis(100));
        let after_failure = h.snapshot();
        assert!(after_failure.error_rate > 0.1, "{after_failure:?}");
        assert_eq!(after_failure.latency, Duration::from_millis(100));
        for _ in 0..50 {
            h.record(false, Duration::from_millis(20));
        }
        let healed = h.snapshot();
        assert!(healed.error_rate < 0.001, "{healed:?}");
        assert!(healed.latency < Duration::from_millis(25), "{healed:?}");
    }
}
