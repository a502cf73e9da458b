//! [`KlingProvider`]: genmux's `VideoProvider` and `ImageProvider` over the Kling `/v1`
//! API. Mapping is in [`crate::mapping`], I/O in [`crate::client`].

use crate::auth::Credentials;
use crate::callback;
use crate::client::{KlingClient, KlingConfig, GLOBAL_BASE_URL};
use crate::error::PROVIDER;
use crate::mapping::{self, Plan};
use crate::offerings;
use crate::wire::ListQuery;
use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::{
    async_trait, Catalog, Error, ErrorKind, ImageProvider, Offering, Provider, ProviderSettings,
    Result, Submission, SubmitRequest, TaskRef, TaskSnapshot, UnknownTask, VideoProvider,
};
use std::sync::Arc;

/// The provider id; also its config section `[providers.kling]`.
pub const ID: &str = "kling";

/// A list scan for a task of unknown outcome reads pages of this size (the spec's maximum
/// `pageSize`, "Common rules")…
const LIST_SCAN_PAGE_SIZE: u32 = 500;
/// …and at most this many of them (10,000 tasks) before it gives up for this round.
const LIST_SCAN_MAX_PAGES: u32 = 20;
/// Tasks created this long before the submission left cannot be it (clock skew between
/// us and Kling, generously).
const LIST_SCAN_SKEW_MS: i64 = 10 * 60 * 1000;
/// Setting: the AccessKey of the Kling account (the JWT's `iss`).
pub const SETTING_ACCESS_KEY: &str = "KLING_ACCESS_KEY";
/// Setting: the SecretKey of the Kling account (signs the JWT).
pub const SETTING_SECRET_KEY: &str = "KLING_SECRET_KEY";
/// Setting: a static API key, instead of the AccessKey/SecretKey pair (spec "Auth").
pub const SETTING_API_KEY: &str = "KLING_API_KEY";
/// Setting (optional): the API base URL (default [`GLOBAL_BASE_URL`]).
pub const SETTING_BASE_URL: &str = "KLING_BASE_URL";
/// Setting (optional): USD per Kling unit for this account (default 0.14, the spec's
/// indicative price); prices the offerings for the router (issue 14 point 4).
pub const SETTING_USD_PER_UNIT: &str = "KLING_USD_PER_UNIT";

/// Everything the `kling` provider reads, as its registration declares it (issue 14
/// point 2): the credentials are secrets, either the AccessKey + SecretKey pair or a
/// static API key (spec "Auth"; giving both is refused by [`KlingProvider::from_settings`]);
/// the base URL defaults to the global endpoint (`https://api-beijing.klingai.com` for the
/// China region). There is no callback secret: Kling does not sign callbacks (spec
/// "Errors, limits, callbacks").
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(
        SETTING_ACCESS_KEY,
        "access_key",
        "AccessKey of the Kling account (with KLING_SECRET_KEY; or set KLING_API_KEY instead)",
    )
    .secret()
    .required_in("access key pair"),
    SettingSpec::new(
        SETTING_SECRET_KEY,
        "secret_key",
        "SecretKey of the Kling account (signs the JWT)",
    )
    .secret()
    .required_in("access key pair"),
    SettingSpec::new(
        SETTING_API_KEY,
        "api_key",
        "static API key of the Kling account, sent as the bearer token (instead of KLING_ACCESS_KEY + KLING_SECRET_KEY)",
    )
    .secret()
    .required_in("api key"),
    SettingSpec::new(
        SETTING_BASE_URL,
        "base_url",
        "Kling API base URL (https://api-beijing.klingai.com for China)",
    )
    .kind(SettingKind::Url)
    .default_value(GLOBAL_BASE_URL),
    SettingSpec::new(
        SETTING_USD_PER_UNIT,
        "usd_per_unit",
        "what one Kling unit costs this account in USD (resource pack price); ranks Kling against other providers",
    )
    .kind(SettingKind::NonNegativeNumber)
    .default_value("0.14"),
];

/// Kling as a genmux provider: offerings for every catalog entry with a `kling` provider
/// model, submissions mapped to the native endpoints, status by the task's operation
/// (task affinity), and callbacks parsed as hints (Kling does not sign them).
#[derive(Debug)]
pub struct KlingProvider {
    client: KlingClient,
    usd_per_unit: f64,
    /// Units identify-face charged (its `final_unit_deduction`) for each lip-sync task
    /// this provider submitted, by upstream task id, until the task's final snapshot
    /// adds them to what the task cost (issue 15 point 5).
    identify_face_units: std::sync::Mutex<std::collections::HashMap<String, f64>>,
    video: Vec<Offering>,
    image: Vec<Offering>,
}

