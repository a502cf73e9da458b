//! [`RunwayClient`]: one method per endpoint genmux uses (`spec/upstreams.md`, Runway),
//! over `reqwest`. Every call carries `Authorization: Bearer <secret>` and
//! `X-Runway-Version: 2024-11-06`.
//!
//! What the client promises about failures (the router decides about retries):
//! - an error answer becomes the [`crate::error`] table's kind, with Runway's `error` text
//!   and any `Retry-After`;
//! - a create that fails after its body may have reached Runway (a timeout, a connection
//!   dropped mid-answer, a success status with an unreadable body, a 504) is returned with
//!   [`Error::with_maybe_accepted`] and must not be resubmitted;
//! - a failure before anything was sent (connection refused, DNS, TLS) is retryable and
//!   not maybe-accepted.

use crate::error::{api_error, Call, PROVIDER};
use crate::mapping::Create;
use crate::wire::{
    CreatedTask, ErrorBody, ImageToVideoRequest, Task, TextToVideoRequest, API_VERSION,
    IMAGE_TO_VIDEO_PATH, TASKS_PATH, TEXT_TO_VIDEO_PATH, VERSION_HEADER,
};
use genmux_core::transport::{error_chain, transport_error};
use genmux_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Runway's API (spec: base `https://api.dev.runwayml.com`).
pub const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com";

/// Connect and whole-request timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunwayTimeouts {
    /// Establishing the TCP/TLS connection. A failure here never reaches Runway.
    pub connect: Duration,
    /// The whole request, from sending to the last byte of the answer. A create that hits
    /// it may have been accepted.
    pub request: Duration,
}

