//! [`MiniMaxClient`]: the three calls of the MiniMax video API (`spec/upstreams.md`,
//! "MiniMax Hailuo") over `reqwest`, with `Authorization: Bearer <key>`.
//!
//! What the client promises about failures (the router decides about retries):
//! - an answer with `base_resp.status_code ≠ 0` — MiniMax's errors come as HTTP 200 —
//!   becomes the [`crate::error`] table's kind, with MiniMax's message and any
//!   `Retry-After`; an HTTP-level failure without `base_resp` is classed by its status;
//! - a submission that fails after its body may have reached MiniMax (a timeout, a
//!   connection dropped mid-answer, a success answer without a task id, a 504 from a proxy)
//!   is returned with [`Error::with_maybe_accepted`] and must not be resubmitted;
//! - a failure before anything was sent (connection refused, DNS, TLS) is retryable and
//!   not maybe-accepted.

use crate::error::{api_error, http_error, PROVIDER};
use crate::wire::{
    BaseResp, FileObject, QueryResponse, RetrieveResponse, VideoGenerationRequest,
    VideoGenerationResponse, CREATE_PATH, QUERY_PATH, RETRIEVE_PATH,
};
use genmux_core::transport::transport_error;
use genmux_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// MiniMax's international endpoint (the default).
pub const GLOBAL_BASE_URL: &str = "https://api.minimax.io";
/// MiniMax's China endpoint.
pub const CHINA_BASE_URL: &str = "https://api.minimaxi.com";

/// Connect and whole-request timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MiniMaxTimeouts {
    /// Establishing the TCP/TLS connection. A failure here never reaches MiniMax.
    pub connect: Duration,
    /// The whole request, from sending to the last byte of the answer. A submission that
    /// hits it may have been accepted.
    pub request: Duration,
}

