//! genmux-minimax: the MiniMax Hailuo video API (`spec/upstreams.md`, "MiniMax Hailuo")
//! for genmux.
//!
//! - [`wire`]: typed bodies and answers of create, query, files/retrieve and callbacks.
//! - [`client`]: [`MiniMaxClient`], one method per endpoint, Bearer auth, base URL per
//!   region ([`GLOBAL_BASE_URL`], [`CHINA_BASE_URL`]).
//! - [`error`]: the one table from `base_resp.status_code` (errors come as HTTP 200) and
//!   HTTP failures to [`genmux_core::ErrorKind`].
//! - [`rules`]: what each MiniMax model accepts, stated once (1080P only with 6 s).
//! - [`mapping`]: pure functions unified ↔ MiniMax.
//! - [`offerings`]: capabilities and upstream costs.
//! - [`provider`]: [`MiniMaxProvider`], registered with `inventory` as `minimax`.
//!
//! Call [`link`] from a binary that relies on the inventory registration, so the linker
//! keeps this crate.
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod mapping;
pub mod offerings;
pub mod provider;
pub mod rules;
pub mod wire;

pub use client::{MiniMaxClient, MiniMaxConfig, MiniMaxTimeouts, CHINA_BASE_URL, GLOBAL_BASE_URL};
pub use provider::MiniMaxProvider;

genmux_core::inventory::submit! {
    genmux_core::ProviderRegistration {
        id: provider::ID,
        description: "MiniMax Hailuo video API (image or text to video; challenge-verified callbacks confirmed by query)",
        settings: provider::SETTINGS,
        build: provider::build,
    }
}

/// Keeps this crate (and so its `inventory` registration) in the final binary. The facade
/// and the CLI call it for each enabled provider.
#[inline(never)]
pub fn link() {
    // Reading the registration's id touches this crate's registration static.
    std::hint::black_box(provider::ID);
}