impl Default for RunwayTimeouts {
    fn default() -> Self {
        RunwayTimeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// How to reach one Runway account.
#[derive(Clone)]
pub struct RunwayConfig {
    /// [`DEFAULT_BASE_URL`] or a simulator's URL.
    pub base_url: String,
    /// The API secret (`RUNWAYML_API_SECRET`).
    pub api_secret: String,
    /// Timeouts.
    pub timeouts: RunwayTimeouts,
}

impl RunwayConfig {
    /// A config for Runway's API with default timeouts.
    pub fn new(api_secret: impl Into<String>) -> Self {
        RunwayConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_secret: api_secret.into(),
            timeouts: RunwayTimeouts::default(),
        }
    }

    /// Replaces the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: RunwayTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl std::fmt::Debug for RunwayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunwayConfig")
            .field("base_url", &self.base_url)
            .field("api_secret", &"<redacted>")
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// A Runway API client. Cheap to clone; clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> genmux_core::Result<()> {
/// use genmux_runway::{RunwayClient, RunwayConfig, wire::TextToVideoRequest};
/// let client = RunwayClient::new(RunwayConfig::new("key_…"))?;
/// let created = client
///     .create_text_to_video(&TextToVideoRequest {
///         model: "gen4.5".into(),
///         prompt_text: "a red fox running through snow".into(),
///         ratio: "1280:720".into(),
///         duration: Some(5),
///         seed: None,
///     })
///     .await?;
/// let task = client.get_task(&created.id).await?;
/// println!("{}", task.status.as_str());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RunwayClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    secret: String,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl RunwayClient {
    /// A client for `config`. Fails when the base URL is not http(s) or the secret is empty.
    pub fn new(config: RunwayConfig) -> Result<Self> {
        let invalid = |msg: String| Err(Error::invalid(msg).with_provider(PROVIDER));
        if config.api_secret.trim().is_empty() {
            return invalid("api_secret: empty; set RUNWAYML_API_SECRET".into());
        }
        let base = genmux_core::transport::base_url(
            PROVIDER,
            "base_url (RUNWAY_BASE_URL)",
            &config.base_url,
            &[DEFAULT_BASE_URL],
        )?;
        let http = genmux_core::transport::http_client(
            PROVIDER,
            env!("CARGO_PKG_VERSION"),
            config.timeouts.connect,
            config.timeouts.request,
        )?;
        Ok(RunwayClient {
            inner: Arc::new(Inner {
                http,
                base,
                secret: config.api_secret.trim().to_string(),
            }),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// `POST /v1/image_to_video`. See [`RunwayClient::create`] for failure semantics.
    pub async fn create_image_to_video(&self, body: &ImageToVideoRequest) -> Result<CreatedTask> {
        self.create_at(IMAGE_TO_VIDEO_PATH, body).await
    }

    /// `POST /v1/text_to_video`. See [`RunwayClient::create`] for failure semantics.
    pub async fn create_text_to_video(&self, body: &TextToVideoRequest) -> Result<CreatedTask> {
        self.create_at(TEXT_TO_VIDEO_PATH, body).await
    }

    /// Creates the task the mapping planned. On a failure after the body was sent the
    /// error is [`Error::maybe_accepted`]: Runway offers no lookup by our id, so such a task
    /// is never resubmitted and its hold is kept (X4).
    pub async fn create(&self, create: &Create) -> Result<CreatedTask> {
        match create {
            Create::ImageToVideo(b) => self.create_image_to_video(b).await,
            Create::TextToVideo(b) => self.create_text_to_video(b).await,
        }
    }

    async fn create_at<B: serde::Serialize>(&self, path: &str, body: &B) -> Result<CreatedTask> {
        let body = serde_json::to_value(body).map_err(|e| {
            Error::internal(format!("serializing the {path} body failed: {e}"))
                .with_provider(PROVIDER)
        })?;
        let url = self.url(path, None)?;
        let bytes = self
            .send(
                reqwest::Method::POST,
                url.clone(),
                Some(&body),
                Call::Create,
            )
            .await?;
        parse(&bytes, Call::Create, url.as_str())
    }

    /// `GET /v1/tasks/{id}`.
    pub async fn get_task(&self, id: &str) -> Result<Task> {
        let url = self.task_url(id)?;
        let bytes = self
            .send(reqwest::Method::GET, url.clone(), None, Call::Task)
            .await?;
        parse(&bytes, Call::Task, url.as_str())
    }

    /// `DELETE /v1/tasks/{id}`: cancels a running task, deletes a finished one (spec:
    /// "cancel or delete"). Success is any 2xx (Runway answers 204).
    pub async fn delete_task(&self, id: &str) -> Result<()> {
        let url = self.task_url(id)?;
        self.send(reqwest::Method::DELETE, url, None, Call::Task)
            .await
            .map(|_| ())
    }

    /// Downloads a result URL (they expire in 24–48 h). No credentials are sent.
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
                Call::Task,
                &format!("downloading {url}"),
                None,
            ));
        }
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| transport_error(PROVIDER, e, false))
    }

    fn task_url(&self, id: &str) -> Result<url::Url> {
        if id.trim().is_empty() {
            return Err(Error::invalid("task id: empty").with_provider(PROVIDER));
        }
        self.url(TASKS_PATH, Some(id))
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
                // One percent-encoded segment: an id cannot change the path.
                segs.push(id);
            }
        }
        Ok(url)
    }

    /// Sends one request; a 2xx answer's bytes, or the table's error.
    async fn send(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&serde_json::Value>,
        call: Call,
    ) -> Result<Vec<u8>> {
        let mut rb = self
            .inner
            .http
            .request(method, url.clone())
            .bearer_auth(&self.inner.secret)
            .header(VERSION_HEADER, API_VERSION)
            .headers(genmux_core::telemetry::trace_headers());
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e, call == Call::Create))?;
        let status = resp.status();
        let retry_after = genmux_core::transport::retry_after(resp.headers());
        let bytes = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) if status.is_success() => {
                return Err(transport_error(PROVIDER, e, call == Call::Create))
            }
            Err(e) => {
                return Err(api_error(
                    status.as_u16(),
                    call,
                    &format!("answer unreadable: {}", error_chain(&e)),
                    retry_after,
                ))
            }
        };
        if status.is_success() {
            return Ok(bytes);
        }
        let message = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(ErrorBody {
                error,
                issues: Some(issues),
            }) => format!("{error} (issues: {issues})"),
            Ok(ErrorBody { error, .. }) => error,
            Err(_) => snippet(&bytes),
        };
        Err(api_error(status.as_u16(), call, &message, retry_after))
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8], call: Call, url: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        let msg = format!("unreadable answer from {url} ({e}): {}", snippet(bytes));
        let err = Error::new(ErrorKind::ProviderUnavailable, msg).with_provider(PROVIDER);
        match call {
            // Runway answered "success" to a create: the task may exist.
            Call::Create => err.with_maybe_accepted(),
            Call::Task => err,
        }
    })
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