impl KlingProvider {
    /// A provider for one Kling account, offering what `catalog` assigns to `kling`.
    pub fn new(config: KlingConfig, catalog: &Catalog) -> Result<Self> {
        let (video, image) = offerings::offerings_at(catalog, config.usd_per_unit);
        let usd_per_unit = config.usd_per_unit;
        let client = KlingClient::new(config)?;
        Ok(KlingProvider {
            client,
            usd_per_unit,
            identify_face_units: Default::default(),
            video,
            image,
        })
    }

    /// Builds from settings `KLING_ACCESS_KEY` + `KLING_SECRET_KEY`, or `KLING_API_KEY`
    /// (exactly one of the two kinds), `KLING_BASE_URL` (default the global endpoint) and
    /// `KLING_USD_PER_UNIT`. `Ok(None)` when no credential is set; an error naming the
    /// settings when a pair is half set or both kinds are.
    pub fn from_settings(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Self>> {
        let Some(credentials) = credentials(settings)? else {
            return Ok(None);
        };
        let mut config = KlingConfig::with_credentials(credentials);
        if let Some(url) = settings.get(SETTING_BASE_URL) {
            config.base_url = url.to_string();
        }
        if let Some(rate) = settings.get(SETTING_USD_PER_UNIT) {
            config.usd_per_unit = rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{SETTING_USD_PER_UNIT}: `{rate}` is not a price in USD (allowed: a number ≥ 0, e.g. 0.14)"
                    ))
                    .with_provider(PROVIDER)
                })?;
        }
        KlingProvider::new(config, catalog).map(Some)
    }

    /// Wraps the provider as the router holds it (both halves share one client).
    pub fn into_provider(self) -> Result<Provider> {
        let p = Arc::new(self);
        Provider::both(p.clone(), p)
    }

    /// The underlying client, for native calls genmux does not model.
    pub fn client(&self) -> &KlingClient {
        &self.client
    }

    /// The video offerings.
    pub fn video_offerings(&self) -> &[Offering] {
        &self.video
    }

    /// The image offerings.
    pub fn image_offerings(&self) -> &[Offering] {
        &self.image
    }

    /// Submits: maps the request and creates the task (identify-face first for lip sync).
    /// The gateway's `callback_url` and minted `external_id` go upstream.
    pub async fn submit_task(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let model = req.offering.provider_model.as_str();
        let ext = Some(req.external_id);
        let mut identify_units = None;
        let native = match mapping::plan(req.request, req.operation, model, req.callback_url, ext)?
        {
            Plan::Create(native) => native,
            Plan::IdentifyFaceThenLipSync(identify) => {
                // Synchronous and task-less: its failure is never maybe-accepted.
                let faces = self.client.identify_face(&identify).await?;
                identify_units = mapping::deduction_units(faces.final_unit_deduction.as_ref());
                if let Some(units) = identify_units {
                    // Billed now, whatever happens to the lip-sync task: logged with the
                    // submission so the cost is never lost.
                    tracing::info!(
                        provider = PROVIDER,
                        external_id = req.external_id,
                        session_id = %faces.session_id,
                        units,
                        usd = units * self.usd_per_unit,
                        "kling identify-face billed"
                    );
                }
                mapping::lip_sync_request(req.request, &faces, req.callback_url, ext)?
            }
        };
        let task = self.client.create(native.endpoint, &native.body).await?;
        if let Some(units) = identify_units {
            self.identify_face_units
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(task.task_id.clone(), units);
        }
        Ok(mapping::submission(&task, model))
    }

    /// The unified snapshot of a Kling task, with what Kling billed this account in USD
    /// (`final_unit_deduction` × the configured USD per unit).
    ///
    /// A lip-sync task this provider submitted also carries the units its identify-face
    /// call was charged (`usage.identify_face_unit_deduction`, included in the billed USD)
    /// once it succeeded; after a restart only the log line of the submission has them.
    fn snapshot(&self, task: &crate::wire::Task) -> Result<TaskSnapshot> {
        let mut snap = mapping::snapshot(task)?;
        snap.billed_usd_micros = mapping::billed_usd_micros(task, self.usd_per_unit);
        let mut pending = self
            .identify_face_units
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(units) = pending.get(&task.task_id).copied() {
            if snap.status.is_final() {
                pending.remove(&task.task_id);
            }
            if snap.status == genmux_core::TaskStatus::Succeeded {
                mapping::add_identify_face_units(&mut snap, units, self.usd_per_unit);
            }
        }
        Ok(snap)
    }

    /// Queries a task at the endpoint of the operation that created it.
    pub async fn task_status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let endpoint = mapping::endpoint_for(task.operation);
        let native = self.client.get(endpoint, &task.provider_task_id).await?;
        self.snapshot(&native)
    }

    /// Finds a task of unknown submission outcome by the `external_task_id` genmux sent:
    /// by the single-task query where the endpoint accepts the external id, otherwise by
    /// scanning the endpoint's task list newest first (spec/kling-api.md
    /// "Reconciliation"). `Ok(None)` only when the upstream positively has no such task.
    pub async fn find_unknown_task(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        let endpoint = mapping::endpoint_for(task.operation);
        if endpoint.query_accepts_external_id() {
            return match self.client.get(endpoint, &task.external_id).await {
                Ok(native) => self.snapshot(&native).map(Some),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            };
        }
        // Newest first: once a page reaches tasks created well before the submission left,
        // every task that could be ours has been seen.
        let horizon = task.sent_at_unix_ms - LIST_SCAN_SKEW_MS;
        for page in 1..=LIST_SCAN_MAX_PAGES {
            let items = self
                .client
                .list(
                    endpoint,
                    ListQuery {
                        page_num: Some(page),
                        page_size: Some(LIST_SCAN_PAGE_SIZE),
                    },
                )
                .await?;
            if let Some(found) = items
                .iter()
                .find(|t| t.task_info.external_task_id.as_deref() == Some(&task.external_id))
            {
                return self.snapshot(found).map(Some);
            }
            let exhausted = items.len() < LIST_SCAN_PAGE_SIZE as usize;
            let past_horizon = items.last().is_some_and(|t| t.created_at < horizon);
            if exhausted || past_horizon {
                return Ok(None);
            }
        }
        // Too many newer tasks to be sure: undecided, asked again later (never a refund on a
        // guess, X4).
        Err(Error::new(
            ErrorKind::ProviderUnavailable,
            format!(
                "task with external_task_id {} not among the newest {} tasks at {}; still looking",
                task.external_id,
                LIST_SCAN_MAX_PAGES * LIST_SCAN_PAGE_SIZE,
                endpoint.path()
            ),
        )
        .with_provider(PROVIDER))
    }

    /// Parses a callback. Kling does not sign callbacks, so the snapshot is a hint only: the
    /// receiver confirms it with [`KlingProvider::task_status`] before acting on it
    /// (spec "Errors, limits, callbacks"; the gateway's `api::callbacks` does).
    pub fn parse_task_callback(
        &self,
        _headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<TaskSnapshot> {
        let task = callback::parse_task(body)?;
        self.snapshot(&task)
    }
}

