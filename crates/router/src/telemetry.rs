//! Spans and metrics. Spans are `tracing` spans, so they join whatever trace the caller's
//! current span belongs to (the gateway's HTTP request) and reach OpenTelemetry through
//! the application's `tracing-opentelemetry` layer; with no subscriber they cost a
//! disabled-callsite check. Metrics go through the `opentelemetry` API: the application
//! decides where they go (OTLP, Prometheus, nowhere).
//!
//! Spans: `genmux.generate` (embedded [`Router::generate`](crate::Router::generate)) or
//! `genmux.submit` ([`Router::submit`](crate::Router::submit)), each with one child
//! `genmux.submit.attempt` per upstream attempt, itself the parent of the
//! `genmux.upstream` call (span kind client; the provider's HTTP client sends its context
//! upstream as `traceparent`: [`genmux_core::telemetry::trace_headers`]); `genmux.status`
//! and `genmux.cancel`, each around one `genmux.upstream` call. Attributes:
//! `genmux.provider`, `genmux.model`, `genmux.provider_model`, `genmux.operation`,
//! `genmux.price_points`, `genmux.cost_micros`, `genmux.attempt`, `genmux.failovers`,
//! `genmux.attempts`, `genmux.status`, `genmux.error.kind`, `genmux.upstream.call`, and
//! `genmux.prompt` only when the application opts in with [`Telemetry::record_prompts`].
//!
//! Metrics: `genmux.router.requests` (counter; model, operation),
//! `genmux.router.errors` (counter; provider, kind), `genmux.router.attempt.duration`
//! (histogram, seconds; provider, outcome), `genmux.router.failovers` (counter; model),
//! `genmux.router.breaker.state` (gauge 0 closed / 1 half-open / 2 open; provider).

use crate::breaker::BreakerState;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use std::sync::Arc;
use std::time::Duration;
use tracing::Span;

const SCOPE: &str = "genmux-router";

/// Where the router sends metrics, and whether its spans carry prompts.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Instruments>,
    record_prompts: bool,
}

struct Instruments {
    requests: Counter<u64>,
    errors: Counter<u64>,
    latency: Histogram<f64>,
    failovers: Counter<u64>,
    breaker: Gauge<u64>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("record_prompts", &self.record_prompts)
            .finish_non_exhaustive()
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::global()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

impl Telemetry {
    /// The global meter provider as installed when this is called (a no-op unless the
    /// application installed one). Build the router after installing it.
    pub fn global() -> Self {
        Self::with(opentelemetry::global::meter_provider().meter_with_scope(scope()))
    }

    /// An explicit meter provider (an SDK provider, or one per test).
    pub fn from_meter_provider<M: MeterProvider>(meter_provider: &M) -> Self {
        Self::with(meter_provider.meter_with_scope(scope()))
    }

    fn with(meter: Meter) -> Self {
        Telemetry {
            inner: Arc::new(Instruments {
                requests: meter
                    .u64_counter("genmux.router.requests")
                    .with_description("Submissions routed")
                    .build(),
                errors: meter
                    .u64_counter("genmux.router.errors")
                    .with_description("Failed upstream calls, by error kind")
                    .build(),
                latency: meter
                    .f64_histogram("genmux.router.attempt.duration")
                    .with_unit("s")
                    .with_description("Duration of one upstream submission attempt")
                    // Seconds: the SDK's default buckets are meant for milliseconds.
                    .with_boundaries(vec![
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    ])
                    .build(),
                failovers: meter
                    .u64_counter("genmux.router.failovers")
                    .with_description("Attempts moved to another provider after a failure")
                    .build(),
                breaker: meter
                    .u64_gauge("genmux.router.breaker.state")
                    .with_description("Circuit state: 0 closed, 1 half-open, 2 open")
                    .build(),
            }),
            record_prompts: false,
        }
    }

    /// Whether prompts are recorded on spans (`genmux.prompt`). Off by default: prompts
    /// may hold personal data.
    pub fn record_prompts(mut self, record: bool) -> Self {
        self.record_prompts = record;
        self
    }

    pub(crate) fn records_prompts(&self) -> bool {
        self.record_prompts
    }

    pub(crate) fn request(&self, model: &str, operation: &'static str) {
        self.inner.requests.add(
            1,
            &[
                KeyValue::new("model", model.to_string()),
                KeyValue::new("operation", operation),
            ],
        );
    }

    pub(crate) fn error(&self, provider: &Arc<str>, kind: &'static str) {
        self.inner.errors.add(
            1,
            &[
                KeyValue::new("provider", StringValue::from(provider.clone())),
                KeyValue::new("kind", kind),
            ],
        );
    }

    pub(crate) fn attempt(&self, provider: &Arc<str>, outcome: &'static str, took: Duration) {
        self.inner.latency.record(
            took.as_secs_f64(),
            &[
                KeyValue::new("provider", StringValue::from(provider.clone())),
                KeyValue::new("outcome", outcome),
            ],
        );
    }

    pub(crate) fn failover(&self, model: &str) {
        self.inner
            .failovers
            .add(1, &[KeyValue::new("model", model.to_string())]);
    }

    pub(crate) fn breaker(&self, provider: &Arc<str>, state: BreakerState) {
        self.inner.breaker.record(
            state.gauge_value(),
            &[KeyValue::new(
                "provider",
                StringValue::from(provider.clone()),
            )],
        );
    }
}

/// Marks `span` as failed with `error`: its kind and the error status.
pub(crate) fn fail(span: &Span, error: &genmux_core::Error) {
    if !span.is_disabled() {
        span.record("genmux.error.kind", error.kind().as_str());
        span.record("otel.status_code", "error");
        span.record("otel.status_description", tracing::field::display(error));
    }
}

/// A span around one submission (`genmux.generate`, `genmux.submit`), its attributes
/// recorded as the routing learns them.
macro_rules! submission_span {
    ($name:literal) => {
        tracing::debug_span!(
            $name,
            genmux.model = tracing::field::Empty,
            genmux.operation = tracing::field::Empty,
            genmux.price_points = tracing::field::Empty,
            genmux.prompt = tracing::field::Empty,
            genmux.provider = tracing::field::Empty,
            genmux.provider_model = tracing::field::Empty,
            genmux.attempts = tracing::field::Empty,
            genmux.failovers = tracing::field::Empty,
            genmux.status = tracing::field::Empty,
            genmux.error.kind = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    };
}
pub(crate) use submission_span;

/// A span around a call about an existing task (`genmux.status`, `genmux.cancel`).
macro_rules! task_span {
    ($name:literal, $task:expr) => {
        tracing::debug_span!(
            $name,
            genmux.provider = $task.provider.as_str(),
            genmux.model = $task.model.as_str(),
            genmux.operation = $task.operation.as_str(),
            genmux.status = tracing::field::Empty,
            genmux.error.kind = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    };
}
pub(crate) use task_span;

/// The span of one call to a provider (span kind client): its context is what the
/// provider's HTTP client sends upstream as `traceparent`.
pub(crate) fn upstream_span(provider: &str, call: &'static str) -> Span {
    tracing::debug_span!(
        "genmux.upstream",
        otel.kind = "client",
        genmux.provider = provider,
        genmux.upstream.call = call,
        genmux.error.kind = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    )
}
