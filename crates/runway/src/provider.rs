//! [`RunwayProvider`]: genmux's `VideoProvider` over the Runway API. Mapping is in
//! [`crate::mapping`], I/O in [`crate::client`].

use crate::client::{RunwayClient, RunwayConfig, RunwayTimeouts, DEFAULT_BASE_URL};
use crate::error::PROVIDER;
use crate::mapping;
use crate::offerings;
use crate::wire::TaskStatus as Wire;
use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::{
    async_trait, Catalog, Error, ErrorKind, Offering, Provider, ProviderSettings, Result,
    Submission, SubmitRequest, TaskRef, TaskSnapshot, UnknownTask, VideoProvider,
};
use std::sync::Arc;
use std::time::Duration;

/// The provider id; also its config section `[providers.runway]`.
pub const ID: &str = "runway";
/// Setting: the API secret of the Runway account.
pub const SETTING_API_SECRET: &str = "RUNWAYML_API_SECRET";
/// Setting (optional): the API base URL (default [`DEFAULT_BASE_URL`]).
pub const SETTING_BASE_URL: &str = "RUNWAY_BASE_URL";
/// Setting (optional): per-request timeout in seconds (default 30).
pub const SETTING_TIMEOUT_SECS: &str = "RUNWAY_TIMEOUT_SECS";

/// Everything the `runway` provider reads, as its registration declares it (config section
/// `[providers.runway]`).
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(
        SETTING_API_SECRET,
        "api_secret",
        "API secret of the Runway account (sent as Bearer)",
    )
    .secret()
    .required(),
    SettingSpec::new(SETTING_BASE_URL, "base_url", "Runway API base URL")
        .kind(SettingKind::Url)
        .default_value(DEFAULT_BASE_URL),
    SettingSpec::new(
        SETTING_TIMEOUT_SECS,
        "timeout_secs",
        "per-request timeout in seconds (a create that hits it is of unknown outcome)",
    )
    .kind(SettingKind::PositiveInteger)
    .default_value("30"),
];

/// Runway as a genmux provider: the catalog's `runway` model natively (gen4_turbo /
/// gen4.5), poll only, cancellable.
#[derive(Debug)]
pub struct RunwayProvider {
    client: RunwayClient,
    video: Vec<Offering>,
}

impl RunwayProvider {
    /// A provider for one Runway account, offering what `catalog` assigns to `runway`.
    pub fn new(config: RunwayConfig, catalog: &Catalog) -> Result<Self> {
        Ok(RunwayProvider {
            client: RunwayClient::new(config)?,
            video: offerings::offerings(catalog),
        })
    }

    /// Builds from settings `RUNWAYML_API_SECRET` (required), `RUNWAY_BASE_URL` and
    /// `RUNWAY_TIMEOUT_SECS`. `Ok(None)` when the secret is not set.
    pub fn from_settings(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Self>> {
        let Some(secret) = settings.get(SETTING_API_SECRET) else {
            return Ok(None);
        };
        let mut config = RunwayConfig::new(secret);
        if let Some(url) = settings.get(SETTING_BASE_URL) {
            config.base_url = url.to_string();
        }
        if let Some(t) = settings.get(SETTING_TIMEOUT_SECS) {
            let secs = t.trim().parse::<u64>().ok().filter(|s| *s >= 1).ok_or_else(|| {
                Error::invalid(format!(
                    "{SETTING_TIMEOUT_SECS}: `{t}` is not a number of seconds (allowed: a whole number ≥ 1)"
                ))
                .with_provider(PROVIDER)
            })?;
            config.timeouts = RunwayTimeouts {
                request: Duration::from_secs(secs),
                ..RunwayTimeouts::default()
            };
        }
        RunwayProvider::new(config, catalog).map(Some)
    }

    /// Wraps the provider as the router holds it.
    pub fn into_provider(self) -> Provider {
        Provider::video(Arc::new(self))
    }

    /// The underlying client.
    pub fn client(&self) -> &RunwayClient {
        &self.client
    }

    /// Cancels a task: only one Runway still runs, and only once Runway confirms it.
    ///
    /// `DELETE /v1/tasks/{id}` cancels a running task but *deletes* a finished one (spec:
    /// "cancel or delete"), so the task is read first: a finished task answers `Conflict`
    /// and is left alone (its result and its bill stand). After the DELETE the task is read
    /// again, and only `CANCELLED` is taken as confirmation — the gateway voids the hold on
    /// `Ok`, never on a guess.
    pub async fn cancel_task(&self, task: &TaskRef) -> Result<()> {
        let id = &task.provider_task_id;
        let before = self.client.get_task(id).await?;
        match before.status {
            Wire::Cancelled => return Ok(()),
            Wire::Succeeded | Wire::Failed => return Err(finished(id, before.status.as_str())),
            _ => {}
        }
        self.client.delete_task(id).await?;
        let after = match self.client.get_task(id).await {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Deleted rather than cancelled: it finished between the two calls.
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("Runway task {id} was deleted, not cancelled: it had finished"),
                )
                .with_provider(PROVIDER));
            }
            Err(e) => return Err(e),
        };
        match after.status {
            Wire::Cancelled => Ok(()),
            Wire::Succeeded | Wire::Failed => Err(finished(id, after.status.as_str())),
            other => Err(Error::new(
                ErrorKind::ProviderUnavailable,
                format!(
                    "Runway accepted the cancellation of task {id} but still reports it {}; not confirmed yet",
                    other.as_str()
                ),
            )
            .with_provider(PROVIDER)),
        }
    }
}

