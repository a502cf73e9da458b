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
