//! genmux-runway: the Runway API (`spec/upstreams.md`, Runway) for genmux.
//!
//! - [`wire`]: typed bodies and answers, exactly as on the wire.
//! - [`client`]: [`RunwayClient`], one method per endpoint (`create_image_to_video`,
//!   `create_text_to_video`, `get_task`, `delete_task`), `X-Runway-Version` on every call.
//! - [`error`]: the one table from HTTP status and task `failureCode` to
//!   [`genmux_core::ErrorKind`].
//! - [`rules`]: what Runway accepts (ratios, durations, prompt length, models), stated once.
//! - [`mapping`]: pure functions unified ↔ Runway.
//! - [`offerings`]: capability (poll only, ≥ 5 s between polls, cancellable) and cost.
//! - [`provider`]: [`RunwayProvider`], registered with `inventory` as `runway`.
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

pub use client::{RunwayClient, RunwayConfig, RunwayTimeouts, DEFAULT_BASE_URL};
pub use provider::{RunwayProvider, ID};

genmux_core::inventory::submit! {
    genmux_core::ProviderRegistration {
        id: provider::ID,
        description: "Runway API (gen4_turbo image to video, gen4.5 text and 1080p image to video; poll only, cancellable)",
        settings: provider::SETTINGS,
        build: provider::build,
    }
}

/// Keeps this crate (and so its `inventory` registration) in the final binary. The facade
/// and the CLI call it for each enabled provider.
#[inline(never)]
pub fn link() {
    std::hint::black_box(provider::ID);
}
