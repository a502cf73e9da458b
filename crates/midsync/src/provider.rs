//! [`MidsyncProvider`]: a provider whose upstream is another unified-API service, so the
//! catalog models Kling does not serve (seedance, runway, hailuo, grok) are reachable
//! through an upstream account, and gateways can be chained.

use crate::client::MidsyncClient;
use crate::mapping::{self, PROVIDER_ID};
use genmux_core::catalog::FieldType;
use genmux_core::pricing::{PriceRule, Rate, POINTS_PER_USD};
use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::webhook::WebhookSecret;
use genmux_core::{
    async_trait, Capability, Catalog, Error, ErrorKind, ImageProvider, MediaKind, ModelSpec,
    Offering, Operation, Provider, ProviderRegistration, ProviderSettings, Result, SecondsSet,
    Submission, SubmitRequest, TaskRef, TaskSnapshot, UnknownLookup, UnknownTask, VideoProvider,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Setting: the upstream's base URL.
pub const SETTING_BASE_URL: &str = "MIDSYNC_BASE_URL";
/// Setting: the upstream account's API key (sent as `Authorization: Bearer`).
pub const SETTING_API_KEY: &str = "MIDSYNC_API_KEY";
/// Setting (optional): the `whsec_…` secret the upstream signs its callbacks with.
pub const SETTING_WEBHOOK_SECRET: &str = "MIDSYNC_WEBHOOK_SECRET";
/// Setting (optional): per-request timeout in seconds (default 30).
pub const SETTING_TIMEOUT_SECS: &str = "MIDSYNC_TIMEOUT_SECS";
/// Setting (optional): what one of the upstream's points costs this account in USD
/// (default 1 / [`POINTS_PER_USD`] = 0.02); prices the offerings for the router.
pub const SETTING_USD_PER_POINT: &str = "MIDSYNC_USD_PER_POINT";

/// Everything the `midsync` provider reads, as its registration declares it (issue 14
/// point 2; config section `[providers.midsync]`). The upstream has no well-known address,
/// so the base URL is required with the key.
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(
        SETTING_API_KEY,
        "api_key",
        "API key of the upstream account (sent as Bearer)",
    )
    .secret()
    .required(),
    SettingSpec::new(
        SETTING_BASE_URL,
        "base_url",
        "base URL of the upstream unified API, e.g. https://api.example.com",
    )
    .kind(SettingKind::Url)
    .required(),
    SettingSpec::new(
        SETTING_WEBHOOK_SECRET,
        "webhook_secret",
        "whsec_ secret the upstream signs its callbacks with; unsigned callbacks are refused when set",
    )
    .secret()
    .kind(SettingKind::WebhookSecret),
    SettingSpec::new(
        SETTING_TIMEOUT_SECS,
        "timeout_secs",
        "per-request timeout in seconds",
    )
    .kind(SettingKind::PositiveInteger)
    .default_value("30"),
    SettingSpec::new(
        SETTING_USD_PER_POINT,
        "usd_per_point",
        "what one upstream point costs this account in USD; ranks midsync against other providers",
    )
    .kind(SettingKind::NonNegativeNumber)
    .default_value("0.02"),
];

/// How to reach the upstream.
#[derive(Clone, Debug)]
pub struct MidsyncConfig {
    /// Base URL, e.g. `https://api.example.com`.
    pub base_url: String,
    /// The upstream account's key.
    pub api_key: String,
    /// Secret of the upstream's signed callbacks; unsigned callbacks are refused when set.
    pub webhook_secret: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// What one of the upstream's points costs this account in USD.
    pub usd_per_point: f64,
}

impl MidsyncConfig {
    /// A config with the default 30 s timeout and no callback secret.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        MidsyncConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            webhook_secret: None,
            timeout: Duration::from_secs(30),
            usd_per_point: 1.0 / POINTS_PER_USD as f64,
        }
    }
}

/// A remote unified API as a genmux provider (id `midsync`).
#[derive(Debug)]
pub struct MidsyncProvider {
    client: MidsyncClient,
    video: Vec<Offering>,
    image: Vec<Offering>,
    webhook_secret: Option<WebhookSecret>,
    usd_per_point: f64,
}