impl Default for MiniMaxTimeouts {
    fn default() -> Self {
        MiniMaxTimeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// How to reach one MiniMax account.
#[derive(Clone)]
pub struct MiniMaxConfig {
    /// [`GLOBAL_BASE_URL`], [`CHINA_BASE_URL`], or a simulator's URL.
    pub base_url: String,
    /// The API key (sent as `Authorization: Bearer`).
    pub api_key: String,
    /// Timeouts.
    pub timeouts: MiniMaxTimeouts,
}

impl MiniMaxConfig {
    /// A config for the international endpoint with default timeouts.
    pub fn new(api_key: impl Into<String>) -> Self {
        MiniMaxConfig {
            base_url: GLOBAL_BASE_URL.to_string(),
            api_key: api_key.into(),
            timeouts: MiniMaxTimeouts::default(),
        }
    }

    /// Replaces the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: MiniMaxTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}

impl std::fmt::Debug for MiniMaxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniMaxConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// A MiniMax API client. Cheap to clone; clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> genmux_core::Result<()> {
/// use genmux_minimax::{MiniMaxClient, MiniMaxConfig, wire::VideoGenerationRequest};
/// let client = MiniMaxClient::new(MiniMaxConfig::new("sk-…"))?;
/// let task_id = client
///     .create_video_generation(&VideoGenerationRequest {
///         model: "MiniMax-Hailuo-2.3".into(),
///         first_frame_image: Some("https://example.com/portrait.png".into()),
///         duration: Some(6),
///         resolution: Some("768P".into()),
///         ..Default::default()
///     })
///     .await?;
/// let task = client.query_video_generation(&task_id).await?;
/// if let Some(file_id) = task.file_id {
///     println!("{}", client.retrieve_file(&file_id).await?.download_url);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MiniMaxClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    api_key: String,
}

impl std::fmt::Debug for MiniMaxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniMaxClient")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Whether a call creates something upstream (so a failure after sending is ambiguous),
/// and whether its answer describes a task.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Submit,
    Query,
    /// The task query: a `Fail` task may carry its reason in `base_resp` (1027 sensitive
    /// output, *unverified* where exactly), which is the task's state, not a failed query.
    TaskQuery,
}

impl MiniMaxClient {
    /// A client for `config`. Fails when the base URL is not http(s) or the key is empty.
    pub fn new(config: MiniMaxConfig) -> Result<Self> {
        let invalid = |msg: String| Err(Error::invalid(msg).with_provider(PROVIDER));
        if config.api_key.trim().is_empty() {
            return invalid("api_key: empty; set MINIMAX_API_KEY".into());
        }
        let base = genmux_core::transport::base_url(
            PROVIDER,
            "base_url (MINIMAX_BASE_URL)",
            &config.base_url,
            &[GLOBAL_BASE_URL, CHINA_BASE_URL],
        )?;
        let http = genmux_core::transport::http_client(
            PROVIDER,
            env!("CARGO_PKG_VERSION"),
            config.timeouts.connect,
            config.timeouts.request,
        )?;
        Ok(MiniMaxClient {
            inner: Arc::new(Inner {
                http,
                base,
                api_key: config.api_key,
            }),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// Creates a task (`POST /v1/video_generation`) and returns its `task_id`. See the
    /// module docs for what a failure after sending means.
    pub async fn create_video_generation(&self, req: &VideoGenerationRequest) -> Result<String> {
        let body = serde_json::to_value(req).map_err(|e| {
            Error::internal(format!("serializing the video_generation body failed: {e}"))
                .with_provider(PROVIDER)
        })?;
        let url = self.url(CREATE_PATH, None)?;
        let answer: VideoGenerationResponse = self
            .send(
                reqwest::Method::POST,
                url.clone(),
                Some(&body),
                Call::Submit,
            )
            .await?;
        if answer.task_id.trim().is_empty() {
            // "success" without a task: whether MiniMax queued something is unknown.
            return Err(unreadable_success(
                Call::Submit,
                url.as_str(),
                &serde_json::to_vec(&answer).unwrap_or_default(),
                &"status_code 0 without a task_id",
            ));
        }
        Ok(answer.task_id)
    }

    /// Queries a task (`GET /v1/query/video_generation?task_id=`).
    pub async fn query_video_generation(&self, task_id: &str) -> Result<QueryResponse> {
        if task_id.trim().is_empty() {
            return Err(Error::invalid("task_id: empty").with_provider(PROVIDER));
        }
        let url = self.url(QUERY_PATH, Some(("task_id", task_id)))?;
        self.send(reqwest::Method::GET, url, None, Call::TaskQuery)
            .await
    }

    /// Describes a file, with its `download_url` (`GET /v1/files/retrieve?file_id=`).
    pub async fn retrieve_file(&self, file_id: &str) -> Result<FileObject> {
        if file_id.trim().is_empty() {
            return Err(Error::invalid("file_id: empty").with_provider(PROVIDER));
        }
        let url = self.url(RETRIEVE_PATH, Some(("file_id", file_id)))?;
        let answer: RetrieveResponse = self
            .send(reqwest::Method::GET, url.clone(), None, Call::Query)
            .await?;
        match answer.file {
            Some(file) if !file.download_url.trim().is_empty() => Ok(file),
            _ => Err(unreadable_success(
                Call::Query,
                url.as_str(),
                &serde_json::to_vec(&answer).unwrap_or_default(),
                &"status_code 0 without file.download_url",
            )),
        }
    }

    fn url(&self, path: &str, query: Option<(&str, &str)>) -> Result<url::Url> {
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
            segs.extend(path.trim_start_matches('/').split('/'));
        }
        if let Some((k, v)) = query {
            url.query_pairs_mut().append_pair(k, v);
        }
        Ok(url)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&Value>,
        call: Call,
    ) -> Result<T> {
        let mut req = self
            .inner
            .http
            .request(method, url.clone())
            .bearer_auth(&self.inner.api_key)
            .headers(genmux_core::telemetry::trace_headers());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e, call == Call::Submit))?;
        let status = resp.status();
        let retry_after = genmux_core::transport::retry_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(PROVIDER, e, call == Call::Submit))?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        let base_resp = parsed
            .as_ref()
            .and_then(|v| v.get("base_resp"))
            .and_then(|b| serde_json::from_value::<BaseResp>(b.clone()).ok());
        let failed_task = call == Call::TaskQuery
            && parsed
                .as_ref()
                .and_then(|v| v.get("status"))
                .and_then(Value::as_str)
                == Some("Fail");
        if let Some(br) = base_resp
            .as_ref()
            .filter(|b| b.status_code != 0 && !failed_task)
        {
            // MiniMax's own refusal, whatever the HTTP status: nothing was created.
            return Err(api_error(br.status_code, &br.status_msg, retry_after));
        }
        if !status.is_success() {
            let err = http_error(status.as_u16(), &snippet(&bytes), retry_after);
            // A 504 from a proxy: MiniMax may have taken the task before the proxy gave up.
            return Err(if call == Call::Submit && status.as_u16() == 504 {
                err.with_maybe_accepted()
            } else {
                err
            });
        }
        let Some(value) = parsed else {
            return Err(unreadable_success(call, url.as_str(), &bytes, &"not JSON"));
        };
        if base_resp.is_none() {
            // spec: every answer carries base_resp; without it the answer is not MiniMax's.
            return Err(unreadable_success(
                call,
                url.as_str(),
                &bytes,
                &"no base_resp",
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| unreadable_success(call, url.as_str(), &bytes, &e))
    }
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// A success status whose body is not the expected answer.
fn unreadable_success(call: Call, url: &str, bytes: &[u8], why: &dyn std::fmt::Display) -> Error {
    let msg = format!("unreadable answer from {url} ({why}): {}", snippet(bytes));
    let err = Error::new(ErrorKind::ProviderUnavailable, msg).with_provider(PROVIDER);
    match call {
        // MiniMax answered "success" to a create: the task may exist.
        Call::Submit => err.with_maybe_accepted(),
        Call::Query | Call::TaskQuery => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let e = MiniMaxClient::new(MiniMaxConfig::new(" ")).unwrap_err();
        assert!(e.message().starts_with("api_key"), "{e}");
        let e = MiniMaxClient::new(MiniMaxConfig::new("k").with_base_url("ftp://x")).unwrap_err();
        assert!(e.message().starts_with("base_url"), "{e}");
        let c = MiniMaxClient::new(MiniMaxConfig::new("k")).unwrap();
        assert_eq!(c.base_url(), GLOBAL_BASE_URL);
        let debug = format!("{:?}", MiniMaxConfig::new("sk-secret"));
        assert!(!debug.contains("sk-secret"), "{debug}");
    }

    #[test]
    fn urls_keep_a_base_path_and_escape_the_query() {
        let c =
            MiniMaxClient::new(MiniMaxConfig::new("k").with_base_url("http://h:1/mm/")).unwrap();
        let u = c.url(QUERY_PATH, Some(("task_id", "a b&c"))).unwrap();
        assert_eq!(
            u.as_str(),
            "http://h:1/mm/v1/query/video_generation?task_id=a+b%26c"
        );
        let c = MiniMaxClient::new(MiniMaxConfig::new("k").with_base_url(CHINA_BASE_URL)).unwrap();
        assert_eq!(
            c.url(CREATE_PATH, None).unwrap().as_str(),
            "https://api.minimaxi.com/v1/video_generation"
        );
    }
}
