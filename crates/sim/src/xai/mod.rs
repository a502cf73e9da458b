//! A wire-compatible simulator of the xAI Grok Imagine video API (`spec/upstreams.md`,
//! "xAI Grok Imagine video"), built on [`crate::framework`]:
//!
//! - `POST /v1/videos/generations` → `{request_id}`, every rule of [`rules`] enforced with
//!   xAI's `400 {"error":"…"}` naming the field;
//! - `GET /v1/videos/{request_id}` → HTTP 200 with `status` `pending` → `done` | `failed`
//!   (| `expired`, the spec's unverified status, for tasks drawn to expire) on the
//!   simulated clock; `done` carries `video {url, duration, respect_moderation}`, `model`
//!   and `usage.cost_in_usd_ticks` from the price table (10^10 ticks = $1);
//! - Bearer accounts: 401 without a valid key, 403 for a disabled account or one out of
//!   credit (its balance is kept in ticks), 429 with `Retry-After` over the account's
//!   concurrency or when a fault plan says so, 404 for another account's or an unknown id;
//! - real MP4 results whose URLs expire (403 after the media lifetime);
//! - no callbacks (xAI has no webhooks: poll only).
//!
//! It never uses the `genmux-xai` client crate: the rules are restated from the spec.
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use genmux_sim::xai::{XaiSim, XaiSimConfig};
//! let sim = XaiSim::start(XaiSimConfig::default()).await?;
//! println!("XAI_BASE_URL={} XAI_API_KEY={}", sim.base_url(), sim.api_key());
//! sim.advance(std::time::Duration::from_secs(60)).await;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod routes;
pub mod rules;

use crate::fault::FaultKey;
use crate::framework::{
    InjectedFault, MediaSpec, OverConcurrency, Record, Sim, SimConfig, SimHandle, Wire, WireError,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rules::VideoJob;

/// The xAI simulator, running.
pub type XaiSim = Sim<XaiWire>;
/// Its configuration: shared settings and [`XaiWireConfig`].
pub type XaiSimConfig = SimConfig<XaiWire>;

/// The xAI video API as a [`Wire`].
#[derive(Debug)]
pub struct XaiWire;

/// The endpoints, each with its own fault plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XaiEndpoint {
    /// `POST /v1/videos/generations`.
    Create,
    /// `GET /v1/videos/{request_id}`.
    Get,
    /// Result downloads (`/media/{token}`).
    Media,
}

impl FaultKey for XaiEndpoint {
    fn stable_id(&self) -> u64 {
        match self {
            XaiEndpoint::Create => 0x7A1_0001,
            XaiEndpoint::Get => 0x7A1_0002,
            XaiEndpoint::Media => 0x7A1_0003,
        }
    }
}

/// The simulator's own configuration.
#[derive(Clone, Debug, Default)]
pub struct XaiWireConfig {
    /// Words whose presence in a prompt makes the task finish `done` with
    /// `respect_moderation: false` (the output withheld by moderation, as Vercel AI SDK
    /// handles it); case-insensitive. Empty by default.
    pub moderated_words: Vec<String>,
}

/// A task's xAI fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XaiTask {
    /// The validated request with defaults.
    pub job: VideoJob,
    /// Whether moderation withholds the output.
    pub moderated: bool,
}

/// xAI's error answer: an HTTP status and `{"error":"…"}`, with `Retry-After` on 429.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XaiError {
    /// HTTP status.
    pub status: u16,
    /// The words of `error`.
    pub message: String,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
}

impl XaiError {
    /// An error answer.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        XaiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for XaiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if let Some(after) = self.retry_after {
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, HeaderValue::from(after));
        }
        r
    }
}

impl WireError for XaiError {
    fn from_fault(fault: InjectedFault) -> Self {
        let message = match fault.status {
            400 if fault.is_content_policy() => {
                "the request was rejected by content moderation".to_string()
            }
            400 => "invalid request".to_string(),
            401 => "invalid or missing API key".to_string(),
            403 => "the team has used all its credits or reached its spending limit".to_string(),
            404 => "not found".to_string(),
            429 => "rate limit exceeded, try again later".to_string(),
            504 => "upstream request timed out".to_string(),
            s => format!("internal server error (HTTP {s})"),
        };
        XaiError {
            status: fault.status,
            message,
            retry_after: fault.retry_after,
        }
    }
}

impl Wire for XaiWire {
    const NAME: &'static str = "xai";
    const PROVIDER: &'static str = "xai";
    // xAI's answer over the limit is "HTTP 429 when rate-limited" (spec): the create is
    // refused, nothing waits.
    const OVER_CONCURRENCY: OverConcurrency = OverConcurrency::Reject;
    const MEDIA_ENDPOINT: XaiEndpoint = XaiEndpoint::Media;
    type Endpoint = XaiEndpoint;
    type Data = XaiTask;
    type Error = XaiError;
    type Config = XaiWireConfig;

    fn routes() -> axum::Router<SimHandle<Self>> {
        routes::router()
    }

    fn outputs(task: &Record<Self>) -> Vec<MediaSpec> {
        let job = &task.data.job;
        vec![MediaSpec::video_for_aspect(
            &job.aspect_ratio,
            u64::from(job.duration) * 1000,
        )]
    }

    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)> {
        vec![
            ("XAI_BASE_URL", sim.base_url().to_string()),
            ("XAI_API_KEY", sim.api_key().to_string()),
        ]
    }
}
