//! [`XaiClient`]: one method per endpoint of the xAI video API (`spec/upstreams.md`,
//! "xAI Grok Imagine video"), over `reqwest`, Bearer auth.
//!
//! What the client promises about failures (the router decides about retries):
//! - an answer outside 2xx becomes the [`crate::error`] table's kind, with xAI's words
//!   and any `Retry-After`;
//! - a submission that fails after its body may have reached xAI (a timeout, a connection
//!   dropped mid-answer, a 2xx whose body names no `request_id`, a gateway's 408/504) is
//!   returned with [`Error::with_maybe_accepted`] and must not be resubmitted;
//! - a failure before anything was sent (connection refused, DNS, TLS) is retryable and
//!   not maybe-accepted.

use crate::error::{api_error, Call, PROVIDER};
use crate::wire::{CreateVideoRequest, CreateVideoResponse, VideoStatus, GENERATIONS_PATH};
use genmux_core::transport::{retry_after, transport_error};
use genmux_core::{Error, ErrorKind, Result};
use std::time::Duration;
use url::Url;

/// xAI's API.
pub const DEFAULT_BASE_URL: &str = "https://api.x.ai";

/// Connect and whole-request timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XaiTimeouts {
    /// Establishing the TCP/TLS connection. A failure here never reaches xAI.
    pub connect: Duration,
    /// The whole request, from sending to the last byte of the answer. A submission that
    /// hits it may have been accepted.
    pub request: Duration,
}

impl Default for XaiTimeouts {
    fn default() -> Self {
        XaiTimeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// How to reach one xAI account.
#[derive(Clone)]
pub struct XaiConfig {
    /// [`DEFAULT_BASE_URL`] or a simulator's URL.
    pub base_url: String,
    /// The API key (`XAI_API_KEY`), sent as `Authorization: Bearer`.
    pub api_key: String,
    /// Timeouts.
    pub timeouts: XaiTimeouts,
}

impl XaiConfig {
    /// A config for xAI's API with default timeouts.
    pub fn new(api_key: impl Into<String>) -> Self {
        XaiConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key: api_key.into(),
            timeouts: XaiTimeouts::default(),
        }
    }

    /// Replaces the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: XaiTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl std::fmt::Debug for XaiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XaiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// An xAI video API client. Cheap to clone; clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> genmux_core::Result<()> {
/// use genmux_xai::wire::CreateVideoRequest;
/// use genmux_xai::{XaiClient, XaiConfig};
/// let client = XaiClient::new(XaiConfig::new("xai-…"))?;
/// let created = client
///     .create_video(&CreateVideoRequest {
///         model: "grok-imagine-video".into(),
///         prompt: "a lighthouse in the fog".into(),
///         duration: Some(8),
///         ..Default::default()
///     })
///     .await?;
/// let status = client.get_video(&created.request_id).await?;
/// println!("{:?}", status.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct XaiClient {
    http: reqwest::Client,
    base: Url,
    api_key: String,
}

impl std::fmt::Debug for XaiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XaiClient")
            .field("base", &self.base.as_str())
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl XaiClient {
    /// A client for `config`; a base URL that is not http(s) or an empty key is refused,
    /// naming the setting.
    pub fn new(config: XaiConfig) -> Result<Self> {
        let base = genmux_core::transport::base_url(
            PROVIDER,
            "base_url (XAI_BASE_URL)",
            &config.base_url,
            &[DEFAULT_BASE_URL],
        )?;
        if config.api_key.trim().is_empty() {
            return Err(
                Error::invalid("api_key (XAI_API_KEY): must not be empty").with_provider(PROVIDER)
            );
        }
        let http = genmux_core::transport::http_client(
            PROVIDER,
            env!("CARGO_PKG_VERSION"),
            config.timeouts.connect,
            config.timeouts.request,
        )?;
        Ok(XaiClient {
            http,
            base,
            api_key: config.api_key.trim().to_string(),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `base` + `path` (+ one escaped segment), keeping a base URL's own path prefix.
    fn url(&self, path: &str, segment: Option<&str>) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| Error::internal("XAI_BASE_URL cannot be a base URL"))?;
            segs.pop_if_empty();
            segs.extend(path.split('/').filter(|s| !s.is_empty()));
            if let Some(s) = segment {
                segs.push(s);
            }
        }
        Ok(url)
    }

    /// `POST /v1/videos/generations` → `{request_id}`.
    pub async fn create_video(&self, body: &CreateVideoRequest) -> Result<CreateVideoResponse> {
        let url = self.url(GENERATIONS_PATH, None)?;
        let resp = self
            .http
            .post(url)
            .bearer_auth(&self.api_key)
            .headers(genmux_core::telemetry::trace_headers())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e, true))?;
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(PROVIDER, e, true))?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes, after, Call::Create));
        }
        serde_json::from_slice::<CreateVideoResponse>(&bytes)
            .ok()
            .filter(|r| !r.request_id.trim().is_empty())
            .ok_or_else(|| {
                // xAI answered success: the task may well exist, but we cannot name it.
                Error::internal(format!(
                    "xAI accepted the video request but its answer names no request_id: {}",
                    String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ))
                .with_provider(PROVIDER)
                .with_maybe_accepted()
            })
    }

    /// `GET /v1/videos/{request_id}`. A 202 with an empty body (Vercel AI SDK: "xAI answers
    /// 202 while a generation is still running, sometimes with an empty body") reads as
    /// `pending`.
    pub async fn get_video(&self, request_id: &str) -> Result<VideoStatus> {
        let url = self.url(crate::wire::VIDEOS_PATH, Some(request_id))?;
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.api_key)
            .headers(genmux_core::telemetry::trace_headers())
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e, false))?;
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(PROVIDER, e, false))?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes, after, Call::Query));
        }
        if status == 202 && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(VideoStatus {
                status: Some("pending".into()),
                ..Default::default()
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            // Unreadable now, maybe readable on the next poll: retryable, and a query
            // creates nothing.
            Error::new(
                ErrorKind::ProviderUnavailable,
                format!("xAI's answer for {request_id} is not a video status: {e}"),
            )
            .with_provider(PROVIDER)
        })
    }
}