/// The capability of a catalog model as a unified upstream serves it: the upstream
/// validates against the same catalog shape, so the model's own fields say what it takes.
fn capability_of(spec: &ModelSpec, ops: &[Operation]) -> Capability {
    let has = |name: &str| spec.field(name).is_some();
    let mut cap = Capability {
        audio: has("generateAudio"),
        camera_control: has("cameraControl")
            || spec
                .fields
                .iter()
                .any(|f| f.name.starts_with("cameraControl.")),
        negative_prompt: has("negativePrompt"),
        cfg_scale: has("cfgScale"),
        multi_shot: has("multiShots") || has("multiPrompt"),
        elements: has("klingElements") || has("elementIds"),
        masks: has("staticMask") || has("dynamicMasks"),
        // spec/unified-api.md: the unified API has no lookup by external id and no task
        // list, so a submission of unknown outcome waits for the upstream's callback or
        // the operator deadline (issue 13, X4).
        unknown_lookup: UnknownLookup::NotFindable,
        max_images: spec
            .field("images")
            .and_then(|f| f.max_items)
            .and_then(|n| u8::try_from(n).ok()),
        durations: spec.field("duration").and_then(|f| {
            if let Some(allowed) = &f.allowed {
                let secs: Vec<u32> = allowed
                    .iter()
                    .filter_map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                    .collect();
                Some(SecondsSet::of(&secs))
            } else if f.ty == FieldType::Integer {
                match (f.min, f.max) {
                    (Some(lo), Some(hi)) if lo >= 0.0 && hi < 64.0 => {
                        Some(SecondsSet::range(lo as u32, hi as u32))
                    }
                    _ => None,
                }
            } else {
                None
            }
        }),
        max_prompt_chars: spec.field("prompt").and_then(|f| f.max_length),
        // spec/unified-api.md has no cancel endpoint (models, quote, generate, status,
        // usage): a task sent there cannot be cancelled.
        cancel: false,
        ..Default::default()
    };
    for op in ops {
        match op {
            Operation::TextToVideo => cap.text_to_video = true,
            Operation::ImageToVideo => cap.image_to_video = true,
            Operation::StartEndFrame => cap.start_end_frame = true,
            Operation::MultiImageToVideo => cap.multi_image_to_video = true,
            Operation::MotionControl => cap.motion_control = true,
            Operation::VideoExtend => cap.video_extend = true,
            Operation::LipSync => cap.lip_sync = true,
            Operation::TextToImage => cap.text_to_image = true,
            Operation::ImageToImage => cap.image_to_image = true,
            Operation::OmniImage => cap.omni_image = true,
        }
    }
    cap
}

/// The upstream publishes its points for the same catalog (its `/quote`); its cost in USD
/// is those points × what a point costs this account (issue 14 point 4).
fn cost_of(spec: &ModelSpec, usd_per_point: f64) -> PriceRule {
    PriceRule {
        rates: spec
            .price
            .rates
            .iter()
            .map(|r| Rate {
                when: r.when.clone(),
                base: r.base * usd_per_point,
                per_unit: r.per_unit * usd_per_point,
            })
            .collect(),
        source: Some(format!(
            "upstream unified API: its published points × ${usd_per_point} per point"
        )),
        ..spec.price.clone()
    }
}

/// The offerings of every catalog model of `kind` that names provider `midsync`, at the
/// default 1 / [`POINTS_PER_USD`] USD per upstream point.
pub fn offerings_from_catalog(catalog: &Catalog, kind: MediaKind) -> Vec<Offering> {
    offerings_at(catalog, kind, 1.0 / POINTS_PER_USD as f64)
}

/// The offerings of every catalog model of `kind` that names provider `midsync`, for an
/// account paying `usd_per_point` per upstream point.
pub fn offerings_at(catalog: &Catalog, kind: MediaKind, usd_per_point: f64) -> Vec<Offering> {
    let mut out = Vec::new();
    for spec in catalog.models().filter(|m| m.kind == kind) {
        for pm in spec.providers.iter().filter(|p| p.provider == PROVIDER_ID) {
            let ops: Vec<Operation> = if pm.operations.is_empty() {
                spec.operations.clone()
            } else {
                pm.operations.clone()
            };
            out.push(Offering {
                model: spec.id.clone(),
                provider_model: pm.model.clone(),
                capability: capability_of(spec, &ops),
                cost: cost_of(spec, usd_per_point),
            });
        }
    }
    out
}

impl MidsyncProvider {
    /// The provider id.
    pub const ID: &'static str = PROVIDER_ID;

    /// A provider for the upstream of `config`, serving the catalog's midsync offerings.
    pub fn new(config: MidsyncConfig, catalog: &Catalog) -> Result<Self> {
        let client = MidsyncClient::new(&config.base_url, &config.api_key, config.timeout)?;
        let webhook_secret = match config.webhook_secret.as_deref() {
            Some(s) if !s.trim().is_empty() => Some(
                WebhookSecret::parse(s)
                    .map_err(|e| Error::invalid(format!("{SETTING_WEBHOOK_SECRET}: {e}")))?,
            ),
            _ => None,
        };
        Ok(MidsyncProvider {
            client,
            video: offerings_at(catalog, MediaKind::Video, config.usd_per_point),
            image: offerings_at(catalog, MediaKind::Image, config.usd_per_point),
            webhook_secret,
            usd_per_point: config.usd_per_point,
        })
    }

