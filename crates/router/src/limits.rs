//! Rate limits with `governor`: per provider (requests per second, and tasks in flight —
//! Kling counts concurrency per account, `spec/kling-api.md` error 1303) and per caller key.
//!
//! Limits held here are per process. Limits that must hold across several gateway replicas
//! need a shared store (`ARCHITECTURE.md` "Scaling past one machine").

use crate::clock::TokioClock;
use genmux_core::{Error, ErrorKind, Result};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

type DirectLimiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Instant>>;
type KeyedLimiter =
    RateLimiter<String, DashMapStateStore<String>, TokioClock, NoOpMiddleware<Instant>>;

/// Limits for one provider. `None` means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProviderLimit {
    /// Submissions and status queries per second sent to this provider.
    pub requests_per_second: Option<NonZeroU32>,
    /// Requests allowed in a burst (defaults to `requests_per_second`).
    pub burst: Option<NonZeroU32>,
    /// Tasks accepted by this provider and not yet finished. A slot is taken when a
    /// submission is accepted (or its outcome is unknown) and given back by
    /// [`Router::task_finished`](crate::Router::task_finished).
    pub max_in_flight: Option<u32>,
}

/// A rate per caller key (API key, account, user).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallerLimit {
    /// Sustained requests per second.
    pub requests_per_second: NonZeroU32,
    /// Requests allowed in a burst.
    pub burst: NonZeroU32,
}

/// Every limit the router enforces. Default: none.
///
/// ```
/// use genmux_router::{CallerLimit, Limits, ProviderLimit};
/// use std::num::NonZeroU32;
/// let limits = Limits::new()
///     .provider("kling", ProviderLimit {
///         requests_per_second: NonZeroU32::new(10),
///         max_in_flight: Some(5),
///         ..Default::default()
///     })
///     .caller(CallerLimit {
///         requests_per_second: NonZeroU32::MIN,
///         burst: NonZeroU32::new(5).unwrap(),
///     });
/// assert_eq!(limits.for_provider("kling").max_in_flight, Some(5));
/// assert_eq!(limits.for_provider("other").max_in_flight, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Applies to providers without their own entry.
    pub default_provider: ProviderLimit,
    /// Per provider id.
    pub providers: BTreeMap<String, ProviderLimit>,
    /// Per caller key, checked by [`Router::check_caller`](crate::Router::check_caller).
    pub caller: Option<CallerLimit>,
}

impl Limits {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one provider's limits.
    pub fn provider(mut self, id: impl Into<String>, limit: ProviderLimit) -> Self {
        self.providers.insert(id.into(), limit);
        self
    }

    /// Sets the limits of providers without their own entry.
    pub fn default_provider(mut self, limit: ProviderLimit) -> Self {
        self.default_provider = limit;
        self
    }

    /// Sets the per-caller-key rate.
    pub fn caller(mut self, limit: CallerLimit) -> Self {
        self.caller = Some(limit);
        self
    }

    /// The limits that apply to provider `id`.
    pub fn for_provider(&self, id: &str) -> ProviderLimit {
        self.providers
            .get(id)
            .copied()
            .unwrap_or(self.default_provider)
    }
}

/// One provider's live limits.
#[derive(Debug)]
pub(crate) struct ProviderLimiter {
    rate: Option<DirectLimiter>,
    max_in_flight: Option<u32>,
    in_flight: AtomicU32,
}

impl ProviderLimiter {
    pub(crate) fn new(limit: ProviderLimit) -> Self {
        let rate = limit.requests_per_second.map(|rps| {
            let quota = Quota::per_second(rps).allow_burst(limit.burst.unwrap_or(rps));
            RateLimiter::direct_with_clock(quota, TokioClock)
        });
        ProviderLimiter {
            rate,
            max_in_flight: limit.max_in_flight,
            in_flight: AtomicU32::new(0),
        }
    }

    /// Takes one request from the rate; `Err(wait)` when exhausted.
    pub(crate) fn check_rate(&self) -> std::result::Result<(), Duration> {
        match &self.rate {
            None => Ok(()),
            Some(l) => l
                .check()
                .map_err(|not_until| not_until.wait_time_from(crate::clock::now())),
        }
    }

    /// Whether a slot is free (without taking it).
    pub(crate) fn has_slot(&self) -> bool {
        self.max_in_flight
            .is_none_or(|max| self.in_flight.load(Ordering::Relaxed) < max)
    }

    /// Takes an in-flight slot if one is free.
    pub(crate) fn take_slot(&self) -> bool {
        match self.max_in_flight {
            None => {
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(max) => self
                .in_flight
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    /// Gives a slot back (never below zero).
    pub(crate) fn release_slot(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn max_in_flight(&self) -> Option<u32> {
        self.max_in_flight
    }
}

/// Per-caller-key limits.
#[derive(Debug)]
pub(crate) struct CallerLimiter {
    limiter: KeyedLimiter,
    checks: AtomicU64,
}

/// Forget idle keys every this many checks, so that the key map does not grow forever.
const SHRINK_EVERY: u64 = 4096;

impl CallerLimiter {
    pub(crate) fn new(limit: CallerLimit) -> Self {
        let quota = Quota::per_second(limit.requests_per_second).allow_burst(limit.burst);
        CallerLimiter {
            limiter: RateLimiter::dashmap_with_clock(quota, TokioClock),
            checks: AtomicU64::new(0),
        }
    }

    pub(crate) fn check(&self, key: &str) -> Result<()> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SHRINK_EVERY == SHRINK_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(crate::clock::now());
            Error::new(
                ErrorKind::RateLimited,
                format!(
                    "caller rate limit reached: at most {} requests per second (burst {}); retry in {} ms",
                    not_until.quota().replenish_interval().as_secs_f64().recip().round(),
                    not_until.quota().burst_size(),
                    wait.as_millis().max(1)
                ),
            )
            .with_retry_after(wait)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_slots_are_bounded_and_released() {
        let l = ProviderLimiter::new(ProviderLimit {
            max_in_flight: Some(2),
            ..Default::default()
        });
        assert!(l.take_slot() && l.take_slot());
        assert!(!l.has_slot() && !l.take_slot());
        l.release_slot();
        assert!(l.take_slot());
        l.release_slot();
        l.release_slot();
        l.release_slot();
        assert_eq!(l.in_flight(), 0);
    }
}
