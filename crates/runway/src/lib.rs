//! genmux-runway: the Runway API (`spec/upstreams.md`) for genmux.
#![warn(missing_docs)]

/// Keeps this crate (and so its `inventory` registration) in the final binary. The facade
/// and the CLI call it for each enabled provider.
#[inline(never)]
pub fn link() {}
