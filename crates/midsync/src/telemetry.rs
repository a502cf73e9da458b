//! The gateway's telemetry (issue 19): the server span and metrics of every HTTP request,
//! the gateway's own metrics (points, settlements, callbacks, and gauges read from the
//! database), and the Prometheus text endpoint.
//!
//! Spans are `tracing` spans (the application exports them with a `tracing-opentelemetry`
//! layer); metrics go through the `opentelemetry` API to whatever meter provider the
//! application installed — an OTLP exporter, the [`Prometheus`] registry behind
//! `GET /metrics`, or nothing.
//!
//! | metric | kind | attributes |
//! |---|---|---|
//! | `http.server.request.duration` (s) | histogram (its count is the request rate) | `http.request.method`, `http.route`, `http.response.status_code` |
//! | `genmux.points` | counter | `movement` = `held`, `posted`, `voided` |
//! | `genmux.tasks.settled` | counter | `status` (final) |
//! | `genmux.tasks.unfinished` | gauge | `status` = `submitted`, `processing`, `unknown` |
//! | `genmux.poller.due` | gauge | – |
//! | `genmux.poller.lag` (s) | gauge: how long the oldest due poll has waited | – |
//! | `genmux.callbacks.backlog` | gauge: callbacks still to deliver | – |
//! | `genmux.callbacks.lag` (s) | gauge: how long the oldest due callback has waited | – |
//! | `genmux.callbacks.attempts` | counter | `outcome` = `delivered`, `failed`, `gone`, `exhausted` |
//!
//! The router adds `genmux.router.*` (see `genmux_router::Telemetry`).

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use genmux_core::TaskStatus;
use genmux_store::Gauges;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider};
use opentelemetry::{InstrumentationScope, KeyValue};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const SCOPE: &str = "genmux-gateway";

/// How often the engine refreshes the database gauges (a scrape of `/metrics` refreshes
/// them too).
pub const GAUGE_EVERY: Duration = Duration::from_secs(15);

/// Histogram buckets for durations in seconds (OpenTelemetry's HTTP semantic
/// conventions' advice; the SDK's default buckets are meant for milliseconds).
pub const SECONDS_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The label of requests that matched no route (so unknown paths cannot grow the number
/// of series).
const UNMATCHED: &str = "unmatched";

/// The gateway's instruments. Cheap to clone.
#[derive(Clone)]
pub struct GatewayMetrics {
    inner: Arc<Instruments>,
}

struct Instruments {
    http_duration: Histogram<f64>,
    points: Counter<u64>,
    settled: Counter<u64>,
    unfinished: Gauge<u64>,
    polls_due: Gauge<u64>,
    poll_lag: Gauge<f64>,
    callbacks_backlog: Gauge<u64>,
    callbacks_lag: Gauge<f64>,
    callback_attempts: Counter<u64>,
    asset_copies: Counter<u64>,
    asset_bytes: Counter<u64>,
    lost_upstream_cost: Counter<u64>,
}

impl std::fmt::Debug for GatewayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayMetrics").finish_non_exhaustive()
    }
}

/// A movement of points on the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// Taken from the balance for a running task.
    Held,
    /// Charged: the task succeeded.
    Posted,
    /// Returned: the task ended without a result.
    Voided,
}

impl Movement {
    fn as_str(self) -> &'static str {
        match self {
            Movement::Held => "held",
            Movement::Posted => "posted",
            Movement::Voided => "voided",
        }
    }
}

impl GatewayMetrics {
    /// Instruments on the global meter provider as installed now (a no-op unless the
    /// application installed one).
    pub fn global() -> Self {
        Self::new(&opentelemetry::global::meter_provider().meter_with_scope(scope()))
    }

    /// Instruments on an explicit meter provider.
    pub fn from_meter_provider<M: MeterProvider>(provider: &M) -> Self {
        Self::new(&provider.meter_with_scope(scope()))
    }

