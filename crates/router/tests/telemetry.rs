//! Spans (through `tracing-opentelemetry`) and metrics reach an OpenTelemetry SDK
//! (in-memory exporters) with the attributes the issue lists; prompts only when opted in.

mod support;

use genmux_router::{Router, Telemetry};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use support::*;
use tracing_subscriber::layer::SubscriberExt;

struct Sdk {
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    meter: SdkMeterProvider,
    /// The `tracing` subscriber exporting this test's spans (each test runs on its own
    /// current-thread runtime, so a thread default covers it).
    _traced: tracing::subscriber::DefaultGuard,
}

fn sdk() -> Sdk {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meter = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let _traced = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer.tracer("test"))),
    );
    Sdk {
        spans,
        metrics,
        meter,
        _traced,
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn failover_router(sdk: &Sdk, record_prompts: bool) -> Router {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(unavailable())]);
    let dear = MemProvider::serving("dear", 0.20);
    Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .telemetry(Telemetry::from_meter_provider(&sdk.meter).record_prompts(record_prompts))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn generate_attempt_and_status_spans_carry_the_routing_attributes() {
    let sdk = sdk();
    let router = failover_router(&sdk, false);
    let handle = router.generate(request()).await.unwrap();
    router.status(&handle.task).await.unwrap();
    let spans = sdk.spans.get_finished_spans().unwrap();

    let generate = named(&spans, "genmux.generate");
    assert_eq!(generate.len(), 1);
    let g = generate[0];
    assert_eq!(attr(g, "genmux.model"), Some(&Value::from(MODEL)));
    assert_eq!(
        attr(g, "genmux.operation"),
        Some(&Value::from("text_to_video"))
    );
    assert_eq!(
        attr(g, "genmux.price_points"),
        Some(&Value::I64(quote().points))
    );
    assert_eq!(attr(g, "genmux.provider"), Some(&Value::from("dear")));
    assert_eq!(attr(g, "genmux.attempts"), Some(&Value::I64(2)));
    assert_eq!(attr(g, "genmux.failovers"), Some(&Value::I64(1)));
    assert_eq!(
        attr(g, "genmux.prompt"),
        None,
        "prompts are not recorded by default"
    );

    let attempts = named(&spans, "genmux.submit.attempt");
    assert_eq!(attempts.len(), 2);
    for a in &attempts {
        assert_eq!(a.parent_span_id, g.span_context.span_id());
        assert_eq!(a.span_context.trace_id(), g.span_context.trace_id());
    }
    let upstream = named(&spans, "genmux.upstream");
    assert_eq!(upstream.len(), 3, "two submit calls and one status query");
    for a in &attempts {
        let calls: Vec<_> = upstream
            .iter()
            .filter(|u| u.parent_span_id == a.span_context.span_id())
            .collect();
        assert_eq!(calls.len(), 1, "one upstream call under each attempt");
        assert_eq!(
            attr(calls[0], "genmux.upstream.call"),
            Some(&Value::from("submit"))
        );
        assert_eq!(calls[0].span_kind, opentelemetry::trace::SpanKind::Client);
    }
    let first = attempts
        .iter()
        .find(|a| attr(a, "genmux.attempt") == Some(&Value::I64(1)))
        .unwrap();
    assert_eq!(attr(first, "genmux.provider"), Some(&Value::from("cheap")));
    assert_eq!(attr(first, "genmux.failovers"), Some(&Value::I64(0)));
    assert_eq!(
        attr(first, "genmux.error.kind"),
        Some(&Value::from("provider_unavailable"))
    );
    assert_eq!(
        attr(first, "genmux.cost_micros"),
        Some(&Value::I64(500_000))
    );
    let second = attempts
        .iter()
        .find(|a| attr(a, "genmux.attempt") == Some(&Value::I64(2)))
        .unwrap();
    assert_eq!(attr(second, "genmux.provider"), Some(&Value::from("dear")));
    assert_eq!(attr(second, "genmux.failovers"), Some(&Value::I64(1)));
    assert_eq!(
        attr(second, "genmux.status"),
        Some(&Value::from("submitted"))
    );

    let status = named(&spans, "genmux.status");
    assert_eq!(status.len(), 1);
    assert_eq!(
        attr(status[0], "genmux.provider"),
        Some(&Value::from("dear"))
    );
    assert_eq!(
        attr(status[0], "genmux.status"),
        Some(&Value::from("succeeded"))
    );
}

