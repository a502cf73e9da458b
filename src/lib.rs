//! genmux: AI video and image generation providers behind one abstraction.
//!
//! This facade re-exports the workspace crates; enable one feature per provider crate.
//! See `README.md` and `docs/` for the tour.

pub use genmux_core as core;
pub use genmux_core::{
    catalog::Catalog, Error, ErrorKind, GenerationRequest, MediaInput, Operation, TaskStatus,
};
pub use genmux_router as router;
pub use genmux_router::Router;

/// The Kling native API provider: client, wire types, `KlingProvider` (feature `kling`).
#[cfg(feature = "kling")]
pub use genmux_kling as kling;

/// The unified API: the gateway (`app`, `AppState`, task engine) and `MidsyncProvider`, a
/// remote unified API as an upstream (feature `midsync`).
#[cfg(feature = "midsync")]
pub use genmux_midsync as midsync;

/// Seedance on BytePlus ModelArk / Volcengine Ark (feature `seedance`).
#[cfg(feature = "seedance")]
pub use genmux_seedance as seedance;

/// MiniMax Hailuo video (feature `minimax`).
#[cfg(feature = "minimax")]
pub use genmux_minimax as minimax;

/// Runway (feature `runway`).
#[cfg(feature = "runway")]
pub use genmux_runway as runway;

/// xAI Grok Imagine video (feature `xai`).
#[cfg(feature = "xai")]
pub use genmux_xai as xai;

/// Keeps every provider crate enabled by a feature linked, so that its `inventory`
/// registration is found by [`router::Registry::from_inventory`] (a crate nothing
/// references is dropped by the linker, and its registration with it). Call it once at
/// start-up, before building a [`Router`] with `discover`.
pub fn link_providers() {
    #[cfg(feature = "kling")]
    genmux_kling::link();
    #[cfg(feature = "midsync")]
    genmux_midsync::link();
    #[cfg(feature = "seedance")]
    genmux_seedance::link();
    #[cfg(feature = "minimax")]
    genmux_minimax::link();
    #[cfg(feature = "runway")]
    genmux_runway::link();
    #[cfg(feature = "xai")]
    genmux_xai::link();
}
