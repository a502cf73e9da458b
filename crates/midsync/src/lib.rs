//! genmux-midsync: the unified video/image API of `spec/unified-api.md`.
//!
//! - [`MidsyncProvider`]: a remote unified-API service as a genmux provider (id `midsync`).
//! - [`ssrf::UrlGuard`]: the SSRF guard for `callbackUrl` and media URLs.
//! - [`wire`]: the camelCase answer shapes of the API.
#![warn(missing_docs)]

pub mod client;
pub mod mapping;
pub mod provider;
pub mod ssrf;
pub mod wire;

pub use client::MidsyncClient;
pub use provider::{link, offerings_from_catalog, MidsyncConfig, MidsyncProvider};