#[tokio::test(start_paused = true)]
async fn prompts_are_recorded_only_when_the_app_opts_in() {
    let sdk = sdk();
    let router = failover_router(&sdk, true);
    router.submit(&quote(), &no_callback).await.unwrap();
    let spans = sdk.spans.get_finished_spans().unwrap();
    let submit = named(&spans, "genmux.submit");
    assert_eq!(
        attr(submit[0], "genmux.prompt"),
        Some(&Value::from("a red fox running through snow"))
    );
}

fn sum_u64(sdk: &Sdk, name: &str, filter: &[KeyValue]) -> u64 {
    sdk.meter.force_flush().unwrap();
    let mut total = 0;
    for rm in sdk.metrics.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm.metrics().filter(|m| m.name() == name) {
                if let AggregatedMetrics::U64(MetricData::Sum(sum)) = m.data() {
                    for dp in sum.data_points() {
                        let attrs: Vec<&KeyValue> = dp.attributes().collect();
                        if filter.iter().all(|f| attrs.contains(&f)) {
                            total = total.max(dp.value());
                        }
                    }
                }
            }
        }
    }
    total
}

#[tokio::test(start_paused = true)]
async fn metrics_count_requests_errors_by_kind_failovers_and_latency() {
    let sdk = sdk();
    let router = failover_router(&sdk, false);
    router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(
        sum_u64(
            &sdk,
            "genmux.router.requests",
            &[KeyValue::new("model", MODEL)]
        ),
        1
    );
    assert_eq!(
        sum_u64(
            &sdk,
            "genmux.router.errors",
            &[
                KeyValue::new("provider", "cheap"),
                KeyValue::new("kind", "provider_unavailable")
            ]
        ),
        1
    );
    assert_eq!(sum_u64(&sdk, "genmux.router.failovers", &[]), 1);
    let mut latency_points = 0;
    for rm in sdk.metrics.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm
                .metrics()
                .filter(|m| m.name() == "genmux.router.attempt.duration")
            {
                if let AggregatedMetrics::F64(MetricData::Histogram(h)) = m.data() {
                    latency_points += h.data_points().map(|d| d.count()).sum::<u64>();
                }
            }
        }
    }
    assert!(latency_points >= 2, "{latency_points}");
}

#[tokio::test(start_paused = true)]
async fn breaker_transitions_are_recorded_on_a_gauge() {
    let sdk = sdk();
    let only = MemProvider::serving("only", 0.05);
    only.always(Act::Fail(unavailable()));
    let router = Router::builder()
        .provider(only.provider())
        .breaker(genmux_router::BreakerConfig {
            window: 2,
            min_calls: 2,
            ..Default::default()
        })
        .retry(genmux_router::RetryConfig::none())
        .telemetry(Telemetry::from_meter_provider(&sdk.meter))
        .build()
        .unwrap();
    for _ in 0..2 {
        router.submit(&quote(), &no_callback).await.unwrap_err();
    }
    sdk.meter.force_flush().unwrap();
    let mut open = false;
    for rm in sdk.metrics.get_finished_metrics().unwrap() {
        for sm in rm.scope_metrics() {
            for m in sm
                .metrics()
                .filter(|m| m.name() == "genmux.router.breaker.state")
            {
                if let AggregatedMetrics::U64(MetricData::Gauge(g)) = m.data() {
                    open |= g.data_points().any(|d| {
                        d.value() == 2
                            && d.attributes()
                                .any(|a| a == &KeyValue::new("provider", "only"))
                    });
                }
            }
        }
    }
    assert!(open, "the open state was not recorded");
}
