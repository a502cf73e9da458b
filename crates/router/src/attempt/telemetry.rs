//! The telemetry layer: one `genmux.submit.attempt` span per upstream attempt (a child of
//! the submission's span) with the routing attributes, the attempt-duration histogram by
//! outcome (`accepted`, `unknown`, `failed`), the error counter by kind, and the failover
//! counter. It sits inside the gates, so an attempt passed over makes no span.

use super::{Attempt, Call, Outcome};
use crate::telemetry::{self, Telemetry};
use std::time::Instant;
use tracing::Instrument;

/// See the module docs.
pub(crate) struct TelemetryLayer<'r, S> {
    telemetry: &'r Telemetry,
    inner: S,
}

impl<'r, S> TelemetryLayer<'r, S> {
    pub(crate) fn new(telemetry: &'r Telemetry, inner: S) -> Self {
        TelemetryLayer { telemetry, inner }
    }
}

impl<S: Call> Call for TelemetryLayer<'_, S> {
    async fn call(&self, a: &Attempt<'_>, now: Instant) -> Outcome {
        let t = self.telemetry;
        let provider = &a.entry.id;
        if a.failover {
            t.failover(&a.quote.model);
        }
        let span = tracing::debug_span!(
            parent: a.parent,
            "genmux.submit.attempt",
            genmux.provider = &**provider,
            genmux.model = a.quote.model.as_str(),
            genmux.provider_model = a.offering.provider_model.as_str(),
            genmux.operation = a.quote.operation.as_str(),
            genmux.price_points = a.quote.points,
            genmux.cost_micros = a.cost_micros,
            genmux.attempt = i64::from(a.made + 1),
            genmux.failovers = i64::from(a.failovers),
            genmux.status = tracing::field::Empty,
            genmux.error.kind = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let outcome = self.inner.call(a, now).instrument(span.clone()).await;
        if let Outcome::Sent(sent) = &outcome {
            match &sent.result {
                Ok(submission) => {
                    t.attempt(provider, "accepted", sent.took);
                    span.record("genmux.status", submission.status.as_str());
                }
                Err(e) => {
                    let outcome = if e.maybe_accepted() {
                        "unknown"
                    } else {
                        "failed"
                    };
                    t.attempt(provider, outcome, sent.took);
                    t.error(provider, e.kind().as_str());
                    telemetry::fail(&span, e);
                }
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::testing::{fixture_with, unavailable, Script};
    use opentelemetry::trace::{Status, TracerProvider as _};
    use opentelemetry::Value;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt;

    #[tokio::test(start_paused = true)]
    async fn each_sent_attempt_is_a_span_with_its_number_and_outcome() {
        let spans = InMemorySpanExporter::default();
        let tracer = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let _traced = tracing::subscriber::set_default(
            tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(tracer.tracer("test"))),
        );
        let meter = opentelemetry_sdk::metrics::SdkMeterProvider::builder().build();
        let mut f = fixture_with(Default::default(), Default::default());
        f.telemetry = Telemetry::from_meter_provider(&meter);
        let failing = Script::failing(unavailable());
        let mut a = f.attempt();
        a.made = 1;
        a.failovers = 1;
        a.failover = true;
        TelemetryLayer::new(&f.telemetry, &failing)
            .call(&a, crate::clock::now())
            .await;
        let accepting = Script::accepting();
        TelemetryLayer::new(&f.telemetry, &accepting)
            .call(&f.attempt(), crate::clock::now())
            .await;
        let done: Vec<_> = spans
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.name == "genmux.submit.attempt")
            .collect();
        assert_eq!(done.len(), 2);
        let attr = |i: usize, key: &str| {
            done[i]
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert!(done.iter().all(|s| s.name == "genmux.submit.attempt"));
        assert_eq!(attr(0, "genmux.attempt"), Some(Value::I64(2)));
        assert_eq!(attr(0, "genmux.failovers"), Some(Value::I64(1)));
        assert_eq!(
            attr(0, "genmux.error.kind"),
            Some(Value::from("provider_unavailable"))
        );
        assert!(matches!(done[0].status, Status::Error { .. }));
        assert_eq!(attr(1, "genmux.attempt"), Some(Value::I64(1)));
        assert_eq!(attr(1, "genmux.status"), Some(Value::from("submitted")));
        assert_eq!(attr(1, "genmux.provider"), Some(Value::from("mem")));
    }
}
