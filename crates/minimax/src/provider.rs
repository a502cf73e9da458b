//! [`MiniMaxProvider`]: genmux's `VideoProvider` over the MiniMax video API. Mapping is in
//! [`crate::mapping`], I/O in [`crate::client`].

use crate::client::{MiniMaxClient, MiniMaxConfig, GLOBAL_BASE_URL};
use crate::error::PROVIDER;
use crate::mapping::{self, QueryOutcome};
use crate::offerings;
use crate::wire::Callback;
use genmux_core::settings::{SettingKind, SettingSpec};
use genmux_core::{
    async_trait, Catalog, Error, ErrorKind, Offering, Provider, ProviderSettings, Result,
    Submission, SubmitRequest, TaskRef, TaskSnapshot, UnknownTask, VideoProvider,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The provider id; also its config section `[providers.minimax]`.
pub const ID: &str = PROVIDER;
/// Setting: the MiniMax API key (sent as `Authorization: Bearer`).
pub const SETTING_API_KEY: &str = "MINIMAX_API_KEY";
/// Setting (optional): the API base URL (default [`GLOBAL_BASE_URL`];
/// [`crate::CHINA_BASE_URL`] for the China region).
pub const SETTING_BASE_URL: &str = "MINIMAX_BASE_URL";
/// Setting (optional): per-request timeout in seconds (default 60).
pub const SETTING_TIMEOUT_SECS: &str = "MINIMAX_TIMEOUT_SECS";

/// Everything the `minimax` provider reads, as its registration declares it (config
/// section `[providers.minimax]`): the key is a secret and required; the base URL defaults
/// to the international endpoint.
pub static SETTINGS: &[SettingSpec] = &[
    SettingSpec::new(
        SETTING_API_KEY,
        "api_key",
        "API key of the MiniMax account (sent as Bearer)",
    )
    .secret()
    .required(),
    SettingSpec::new(
        SETTING_BASE_URL,
        "base_url",
        "MiniMax API base URL (https://api.minimaxi.com for China)",
    )
    .kind(SettingKind::Url)
    .default_value(GLOBAL_BASE_URL),
    SettingSpec::new(
        SETTING_TIMEOUT_SECS,
        "timeout_secs",
        "per-request timeout in seconds (a submission that times out is never resent)",
    )
    .kind(SettingKind::PositiveInteger)
    .default_value("60"),
];

/// MiniMax as a genmux provider: offerings for every catalog entry with a `minimax`
/// provider model, submissions mapped to `POST /v1/video_generation`, status by query and
/// (once done) `files/retrieve`, callbacks read as a challenge (echoed) or a hint (confirmed
/// by a query).
#[derive(Debug)]
pub struct MiniMaxProvider {
    client: MiniMaxClient,
    video: Vec<Offering>,
}

impl MiniMaxProvider {
    /// A provider for one MiniMax account, offering what `catalog` assigns to `minimax`.
    pub fn new(config: MiniMaxConfig, catalog: &Catalog) -> Result<Self> {
        Ok(MiniMaxProvider {
            client: MiniMaxClient::new(config)?,
            video: offerings::offerings(catalog),
        })
    }

    /// Builds from `MINIMAX_API_KEY` (required), `MINIMAX_BASE_URL` and
    /// `MINIMAX_TIMEOUT_SECS`; `Ok(None)` when no key is set.
    pub fn from_settings(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Self>> {
        let Some(key) = settings.get(SETTING_API_KEY) else {
            return Ok(None);
        };
        let mut config = MiniMaxConfig::new(key);
        if let Some(url) = settings.get(SETTING_BASE_URL) {
            config.base_url = url.trim().to_string();
        }
        if let Some(t) = settings.get(SETTING_TIMEOUT_SECS) {
            let secs: u64 = t.trim().parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                Error::invalid(format!(
                    "{SETTING_TIMEOUT_SECS}: `{t}` is not a positive number of seconds"
                ))
                .with_provider(PROVIDER)
            })?;
            config.timeouts.request = Duration::from_secs(secs);
        }
        Self::new(config, catalog).map(Some)
    }

    /// Wraps the provider as the router holds it (a video half only).
    pub fn into_provider(self) -> Provider {
        Provider::video(Arc::new(self))
    }

    /// The underlying client.
    pub fn client(&self) -> &MiniMaxClient {
        &self.client
    }

    /// Submits: maps the request (the offering's MiniMax model, the gateway's callback
    /// URL) and creates the task.
    pub async fn submit_task(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let model = req.offering.provider_model.as_str();
        let body =
            mapping::video_generation_request(req.request, req.operation, model, req.callback_url)?;
        let task_id = self.client.create_video_generation(&body).await?;
        Ok(mapping::submission(&task_id, model))
    }

    /// Queries a task; once it succeeded, retrieves its file for the download URL.
    pub async fn task_status(&self, task_id: &str) -> Result<TaskSnapshot> {
        let answer = self.client.query_video_generation(task_id).await?;
        match mapping::query_outcome(&answer, task_id)? {
            QueryOutcome::Snapshot(snap) => Ok(snap),
            QueryOutcome::Retrieve { task_id, file_id } => {
                let file = self.client.retrieve_file(&file_id).await?;
                Ok(mapping::succeeded(&task_id, &file))
            }
        }
    }

    /// Reads a callback body: the challenge, or a status change.
    fn callback(body: &[u8]) -> Result<Callback> {
        Callback::parse(body)
            .map_err(|e| Error::invalid(format!("callback body: {e}")).with_provider(PROVIDER))
    }
}

