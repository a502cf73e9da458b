//! The repair sweep (`design/RELIABILITY.md` R4): what a process killed mid-request leaves
//! behind and no other worker would pick up.
//!
//! A generation writes, in order: the `Idempotency-Key` claim (with the task id attached),
//! the hold together with the task row (one transaction; status `unknown`, before anything
//! is sent upstream; renamed to the next provider before a failover sends it there), then
//! the submission's outcome. A task row is always reconciled by the poller (by its external
//! id when the upstream's answer was lost), so the only thing that can be stranded is a
//! hold without a task row: a refused submission's row deleted by a process that died (or
//! failed to write) before voiding its hold, a hold placed through
//! [`genmux_store::Ledger::hold`] directly by an embedding app, or one left by a gateway
//! version that wrote the two apart. Nothing was sent upstream for it, so it is voided
//! once it is older than `poll.unknown_grace`.

use crate::AppState;
use genmux_core::Result;

/// Holds voided per pass at most; the next pass takes the rest.
const BATCH: u32 = 100;

/// One pass: voids orphan holds. Returns how many were voided.
pub async fn repair_pass(state: &AppState) -> Result<usize> {
    let ledger = &state.store().ledger;
    // Aged by the store's clock, which stamped the holds.
    let orphans = ledger
        .orphan_holds(state.config().poll.unknown_grace, BATCH)
        .await?;
    let mut voided = 0;
    for hold in orphans {
        // The once-only gate of the ledger makes a race with a late task row harmless: a
        // task whose hold was voided here settles as failed.
        if ledger.void(&hold.task_id).await?.applied() {
            state
                .metrics()
                .points(crate::telemetry::Movement::Voided, hold.points);
            tracing::warn!(task = %hold.task_id, account = %hold.account_id, points = hold.points,
                "voided the hold of a request that stopped before recording its task");
            voided += 1;
        }
    }
    Ok(voided)
}
