//! [`SeedanceProvider`]: genmux's `VideoProvider` over Ark's video generation tasks
//! (`spec/upstreams.md`, Seedance). Mapping is in [`crate::mapping`], I/O in
//! [`crate::client`].

use crate::client::{ArkClient, ArkConfig, ArkTimeouts};
use crate::error::PROVIDER;
use crate::mapping;
use crate::offerings::{self, USD_PER_MILLION_TOKENS};
use crate::region::BYTEPLUS_BASE_URL;
use crate::wire::Task;
use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::{
    async_trait, Catalog, Error, ErrorKind, Offering, Provider, ProviderSettings, Result,
    Submission, SubmitRequest, TaskRef, TaskSnapshot, UnknownTask, VideoProvider,
};
use std::sync::Arc;
use std::time::Duration;

/// The provider id; also its config section `[providers.seedance]`.
pub const ID: &str = "seedance";
/// Setting: the Ark API key (`Authorization: Bearer`), per region.
pub const SETTING_API_KEY: &str = "ARK_API_KEY";
/// Setting (optional): the API base URL (default [`BYTEPLUS_BASE_URL`]).
pub const SETTING_BASE_URL: &str = "ARK_BASE_URL";
/// Setting (optional): per-request timeout in seconds (default 60).
pub const SETTING_TIMEOUT_SECS: &str = "ARK_TIMEOUT_SECS";
/// Setting (optional): USD per million tokens without audio for this account (default
/// 1.2, the spec's price; audio is charged twice that). Prices the offerings for the
/// router and the billed cost of finished tasks.
pub const SETTING_USD_PER_MILLION_TOKENS: &str = "ARK_USD_PER_MILLION_TOKENS";

/// Everything the `seedance` provider reads, as its registration declares it (issue 14
/// point 2; config section `[providers.seedance]`).
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(
        SETTING_API_KEY,
        "api_key",
        "API key of the BytePlus ModelArk (or Volcengine Ark) account",
    )
    .secret()
    .required(),
    SettingSpec::new(
        SETTING_BASE_URL,
        "base_url",
        "Ark API base URL (https://ark.cn-beijing.volces.com/api/v3 for Volcengine)",
    )
    .kind(SettingKind::Url)
    .default_value(BYTEPLUS_BASE_URL),
    SettingSpec::new(
        SETTING_TIMEOUT_SECS,
        "timeout_secs",
        "per-request timeout in seconds",
    )
    .kind(SettingKind::PositiveInteger)
    .default_value("60"),
    SettingSpec::new(
        SETTING_USD_PER_MILLION_TOKENS,
        "usd_per_million_tokens",
        "what a million Seedance tokens cost this account in USD without audio (twice with); ranks Seedance against other providers",
    )
    .kind(SettingKind::NonNegativeNumber)
    .default_value("1.2"),
];

/// Seedance on Ark as a genmux provider: offerings for every catalog entry with a
/// `seedance` provider model, submissions mapped to `POST /contents/generations/tasks`,
/// status by `GET …/{id}`, callbacks parsed and confirmed by a query.
#[derive(Debug)]
pub struct SeedanceProvider {
    client: ArkClient,
    usd_per_million: f64,
    video: Vec<Offering>,
}

impl SeedanceProvider {
    /// A provider for one Ark account, offering what `catalog` assigns to `seedance`, at
    /// `usd_per_million` USD per million tokens without audio.
    pub fn new(config: ArkConfig, usd_per_million: f64, catalog: &Catalog) -> Result<Self> {
        let client = ArkClient::new(config)?;
        Ok(SeedanceProvider {
            client,
            usd_per_million,
            video: offerings::offerings_at(catalog, usd_per_million),
        })
    }

