//! HTTP client for a remote unified API: the I/O half of [`crate::MidsyncProvider`].
//! Every answer goes through the pure functions of [`crate::mapping`].

use crate::mapping::{self, PROVIDER_ID};
use genmux_core::transport::{retry_after, transport_error};
use genmux_core::{Error, MediaKind, Result, Submission, TaskSnapshot};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// A client for one upstream account: base URL + Bearer key.
#[derive(Clone)]
pub struct MidsyncClient {
    http: reqwest::Client,
    base: Url,
    api_key: String,
}

impl std::fmt::Debug for MidsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidsyncClient")
            .field("base", &self.base.as_str())
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl MidsyncClient {
    /// A client for `base_url` (e.g. `https://api.example.com`, optionally with a path
    /// prefix) authenticating with `api_key`; each call times out after `timeout`.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> Result<Self> {
        let base = Url::parse(base_url.trim()).map_err(|e| {
            Error::invalid(format!(
                "MIDSYNC_BASE_URL: `{base_url}` is not a URL ({e}); expected e.g. https://api.example.com"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::invalid(format!(
                "MIDSYNC_BASE_URL: `{base_url}` must be an http(s) URL with a host"
            )));
        }
        if api_key.trim().is_empty() {
            return Err(Error::invalid("MIDSYNC_API_KEY: must not be empty"));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::internal(format!("building the HTTP client: {e}")).with_source(e)
            })?;
        Ok(MidsyncClient {
            http,
            base,
            api_key: api_key.trim().to_string(),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| Error::internal("MIDSYNC_BASE_URL cannot be a base URL"))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        Ok(url)
    }

    /// `POST /unified-{video,image}/generate` with `Idempotency-Key: <idempotency_id>` (the
    /// gateway's id for the submission), so an upstream that honours it never creates two
    /// tasks for one of ours. Errors after the body was sent are marked maybe-accepted
    /// (`ARCHITECTURE.md`: never resubmit, reconcile).
    pub async fn generate(
        &self,
        kind: MediaKind,
        body: &Value,
        provider_model: &str,
        idempotency_id: &str,
    ) -> Result<Submission> {
        let url = self.url(&[mapping::kind_prefix(kind), "generate"])?;
        let resp = self
            .http
            .post(url)
            .headers(genmux_core::telemetry::trace_headers())
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", idempotency_id)
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER_ID, e, true))?;
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(PROVIDER_ID, e, true))?;
        if !(200..300).contains(&status) {
            return Err(mapping::error_from_response(status, &bytes, after, true));
        }
        mapping::parse_generate(&bytes, provider_model)
    }

    /// `GET /unified-{video,image}/{taskId}/status`.
    pub async fn status(&self, kind: MediaKind, task_id: &str) -> Result<TaskSnapshot> {
        let bytes = self.status_body(kind, task_id).await?;
        mapping::parse_status(&bytes, task_id, kind)
    }

    /// `GET /unified-{video,image}/{taskId}/status`: the 2xx body as sent, for callers that
    /// read more of it than the snapshot (the upstream's `pointsCharged`).
    pub async fn status_body(&self, kind: MediaKind, task_id: &str) -> Result<Vec<u8>> {
        let url = self.url(&[mapping::kind_prefix(kind), task_id, "status"])?;
        self.get_ok(url).await
    }

    /// `GET url` with our key and the trace context: the 2xx body, or the upstream's error
    /// mapped by its status and body (Retry-After kept).
    async fn get_ok(&self, url: Url) -> Result<Vec<u8>> {
        let resp = self
            .http
            .get(url)
            .headers(genmux_core::telemetry::trace_headers())
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER_ID, e, false))?;
        let status = resp.status().as_u16();
        let after = retry_after(resp.headers());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(PROVIDER_ID, e, false))?;
        if !(200..300).contains(&status) {
            return Err(mapping::error_from_response(status, &bytes, after, false));
        }
        Ok(bytes.to_vec())
    }

    /// `GET {link_page}` (a kept result's `…/link`): the signed link it answers.
    pub async fn signed_link(&self, link_page: &Url) -> Result<String> {
        let bytes = self.get_ok(link_page.clone()).await?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["url"].as_str().map(str::to_string))
            .ok_or_else(|| {
                Error::internal(format!("{link_page} answered no `url`")).with_provider(PROVIDER_ID)
            })
    }

    /// `GET /unified-{video,image}/models`: the upstream's catalog document.
    pub async fn models(&self, kind: MediaKind) -> Result<Value> {
        let url = self.url(&[mapping::kind_prefix(kind), "models"])?;
        let bytes = self.get_ok(url).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::internal(format!("upstream models answer is not JSON: {e}"))
                .with_provider(PROVIDER_ID)
        })
    }
}
