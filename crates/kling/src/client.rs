//! [`KlingClient`]: one method per endpoint of `spec/kling-api.md`, over `reqwest`.
//!
//! What the client promises about failures (the router decides about retries):
//! - a Kling error answer becomes the [`crate::error`] table's kind, with Kling's message,
//!   its `request_id` and any `Retry-After`;
//! - 1000–1004 (token rejected) make the client sign a fresh token and send once more (a
//!   static API key is not sent again);
//! - a submission that fails after its body may have reached Kling (a timeout, a connection
//!   dropped mid-response, a success status with an unreadable body) is returned with
//!   [`Error::with_maybe_accepted`] and must not be resubmitted;
//! - a failure before anything was sent (connection refused, DNS, TLS) is retryable and
//!   not maybe-accepted.

use crate::auth::{Credentials, TokenSource};
use crate::error::{api_error, is_auth_failure, PROVIDER};
use crate::wire::{
    AdvancedLipSyncRequest, Endpoint, Envelope, IdentifyFaceRequest, IdentifyFaceResponse,
    Image2VideoRequest, ImageGenerationRequest, ListQuery, MotionControlRequest,
    MultiImage2VideoRequest, OmniImageRequest, Task, Text2VideoRequest, VideoExtendRequest,
    IDENTIFY_FACE_PATH,
};
use genmux_core::transport::{error_chain, transport_error};
use genmux_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Kling's global endpoint.
pub const GLOBAL_BASE_URL: &str = "https://api-singapore.klingai.com";
/// Kling's China endpoint.
pub const CHINA_BASE_URL: &str = "https://api-beijing.klingai.com";

/// Connect and whole-request timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KlingTimeouts {
    /// Establishing the TCP/TLS connection. A failure here never reaches Kling.
    pub connect: Duration,
    /// The whole request, from sending to the last byte of the answer. A submission that
    /// hits it may have been accepted.
    pub request: Duration,
}

impl Default for KlingTimeouts {
    fn default() -> Self {
        KlingTimeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// How to reach one Kling account.
#[derive(Clone)]
pub struct KlingConfig {
    /// [`GLOBAL_BASE_URL`], [`CHINA_BASE_URL`], or a simulator's URL.
    pub base_url: String,
    /// AccessKey + SecretKey (a signed JWT) or a static API key.
    pub credentials: Credentials,
    /// Timeouts.
    pub timeouts: KlingTimeouts,
    /// What one Kling unit costs this account in USD (resource packs are sold at
    /// different rates); the offerings' upstream cost is units × this (issue 14 point 4).
    /// Default [`crate::offerings::USD_PER_UNIT`], the spec's indicative price.
    pub usd_per_unit: f64,
}

impl KlingConfig {
    /// A config for the global endpoint with an AccessKey/SecretKey pair and default
    /// timeouts.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        KlingConfig::with_credentials(Credentials::AccessKey {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        })
    }

    /// A config for the global endpoint with a static API key (spec "Auth").
    pub fn with_api_key(api_key: impl Into<String>) -> Self {
        KlingConfig::with_credentials(Credentials::ApiKey(api_key.into()))
    }

    /// A config for the global endpoint with these credentials and default timeouts.
    pub fn with_credentials(credentials: Credentials) -> Self {
        KlingConfig {
            base_url: GLOBAL_BASE_URL.to_string(),
            credentials,
            timeouts: KlingTimeouts::default(),
            usd_per_unit: crate::offerings::USD_PER_UNIT,
        }
    }

    /// Replaces the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: KlingTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl std::fmt::Debug for KlingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlingConfig")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// A Kling API client. Cheap to clone; clones share the connection pool and the token.
///
/// ```no_run
/// # async fn demo() -> genmux_core::Result<()> {
/// use genmux_kling::{KlingClient, KlingConfig, wire::Text2VideoRequest};
/// let client = KlingClient::new(KlingConfig::new("AK", "SK"))?;
/// let task = client
///     .create_text2video(&Text2VideoRequest {
///         model_name: Some("kling-v2-5-turbo".into()),
///         prompt: Some("a red fox running through snow".into()),
///         ..Default::default()
///     })
///     .await?;
/// let now = client.get_text2video(&task.task_id).await?;
/// println!("{:?}", now.task_status);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KlingClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: url::Url,
    tokens: TokenSource,
}

/// Whether a call creates something upstream (so a failure after sending is ambiguous).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Submit,
    Query,
}

