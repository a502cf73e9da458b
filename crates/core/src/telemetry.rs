//! Trace context across process boundaries (issue 19): one trace per request, from the
//! caller's `traceparent` through the gateway to the upstream provider's HTTP API.
//!
//! Spans are `tracing` spans; the application turns them into OpenTelemetry spans with a
//! `tracing-opentelemetry` layer and picks the wire format by installing a global text-map
//! propagator (W3C Trace Context: `opentelemetry_sdk::propagation::TraceContextPropagator`).
//! Without that layer or propagator every function here returns empty, without allocating
//! beyond a span handle clone.
//!
//! Provider crates call [`trace_headers`] once, where they build an upstream request:
//!
//! ```
//! // In a provider's client: `self.http.post(url).headers(trace_headers())…`
//! use genmux_core::telemetry::trace_headers;
//! let headers = trace_headers();
//! assert!(headers.is_empty(), "no tracing layer installed: nothing to send");
//! ```

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header that carries a trace context (`spec: W3C Trace Context, 3.2`).
pub const TRACEPARENT: &str = "traceparent";

/// The trace-context headers (`traceparent`, and `tracestate` when set) of the current
/// span, for an upstream HTTP request: the provider's server then continues the gateway's
/// trace. Empty when the current span is not exported.
pub fn trace_headers() -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let cx = current_context();
    if cx.span().span_context().is_valid() {
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(&mut headers))
        });
    }
    headers
}

/// The current span's `traceparent`, to store beside work that continues later (a task's
/// polls, settlement and callbacks link back to the request that created it). `None` when
/// the current span is not exported.
pub fn current_traceparent() -> Option<String> {
    let cx = current_context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut map = std::collections::HashMap::with_capacity(2);
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut map));
    map.remove(TRACEPARENT)
}

/// The span context a stored [`current_traceparent`] names, for a span link. `None` for
/// an absent or malformed value, or when no propagator is installed.
pub fn span_context_of(traceparent: Option<&str>) -> Option<SpanContext> {
    let value = traceparent?;
    // Against an empty context: `extract` starts from the current one, so a malformed
    // value would otherwise name whatever span is current.
    let cx = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&opentelemetry::Context::new(), &One(value))
    });
    let span = cx.span().span_context().clone();
    span.is_valid().then_some(span)
}

/// Links the current span to the trace a stored `traceparent` names (the request that
/// created the task this span works on). Does nothing without one.
pub fn link_current_to(traceparent: Option<&str>) {
    if let Some(origin) = span_context_of(traceparent) {
        tracing::Span::current().add_link(origin);
    }
}

/// The remote parent a caller's headers name (`traceparent`), for the server span of its
/// request; an empty context when it sent none.
pub fn remote_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    if !headers.contains_key(TRACEPARENT) {
        return opentelemetry::Context::new();
    }
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&opentelemetry::Context::new(), &HeaderExtractor(headers))
    })
}

fn current_context() -> opentelemetry::Context {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return opentelemetry::Context::new();
    }
    span.context()
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// A stored `traceparent` as the only header.
struct One<'a>(&'a str);

impl Extractor for One<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn without_a_tracing_layer_nothing_is_sent_or_stored() {
        let _s = tracing::subscriber::set_default(tracing_subscriber::registry());
        let span = tracing::info_span!("request");
        let _in = span.enter();
        assert!(trace_headers().is_empty());
        assert_eq!(current_traceparent(), None);
        assert_eq!(span_context_of(None), None);
    }

    #[test]
    fn the_current_span_goes_upstream_as_traceparent_and_a_stored_one_reads_back() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let _s = tracing::subscriber::set_default(
            tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test"))),
        );
        // A caller's context continues: our span is its child, in its trace.
        let mut caller = http::HeaderMap::new();
        caller.insert(
            TRACEPARENT,
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        let span = tracing::info_span!("genmux.upstream");
        span.set_parent(remote_context(&caller)).unwrap();
        let _in = span.enter();
        let ours = span.context().span().span_context().clone();
        assert_eq!(
            ours.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );

        let headers = trace_headers();
        let sent = headers[TRACEPARENT].to_str().unwrap();
        assert_eq!(
            sent,
            format!("00-{}-{}-01", ours.trace_id(), ours.span_id()),
            "the upstream sees our span as its parent"
        );
        let stored = current_traceparent().expect("a traceparent to store");
        assert_eq!(stored, sent);
        let back = span_context_of(Some(&stored)).expect("a stored traceparent reads back");
        assert_eq!(
            (back.trace_id(), back.span_id()),
            (ours.trace_id(), ours.span_id())
        );
        assert_eq!(span_context_of(Some("00-garbage")), None);
    }
}
