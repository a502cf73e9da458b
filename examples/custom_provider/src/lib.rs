//! A minimal genmux provider crate: "a new provider is a new crate and nothing else
//! changes" (`ARCHITECTURE.md` "Extending").
//!
//! The provider ("echo") serves the catalog model `kling-2.5-turbo` from memory: every task
//! succeeds at once with a placeholder asset. A real provider crate has the same shape plus
//! a `mapping.rs` (pure unified ↔ wire functions) and a `client.rs` (HTTP).
//!
//! Three things make it a provider:
//! 1. it implements [`VideoProvider`] and declares its [`Offering`]s with a
//!    [`Capability`] struct literal and an upstream cost;
//! 2. it registers a [`ProviderRegistration`] with `inventory::submit!`, declaring its
//!    settings ([`SETTINGS`]: environment name, config key under `[providers.echo]`,
//!    secret or not, required or not, default, check), and a `build` that returns
//!    `Ok(None)` when its settings hold no credentials;
//! 3. it exports [`link`], which an application calls so the linker keeps the crate (a crate
//!    nothing references is dropped, and its registration with it).
//!
//! ```
//! genmux_example_custom_provider::link();
//! let ids: Vec<_> = genmux_core::registrations().map(|r| r.id).collect();
//! assert!(ids.contains(&"echo"));
//! ```
#![warn(missing_docs)]

use genmux_core::pricing::{PriceUnit, Rate};
use genmux_core::settings::SettingSpec;
use genmux_core::{
    async_trait, inventory, Asset, Capability, Catalog, Error, ErrorKind, MediaKind, Offering,
    PriceRule, Provider, ProviderRegistration, ProviderSettings, Result, SecondsSet, Submission,
    SubmitRequest, TaskRef, TaskSnapshot, TaskStatus, VideoProvider,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The provider id.
pub const ID: &str = "echo";

/// The setting that enables the provider (a real provider reads its API key here).
pub const TOKEN_SETTING: &str = "ECHO_TOKEN";

/// The settings the provider declares. `genmux serve` reads them from `ECHO_TOKEN` (or
/// `ECHO_TOKEN_FILE`, a file holding it) or `token` / `token_file` in `[providers.echo]`
/// of its config file; being a secret, the token is never printed nor taken from a flag.
pub static SETTINGS: &[SettingSpec] = &[SettingSpec::new(
    TOKEN_SETTING,
    "token",
    "any non-empty token enables the echo provider",
)
.secret()
.required()];

/// An in-memory provider whose tasks succeed immediately.
#[derive(Debug)]
pub struct EchoProvider {
    offerings: Vec<Offering>,
    next: AtomicU64,
}

impl Default for EchoProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl EchoProvider {
    /// The provider with its one offering.
    pub fn new() -> Self {
        EchoProvider {
            offerings: vec![Offering {
                model: "kling-2.5-turbo".into(),
                provider_model: "echo-video-1".into(),
                capability: Capability {
                    text_to_video: true,
                    // An example limit: only 5 s clips.
                    durations: Some(SecondsSet::of(&[5])),
                    max_prompt_chars: Some(2500),
                    ..Default::default()
                },
                // Upstream cost in USD: 0.01 per second.
                cost: PriceRule {
                    unit: PriceUnit::Second,
                    offset: 0,
                    billing_increment: 1,
                    audio_percent: 100,
                    rates: vec![Rate {
                        per_unit: 0.01,
                        ..Default::default()
                    }],
                    source: Some("example figure".into()),
                },
            }],
            next: AtomicU64::new(1),
        }
    }
}

#[async_trait]
impl VideoProvider for EchoProvider {
    fn id(&self) -> &str {
        ID
    }

    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }

    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Ok(Submission {
            provider_task_id: format!("echo-{n}"),
            provider_model: req.offering.provider_model.clone(),
            status: TaskStatus::Submitted,
            estimated_time_sec: Some(0),
        })
    }

    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        if !task.provider_task_id.starts_with("echo-") {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "task {} was not created by the echo provider",
                    task.provider_task_id
                ),
            )
            .with_provider(ID));
        }
        Ok(TaskSnapshot {
            provider_task_id: task.provider_task_id.clone(),
            status: TaskStatus::Succeeded,
            assets: vec![Asset {
                kind: MediaKind::Video,
                url: format!("memory://echo/{}.mp4", task.provider_task_id),
                id: None,
                duration_secs: Some(5.0),
                index: 0,
                size_bytes: None,
            }],
            error: None,
            usage: None,
            billed_usd_micros: None,
        })
    }
}

fn build(settings: &ProviderSettings, _catalog: &Catalog) -> Result<Option<Provider>> {
    Ok(settings
        .get(TOKEN_SETTING)
        .map(|_| Provider::video(Arc::new(EchoProvider::new()))))
}

inventory::submit!(ProviderRegistration {
    id: ID,
    description: "Echo: an in-memory example provider (examples/custom_provider)",
    settings: SETTINGS,
    build,
});

/// Keeps this crate linked so that its registration is found; call it once at start-up.
pub fn link() {}