    fn new(meter: &Meter) -> Self {
        GatewayMetrics {
            inner: Arc::new(Instruments {
                http_duration: meter
                    .f64_histogram("http.server.request.duration")
                    .with_unit("s")
                    .with_description("Duration of HTTP requests, by route and status")
                    .with_boundaries(SECONDS_BUCKETS.to_vec())
                    .build(),
                points: meter
                    .u64_counter("genmux.points")
                    .with_description("Points held for, charged for and returned from tasks")
                    .build(),
                settled: meter
                    .u64_counter("genmux.tasks.settled")
                    .with_description("Tasks that reached a final status")
                    .build(),
                unfinished: meter
                    .u64_gauge("genmux.tasks.unfinished")
                    .with_description("Tasks not final yet, by status (database-wide)")
                    .build(),
                polls_due: meter
                    .u64_gauge("genmux.poller.due")
                    .with_description("Tasks whose status poll is due (database-wide)")
                    .build(),
                poll_lag: meter
                    .f64_gauge("genmux.poller.lag")
                    .with_unit("s")
                    .with_description("How long the oldest due status poll has waited")
                    .build(),
                callbacks_backlog: meter
                    .u64_gauge("genmux.callbacks.backlog")
                    .with_description("Outbound callbacks still to deliver (database-wide)")
                    .build(),
                callbacks_lag: meter
                    .f64_gauge("genmux.callbacks.lag")
                    .with_unit("s")
                    .with_description("How long the oldest due outbound callback has waited")
                    .build(),
                callback_attempts: meter
                    .u64_counter("genmux.callbacks.attempts")
                    .with_description("Outbound callback delivery attempts, by outcome")
                    .build(),
                asset_copies: meter
                    .u64_counter("genmux.assets.copies")
                    .with_description(
                        "Copies of results into the blob store, by outcome (stored, retried, \
                         refreshed: a dead link replaced by the provider's fresh one, dead: \
                         the upstream's URL was gone, failed: given up at the deadline)",
                    )
                    .build(),
                asset_bytes: meter
                    .u64_counter("genmux.assets.bytes")
                    .with_unit("By")
                    .with_description("Bytes copied into the blob store")
                    .build(),
                lost_upstream_cost: meter
                    .u64_counter("genmux.assets.lost_upstream_cost")
                    .with_unit("uUSD")
                    .with_description(
                        "What upstreams billed for tasks whose results could not be copied \
                         (the caller is not charged: the operator's loss), in micro-USD",
                    )
                    .build(),
            }),
        }
    }

    fn request(&self, method: &axum::http::Method, route: &str, status: u16, took: Duration) {
        self.inner.http_duration.record(
            took.as_secs_f64(),
            &[
                KeyValue::new("http.request.method", method.as_str().to_string()),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ],
        );
    }

    /// Counts `points` moved on the ledger.
    pub fn points(&self, movement: Movement, points: i64) {
        self.inner.points.add(
            u64::try_from(points).unwrap_or(0),
            &[KeyValue::new("movement", movement.as_str())],
        );
    }

    /// Counts a task that reached the final `status`.
    pub fn settled(&self, status: TaskStatus) {
        self.inner
            .settled
            .add(1, &[KeyValue::new("status", status.as_str())]);
    }

    /// Counts a copy attempt of a task's results (`stored`, `retried`, `refreshed`, `dead`,
    /// `failed`).
    pub fn asset_copy(&self, outcome: &'static str) {
        self.inner
            .asset_copies
            .add(1, &[KeyValue::new("outcome", outcome)]);
    }

    /// Counts bytes written to the blob store.
    pub fn asset_bytes(&self, bytes: u64) {
        self.inner.asset_bytes.add(bytes, &[]);
    }

    /// Counts what an upstream billed for a task whose results were lost before the copy.
    pub fn lost_upstream_cost(&self, provider: &str, micros: i64) {
        self.inner.lost_upstream_cost.add(
            u64::try_from(micros).unwrap_or(0),
            &[KeyValue::new("provider", provider.to_string())],
        );
    }

    /// Counts an outbound callback attempt (`delivered`, `failed`, `gone`, `exhausted`).
    pub fn callback_attempt(&self, outcome: &'static str) {
        self.inner
            .callback_attempts
            .add(1, &[KeyValue::new("outcome", outcome)]);
    }

    /// Records the database gauges read at `now`.
    pub fn gauges(&self, g: &Gauges, now: OffsetDateTime) {
        let i = &self.inner;
        for (status, n) in &g.unfinished {
            i.unfinished.record(
                u64::try_from(*n).unwrap_or(0),
                &[KeyValue::new("status", status.as_str())],
            );
        }
        let waited = |since: Option<OffsetDateTime>| {
            since.map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0))
        };
        i.polls_due
            .record(u64::try_from(g.polls_due).unwrap_or(0), &[]);
        i.poll_lag.record(waited(g.oldest_due_poll), &[]);
        i.callbacks_backlog
            .record(u64::try_from(g.callbacks_pending).unwrap_or(0), &[]);
        i.callbacks_lag.record(waited(g.oldest_due_callback), &[]);
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Reads the database gauges and records them.
pub async fn refresh_gauges(state: &AppState) -> genmux_core::Result<()> {
    let now = state.clock().now();
    let gauges = state.store().gauges(now).await?;
    state.metrics().gauges(&gauges, now);
    Ok(())
}

