//! [`ArkClient`]: create and query Seedance tasks (`spec/upstreams.md`, Seedance), over
//! `reqwest`.
//!
//! What the client promises about failures (the router decides about retries):
//! - an Ark error answer becomes the [`crate::error`] table's kind, with Ark's code and
//!   message and any `Retry-After`;
//! - a submission that fails after its body may have reached Ark (a timeout, a connection
//!   dropped before the answer, a success status with an unreadable body, a gateway's 504)
//!   is returned with [`Error::with_maybe_accepted`] and must not be resubmitted;
//! - a failure before anything was sent (connection refused, DNS, TLS) is retryable and
//!   not maybe-accepted.

use crate::error::{api_error, PROVIDER};
use crate::region::{Region, BYTEPLUS_BASE_URL, VOLCENGINE_BASE_URL};
use crate::wire::{CreateTaskRequest, CreateTaskResponse, ErrorBody, Task, TASKS_PATH};
use genmux_core::transport::{error_chain, transport_error};
use genmux_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Connect and whole-request timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArkTimeouts {
    /// Establishing the TCP/TLS connection. A failure here never reaches Ark.
    pub connect: Duration,
    /// The whole request, from sending to the last byte of the answer. A submission that
    /// hits it may have been accepted.
    pub request: Duration,
}

impl Default for ArkTimeouts {
    fn default() -> Self {
        ArkTimeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// How to reach one Ark account.
#[derive(Clone)]
pub struct ArkConfig {
    /// [`BYTEPLUS_BASE_URL`], [`VOLCENGINE_BASE_URL`], or a simulator's URL.
    pub base_url: String,
    /// The API key (`Authorization: Bearer`).
    pub api_key: String,
    /// Timeouts.
    pub timeouts: ArkTimeouts,
}

impl ArkConfig {
    /// A config for BytePlus ModelArk with default timeouts.
    pub fn new(api_key: impl Into<String>) -> Self {
        ArkConfig {
            base_url: BYTEPLUS_BASE_URL.to_string(),
            api_key: api_key.into(),
            timeouts: ArkTimeouts::default(),
        }
    }

    /// Replaces the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: ArkTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl std::fmt::Debug for ArkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArkConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// An Ark client. Cheap to clone; clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> genmux_core::Result<()> {
/// use genmux_seedance::wire::{Content, CreateTaskRequest};
/// use genmux_seedance::{ArkClient, ArkConfig};
/// let client = ArkClient::new(ArkConfig::new("ark-key"))?;
/// let created = client
///     .create_task(&CreateTaskRequest {
///         model: "seedance-1-5-pro-251215".into(),
///         content: vec![Content::text("a red fox running through snow")],
///         generate_audio: Some(false),
///         ..Default::default()
///     })
///     .await?;
/// let task = client.get_task(&created.id).await?;
/// println!("{}", task.status.as_str());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ArkClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    api_key: String,
    region: Region,
}

impl std::fmt::Debug for ArkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArkClient")
            .field("base", &self.inner.base.as_str())
            .field("region", &self.inner.region)
            .finish()
    }
}

/// Whether a call creates something upstream (so a failure after sending is ambiguous).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Submit,
    Query,
}

impl ArkClient {
    /// A client for `config`. Fails when the base URL is not http(s) or the key is empty.
    pub fn new(config: ArkConfig) -> Result<Self> {
        let invalid = |msg: String| Err(Error::invalid(msg).with_provider(PROVIDER));
        if config.api_key.trim().is_empty() {
            return invalid("api_key: empty; set ARK_API_KEY".into());
        }
        let base = genmux_core::transport::base_url(
            PROVIDER,
            "base_url (ARK_BASE_URL)",
            &config.base_url,
            &[BYTEPLUS_BASE_URL, VOLCENGINE_BASE_URL],
        )?;
        let http = genmux_core::transport::http_client(
            PROVIDER,
            env!("CARGO_PKG_VERSION"),
            config.timeouts.connect,
            config.timeouts.request,
        )?;
        Ok(ArkClient {
            inner: Arc::new(Inner {
                http,
                region: Region::of_base_url(base.as_str()),
                base,
                api_key: config.api_key,
            }),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// The region of the base URL (which model ids it knows).
    pub fn region(&self) -> Region {
        self.inner.region
    }

    /// Creates a task (`POST /contents/generations/tasks`).
    ///
    /// On failure after the body was sent (timeout, connection dropped before the answer,
    /// unreadable success answer, 504), the error is [`Error::maybe_accepted`]: Ark has no
    /// lookup by our id, so the task is found only through its callback (never resubmit).
    pub async fn create_task(&self, body: &CreateTaskRequest) -> Result<CreateTaskResponse> {
        let url = self.url(None)?;
        self.send(reqwest::Method::POST, url, Some(body), Call::Submit)
            .await
    }

    /// Queries a task (`GET /contents/generations/tasks/{id}`).
    pub async fn get_task(&self, id: &str) -> Result<Task> {
        if id.trim().is_empty() {
            return Err(Error::invalid("task id: empty").with_provider(PROVIDER));
        }
        let url = self.url(Some(id))?;
        self.send::<Task>(reqwest::Method::GET, url, None, Call::Query)
            .await
    }

    fn url(&self, id: Option<&str>) -> Result<url::Url> {
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
            segs.extend(TASKS_PATH.split('/').filter(|s| !s.is_empty()));
            if let Some(id) = id {
                // One segment, percent-encoded: an id cannot change the path.
                segs.push(id);
            }
        }
        Ok(url)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&CreateTaskRequest>,
        call: Call,
    ) -> Result<T> {
        let mut rb = self
            .inner
            .http
            .request(method, url.clone())
            .bearer_auth(&self.inner.api_key)
            .headers(genmux_core::telemetry::trace_headers());
        if let Some(b) = body {
            rb = rb.json(b);
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
                let what = format!("answer unreadable: {}", error_chain(&e));
                return Err(refusal(call, status.as_u16(), "", &what, retry_after));
            }
        };
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(ErrorBody {
                    error: Some(detail),
                }) => (detail.code, detail.message),
                _ => (String::new(), snippet(&bytes)),
            };
            return Err(refusal(call, status.as_u16(), &code, &message, retry_after));
        }
        serde_json::from_slice::<T>(&bytes)
            .map_err(|e| unreadable_success(call, url.as_str(), &bytes, &e))
    }
}

/// An error answer. A gateway's 504 to a submission leaves its fate open: Ark may have
/// created the task behind the gateway.
fn refusal(
    call: Call,
    status: u16,
    code: &str,
    message: &str,
    retry_after: Option<Duration>,
) -> Error {
    let err = api_error(status, code, message, retry_after);
    if call == Call::Submit && status == 504 {
        err.with_maybe_accepted()
    } else {
        err
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

/// A success status whose body is not the expected answer.
fn unreadable_success(call: Call, url: &str, bytes: &[u8], why: &dyn std::fmt::Display) -> Error {
    let msg = format!("unreadable answer from {url} ({why}): {}", snippet(bytes));
    let err = Error::new(ErrorKind::ProviderUnavailable, msg).with_provider(PROVIDER);
    match call {
        // Ark answered "success" to a create: the task may exist.
        Call::Submit => err.with_maybe_accepted(),
        Call::Query => err,
    }
}