    /// Builds from `MIDSYNC_BASE_URL` / `MIDSYNC_API_KEY` (and the optional
    /// `MIDSYNC_WEBHOOK_SECRET`, `MIDSYNC_TIMEOUT_SECS`); `Ok(None)` when either of the two
    /// required settings is missing.
    pub fn from_settings(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Self>> {
        let (Some(base), Some(key)) = (
            settings.get(SETTING_BASE_URL),
            settings.get(SETTING_API_KEY),
        ) else {
            return Ok(None);
        };
        let mut config = MidsyncConfig::new(base, key);
        config.webhook_secret = settings.get(SETTING_WEBHOOK_SECRET).map(str::to_string);
        if let Some(t) = settings.get(SETTING_TIMEOUT_SECS) {
            let secs: u64 = t.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                Error::invalid(format!(
                    "{SETTING_TIMEOUT_SECS}: `{t}` is not a positive number of seconds"
                ))
            })?;
            config.timeout = Duration::from_secs(secs);
        }
        if let Some(rate) = settings.get(SETTING_USD_PER_POINT) {
            config.usd_per_point = rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{SETTING_USD_PER_POINT}: `{rate}` is not a price in USD (allowed: a number ≥ 0, e.g. 0.02)"
                    ))
                })?;
        }
        Self::new(config, catalog).map(Some)
    }

    /// The provider as the router holds it (video and image halves).
    pub fn into_provider(self) -> Provider {
        let this = Arc::new(self);
        let video: Arc<dyn VideoProvider> = this.clone();
        let image: Arc<dyn ImageProvider> = this;
        // Both halves are the same value, so their ids agree.
        match Provider::both(video.clone(), image) {
            Ok(p) => p,
            Err(_) => Provider::video(video),
        }
    }

    /// The HTTP client.
    pub fn client(&self) -> &MidsyncClient {
        &self.client
    }

    async fn submit_any(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let body = mapping::generate_body(&req)?;
        self.client
            .generate(
                req.operation.output(),
                &body,
                &req.offering.provider_model,
                req.external_id,
            )
            .await
    }

    /// A task's status with what the upstream billed for it.
    async fn status_of(&self, kind: MediaKind, task_id: &str) -> Result<TaskSnapshot> {
        let body = self.client.status_body(kind, task_id).await?;
        let mut snap = mapping::parse_status(&body, task_id, kind)?;
        snap.billed_usd_micros = mapping::billed_usd_micros(&body, self.usd_per_point);
        // An upstream genmux serves the results it keeps with our key only; hand on signed
        // links, which load without it (issue 18). Kept as they are where it cannot sign.
        for asset in &mut snap.assets {
            if let Some(page) = mapping::kept_asset_link_url(self.client.base_url(), &asset.url) {
                match self.client.signed_link(&page).await {
                    Ok(link) => asset.url = link,
                    Err(e) => tracing::warn!(url = %asset.url, error = %e,
                        "the upstream gateway gave no signed link for a result it keeps"),
                }
            }
        }
        Ok(snap)
    }

    /// The unified API cannot find a task by our id (no lookup, no list).
    fn not_findable(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "the unified API cannot look up a task by external id ({}); waiting for its callback",
                task.external_id
            ),
        )
        .with_provider(PROVIDER_ID))
    }

    fn parse_any(
        &self,
        kind: MediaKind,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<TaskSnapshot> {
        if let Some(secret) = &self.webhook_secret {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            secret.verify_headers(headers, body, now).map_err(|e| {
                Error::new(
                    ErrorKind::Unauthenticated,
                    format!("upstream callback signature: {e}"),
                )
                .with_provider(PROVIDER_ID)
            })?;
        }
        let id = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("taskId").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_default();
        let mut snap = mapping::parse_status(body, &id, kind)?;
        snap.billed_usd_micros = mapping::billed_usd_micros(body, self.usd_per_point);
        Ok(snap)
    }
}

#[async_trait]
impl VideoProvider for MidsyncProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }
    fn offerings(&self) -> &[Offering] {
        &self.video
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        self.submit_any(req).await
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.status_of(MediaKind::Video, &task.provider_task_id)
            .await
    }
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        self.not_findable(task)
    }
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        self.parse_any(MediaKind::Video, headers, body)
    }
}

#[async_trait]
impl ImageProvider for MidsyncProvider {
    fn id(&self) -> &str {
        PROVIDER_ID
    }
    fn offerings(&self) -> &[Offering] {
        &self.image
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        self.submit_any(req).await
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.status_of(MediaKind::Image, &task.provider_task_id)
            .await
    }
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        self.not_findable(task)
    }
    fn parse_callback(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        self.parse_any(MediaKind::Image, headers, body)
    }
}

fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    Ok(MidsyncProvider::from_settings(settings, catalog)?.map(MidsyncProvider::into_provider))
}

