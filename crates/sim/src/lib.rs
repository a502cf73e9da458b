//! genmux-sim: wire-compatible simulators of the upstream APIs genmux talks to.
//!
//! - [`kling::KlingSim`]: the Kling native `/v1` API of `spec/kling-api.md` — every
//!   endpoint, every documented rejection with Kling's own codes, JWT verification, a task
//!   lifecycle on a [`SimClock`], per-account concurrency (1303), signed callbacks and result
//!   URLs that serve real MP4 and PNG files.
//! - [`unified::UnifiedSim`]: the unified video API of `spec/unified-api.md`
//!   (`/unified-video` and `/unified-image`: models, quote, generate, status) with Bearer
//!   keys, catalog validation and prices, balances, the same clock, faults and media.
//! - [`runway::RunwaySim`]: the Runway API of `spec/upstreams.md` (image and text to
//!   video, task query and cancel), strict, on the framework.
//! - [`framework`]: what every newer simulator shares — clock, task lifecycle with
//!   per-account concurrency, faults, configuration, media with expiring links, callback
//!   delivery and the start/advance/shutdown wrapper; a provider adds its wire, rules and
//!   error shape.
//! - [`seedance::SeedanceSim`]: Seedance on BytePlus ModelArk (`spec/upstreams.md`), on the
//!   framework: create and query with Bearer keys, Ark's error codes, token usage, expiring
//!   video URLs and unsigned callbacks.
//! - [`xai::XaiSim`]: the xAI Grok Imagine video API of `spec/upstreams.md` on the shared
//!   [`framework`]: strict create rules with xAI's `400 {"error":"…"}`, `pending` →
//!   `done`/`failed` on the clock, billed `usage.cost_in_usd_ticks`, expiring MP4 links.
//! - [`minimax::MiniMaxSim`]: the MiniMax Hailuo video API of `spec/upstreams.md` on the
//!   framework (create, query, files/retrieve with expiring download URLs, MiniMax's
//!   HTTP-200 error codes, challenge-first callbacks).
//! - [`fault`]: seeded, deterministic fault injection per endpoint (429, 5xx, latency,
//!   dropped connections, malformed JSON, lost callbacks).
//! - [`media`]: the tiny real media files the simulators serve.
//! - [`server`]: the accept loop that can drop a connection after its request was
//!   processed (the "maybe accepted" case), for any simulator — also a new provider's own
//!   (`examples/custom_provider`).
//! - [`samples`]: real sample files standing for the catalog examples' media URLs, for
//!   the sandbox (issue 20 point 3).
//! - [`sandbox`]: every simulator at once, each described as the stand-in for a provider
//!   (the settings that point the provider at it), for `genmux serve`'s sandbox and
//!   `genmux sim`.
//!
//! The simulators are independent implementations of the wire (they do not use the client
//! crates), so a conformance test against them catches client mistakes.
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use genmux_sim::kling::{KlingSim, KlingSimConfig};
//! let sim = KlingSim::start(KlingSimConfig::default()).await?;
//! println!("Kling simulator at {} (AccessKey {})", sim.base_url(), sim.access_key());
//! sim.advance(std::time::Duration::from_secs(60)).await; // tasks finish, callbacks sent
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod clock;
pub mod error;
pub mod fault;
pub mod framework;
pub mod kling;
pub mod media;
pub mod minimax;
mod running;
pub mod runway;
pub mod samples;
pub mod sandbox;
pub mod seedance;
pub mod server;
pub mod unified;
pub mod xai;

pub use clock::SimClock;
pub use error::{Error, Result};
pub use fault::{FaultPlan, Faults};