macro_rules! task_endpoint_methods {
    ($(
        $endpoint:expr, $path:literal, $req:ty, $what:literal, $id_note:literal =>
        $create:ident, $get:ident, $list:ident;
    )*) => {$(
        #[doc = concat!("Creates a ", $what, " task (`POST ", $path,
            "`). See [`KlingClient::create`] for failure semantics.")]
        pub async fn $create(&self, req: &$req) -> Result<Task> {
            self.create($endpoint, req).await
        }

        #[doc = concat!("Queries a ", $what, " task (`GET ", $path, "/{id}`) by ", $id_note, ".")]
        pub async fn $get(&self, id: &str) -> Result<Task> {
            self.get($endpoint, id).await
        }

        #[doc = concat!("Lists ", $what, " tasks, one page (`GET ", $path, "?pageNum=&pageSize=`).")]
        pub async fn $list(&self, query: ListQuery) -> Result<Vec<Task>> {
            self.list($endpoint, query).await
        }
    )*};
}

impl KlingClient {
    /// A client for `config`. Fails when the base URL is not http(s) or a key is empty.
    pub fn new(config: KlingConfig) -> Result<Self> {
        let invalid = |msg: String| Err(Error::invalid(msg).with_provider(PROVIDER));
        match &config.credentials {
            Credentials::AccessKey { access_key, .. } if access_key.trim().is_empty() => {
                return invalid("access_key: empty; set KLING_ACCESS_KEY".into());
            }
            Credentials::AccessKey { secret_key, .. } if secret_key.trim().is_empty() => {
                return invalid("secret_key: empty; set KLING_SECRET_KEY".into());
            }
            Credentials::ApiKey(key) if key.trim().is_empty() => {
                return invalid("api_key: empty; set KLING_API_KEY".into());
            }
            _ => {}
        }
        let base = genmux_core::transport::base_url(
            PROVIDER,
            "base_url (KLING_BASE_URL)",
            &config.base_url,
            &[GLOBAL_BASE_URL, CHINA_BASE_URL],
        )?;
        let http = genmux_core::transport::http_client(
            PROVIDER,
            env!("CARGO_PKG_VERSION"),
            config.timeouts.connect,
            config.timeouts.request,
        )?;
        Ok(KlingClient {
            inner: Arc::new(Inner {
                http,
                base,
                tokens: TokenSource::from_credentials(&config.credentials),
            }),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// Creates a task at `endpoint` from any serializable body (a typed request, or the
    /// JSON the mapping built).
    ///
    /// On failure after the body was sent (timeout, connection dropped before the answer,
    /// unreadable success answer), the error is [`Error::maybe_accepted`]: query by
    /// `external_task_id` to find out, never resubmit.
    pub async fn create<B: Serialize + ?Sized>(
        &self,
        endpoint: Endpoint,
        body: &B,
    ) -> Result<Task> {
        let body = serde_json::to_value(body).map_err(|e| {
            Error::internal(format!("serializing the {endpoint} body failed: {e}"))
                .with_provider(PROVIDER)
        })?;
        let url = self.url(endpoint.path(), None)?;
        self.send(reqwest::Method::POST, url, Some(&body), None, Call::Submit)
            .await
    }

    /// Queries one task at `endpoint` by `task_id` (or `external_task_id` where the spec
    /// allows it in the path: text2video, image2video).
    pub async fn get(&self, endpoint: Endpoint, id: &str) -> Result<Task> {
        if id.trim().is_empty() {
            return Err(Error::invalid("task_id: empty").with_provider(PROVIDER));
        }
        let url = self.url(endpoint.path(), Some(id))?;
        self.send(reqwest::Method::GET, url, None, None, Call::Query)
            .await
    }

    /// One page of tasks at `endpoint` (`pageNum` 1–1000, `pageSize` 1–500).
    pub async fn list(&self, endpoint: Endpoint, query: ListQuery) -> Result<Vec<Task>> {
        let url = self.url(endpoint.path(), None)?;
        self.send(reqwest::Method::GET, url, None, Some(query), Call::Query)
            .await
    }

    task_endpoint_methods! {
        Endpoint::Text2Video, "/v1/videos/text2video", Text2VideoRequest, "text-to-video",
            "`task_id` or `external_task_id`" =>
            create_text2video, get_text2video, list_text2video;
        Endpoint::Image2Video, "/v1/videos/image2video", Image2VideoRequest, "image-to-video",
            "`task_id` or `external_task_id`" =>
            create_image2video, get_image2video, list_image2video;
        Endpoint::MultiImage2Video, "/v1/videos/multi-image2video", MultiImage2VideoRequest, "multi-image-to-video",
            "`task_id` or `external_task_id`" =>
            create_multi_image2video, get_multi_image2video, list_multi_image2video;
        Endpoint::MotionControl, "/v1/videos/motion-control", MotionControlRequest, "motion-control", "`task_id`" =>
            create_motion_control, get_motion_control, list_motion_control;
        Endpoint::VideoExtend, "/v1/videos/video-extend", VideoExtendRequest, "video-extend", "`task_id`" =>
            create_video_extend, get_video_extend, list_video_extend;
        Endpoint::AdvancedLipSync, "/v1/videos/advanced-lip-sync", AdvancedLipSyncRequest, "lip-sync", "`task_id`" =>
            create_advanced_lip_sync, get_advanced_lip_sync, list_advanced_lip_sync;
        Endpoint::ImageGenerations, "/v1/images/generations", ImageGenerationRequest, "image-generation", "`task_id`" =>
            create_image_generation, get_image_generation, list_image_generations;
        Endpoint::OmniImage, "/v1/images/omni-image", OmniImageRequest, "omni-image", "`task_id`" =>
            create_omni_image, get_omni_image, list_omni_image;
    }

    /// Finds the faces in a video (`POST /v1/videos/identify-face`, synchronous; creates
    /// no task, so a failure is never maybe-accepted).
    pub async fn identify_face(&self, req: &IdentifyFaceRequest) -> Result<IdentifyFaceResponse> {
        let body = serde_json::to_value(req).map_err(|e| {
            Error::internal(format!("serializing identify-face failed: {e}"))
                .with_provider(PROVIDER)
        })?;
        let url = self.url(IDENTIFY_FACE_PATH, None)?;
        self.send(reqwest::Method::POST, url, Some(&body), None, Call::Query)
            .await
    }

    /// Downloads a result URL (videos and images; URLs are valid 30 days). No credentials
    /// are sent.
    pub async fn download(&self, url: &str) -> Result<Vec<u8>> {
        let resp = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e, false))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(api_error(
                status.as_u16(),
                None,
                &format!("downloading {url}"),
                None,
                None,
            ));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(PROVIDER, e, false))?;
        Ok(bytes.to_vec())
    }

