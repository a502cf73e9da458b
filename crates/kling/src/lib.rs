//! genmux-kling: the Kling native `/v1` API (`spec/kling-api.md`) for genmux.
//!
//! - [`wire`]: typed bodies and answers of every endpoint, exactly as on the wire.
//! - [`auth`]: the bearer token: an HS256 JWT (AccessKey + SecretKey), cached and renewed
//!   before expiry, or a static API key.
//! - [`client`]: [`KlingClient`], one method per endpoint (`create_text2video`,
//!   `get_text2video`, `list_text2video`, …, `identify_face`).
//! - [`error`]: the one table from (HTTP status, Kling code) to [`genmux_core::ErrorKind`].
//! - [`callback`]: inbound callbacks (unsigned: hints confirmed by a query).
//! - [`mapping`]: pure functions unified ↔ native.
//! - [`rules`]: what each Kling model accepts (durations, modes, enums, limits, units),
//!   stated once and read by offerings and mapping.
//! - [`offerings`]: capabilities and upstream costs per Kling model.
//! - [`provider`]: [`KlingProvider`], registered with `inventory` as `kling`.
//!
//! Call [`link`] from a binary that relies on the inventory registration, so the linker
//! keeps this crate.
#![warn(missing_docs)]

pub mod auth;
pub mod callback;
pub mod client;
pub mod error;
pub mod mapping;
pub mod offerings;
pub mod provider;
pub mod rules;
pub mod wire;

pub use auth::Credentials;
pub use client::{KlingClient, KlingConfig, KlingTimeouts, CHINA_BASE_URL, GLOBAL_BASE_URL};
pub use provider::KlingProvider;

genmux_core::inventory::submit! {
    genmux_core::ProviderRegistration {
        id: provider::ID,
        description: "Kling native API (text/image/multi-image to video, motion control, extend, lip sync, images, omni-image)",
        settings: provider::SETTINGS,
        build: provider::build,
    }
}

/// Keeps this crate (and so its `inventory` registration) in the final binary. The facade
/// and the CLI call it for each enabled provider.
#[inline(never)]
pub fn link() {
    // Reading the registry touches this crate's registration static.
    std::hint::black_box(provider::ID);
}
