//! Time for limiters, breakers and budgets: tokio's clock, so that tests running with
//! tokio's paused time see windows and open intervals elapse without real waiting.

use std::time::Instant;

/// A `governor` clock reading tokio's (pausable) clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokioClock;

impl governor::clock::Clock for TokioClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        now()
    }
}

/// Now, on tokio's clock (the real clock outside a paused runtime).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