#[async_trait]
impl VideoProvider for MiniMaxProvider {
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
        self.task_status(&task.provider_task_id).await
    }
    /// MiniMax takes no id of ours and lists no tasks: a submission whose answer was lost
    /// is learnt of only when its callback names it (never refunded on a guess, X4).
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "MiniMax cannot look a task up by our id ({}); waiting for its callback",
                task.external_id
            ),
        )
        .with_provider(PROVIDER))
    }
    /// A status callback as a hint: the task and its status, without assets (the
    /// download URL comes only from `files/retrieve`); the gateway confirms every callback
    /// by a query (spec: "Unsigned: confirm by querying"). A challenge carries no status.
    fn parse_callback(&self, _headers: &http::HeaderMap, body: &[u8]) -> Result<TaskSnapshot> {
        match Self::callback(body)? {
            Callback::Status(s) => Ok(mapping::callback_hint(&s)),
            Callback::Challenge(_) => Err(Error::invalid(
                "callback body: a challenge, which carries no task status",
            )
            .with_provider(PROVIDER)),
        }
    }
    /// spec: the first POST, `{"challenge":"…"}`, is answered with the same JSON.
    fn callback_handshake(
        &self,
        _headers: &http::HeaderMap,
        body: &[u8],
    ) -> Option<serde_json::Value> {
        match Self::callback(body) {
            Ok(Callback::Challenge(c)) => Some(json!({ "challenge": c })),
            _ => None,
        }
    }
}

/// The registration's build function.
pub(crate) fn build(settings: &ProviderSettings, catalog: &Catalog) -> Result<Option<Provider>> {
    Ok(MiniMaxProvider::from_settings(settings, catalog)?.map(MiniMaxProvider::into_provider))
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
    fn settings_build_the_video_half() {
        let s = ProviderSettings::new()
            .set(SETTING_API_KEY, "sk-test")
            .set(SETTING_BASE_URL, "http://127.0.0.1:9")
            .set(SETTING_TIMEOUT_SECS, "5");
        let p = build(&s, Catalog::builtin()).unwrap().unwrap();
        assert_eq!(p.id(), "minimax");
        assert!(p.video_half().is_some() && p.image_half().is_none());
        assert!(p
            .offerings()
            .iter()
            .any(|(_, o)| o.model == "hailuo-2.3-standard"));
    }

    #[test]
    fn bad_settings_are_named() {
        let s = ProviderSettings::new()
            .set(SETTING_API_KEY, "k")
            .set(SETTING_TIMEOUT_SECS, "soon");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(e.message().starts_with(SETTING_TIMEOUT_SECS), "{e}");
        let s = ProviderSettings::new()
            .set(SETTING_API_KEY, "k")
            .set(SETTING_BASE_URL, "ftp://minimax");
        let e = build(&s, Catalog::builtin()).unwrap_err();
        assert!(e.message().starts_with("base_url"), "{e}");
    }

    #[test]
    fn the_declaration_is_valid() {
        let reg = genmux_core::registrations()
            .find(|r| r.id == ID)
            .expect("minimax registers itself");
        genmux_core::settings::check_declaration(reg).unwrap();
    }

    #[test]
    fn callbacks_are_a_handshake_or_a_hint() {
        let p = MiniMaxProvider::new(MiniMaxConfig::new("k"), Catalog::builtin()).unwrap();
        let h = http::HeaderMap::new();
        let challenge = br#"{"challenge":"abc"}"#;
        assert_eq!(
            p.callback_handshake(&h, challenge),
            Some(json!({"challenge": "abc"}))
        );
        let e = p.parse_callback(&h, challenge).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let status = br#"{"task_id":"t9","status":"Success","file_id":"f9","base_resp":{"status_code":0,"status_msg":"success"}}"#;
        assert_eq!(p.callback_handshake(&h, status), None);
        let s = p.parse_callback(&h, status).unwrap();
        assert_eq!(
            (s.provider_task_id.as_str(), s.status),
            ("t9", genmux_core::TaskStatus::Succeeded)
        );
        assert!(s.assets.is_empty(), "a hint: the assets come from a query");
        let e = p.parse_callback(&h, b"garbage").unwrap_err();
        assert!(e.message().starts_with("callback body"), "{e}");
        assert_eq!(p.callback_handshake(&h, b"garbage"), None);
    }
}