fn finished(id: &str, status: &str) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("Runway task {id} is already {status}; a finished task cannot be cancelled"),
    )
    .with_provider(PROVIDER)
}

#[async_trait]
impl VideoProvider for RunwayProvider {
    fn id(&self) -> &str {
        ID
    }

    fn offerings(&self) -> &[Offering] {
        &self.video
    }

    /// Maps and creates the task. Runway takes neither our id nor a callback URL. The
    /// submission names the offering's model (`gen4`, the family); the Runway model it
    /// ran on follows from the stored request ([`crate::rules::UpstreamModel::for_request`]).
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let create = mapping::create_request(req.request, req.operation)?;
        let created = self.client.create(&create).await?;
        tracing::debug!(task = %created.id, runway_model = create.model(), "runway task created");
        Ok(mapping::submission(&created, &req.offering.provider_model))
    }

    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let t = self.client.get_task(&task.provider_task_id).await?;
        mapping::snapshot(&t)
    }

    /// Runway cannot find a task by our id (no external id, no task list): always an
    /// error, so the hold is kept (X4) — never the `Ok(None)` that would refund a task
    /// Runway may be running.
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "Runway cannot find a task by our id {} (its API takes no external id and lists no tasks); the hold stays until the operator deadline",
                task.external_id
            ),
        )
        .with_provider(PROVIDER))
    }

    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        self.cancel_task(task).await
    }
}

/// The registration's build function.
pub(crate) fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    Ok(RunwayProvider::from_settings(settings, catalog)?.map(RunwayProvider::into_provider))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_without_the_secret_build_nothing() {
        assert!(build(&ProviderSettings::new(), Catalog::builtin())
            .unwrap()
            .is_none());
    }

    #[test]
    fn bad_settings_are_named() {
        let s = ProviderSettings::new()
            .set(SETTING_API_SECRET, "key")
            .set(SETTING_BASE_URL, "ftp://runway");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(e.message().starts_with("base_url"), "{}", e.message());
        let s = ProviderSettings::new()
            .set(SETTING_API_SECRET, "key")
            .set(SETTING_TIMEOUT_SECS, "0");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(
            e.message().starts_with(SETTING_TIMEOUT_SECS),
            "{}",
            e.message()
        );
    }

    #[test]
    fn registered_with_inventory_and_the_declaration_builds_it() {
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
        let set = SettingSources::default()
            .resolve(reg, &env(&[("RUNWAYML_API_SECRET", "key_1")]))
            .unwrap();
        let settings = set.check().unwrap().expect("configured");
        assert_eq!(settings.get(SETTING_BASE_URL), Some(DEFAULT_BASE_URL));
        let p = (reg.build)(&settings, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), ID);
        assert!(p.video_half().is_some() && p.image_half().is_none());
        let e = SettingSources::default()
            .resolve(reg, &env(&[("RUNWAY_BASE_URL", "ftp://runway")]))
            .unwrap_err();
        assert!(
            e.message()
                .starts_with("RUNWAY_BASE_URL ([providers.runway] base_url)"),
            "{e}"
        );
    }
}