#[async_trait]
impl VideoProvider for KlingProvider {
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
        self.find_unknown_task(task).await
    }
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        self.parse_task_callback(headers, body)
    }
}

#[async_trait]
impl ImageProvider for KlingProvider {
    fn id(&self) -> &str {
        ID
    }
    fn offerings(&self) -> &[Offering] {
        &self.image
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        self.submit_task(req).await
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.task_status(task).await
    }
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        self.find_unknown_task(task).await
    }
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        self.parse_task_callback(headers, body)
    }
}

/// The credentials the settings give: the AccessKey/SecretKey pair or the static API key,
/// never both (spec "Auth": an account uses one kind).
fn credentials(settings: &ProviderSettings) -> Result<Option<Credentials>> {
    let refuse = |msg: &str| Err(Error::invalid(msg).with_provider(PROVIDER));
    let pair = (
        settings.get(SETTING_ACCESS_KEY),
        settings.get(SETTING_SECRET_KEY),
    );
    match (pair, settings.get(SETTING_API_KEY)) {
        ((None, None), None) => Ok(None),
        ((None, None), Some(key)) => Ok(Some(Credentials::ApiKey(key.to_string()))),
        ((Some(ak), Some(sk)), None) => Ok(Some(Credentials::AccessKey {
            access_key: ak.to_string(),
            secret_key: sk.to_string(),
        })),
        (_, Some(_)) => refuse(
            "KLING_API_KEY: set together with KLING_ACCESS_KEY/KLING_SECRET_KEY; an account authenticates one way: set either the API key or the AccessKey + SecretKey pair, not both",
        ),
        ((Some(_), None), None) => refuse("KLING_SECRET_KEY: not set (KLING_ACCESS_KEY is)"),
        ((None, Some(_)), None) => refuse("KLING_ACCESS_KEY: not set (KLING_SECRET_KEY is)"),
    }
}

