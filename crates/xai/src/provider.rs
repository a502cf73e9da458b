//! [`XaiProvider`]: xAI Grok Imagine video as a genmux provider (id `xai`). Poll only:
//! xAI sends no callbacks (`spec/upstreams.md`: "No webhooks"), so the gateway's poller
//! settles every task, and a submission whose answer was lost cannot be looked up (xAI
//! takes no id of ours): it keeps its hold (X4).

use crate::client::{XaiClient, XaiConfig, XaiTimeouts, DEFAULT_BASE_URL};
use crate::error::PROVIDER;
use crate::{mapping, offerings};
use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::{
    async_trait, Catalog, Error, ErrorKind, Offering, Provider, ProviderSettings, Result,
    Submission, SubmitRequest, TaskRef, TaskSnapshot, UnknownTask, VideoProvider,
};
use std::sync::Arc;
use std::time::Duration;

/// The provider id (also the config section `[providers.xai]`).
pub const ID: &str = PROVIDER;

/// Setting: the API key, sent as `Authorization: Bearer`.
pub const SETTING_API_KEY: &str = "XAI_API_KEY";
/// Setting: the base URL (default [`DEFAULT_BASE_URL`]).
pub const SETTING_BASE_URL: &str = "XAI_BASE_URL";
/// Setting: per-request timeout in seconds.
pub const SETTING_TIMEOUT_SECS: &str = "XAI_TIMEOUT_SECS";

/// Everything the `xai` provider reads, as its registration declares it (issue 14
/// point 2; config section `[providers.xai]`).
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(SETTING_API_KEY, "api_key", "xAI API key (sent as Bearer)")
        .secret()
        .required(),
    SettingSpec::new(SETTING_BASE_URL, "base_url", "xAI API base URL")
        .kind(SettingKind::Url)
        .default_value(DEFAULT_BASE_URL),
    SettingSpec::new(
        SETTING_TIMEOUT_SECS,
        "timeout_secs",
        "per-request timeout in seconds (a submission that times out is of unknown outcome)",
    )
    .kind(SettingKind::PositiveInteger)
    .default_value("30"),
];

/// xAI as a genmux provider: offerings for every catalog video model with an `xai`
/// provider model, submissions mapped to `POST /v1/videos/generations`, status from
/// `GET /v1/videos/{request_id}` with the billed cost of the finished task.
#[derive(Debug)]
pub struct XaiProvider {
    client: XaiClient,
    video: Vec<Offering>,
}

impl XaiProvider {
    /// A provider for one xAI account, offering what `catalog` assigns to `xai`.
    pub fn new(config: XaiConfig, catalog: &Catalog) -> Result<Self> {
        Ok(XaiProvider {
            client: XaiClient::new(config)?,
            video: offerings::offerings(catalog),
        })
    }

    /// Builds from `XAI_API_KEY` (required), `XAI_BASE_URL` and `XAI_TIMEOUT_SECS`;
    /// `Ok(None)` when no key is set.
    pub fn from_settings(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Self>> {
        let Some(key) = settings.get(SETTING_API_KEY) else {
            return Ok(None);
        };
        let mut config = XaiConfig::new(key);
        if let Some(url) = settings.get(SETTING_BASE_URL) {
            config.base_url = url.to_string();
        }
        if let Some(t) = settings.get(SETTING_TIMEOUT_SECS) {
            let secs: u64 = t.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                Error::invalid(format!(
                    "{SETTING_TIMEOUT_SECS}: `{t}` is not allowed (allowed: a whole number of seconds ≥ 1)"
                ))
                .with_provider(PROVIDER)
            })?;
            config.timeouts = XaiTimeouts {
                connect: Duration::from_secs(secs.min(10)),
                request: Duration::from_secs(secs),
            };
        }
        XaiProvider::new(config, catalog).map(Some)
    }

    /// The provider as the router holds it (a video half only).
    pub fn into_provider(self) -> Provider {
        Provider::video(Arc::new(self))
    }

    /// The underlying client, for native calls genmux does not model.
    pub fn client(&self) -> &XaiClient {
        &self.client
    }
}

#[async_trait]
impl VideoProvider for XaiProvider {
    fn id(&self) -> &str {
        ID
    }

    fn offerings(&self) -> &[Offering] {
        &self.video
    }

    /// Maps the request (refusing what xAI would, naming the field) and creates the task.
    /// The gateway's callback URL is not sent: xAI has no webhooks.
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let model = req.offering.provider_model.as_str();
        let body = mapping::create_request(req.request, req.operation, model)?;
        let created = self.client.create_video(&body).await?;
        Ok(mapping::submission(&created, model))
    }

    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let answer = self.client.get_video(&task.provider_task_id).await?;
        Ok(mapping::snapshot(&task.provider_task_id, &answer))
    }

    /// xAI cannot find a task by an id of ours (none is sent, no task list exists):
    /// an error, never `Ok(None)`, so the hold is kept (X4).
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "xAI cannot look up a submission by genmux's id ({}): it takes no external id and has no task list",
                task.external_id
            ),
        )
        .with_provider(PROVIDER))
    }
}

/// The registration's build function.
pub(crate) fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    Ok(XaiProvider::from_settings(settings, catalog)?.map(XaiProvider::into_provider))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_without_a_key_build_nothing() {
        assert!(build(&ProviderSettings::new(), Catalog::builtin())
            .unwrap()
            .is_none());
    }

    #[test]
    fn bad_settings_are_named() {
        let s = ProviderSettings::new()
            .set(SETTING_API_KEY, "k")
            .set(SETTING_BASE_URL, "ftp://x.ai");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(e.message().starts_with("base_url (XAI_BASE_URL)"), "{e}");
        let s = ProviderSettings::new()
            .set(SETTING_API_KEY, "k")
            .set(SETTING_TIMEOUT_SECS, "soon");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(e.message().starts_with("XAI_TIMEOUT_SECS: `soon`"), "{e}");
    }

    #[test]
    fn registered_with_inventory() {
        crate::link();
        assert!(genmux_core::registrations().any(|r| r.id == "xai"));
    }

    /// The declaration and `build` agree: nothing set builds nothing, the key alone builds
    /// the provider against the declared default base URL and timeout, and a bad base URL
    /// is refused naming the setting.
    #[test]
    fn the_declared_settings_build_the_provider() {
        use genmux_core::settings::{check_declaration, ProviderState, SettingSources};
        crate::link();
        let reg = genmux_core::registrations()
            .find(|r| r.id == ID)
            .expect("registered");
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
        let key = SettingSources::default()
            .resolve(reg, &env(&[("XAI_API_KEY", "xai-test")]))
            .unwrap();
        let settings = key.check().unwrap().expect("configured");
        assert_eq!(settings.get(SETTING_BASE_URL), Some(DEFAULT_BASE_URL));
        assert_eq!(settings.get(SETTING_TIMEOUT_SECS), Some("30"));
        let p = (reg.build)(&settings, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), ID);
        assert!(p.video_half().is_some() && p.image_half().is_none());
        let e = SettingSources::default()
            .resolve(reg, &env(&[("XAI_BASE_URL", "ftp://x.ai")]))
            .unwrap_err();
        assert!(
            e.message()
                .starts_with("XAI_BASE_URL ([providers.xai] base_url)"),
            "{e}"
        );
    }
}
