//! The retry budget, after tower's `retry::budget::TpsBudget`: every request deposits, every
//! retry withdraws, over a sliding window of `ttl` split into one-second slots. A retry is
//! allowed while `floor + percent % × requests − retries ≥ 1` within the window, so under
//! total failure retries stay ≤ `percent %` of requests plus the floor (`RELIABILITY.md` R3).
//!
//! Amounts are integers scaled by 100: a request deposits `percent`, a retry costs 100.

use std::sync::Mutex;
use std::time::Instant;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    second: u64,
    deposits: i64,
    withdrawals: i64,
}

#[derive(Debug)]
pub(crate) struct RetryBudget {
    percent: i64,
    reserve: i64,
    epoch: Instant,
    slots: Mutex<Vec<Slot>>,
}

const COST: i64 = 100;

impl RetryBudget {
    pub(crate) fn new(config: &crate::RetryConfig, epoch: Instant) -> Self {
        let slots = usize::try_from(config.budget_ttl.as_secs().max(1)).unwrap_or(3600);
        RetryBudget {
            percent: i64::from(config.budget_percent),
            reserve: i64::try_from(config.budget_floor())
                .unwrap_or(i64::MAX / (2 * COST))
                .saturating_mul(COST),
            epoch,
            slots: Mutex::new(vec![Slot::default(); slots]),
        }
    }

    fn with_slot<R>(&self, now: Instant, f: impl FnOnce(&mut [Slot], usize, u64) -> R) -> R {
        let second = now.saturating_duration_since(self.epoch).as_secs() + 1;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let n = slots.len();
        let i = usize::try_from(second % n as u64).unwrap_or(0);
        if slots[i].second != second {
            slots[i] = Slot {
                second,
                ..Default::default()
            };
        }
        f(&mut slots, i, second)
    }

    /// Records one request.
    pub(crate) fn deposit(&self, now: Instant) {
        let percent = self.percent;
        self.with_slot(now, |slots, i, _| slots[i].deposits += percent);
    }

    /// Takes one retry from the budget if there is one.
    pub(crate) fn withdraw(&self, now: Instant) -> bool {
        let reserve = self.reserve;
        self.with_slot(now, |slots, i, second| {
            let window = slots.len() as u64;
            let balance: i64 = slots
                .iter()
                .filter(|s| s.second + window > second)
                .map(|s| s.deposits - s.withdrawals)
                .sum::<i64>()
                + reserve;
            if balance >= COST {
                slots[i].withdrawals += COST;
                true
            } else {
                false
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retries_are_bounded_by_percent_plus_floor_and_recover_after_the_window() {
        let config = crate::RetryConfig {
            budget_percent: 20,
            budget_min_per_sec: 1,
            budget_ttl: Duration::from_secs(10),
            ..Default::default()
        };
        let t0 = Instant::now();
        let b = RetryBudget::new(&config, t0);
        let mut retries = 0;
        for _ in 0..1000 {
            b.deposit(t0);
            if b.withdraw(t0) {
                retries += 1;
            }
        }
        // 20 % of 1000 + floor of 10
        assert_eq!(retries, 210);
        assert!(!b.withdraw(t0));
        // after the window, the floor is available again
        let later = t0 + Duration::from_secs(11);
        assert!(b.withdraw(later));
    }
}
