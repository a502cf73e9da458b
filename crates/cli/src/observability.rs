//! Logs, traces and metrics of `genmux serve` (issue 19).
//!
//! - Logs: `tracing-subscriber`'s formatter, `pretty` or `json` (one object per line, with
//!   the fields of the spans it happened in: the request's `trace_id`, `genmux.task`,
//!   `genmux.account`), levels from `RUST_LOG`.
//! - Traces: with `telemetry.otlp_endpoint` set, a `tracing-opentelemetry` layer turns the
//!   spans into OpenTelemetry spans, batched to `<endpoint>/v1/traces` over OTLP/HTTP. The
//!   W3C Trace Context propagator is installed, so callers' `traceparent` is continued and
//!   upstream requests carry ours. Without an endpoint there is no such layer: the inner
//!   spans of a request are DEBUG, disabled at the log formatter's default level, and the
//!   request's and the engine's INFO spans cost what the formatter does with them.
//! - Metrics: always a meter provider with the Prometheus reader behind `GET /metrics`;
//!   with an endpoint also a periodic OTLP/HTTP reader to `<endpoint>/v1/metrics`.

use crate::exit::CliError;
use genmux_midsync::telemetry::Prometheus;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Installed providers, flushed on shutdown.
pub struct Observability {
    tracer: Option<SdkTracerProvider>,
    meter: SdkMeterProvider,
    /// The registry `GET /metrics` serves.
    pub prometheus: Prometheus,
}

impl Observability {
    /// Flushes spans and metrics still buffered.
    pub fn shutdown(self) {
        if let Some(t) = self.tracer {
            if let Err(e) = t.shutdown() {
                tracing::warn!(error = %e, "flushing spans");
            }
        }
        if let Err(e) = self.meter.shutdown() {
            tracing::warn!(error = %e, "flushing metrics");
        }
    }
}

/// The log formats `--log-format` allows.
fn check_format(format: Option<&str>) -> Result<bool, CliError> {
    match format.unwrap_or("pretty") {
        "json" => Ok(true),
        "pretty" => Ok(false),
        other => Err(CliError::Usage(format!(
            "log_format: `{other}` is not allowed (allowed: pretty, json)"
        ))),
    }
}

fn env_filter(default_level: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level))
}

/// Logs only (commands that serve nothing: `demo`, `sim`).
pub fn init_logs(format: Option<&str>, default_level: &str) -> Result<(), CliError> {
    let json = check_format(format)?;
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json().flatten_event(true).boxed()
    } else {
        fmt.boxed()
    };
    // A subscriber installed earlier (tests) is fine.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(env_filter(default_level)))
        .try_init();
    Ok(())
}

/// Logs, the trace pipeline (with an OTLP endpoint) and the meter provider of `serve`.
pub fn init(
    format: Option<&str>,
    default_level: &str,
    otlp_endpoint: Option<&str>,
) -> Result<Observability, CliError> {
    let json = check_format(format)?;
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let base = otlp_endpoint.map(|e| e.trim_end_matches('/').to_string());
    let endpoint_error = |e: &dyn std::fmt::Display| {
        CliError::Usage(format!(
            "telemetry.otlp_endpoint / OTEL_EXPORTER_OTLP_ENDPOINT: {e}"
        ))
    };

    let (prometheus, reader) = Prometheus::new().map_err(CliError::Usage)?;
    let mut meter = SdkMeterProvider::builder().with_reader(reader);
    let mut tracer = None;
    if let Some(base) = &base {
        use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OtlpHttp::new())
            .with_endpoint(format!("{base}/v1/traces"))
            .build()
            .map_err(|e| endpoint_error(&e))?;
        tracer = Some(
            SdkTracerProvider::builder()
                .with_resource(resource())
                .with_batch_exporter(spans)
                .build(),
        );
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(OtlpHttp::new())
            .with_endpoint(format!("{base}/v1/metrics"))
            .build()
            .map_err(|e| endpoint_error(&e))?;
        meter = meter
            .with_resource(resource())
            .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(metrics).build());
    }
    let meter = meter.build();
    opentelemetry::global::set_meter_provider(meter.clone());

    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json().flatten_event(true).boxed()
    } else {
        fmt.boxed()
    };
    let otel = tracer.as_ref().map(|provider| {
        use opentelemetry::trace::TracerProvider as _;
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("genmux"))
            .with_filter(tracing_subscriber::filter::filter_fn(exported))
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(env_filter(default_level)))
        .with(otel)
        .try_init();
    Ok(Observability {
        tracer,
        meter,
        prometheus,
    })
}

/// What the trace pipeline takes: genmux's spans down to DEBUG — the inner steps of a
/// request (auth, quote, store writes, attempts, upstream calls) are DEBUG spans, so the
/// log formatter at its default INFO neither formats nor even creates them when no
/// exporter is configured — and everything else (events become span events) from INFO.
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    let level = if meta.is_span() && meta.target().starts_with("genmux") {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    *meta.level() <= level
}

fn resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name("genmux")
        .build()
}

/// The OTLP exporter's HTTP client: the workspace's reqwest, driven on the runtime that
/// started `serve`. The SDK's batch processors export from threads of their own (no Tokio
/// reactor there), so each request is spawned onto the runtime and awaited from there.
#[derive(Debug)]
struct OtlpHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl OtlpHttp {
    fn new() -> Self {
        OtlpHttp {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            runtime: tokio::runtime::Handle::current(),
        }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpHttp {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request.map(reqwest::Body::from))?;
        let client = self.client.clone();
        let answer = self
            .runtime
            .spawn(async move {
                let resp = client.execute(request).await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, body))
            })
            .await??;
        let (status, body) = answer;
        Ok(http::Response::builder().status(status).body(body)?)
    }
}
