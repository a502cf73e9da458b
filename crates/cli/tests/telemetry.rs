//! Issue 19, end to end through `genmux serve`: one trace per request, exported over
//! OTLP/HTTP to a real receiver (an axum server in this test decoding the protobuf with
//! `opentelemetry-proto`), and the Prometheus endpoint operators scrape.

mod support;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Gateway;

/// Every span the receiver got.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Span>>>);

impl Received {
    fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().clone()
    }
}

async fn traces(State(got): State<Received>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP/HTTP protobuf body");
    let mut spans = got.0.lock().unwrap();
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            spans.extend(scope.spans);
        }
    }
    ""
}

/// An OTLP/HTTP receiver on a free port: spans kept, metrics accepted and dropped.
async fn receiver() -> (String, Received) {
    let got = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(|| async { "" }))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            AnyValue::StringValue(s) => s.clone(),
            AnyValue::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

fn one<'a>(spans: &'a [Span], name: &str, parent: &Span) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == name && s.parent_span_id == parent.span_id)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} under {}: {:?}",
        parent.name,
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_generate_is_one_trace_from_the_caller_to_the_upstream_and_its_settlement_links_back() {
    let (otlp, received) = receiver().await;
    let gw = tokio::task::spawn_blocking(move || {
        Gateway::start_env(
            &["--sandbox", "--log-format", "json"],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ],
        )
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/unified-video/generate", gw.url))
        .bearer_auth(&gw.key)
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .json(&json!({"model": "kling-2.5-turbo", "prompt": "a red fox running through snow", "duration": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", gw.logs());
    let task: Value = resp.json().await.unwrap();
    let task_id = task["taskId"].as_str().unwrap().to_string();

    // The task settles (sandbox poll or callback: the log says `task settled` in the
    // settlement's span, which names its trace), then that settlement's span arrives.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (spans, settled_line) = loop {
        let final_line = gw.logs().lines().find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            (v["message"] == "task settled" && v["task"] == task_id.as_str()).then_some(v)
        });
        let spans = received.spans();
        if let Some(line) = final_line {
            let trace = line["span"]["trace_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if spans
                .iter()
                .any(|s| s.name == "genmux.settle" && hex(&s.trace_id) == trace)
            {
                break (spans, line);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no final settlement of {task_id} exported; got {:?}\n{}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>(),
            gw.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // HTTP: the server span continues the caller's trace, under the caller's span.
    let server = spans
        .iter()
        .find(|s| s.name == "POST /unified-video/generate")
        .expect("the request's server span");
    assert_eq!(hex(&server.trace_id), CALLER_TRACE);
    assert_eq!(hex(&server.parent_span_id), CALLER_SPAN);
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(
        attr(server, "http.route").as_deref(),
        Some("/unified-video/generate")
    );
    assert_eq!(
        attr(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(attr(server, "genmux.account").as_deref(), Some("default"));
    assert_eq!(
        attr(server, "genmux.task").as_deref(),
        Some(task_id.as_str())
    );
    let all_attrs: Vec<String> = spans
        .iter()
        .flat_map(|s| s.attributes.iter().filter_map(|kv| attr(s, &kv.key)))
        .collect();
    assert!(
        !all_attrs.iter().any(|v| v.contains(&gw.key)),
        "the API key is on no span"
    );
    assert!(
        !all_attrs.iter().any(|v| v.contains("red fox")),
        "prompts stay off spans unless telemetry.record_prompts is set"
    );

    // → auth, quote, hold (the hold and the task row), submit → attempt → upstream call.
    one(&spans, "genmux.auth", server);
    let quote = one(&spans, "genmux.quote", server);
    assert_eq!(
        attr(quote, "genmux.model").as_deref(),
        Some("kling-2.5-turbo")
    );
    let hold = one(&spans, "genmux.store.hold", server);
    assert_eq!(attr(hold, "genmux.task").as_deref(), Some(task_id.as_str()));
    let submit = one(&spans, "genmux.submit", server);
    let provider = attr(submit, "genmux.provider").expect("the provider that took it");
    assert!(
        ["kling", "midsync"].contains(&provider.as_str()),
        "{provider}"
    );
    let attempt = one(&spans, "genmux.submit.attempt", submit);
    assert_eq!(attr(attempt, "genmux.attempt").as_deref(), Some("1"));
    let upstream = one(&spans, "genmux.upstream", attempt);
    assert_eq!(upstream.kind, SpanKind::Client as i32);
    assert_eq!(
        attr(upstream, "genmux.upstream.call").as_deref(),
        Some("submit")
    );
    one(&spans, "genmux.store.record_submission", server);
    for s in [quote, hold, submit, attempt, upstream] {
        assert_eq!(
            hex(&s.trace_id),
            CALLER_TRACE,
            "{} is in the one trace",
            s.name
        );
    }
    assert!(
        hold.start_time_unix_nano < submit.start_time_unix_nano,
        "the hold precedes the submission"
    );

    // The settlement is later work of its own, linked to the request's server span.
    // The final settlement (its log line names its trace) is later work of its own.
    let settle = spans
        .iter()
        .find(|s| s.name == "genmux.settle" && settled_line["span"]["trace_id"] == hex(&s.trace_id))
        .unwrap();
    assert_eq!(
        attr(settle, "genmux.task").as_deref(),
        Some(task_id.as_str())
    );
    let link = settle
        .links
        .iter()
        .find(|l| hex(&l.trace_id) == CALLER_TRACE)
        .unwrap();
    assert_eq!(
        link.span_id, server.span_id,
        "linked to the request that created the task"
    );
    assert_ne!(hex(&settle.trace_id), CALLER_TRACE, "a trace of its own");

    // `--log-format json`: one object per line; the request's lines name its trace and task.
    let logs = gw.logs();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object: {l:?}: {e}"))
        })
        .collect();
    assert!(lines.iter().all(Value::is_object));
    let submitted = lines
        .iter()
        .find(|l| l["message"] == "task submitted" && l["task"] == task_id.as_str())
        .unwrap_or_else(|| panic!("no `task submitted` line for {task_id}:\n{logs}"));
    let request = submitted["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "http.request"))
        .unwrap_or_else(|| panic!("{submitted}"));
    assert_eq!(request["trace_id"], CALLER_TRACE, "{submitted}");
    assert_eq!(request["genmux.task"], task_id.as_str(), "{submitted}");
    assert_eq!(request["genmux.account"], "default", "{submitted}");
    assert_eq!(
        settled_line["span"]["name"], "genmux.settle",
        "{settled_line}"
    );
    assert_eq!(
        settled_line["span"]["genmux.task"],
        task_id.as_str(),
        "{settled_line}"
    );
}

/// The value of the first sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_scrape_metrics_that_move_and_tenants_are_refused() {
    let gw = tokio::task::spawn_blocking(|| Gateway::start(&["--sandbox"]))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let scrape = |key: String| {
        let http = http.clone();
        let url = format!("{}/metrics", gw.url);
        async move { http.get(url).bearer_auth(key).send().await.unwrap() }
    };
    let before = scrape(gw.key.clone()).await;
    assert_eq!(before.status(), 200);
    assert!(before
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let before = before.text().await.unwrap();
    assert!(
        before.contains("# TYPE genmux_tasks_unfinished gauge"),
        "{before}"
    );

    for _ in 0..2 {
        let r = http
            .post(format!("{}/unified-video/generate", gw.url))
            .bearer_auth(&gw.key)
            .json(&json!({"model": "kling-2.5-turbo", "prompt": "a fox", "duration": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let bad = http
        .post(format!("{}/unified-video/generate", gw.url))
        .bearer_auth(&gw.key)
        .json(&json!({"model": "kling-2.5-turbo", "prompt": "a fox", "duration": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let after = scrape(gw.key.clone()).await.text().await.unwrap();

    let route = "http_route=\"/unified-video/generate\"";
    let count = "http_server_request_duration_seconds_count";
    let ok = ["http_response_status_code=\"200\"", route];
    let refused = ["http_response_status_code=\"400\"", route];
    assert_eq!(sample(&before, count, &ok), 0.0);
    assert_eq!(sample(&after, count, &ok), 2.0, "{after}");
    assert_eq!(sample(&after, count, &refused), 1.0, "errors by status");
    assert!(
        sample(&after, "genmux_points_total", &["movement=\"held\""]) > 0.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "genmux_router_requests_total",
            &["model=\"kling-2.5-turbo\""]
        ) >= 2.0
    );
    assert!(
        sample(
            &after,
            "genmux_router_attempt_duration_seconds_count",
            &["outcome=\"accepted\""]
        ) >= 2.0,
        "{after}"
    );
    assert!(
        sample(&after, "genmux_tasks_unfinished", &[]) >= 0.0
            && after.contains("genmux_tasks_unfinished{"),
        "{after}"
    );
    assert!(after.contains("genmux_poller_lag_seconds"), "{after}");
    assert!(after.contains("genmux_callbacks_backlog"), "{after}");

    // A tenant key (even an admin of its own account) gets 403, no metrics.
    let tenant = gw
        .run(&[
            "--json", "keys", "create", "--name", "tenant", "--scope", "admin",
        ])
        .ok()
        .json();
    let tenant_key = tenant["key"].as_str().unwrap().to_string();
    let refused = scrape(tenant_key).await;
    assert_eq!(refused.status(), 403);
    let body = refused.text().await.unwrap();
    assert!(body.contains("operator"), "{body}");
    assert!(!body.contains("genmux_"), "{body}");
    // And no key at all: 401.
    let anonymous = http
        .get(format!("{}/metrics", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