/// The server span and the request metrics of every request: method, route template
/// (never the raw path), status and account (recorded by authentication); the caller's
/// `traceparent` becomes the span's parent. The span's `trace_id` field puts the trace id
/// on every log line of the request.
pub(crate) async fn observe_request(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route_name = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let span = tracing::info_span!(
        "http.request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        http.request.method = method.as_str(),
        http.route = route_name,
        http.response.status_code = tracing::field::Empty,
        genmux.account = tracing::field::Empty,
        genmux.task = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if !span.is_disabled() {
        span.record(
            "otel.name",
            tracing::field::display(format_args!("{} {route_name}", method.as_str())),
        );
        let parent = genmux_core::telemetry::remote_context(req.headers());
        if opentelemetry::trace::TraceContextExt::has_active_span(&parent) {
            let _ = span.set_parent(parent);
        }
        record_trace_id(&span);
    }
    let resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    state
        .metrics()
        .request(&method, route_name, status, start.elapsed());
    resp
}

/// The Prometheus registry a meter provider's Prometheus reader fills, read by
/// `GET /metrics`.
#[derive(Clone, Debug)]
pub struct Prometheus {
    registry: prometheus::Registry,
}

impl Prometheus {
    /// A registry and the reader to install on the application's meter provider
    /// (`SdkMeterProvider::builder().with_reader(reader)`).
    pub fn new() -> Result<(Prometheus, opentelemetry_prometheus::PrometheusExporter), String> {
        let registry = prometheus::Registry::new();
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| format!("the Prometheus exporter: {e}"))?;
        Ok((Prometheus { registry }, reader))
    }

    /// The registry's metrics in the Prometheus text format.
    pub fn encode(&self) -> Result<String, String> {
        use prometheus::Encoder;
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| e.to_string())?;
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

/// `GET /metrics` (operator scope): the Prometheus text exposition; the database gauges
/// are read first, so a scrape sees them fresh. 404 when the gateway was started without
/// a Prometheus registry.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    caller: crate::api::auth::Caller,
) -> Response {
    if let Err(e) = caller.require_any(&[genmux_store::Scope::Operator]) {
        return e.into_response();
    }
    let Some(prometheus) = state.prometheus() else {
        return crate::api::error::ApiError::not_found(
            "metrics are not exported in the Prometheus format by this gateway",
        )
        .into_response();
    };
    if let Err(e) = refresh_gauges(&state).await {
        tracing::warn!(error = %e, "reading the database gauges for /metrics");
    }
    match prometheus.encode() {
        Ok(text) => {
            let mut resp = (StatusCode::OK, text).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            resp
        }
        Err(e) => crate::api::error::ApiError::from(genmux_core::Error::internal(format!(
            "encoding metrics: {e}"
        )))
        .into_response(),
    }
}

/// A span of the engine's later work on a task (`genmux.poll`, `genmux.settle`,
/// `genmux.deliver`), linked to the trace of the request that created the task (its stored
/// `traceparent`): that work runs long after the request's trace ended, often in another
/// replica, so it is its own trace (or a child of the provider callback's request) with a
/// link back.
macro_rules! task_work_span {
    ($name:literal, $task_id:expr, $traceparent:expr) => {{
        let span = tracing::info_span!(
            $name,
            genmux.task = $task_id,
            trace_id = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        $crate::telemetry::link(&span, $traceparent);
        $crate::telemetry::record_trace_id(&span);
        span
    }};
}
pub(crate) use task_work_span;

/// Links `span` to the trace a stored `traceparent` names.
pub(crate) fn link(span: &tracing::Span, traceparent: Option<&str>) {
    if span.is_disabled() {
        return;
    }
    if let Some(origin) = genmux_core::telemetry::span_context_of(traceparent) {
        span.add_link(origin);
    }
}

/// Records the trace id of `span` in its `trace_id` field, so every log line inside it
/// names the trace (when spans are exported).
pub(crate) fn record_trace_id(span: &tracing::Span) {
    if span.is_disabled() {
        return;
    }
    let cx = span.context();
    let trace = opentelemetry::trace::TraceContextExt::span(&cx)
        .span_context()
        .trace_id();
    if trace != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace));
    }
}

/// Whether `span` becomes an OpenTelemetry span (a `tracing-opentelemetry` layer is
/// installed and records it).
pub(crate) fn exported(span: &tracing::Span) -> bool {
    !span.is_disabled()
        && opentelemetry::trace::TraceContextExt::span(&span.context())
            .span_context()
            .is_valid()
}

/// Marks an engine span failed.
pub(crate) fn fail(span: &tracing::Span, error: &genmux_core::Error) {
    if !span.is_disabled() {
        span.record("otel.status_code", "error");
        span.record("otel.status_description", tracing::field::display(error));
    }
}
