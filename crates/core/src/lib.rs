//! genmux-core: what every genmux crate shares.
//!
//! - [`GenerationRequest`]: one normalized request for every operation of both specs;
//!   [`MediaInput`] for URLs vs bare Base64.
//! - [`TaskStatus`] and its transition rule, [`Asset`], [`Submission`], [`TaskSnapshot`].
//! - [`Catalog`]: the single description of every model, with validation, pricing
//!   ([`Catalog::quote`]) and the `GET /unified-video/models` body.
//! - [`VideoProvider`], [`ImageProvider`], [`Capability`], [`Layer`] and
//!   [`ProviderRegistration`] for provider crates.
//! - [`Error`] with an [`ErrorKind`].
#![warn(missing_docs)]

pub mod capability;
pub mod catalog;
pub mod error;
pub mod media;
pub mod pricing;
pub mod provider;
pub mod request;
pub mod settings;
pub mod task;
pub mod telemetry;
pub mod transport;
pub mod webhook;

pub use capability::{Capability, Polling, SecondsSet, UnknownLookup};
pub use catalog::{Catalog, ExampleNeed, ModelSpec, Quote, SampleKind, SampleMedia};
pub use error::{Error, ErrorKind, Result};
pub use media::{MediaError, MediaInput};
pub use pricing::{PriceInputs, PriceRule};
pub use provider::{
    registrations, ImageProvider, Layer, Offering, Provider, ProviderRegistration,
    ProviderSettings, SubmitRequest, VideoProvider,
};
pub use request::{
    CameraConfig, CameraControl, DynamicMask, ElementGroup, GenerationRequest, MediaKind,
    Operation, ShotPrompt, TrajectoryPoint,
};
pub use settings::{SettingKind, SettingSpec};
pub use task::{Asset, Submission, TaskRef, TaskSnapshot, TaskStatus, Transition, UnknownTask};

// Re-exported so provider crates register without naming `inventory` themselves.
pub use async_trait::async_trait;
pub use inventory;
