//! genmux-midsync: the unified video/image API of `spec/unified-api.md`.
//!
//! - The gateway: [`api::app`] (axum) over an [`AppState`] (config, store, router), and the
//!   task [`Engine`] (poller, outbound callbacks); [`shutdown::serve`] runs both until a
//!   signal.
//! - [`MidsyncProvider`]: a remote unified-API service as a genmux provider (id `midsync`).
//! - [`ssrf::UrlGuard`]: the SSRF guard for `callbackUrl` and media URLs.
//! - [`wire`]: the camelCase answer shapes of the API.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use genmux_midsync::{AppState, GatewayConfig};
//! let store = genmux_store::Store::open("sqlite://genmux.db").await?;
//! let router = std::sync::Arc::new(genmux_router::Router::builder().build()?);
//! let config = GatewayConfig::new("https://gw.example.com", b"master key".to_vec());
//! let state = AppState::new(config, store, router);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! genmux_midsync::shutdown::serve(listener, state, genmux_midsync::shutdown::ctrl_c_or_term()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod assets;
pub mod client;
pub mod clock;
pub mod config;
pub mod engine;
pub mod in_flight;
pub mod key_rate;
pub mod mapping;
pub mod provider;
pub mod shutdown;
pub mod ssrf;
pub mod state;
pub mod telemetry;
pub mod wire;

pub use api::app;
pub use client::MidsyncClient;
pub use config::{AssetsConfig, DeliveryConfig, GatewayConfig, KeyRate, PollConfig};
pub use engine::Engine;
pub use key_rate::RedisUrl;
pub use provider::{link, offerings_from_catalog, MidsyncConfig, MidsyncProvider};
pub use state::AppState;
