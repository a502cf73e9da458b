//! OpenTelemetry spans and metrics, through the `opentelemetry` API only: the application
//! decides where they go (OTLP, stdout, nowhere). With no provider installed, the global
//! tracer and meter are no-ops and nothing is exported.
//!
//! Spans: `genmux.generate` (embedded [`Router::generate`](crate::Router::generate)) or
//! `genmux.submit` ([`Router::submit`](crate::Router::submit)), each with one child
//! `genmux.submit.attempt` per upstream attempt, and `genmux.status`. Attributes:
//! `genmux.provider`, `genmux.model`, `genmux.provider_model`, `genmux.operation`,
//! `genmux.price_points`, `genmux.cost_micros`, `genmux.attempt`, `genmux.failovers`,
//! `genmux.attempts`, `genmux.status`, `genmux.error.kind`, and `genmux.prompt` only when
//! the application opts in with [`Telemetry::record_prompts`].
//!
//! Metrics: `genmux.router.requests` (counter; model, operation),
//! `genmux.router.errors` (counter; provider, kind), `genmux.router.attempt.duration`
//! (histogram, seconds; provider, outcome), `genmux.router.failovers` (counter; model),
//! `genmux.router.breaker.state` (gauge 0 closed / 1 half-open / 2 open; provider).

use crate::breaker::BreakerState;
use opentelemetry::global::{BoxedTracer, ObjectSafeTracerProvider};
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider};
use opentelemetry::trace::{Span, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, InstrumentationScope, KeyValue, StringValue};
use std::sync::Arc;
use std::time::Duration;

const SCOPE: &str = "genmux-router";

/// Where the router sends spans and metrics.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Instruments>,
    record_prompts: bool,
}

struct Instruments {
    tracer: BoxedTracer,
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
    /// The global tracer and meter providers as installed when this is called (no-ops
    /// unless the application installed some). Build the router after installing them.
    pub fn global() -> Self {
        let tracer = opentelemetry::global::tracer_provider().boxed_tracer(scope());
        let meter = opentelemetry::global::meter_provider().meter_with_scope(scope());
        Self::with(BoxedTracer::new(tracer), meter)
    }

    /// Explicit tracer and meter providers (an SDK provider, or one per test).
    pub fn from_providers<T, M>(tracer_provider: &T, meter_provider: &M) -> Self
    where
        T: ObjectSafeTracerProvider,
        M: MeterProvider,
    {
        Self::with(
            BoxedTracer::new(tracer_provider.boxed_tracer(scope())),
            meter_provider.meter_with_scope(scope()),
        )
    }

    fn with(tracer: BoxedTracer, meter: Meter) -> Self {
        Telemetry {
            inner: Arc::new(Instruments {
                tracer,
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

    /// Starts a span as a child of `parent` and returns the context holding it.
    pub(crate) fn start(&self, name: &'static str, parent: &Context) -> Context {
        let span = self.inner.tracer.start_with_context(name, parent);
        parent.with_span(span)
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

/// Sets attributes on the span of `cx` when it records (building them costs nothing
/// otherwise).
pub(crate) fn annotate(cx: &Context, attributes: impl FnOnce() -> Vec<KeyValue>) {
    let span = cx.span();
    if span.is_recording() {
        span.set_attributes(attributes());
    }
}

/// Marks the span of `cx` as failed with `error`.
pub(crate) fn fail(cx: &Context, error: &genmux_core::Error) {
    let span = cx.span();
    if span.is_recording() {
        span.set_attribute(KeyValue::new("genmux.error.kind", error.kind().as_str()));
        span.set_status(Status::error(error.to_string()));
    }
}

/// Ends the span of `cx`.
pub(crate) fn end(cx: &Context) {
    cx.span().end();
}

// `Span` is used through `SpanRef`; keep the trait in scope for `end` on boxed spans.
#[allow(unused_imports)]
use Span as _;
