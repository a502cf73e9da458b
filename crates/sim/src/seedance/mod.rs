//! Seedance on BytePlus ModelArk (`spec/upstreams.md`, "Seedance"), on the shared
//! [`crate::framework`]: `POST /api/v3/contents/generations/tasks` and
//! `GET /api/v3/contents/generations/tasks/{id}` with Bearer keys, every rule of the spec
//! refused with Ark's `{"error":{"code","message"}}` at its HTTP status, statuses
//! `queued` → `running` → `succeeded` | `failed` | `expired` on the simulated clock,
//! `usage.completion_tokens` by the spec's formula, real MP4 `video_url`s that expire after
//! 24 h, unsigned callbacks POSTing the query body on every status change (retried up to
//! 3 times when not answered 2xx within 5 s), per-account concurrency (over it: 429
//! `RateLimitExceeded.EndpointRPMExceeded`) and the framework's seeded faults.
//!
//! Moderation is simulated by words ([`config`]): a prompt containing
//! `sim-sensitive-text` is refused (`InputTextSensitiveContentDetected`), an image URL
//! containing `sim-sensitive-image` too (`InputImageSensitiveContentDetected`), and a
//! prompt containing `sim-sensitive-output` makes a task that fails with
//! `OutputVideoSensitiveContentDetected`.
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use genmux_sim::seedance::SeedanceSim;
//! use genmux_sim::framework::SimConfig;
//! let sim = SeedanceSim::start(SimConfig::default()).await?;
//! println!("ARK_BASE_URL={} ARK_API_KEY={}", sim.ark_base_url(), sim.api_key());
//! sim.advance(std::time::Duration::from_secs(60)).await; // tasks finish, callbacks sent
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
mod routes;
pub mod rules;
pub mod task;
pub mod validate;

pub use config::SeedanceSimConfig;
pub use error::{ArkCode, ArkError};
pub use task::ArkTask;

use rand::rngs::StdRng;
use rand::Rng;

use crate::fault::FaultKey;
use crate::framework::{MediaSpec, Outgoing, OverConcurrency, Phase, Record, Sim, SimConfig, Wire};

/// The path of Ark's API under the simulator's address, as under
/// `https://ark.ap-southeast.bytepluses.com/api/v3`; the routes answer at the root too,
/// which is what the sandbox hands out as `ARK_BASE_URL`.
pub const API_PREFIX: &str = "/api/v3";

/// A running Seedance simulator.
pub type SeedanceSim = Sim<SeedanceWire>;

/// The unit of fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeedanceEndpoint {
    /// `POST /contents/generations/tasks`.
    Create,
    /// `GET /contents/generations/tasks/{id}`.
    Query,
    /// `GET /media/{token}` (the video URLs).
    Media,
}

impl FaultKey for SeedanceEndpoint {
    fn stable_id(&self) -> u64 {
        match self {
            SeedanceEndpoint::Create => 1601,
            SeedanceEndpoint::Query => 1602,
            SeedanceEndpoint::Media => 1603,
        }
    }
}

/// Ark's wire on the framework.
#[derive(Debug)]
pub struct SeedanceWire;

/// Attempts after the first for a callback not answered 2xx (spec: "retried (up to 3
/// times) when not answered 2xx within 5 s"; the 5 s is the framework's callback timeout).
pub const CALLBACK_RETRIES: u32 = 3;

impl Wire for SeedanceWire {
    const NAME: &'static str = "seedance";
    const PROVIDER: &'static str = "seedance";
    // The brief's reading of Ark: a create over the account's limit is refused with a 429.
    const OVER_CONCURRENCY: OverConcurrency = OverConcurrency::Reject;
    const MEDIA_ENDPOINT: SeedanceEndpoint = SeedanceEndpoint::Media;
    type Endpoint = SeedanceEndpoint;
    type Data = ArkTask;
    type Error = ArkError;
    type Config = SeedanceSimConfig;

    fn routes() -> axum::Router<crate::framework::SimHandle<Self>> {
        routes::routes()
    }

    /// `cgt-` then a timestamp-like number and a short suffix, as Ark's ids look.
    fn task_id(rng: &mut StdRng) -> String {
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let suffix: String = (0..5)
            .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
            .collect();
        format!(
            "cgt-{:014}-{suffix}",
            rng.random_range(20_260_000_000_000u64..20_270_000_000_000)
        )
    }

    fn outputs(task: &Record<Self>) -> Vec<MediaSpec> {
        let seconds = u64::try_from(task.data.seconds).unwrap_or(5);
        let mut out = vec![MediaSpec::video_for_aspect(
            &task.data.ratio,
            seconds * 1000,
        )];
        if task.data.body.return_last_frame {
            let (width, height) = crate::media::size_for_aspect(&task.data.ratio);
            out.push(MediaSpec::Image { width, height });
        }
        out
    }

    /// The query body, POSTed on every status change (spec "Callback"); unsigned.
    fn callbacks(
        task: &Record<Self>,
        phase: Phase,
        at_ms: i64,
        _config: &SimConfig<Self>,
    ) -> Vec<Outgoing> {
        let Some(url) = &task.callback_url else {
            return Vec::new();
        };
        vec![Outgoing {
            retries: CALLBACK_RETRIES,
            ..Outgoing::json(&task.id, url, task::query_body(task, phase, at_ms))
        }]
    }

    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)> {
        vec![
            ("ARK_BASE_URL", sim.base_url().to_string()),
            ("ARK_API_KEY", sim.api_key().to_string()),
        ]
    }
}

impl Sim<SeedanceWire> {
    /// Starts a Seedance simulator with Seedance's own configuration and the default
    /// shared settings changed by `settings`.
    pub async fn start_seedance(
        wire: SeedanceSimConfig,
        settings: impl FnOnce(
            crate::framework::SimSettings<SeedanceEndpoint>,
        ) -> crate::framework::SimSettings<SeedanceEndpoint>,
    ) -> crate::Result<Self> {
        Sim::start(SimConfig::default().with_wire(wire).with_settings(settings)).await
    }

    /// The address plus [`API_PREFIX`], as Ark's own base URLs end (the sandbox hands out
    /// the bare address, which serves the same routes).
    pub fn ark_base_url(&self) -> String {
        format!("{}{API_PREFIX}", self.base_url())
    }

    /// Tokens Ark billed for task `id` (its `usage.completion_tokens`), once it succeeded.
    pub fn billed_tokens(&self, id: &str) -> Option<i64> {
        self.tasks()
            .into_iter()
            .find(|t| t.id == id && t.phase == Phase::Succeeded)
            .map(|t| rules::completion_tokens(&t.data.body.resolution, t.data.seconds))
    }
}