    /// Builds from `ARK_API_KEY` (required), `ARK_BASE_URL` (default BytePlus),
    /// `ARK_TIMEOUT_SECS` and `ARK_USD_PER_MILLION_TOKENS`. `Ok(None)` when no key is set.
    pub fn from_settings(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Self>> {
        let Some(key) = settings.get(SETTING_API_KEY) else {
            return Ok(None);
        };
        let mut config = ArkConfig::new(key);
        if let Some(url) = settings.get(SETTING_BASE_URL) {
            config.base_url = url.to_string();
        }
        if let Some(t) = settings.get(SETTING_TIMEOUT_SECS) {
            let secs: u64 = t.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                Error::invalid(format!(
                    "{SETTING_TIMEOUT_SECS}: `{t}` is not a positive number of seconds"
                ))
                .with_provider(PROVIDER)
            })?;
            config.timeouts = ArkTimeouts {
                request: Duration::from_secs(secs),
                ..ArkTimeouts::default()
            };
        }
        let mut usd_per_million = USD_PER_MILLION_TOKENS;
        if let Some(rate) = settings.get(SETTING_USD_PER_MILLION_TOKENS) {
            usd_per_million = rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{SETTING_USD_PER_MILLION_TOKENS}: `{rate}` is not a price in USD (allowed: a number ≥ 0, e.g. 1.2)"
                    ))
                    .with_provider(PROVIDER)
                })?;
        }
        SeedanceProvider::new(config, usd_per_million, catalog).map(Some)
    }

    /// Wraps the provider as the router holds it (video only).
    pub fn into_provider(self) -> Provider {
        Provider::video(Arc::new(self))
    }

    /// The underlying client, for native calls genmux does not model.
    pub fn client(&self) -> &ArkClient {
        &self.client
    }

    /// The offerings.
    pub fn video_offerings(&self) -> &[Offering] {
        &self.video
    }

    /// Maps the request and creates the task with the gateway's callback URL. Ark takes
    /// no id of ours, so `external_id` is not sent (see [`Self::find_unknown_task`]).
    pub async fn submit_task(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let model_id = self.client.region().model_id(&req.offering.provider_model);
        let body =
            mapping::create_request(req.request, req.operation, &model_id, req.callback_url)?;
        let created = self.client.create_task(&body).await?;
        if created.id.trim().is_empty() {
            // Ark said it created something but named nothing: it may run.
            return Err(Error::new(
                ErrorKind::ProviderUnavailable,
                "Ark answered the create without a task id",
            )
            .with_provider(PROVIDER)
            .with_maybe_accepted());
        }
        Ok(mapping::submission(&created, &req.offering.provider_model))
    }

    /// The unified snapshot of an Ark task, with what Ark billed this account in USD.
    fn snapshot(&self, task: &Task) -> Result<TaskSnapshot> {
        let mut snap = mapping::snapshot(task)?;
        snap.billed_usd_micros = mapping::billed_usd_micros(task, self.usd_per_million);
        Ok(snap)
    }

    /// Queries a task.
    pub async fn task_status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let native = self.client.get_task(&task.provider_task_id).await?;
        self.snapshot(&native)
    }

    /// Ark cannot find a task by an id of ours: the create body takes none and the spec
    /// documents no search. The answer is always an error (never `Ok(None)`, which would
    /// refund a task Ark may be running, X4): the task is found when its callback — to the
    /// per-task URL the submission carried — names it.
    pub fn find_unknown_task(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "Ark cannot look up a task by our id ({}); waiting for its callback",
                task.external_id
            ),
        )
        .with_provider(PROVIDER))
    }

    /// Parses a callback (Ark POSTs the query body). Unsigned (spec: "the gateway must
    /// treat an Ark callback as a hint and confirm by querying the task"): the gateway
    /// settles what its status query of the task answers, not this.
    pub fn parse_task_callback(&self, body: &[u8]) -> Result<TaskSnapshot> {
        let task = mapping::parse_callback_body(body)?;
        self.snapshot(&task)
    }
}

#[async_trait]
impl VideoProvider for SeedanceProvider {
    fn id(&self) -> &str {
        ID
    }
    fn offerings(&self) -> &[Offering] {
        &self.video
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        self.submit_task(req).await
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.task_status(task).await
    }
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        self.find_unknown_task(task)
    }
    fn parse_callback(&self, _headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        self.parse_task_callback(body)
    }
}

/// The registration's build function.
pub(crate) fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    Ok(SeedanceProvider::from_settings(settings, catalog)?.map(SeedanceProvider::into_provider))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::settings::{check_declaration, ProviderState, SettingSources};

    #[test]
    fn settings_without_a_key_build_nothing() {
        assert!(build(&ProviderSettings::new(), Catalog::builtin())
            .unwrap()
            .is_none());
    }

    #[test]
    fn settings_build_the_video_half() {
        let s = ProviderSettings::new()
            .set(SETTING_API_KEY, "ark-key")
            .set(SETTING_BASE_URL, "http://127.0.0.1:9/api/v3");
        let p = build(&s, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), "seedance");
        assert!(p.video_half().is_some() && p.image_half().is_none());
        let models: Vec<_> = p.offerings().iter().map(|(_, o)| o.model.clone()).collect();
        assert_eq!(models, ["seedance-1.5-pro"]);
    }

    #[test]
    fn bad_settings_are_named() {
        for (name, value, starts) in [
            (SETTING_BASE_URL, "ftp://ark", "base_url"),
            (SETTING_TIMEOUT_SECS, "0", SETTING_TIMEOUT_SECS),
            (
                SETTING_USD_PER_MILLION_TOKENS,
                "-1",
                SETTING_USD_PER_MILLION_TOKENS,
            ),
        ] {
            let s = ProviderSettings::new()
                .set(SETTING_API_KEY, "k")
                .set(name, value);
            let e = build(&s, Catalog::builtin()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest);
            assert!(e.message().starts_with(starts), "{}", e.message());
        }
    }

    #[test]
    fn the_registration_declares_its_settings() {
        let reg = genmux_core::registrations()
            .find(|r| r.id == ID)
            .expect("seedance is registered");
        check_declaration(reg).unwrap();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let none = SettingSources::default().resolve(reg, &env(&[])).unwrap();
        assert_eq!(none.state(), ProviderState::NotConfigured);
        let keyed = SettingSources::default()
            .resolve(reg, &env(&[("ARK_API_KEY", "k")]))
            .unwrap();
        let settings = keyed.check().unwrap().expect("configured");
        assert_eq!(settings.get(SETTING_BASE_URL), Some(BYTEPLUS_BASE_URL));
        assert_eq!(settings.get(SETTING_USD_PER_MILLION_TOKENS), Some("1.2"));
        let p = (reg.build)(&settings, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), ID);
    }
}