inventory::submit! {
    ProviderRegistration {
        id: PROVIDER_ID,
        description: "a remote unified video/image API (another genmux or a compatible service)",
        settings: SETTINGS,
        build,
    }
}

/// Forces this crate to be linked so its [`ProviderRegistration`] is collected
/// (`ARCHITECTURE.md` "Extending": an unreferenced crate's registration vanishes).
pub fn link() {}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::{registrations, GenerationRequest};

    #[test]
    fn offerings_cover_the_catalog_midsync_models() {
        let c = Catalog::builtin();
        let video = offerings_from_catalog(c, MediaKind::Video);
        let models: Vec<&str> = video.iter().map(|o| o.model.as_str()).collect();
        for m in [
            "seedance-1.5-pro",
            "runway",
            "hailuo-2.3-standard",
            "grok-video",
        ] {
            assert!(models.contains(&m), "{m} missing from {models:?}");
        }
        assert!(!models.contains(&"kling-lip-sync"));
        let seedance = video
            .iter()
            .find(|o| o.model == "seedance-1.5-pro")
            .unwrap();
        assert!(seedance.capability.audio && seedance.capability.text_to_video);
        let req = GenerationRequest {
            model: "seedance-1.5-pro".into(),
            prompt: Some("a beach at dusk".into()),
            duration: Some(8),
            resolution: Some("720p".into()),
            ..Default::default()
        };
        let q = c.quote(&req).unwrap();
        assert_eq!(
            seedance.capability.supports(&q.request, q.operation),
            Ok(())
        );
        // cost in micro-USD = the catalog's unrounded price in micro-points / 50
        let inputs = genmux_core::catalog::price_inputs(&q.request, q.operation);
        let micro_points = c
            .model("seedance-1.5-pro")
            .unwrap()
            .price
            .amount_micros(&inputs)
            .unwrap();
        let cost = seedance.cost_micros(&inputs);
        assert!((cost - micro_points / POINTS_PER_USD).abs() <= 1, "{cost}");
    }

    #[test]
    fn settings_without_credentials_build_nothing_and_bad_values_are_named() {
        let c = Catalog::builtin();
        assert!(MidsyncProvider::from_settings(&ProviderSettings::new(), c)
            .unwrap()
            .is_none());
        let bad = ProviderSettings::new()
            .set(SETTING_BASE_URL, "ftp://x")
            .set(SETTING_API_KEY, "k");
        let err = MidsyncProvider::from_settings(&bad, c).unwrap_err();
        assert!(err.message().contains("MIDSYNC_BASE_URL"), "{err}");
        let t = ProviderSettings::new()
            .set(SETTING_BASE_URL, "http://127.0.0.1:9")
            .set(SETTING_API_KEY, "k")
            .set(SETTING_TIMEOUT_SECS, "soon");
        let err = MidsyncProvider::from_settings(&t, c).unwrap_err();
        assert!(err.message().contains("`soon`"), "{err}");
    }

    #[test]
    fn registered_with_inventory() {
        link();
        assert!(registrations().any(|r| r.id == "midsync"));
    }

    /// The declaration and `build` agree: nothing set builds nothing, the key without the
    /// base URL is incomplete (naming MIDSYNC_BASE_URL), both build the provider with the
    /// declared default timeout, and the webhook secret is checked by its declared kind.
    #[test]
    fn the_declared_settings_build_the_provider() {
        use genmux_core::settings::{check_declaration, ProviderState, SettingSources};
        link();
        let reg = registrations().find(|r| r.id == PROVIDER_ID).unwrap();
        check_declaration(reg).unwrap();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let sources = SettingSources::default();
        let none = sources.resolve(reg, &env(&[])).unwrap();
        assert_eq!(none.state(), ProviderState::NotConfigured);
        let key_only = sources
            .resolve(reg, &env(&[("MIDSYNC_API_KEY", "k")]))
            .unwrap();
        let e = key_only.check().unwrap_err();
        assert!(
            e.message()
                .contains("MIDSYNC_BASE_URL ([providers.midsync] base_url) not set"),
            "{e}"
        );
        let both = sources
            .resolve(
                reg,
                &env(&[
                    ("MIDSYNC_API_KEY", "k"),
                    ("MIDSYNC_BASE_URL", "http://127.0.0.1:9"),
                ]),
            )
            .unwrap();
        let settings = both.check().unwrap().expect("configured");
        assert_eq!(settings.get(SETTING_TIMEOUT_SECS), Some("30"));
        let p = (reg.build)(&settings, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), PROVIDER_ID);
        let e = sources
            .resolve(reg, &env(&[("MIDSYNC_WEBHOOK_SECRET", "not-a-secret!")]))
            .unwrap_err();
        assert!(e.message().starts_with("MIDSYNC_WEBHOOK_SECRET"), "{e}");
    }
}
