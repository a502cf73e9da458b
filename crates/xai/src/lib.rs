//! genmux-xai: the xAI Grok Imagine video API (`spec/upstreams.md`, "xAI Grok Imagine
//! video") for genmux.
//!
//! - [`wire`]: typed bodies and answers of `POST /v1/videos/generations` and
//!   `GET /v1/videos/{request_id}`, read tolerantly where the spec is unverified.
//! - [`client`]: [`XaiClient`], Bearer auth, timeouts, maybe-accepted submissions.
//! - [`error`]: the one table from HTTP status (and a failed task's `error.code`) to
//!   [`genmux_core::ErrorKind`].
//! - [`rules`]: what xAI accepts (models, durations 1–15 s, aspect ratios, resolutions),
//!   stated once and read by offerings and mapping.
//! - [`mapping`]: pure functions unified ↔ xAI, and the billed cost from
//!   `usage.cost_in_usd_ticks`.
//! - [`offerings`]: capability literals and the upstream cost table.
//! - [`provider`]: [`XaiProvider`], registered with `inventory` as `xai`.
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

pub use client::{XaiClient, XaiConfig, XaiTimeouts, DEFAULT_BASE_URL};
pub use provider::XaiProvider;

genmux_core::inventory::submit! {
    genmux_core::ProviderRegistration {
        id: provider::ID,
        description: "xAI Grok Imagine video API (text or image to video, 1–15 s, poll only)",
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
