//! The gateway's in-flight counts (issue 14 point 6): the router's per-provider
//! `max_in_flight` counts the provider's unfinished tasks in the store, which every replica
//! shares and a restart keeps. A task stops counting the moment its row turns final,
//! whichever replica settles it; a refused submission's row is discarded; a failover moves
//! the row (and so the slot) to the next provider.

use genmux_core::{async_trait, Result};
use genmux_router::InFlightSource;
use genmux_store::TaskStore;
use std::sync::Arc;

/// Counts a provider's tasks in flight from the task store.
pub struct StoreInFlight {
    tasks: Arc<dyn TaskStore>,
}

impl StoreInFlight {
    /// A source over `tasks`.
    pub fn new(tasks: Arc<dyn TaskStore>) -> Self {
        StoreInFlight { tasks }
    }
}

impl std::fmt::Debug for StoreInFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreInFlight").finish_non_exhaustive()
    }
}

#[async_trait]
impl InFlightSource for StoreInFlight {
    async fn in_flight(&self, provider: &str, routing: &str, enough: u32) -> Result<u32> {
        // The gateway's external ids are its task ids (`generate`'s observer sends the task
        // id upstream), so the row of the submission being routed is task `routing`.
        self.tasks
            .count_unfinished(provider, Some(routing), enough)
            .await
    }
}
