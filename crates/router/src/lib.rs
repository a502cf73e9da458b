//! genmux-router: the part of genmux an embedding application uses directly.
//!
//! A [`Router`] holds a [`Registry`] of providers (found through `inventory` or registered
//! explicitly) and the model [`Catalog`](genmux_core::Catalog). For each request it
//!
//! 1. builds the candidate set: every offering of the request's model whose
//!    [`Capability::supports`](genmux_core::Capability::supports) accepts it, minus providers
//!    whose circuit is open or whose in-flight limit is reached;
//! 2. orders the candidates with a [`Picker`] (default [`PriceFirst`]: upstream cost, then
//!    error rate, then latency);
//! 3. makes one attempt at the picked candidate through a stack of small layers around the
//!    provider — circuit breaker, in-flight slot, request rate, retry budget and backoff,
//!    the caller's observer, telemetry, timeout — and, when it fails, asks ONE table what
//!    next ([`recovery`]): the same provider again later (transient: 429, 5xx), the next
//!    provider (our account refused, spent or not allowed there; the provider's own
//!    rejection of a request the catalog accepted), or stop (content policy). After an
//!    error that [may have been accepted](genmux_core::Error::maybe_accepted) nothing is
//!    resubmitted anywhere: the task comes back as
//!    [`TaskStatus::Unknown`](genmux_core::TaskStatus::Unknown) (`RELIABILITY.md` R1).
//!    Retries honour `Retry-After`, back off exponentially with jitter and are bounded by
//!    a [retry budget](RetryConfig).
//!
//! Each provider has a [circuit breaker](BreakerConfig) and optional `governor` rate and
//! in-flight [limits](Limits) (tasks in flight counted in process, or from durable state
//! shared by several processes: [`InFlightSource`]); callers can be limited per key with
//! [`Router::check_caller`]. Status queries go to the provider that created the task
//! (task affinity). Spans are `tracing` spans (exported to OpenTelemetry by the
//! application's `tracing-opentelemetry` layer, and continued upstream as `traceparent`);
//! metrics go to OpenTelemetry through [`Telemetry`]; nothing is exported unless the
//! application installs an exporter.
//!
//! ```no_run
//! # async fn run(provider: genmux_core::Provider) -> genmux_core::Result<()> {
//! use genmux_router::{Router, WaitOptions};
//! let router = Router::builder().provider(provider).build()?;
//! let handle = router
//!     .generate(genmux_core::GenerationRequest {
//!         model: "kling-2.5-turbo".into(),
//!         prompt: Some("a red fox running through snow".into()),
//!         ..Default::default()
//!     })
//!     .await?;
//! let done = router.wait(&handle, WaitOptions::default()).await?;
//! println!("{:?}", done.assets);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod attempt;
mod breaker;
mod budget;
mod clock;
mod failover;
mod health;
mod limits;
mod pick;
mod registry;
mod retry;
mod router;
mod telemetry;
mod wait;

pub use attempt::InFlightSource;
pub use breaker::{BreakerConfig, BreakerState};
pub use failover::{recovery, Recovery};
pub use health::HealthSnapshot;
pub use limits::{CallerLimit, Limits, ProviderLimit};
pub use pick::{Candidate, PickRequest, Picker, PriceFirst, PriceThenOrder};
pub use registry::Registry;
pub use retry::RetryConfig;
pub use router::{RoutePreview, Routed, Router, RouterBuilder, SubmitObserver, TaskHandle};
pub use telemetry::Telemetry;
pub use wait::WaitOptions;
