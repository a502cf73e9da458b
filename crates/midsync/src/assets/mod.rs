//! Results kept by the gateway (issue 18, `docs/assets.md`).
//!
//! Upstream URLs expire (Kling 30 days, Seedance and Runway 24–48 h, MiniMax about 9 h) and
//! name the provider, so when a task succeeds upstream the engine copies each asset into a
//! blob store ([`blobs`]: the local filesystem or any S3-compatible store) before it
//! announces success ([`copy`]), and the API serves it from `/v1/assets/{assetId}` with the
//! caller's key or a signed, expiring link ([`links`]), with range requests ([`range`]).
//! Stored assets are deleted when their retention ends ([`retention`]).

pub mod blobs;
pub mod copy;
pub mod links;
pub mod range;
pub mod retention;

pub use blobs::{BlobSettings, Blobs};
