//! genmux-seedance: Seedance on BytePlus ModelArk / Volcengine Ark
//! (`spec/upstreams.md`, "Seedance") for genmux.
//!
//! - [`wire`]: the create body, the task and the error body, exactly as on the wire.
//! - [`client`]: [`ArkClient`], `create_task` and `get_task` with Bearer auth.
//! - [`region`]: BytePlus and Volcengine base URLs and model ids.
//! - [`error`]: the one table from (HTTP status, Ark `error.code`) to
//!   [`genmux_core::ErrorKind`].
//! - [`rules`]: what Seedance 1.5 Pro accepts and the token formula, stated once.
//! - [`mapping`]: pure functions unified ↔ Ark.
//! - [`offerings`]: capabilities and upstream costs.
//! - [`provider`]: [`SeedanceProvider`], registered with `inventory` as `seedance`.
//!
//! Call [`link`] from a binary that relies on the inventory registration, so the linker
//! keeps this crate.
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod mapping;
pub mod offerings;
pub mod provider;
pub mod region;
pub mod rules;
pub mod wire;

pub use client::{ArkClient, ArkConfig, ArkTimeouts};
pub use provider::SeedanceProvider;
pub use region::{Region, BYTEPLUS_BASE_URL, VOLCENGINE_BASE_URL};

genmux_core::inventory::submit! {
    genmux_core::ProviderRegistration {
        id: provider::ID,
        description: "Seedance on BytePlus ModelArk / Volcengine Ark (text to video, first frame, first + last frame, audio)",
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