/// The registration's build function.
pub(crate) fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    match KlingProvider::from_settings(settings, catalog)? {
        Some(p) => p.into_provider().map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::ErrorKind;

    #[test]
    fn settings_without_keys_build_nothing() {
        let none = build(&ProviderSettings::new(), Catalog::builtin()).unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn settings_with_one_key_name_the_other() {
        let s = ProviderSettings::new().set("KLING_ACCESS_KEY", "ak");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(
            e.message().starts_with("KLING_SECRET_KEY"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn settings_build_both_halves() {
        let s = ProviderSettings::new()
            .set("KLING_ACCESS_KEY", "ak")
            .set("KLING_SECRET_KEY", "sk")
            .set("KLING_BASE_URL", "http://127.0.0.1:9");
        let p = build(&s, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), "kling");
        assert!(p.video_half().is_some() && p.image_half().is_some());
        let models: Vec<_> = p.offerings().iter().map(|(_, o)| o.model.clone()).collect();
        for m in [
            "kling-2.5-turbo",
            "kling-lip-sync",
            "kling-omni-image",
            "kling-image",
        ] {
            assert!(models.iter().any(|x| x == m), "{m} missing from {models:?}");
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let s = ProviderSettings::new()
            .set("KLING_ACCESS_KEY", "ak")
            .set("KLING_SECRET_KEY", "sk")
            .set("KLING_BASE_URL", "ftp://kling");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(e.message().starts_with("base_url"), "{}", e.message());
    }

    /// spec "Auth": a static API key alone builds the provider; with the key pair as well
    /// it is refused, naming both; an empty key is named too.
    #[test]
    fn an_api_key_or_the_key_pair_never_both() {
        let key = ProviderSettings::new().set("KLING_API_KEY", "kling-key");
        assert!(build(&key, Catalog::builtin()).unwrap().is_some());
        let both = ProviderSettings::new()
            .set("KLING_API_KEY", "kling-key")
            .set("KLING_ACCESS_KEY", "ak")
            .set("KLING_SECRET_KEY", "sk");
        let e = build(&both, Catalog::builtin()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert!(
            e.message()
                .starts_with("KLING_API_KEY: set together with KLING_ACCESS_KEY"),
            "{}",
            e.message()
        );
        let half = ProviderSettings::new()
            .set("KLING_API_KEY", "kling-key")
            .set("KLING_SECRET_KEY", "sk");
        assert!(build(&half, Catalog::builtin()).is_err());
    }

    #[test]
    fn registered_with_inventory() {
        crate::link();
        assert!(genmux_core::registrations().any(|r| r.id == "kling"));
    }

    /// The declaration and `build` agree: resolved from the declaration, nothing set
    /// builds nothing, the required settings alone build the provider against the declared
    /// default base URL, and a bad base URL is refused naming the setting.
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
        let keys = SettingSources::default()
            .resolve(
                reg,
                &env(&[("KLING_ACCESS_KEY", "ak"), ("KLING_SECRET_KEY", "sk")]),
            )
            .unwrap();
        let settings = keys.check().unwrap().expect("configured");
        assert_eq!(settings.get(SETTING_BASE_URL), Some(GLOBAL_BASE_URL));
        let p = (reg.build)(&settings, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), ID);
        // The static API key is the other complete set of credentials.
        let key = SettingSources::default()
            .resolve(reg, &env(&[("KLING_API_KEY", "kling-key")]))
            .unwrap();
        assert_eq!(key.state(), ProviderState::Configured);
        let settings = key.check().unwrap().expect("configured");
        assert!((reg.build)(&settings, Catalog::builtin())
            .unwrap()
            .is_some());
        // Half a pair is incomplete and names the missing half only.
        let half = SettingSources::default()
            .resolve(reg, &env(&[("KLING_ACCESS_KEY", "ak")]))
            .unwrap();
        assert_eq!(half.state(), ProviderState::Incomplete);
        let missing: Vec<&str> = half.missing().iter().map(|s| s.env).collect();
        assert_eq!(missing, ["KLING_SECRET_KEY"]);
        let e = SettingSources::default()
            .resolve(reg, &env(&[("KLING_BASE_URL", "ftp://kling")]))
            .unwrap_err();
        assert!(
            e.message()
                .starts_with("KLING_BASE_URL ([providers.kling] base_url)"),
            "{e}"
        );
    }
}