    fn url(&self, path: &str, id: Option<&str>) -> Result<url::Url> {
        let mut url = self.inner.base.clone();
        {
            let mut segs = url.path_segments_mut().map_err(|_| {
                Error::invalid(format!(
                    "base_url: `{}` cannot take a path",
                    self.inner.base
                ))
                .with_provider(PROVIDER)
            })?;
            segs.pop_if_empty();
            segs.extend(path.split('/').filter(|s| !s.is_empty()));
            if let Some(id) = id {
                // Pushed as one segment: percent-encoded, so an id cannot change the path.
                segs.push(id);
            }
        }
        Ok(url)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&serde_json::Value>,
        query: Option<ListQuery>,
        call: Call,
    ) -> Result<T> {
        let mut refreshed = false;
        loop {
            let token = self.inner.tokens.token()?;
            let mut rb = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .headers(genmux_core::telemetry::trace_headers())
                .bearer_auth(token);
            if let Some(b) = body {
                rb = rb.json(b);
            }
            if let Some(q) = query {
                rb = rb.query(&q);
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| transport_error(PROVIDER, e, call == Call::Submit))?;
            let status = resp.status();
            let retry_after = genmux_core::transport::retry_after(resp.headers());
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) if status.is_success() => {
                    return Err(transport_error(PROVIDER, e, call == Call::Submit))
                }
                Err(e) => {
                    return Err(api_error(
                        status.as_u16(),
                        None,
                        &format!("answer unreadable: {}", error_chain(&e)),
                        None,
                        retry_after,
                    ))
                }
            };
            let envelope: Envelope<T> = match serde_json::from_slice(&bytes) {
                Ok(env) => env,
                Err(e) if status.is_success() => {
                    return Err(unreadable_success(call, url.as_str(), &bytes, &e))
                }
                Err(_) => {
                    return Err(api_error(
                        status.as_u16(),
                        None,
                        &snippet(&bytes),
                        None,
                        retry_after,
                    ))
                }
            };
            if envelope.code != 0 || !status.is_success() {
                if is_auth_failure(envelope.code) && !refreshed && self.inner.tokens.renewable() {
                    // spec: token failures are not retryable as is; refresh once.
                    tracing::debug!(
                        code = envelope.code,
                        "kling rejected the token; signing a new one"
                    );
                    self.inner.tokens.invalidate();
                    refreshed = true;
                    continue;
                }
                return Err(api_error(
                    status.as_u16(),
                    Some(envelope.code),
                    &envelope.message,
                    Some(&envelope.request_id),
                    retry_after,
                ));
            }
            return match envelope.data {
                Some(data) => Ok(data),
                None => Err(unreadable_success(
                    call,
                    url.as_str(),
                    &bytes,
                    &"code 0 without data",
                )),
            };
        }
    }
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    if s.trim().is_empty() {
        "empty answer".into()
    } else {
        s
    }
}

/// A success status whose body is not the expected envelope.
fn unreadable_success(call: Call, url: &str, bytes: &[u8], why: &dyn std::fmt::Display) -> Error {
    let msg = format!("unreadable answer from {url} ({why}): {}", snippet(bytes));
    match call {
        // Kling answered "success" to a create: the task may exist.
        Call::Submit => Error::new(ErrorKind::ProviderUnavailable, msg)
            .with_provider(PROVIDER)
            .with_maybe_accepted(),
        Call::Query => Error::new(ErrorKind::ProviderUnavailable, msg).with_provider(PROVIDER),
    }
}
