//! A complete small genmux provider crate, for the made-up **Echo Video API** below: "a new
//! provider is a new crate and nothing else changes" (`ARCHITECTURE.md` "Extending";
//! `docs/adding-a-provider.md` walks through it file by file).
//!
//! - [`wire`]: the API's bodies exactly as on the wire;
//! - [`client`]: [`EchoClient`], all I/O, and the **one** error table;
//! - [`provider`]: [`EchoProvider`]: its offering (a `Capability` literal citing the API
//!   doc beside each limit), the mapping, the unknown-outcome lookup;
//! - this file: the declared settings ([`SETTINGS`]), the `inventory` registration and
//!   [`link`].
//!
//! Its tests run the provider conformance suite (`genmux-conformance`) against a
//! simulator of the API (`tests/common/mod.rs`).
//!
//! # The Echo Video API
//!
//! A stand-in for your upstream's documentation; the provider cites it as "Echo API §…".
//!
//! - **Auth**: `Authorization: Bearer <token>`.
//! - **§Create** `POST /v1/videos` with `{"model": "echo-video-1", "prompt": "…",
//!   "seconds": 5, "aspect_ratio": "16:9" | "9:16", "client_ref": "…"}` → `201` and the
//!   task. `prompt`: 1–2500 characters. `seconds`: 5 (the only length). `aspect_ratio`:
//!   optional, default `16:9`. `client_ref`: optional, the caller's unique id for the task
//!   (≤ 64 characters; a second task with the same one is refused).
//! - **§Task** `GET /v1/videos/{id}` → `{"id", "status", "client_ref", "seconds",
//!   "video_url", "credits_charged", "error"}`; `status` moves `queued` → `running` →
//!   `done` | `failed`. `video_url` (an MP4) and `credits_charged` (what the account was
//!   billed) come with `done`; `error` with `failed`, which is not billed.
//! - **§Find** `GET /v1/videos?client_ref=<id>` → `{"data": [task]}`: the task created with
//!   that `client_ref`, or an empty list when there is none.
//! - **§Errors**: the HTTP status and `{"error": {"type", "message"}}`: 401 `auth`, 402
//!   `insufficient_credit`, 429 `rate_limit` (with `Retry-After` in seconds), 400
//!   `invalid_request`, 400 `content_policy`, 404 `not_found`, 500/503 `server_error`,
//!   504 `timeout`.
//! - **§Prices**: 2 credits per second of video; a credit is $0.005.
//! - No callbacks: tasks are polled.
//!
//! ```
//! genmux_example_custom_provider::link();
//! let ids: Vec<_> = genmux_core::registrations().map(|r| r.id).collect();
//! assert!(ids.contains(&"echo"));
//! ```
#![warn(missing_docs)]

pub mod client;
pub mod provider;
pub mod wire;

pub use client::EchoClient;
pub use provider::EchoProvider;

use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::{inventory, Catalog, Provider, ProviderRegistration, ProviderSettings, Result};
use std::sync::Arc;

/// The provider id; also its config section `[providers.echo]`.
pub const ID: &str = "echo";

/// Setting: the API token (sent as Bearer).
pub const TOKEN_SETTING: &str = "ECHO_TOKEN";
/// Setting: the API's base URL.
pub const BASE_URL_SETTING: &str = "ECHO_BASE_URL";
/// Setting: how long one call may take, in seconds.
pub const TIMEOUT_SETTING: &str = "ECHO_TIMEOUT_SECS";

/// The API's public address.
pub const DEFAULT_BASE_URL: &str = "https://api.echo.example";

/// Everything the provider reads. `genmux serve` resolves them from the environment
/// (`ECHO_TOKEN`, or `ECHO_TOKEN_FILE` naming a file that holds it), from `[providers.echo]`
/// of its config file (`token`, `base_url`, `timeout_secs`) and, for non-secrets, from
/// `--provider-setting echo.base_url=…`; defaults are filled in before [`build`] sees them.
/// Being a secret, the token is never printed and never taken from a flag.
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(TOKEN_SETTING, "token", "API token of the Echo account")
        .secret()
        .required(),
    SettingSpec::new(BASE_URL_SETTING, "base_url", "Echo API base URL")
        .kind(SettingKind::Url)
        .default_value(DEFAULT_BASE_URL),
    SettingSpec::new(
        TIMEOUT_SETTING,
        "timeout_secs",
        "how long one call to the API may take, in seconds",
    )
    .kind(SettingKind::PositiveInteger)
    .default_value("30"),
];

/// Builds the provider from its settings; `Ok(None)` when no token is set (the provider is
/// then simply not configured).
pub fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    let Some(token) = settings.get(TOKEN_SETTING) else {
        return Ok(None);
    };
    let base_url = settings.get(BASE_URL_SETTING).unwrap_or(DEFAULT_BASE_URL);
    let timeout = match settings.get(TIMEOUT_SETTING) {
        Some(t) => t
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                genmux_core::Error::invalid(format!(
                    "{TIMEOUT_SETTING}: `{t}` is not a positive number of seconds"
                ))
            })?,
        None => 30,
    };
    let client = EchoClient::new(base_url, token, std::time::Duration::from_secs(timeout))?;
    let provider = EchoProvider::new(client, catalog);
    Ok(Some(Provider::video(Arc::new(provider))))
}

inventory::submit!(ProviderRegistration {
    id: ID,
    description: "Echo: the made-up Echo Video API (examples/custom_provider)",
    settings: SETTINGS,
    build,
});

/// Keeps this crate linked so that its registration is found; call it once at start-up.
pub fn link() {}
