//! `XaiClient` against a canned HTTP server (the object_store `mock_server` way): what
//! goes out (path, Bearer key, body) and how each kind of answer comes back — the error
//! table with `Retry-After`, a 202 with an empty body, a success that names no task, a
//! timeout after the body was sent. The simulator-level checks are in `provider_suite.rs`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use genmux_core::ErrorKind;
use genmux_xai::wire::CreateVideoRequest;
use genmux_xai::{XaiClient, XaiConfig, XaiTimeouts};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A canned answer: status, headers, body.
type CannedAnswer = (u16, Vec<(String, String)>, String);

/// What the server answers next, and what it saw.
#[derive(Default)]
struct Canned {
    answer: Option<CannedAnswer>,
    stall: Option<Duration>,
    seen: Vec<(String, Option<String>, Value)>,
}

type Shared = Arc<Mutex<Canned>>;

async fn reply(state: &Shared, path: String, headers: &HeaderMap, body: Value) -> Response {
    let (answer, stall) = {
        let mut c = state.lock().unwrap();
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        c.seen.push((path, auth, body));
        (c.answer.clone(), c.stall)
    };
    if let Some(d) = stall {
        tokio::time::sleep(d).await;
    }
    let (status, headers, body) = answer.unwrap_or((200, vec![], "{}".into()));
    let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    resp
}

async fn start() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/prefix/v1/videos/generations",
            post(
                |State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>| async move {
                    reply(&s, "/v1/videos/generations".into(), &h, b).await
                },
            ),
        )
        .route(
            "/prefix/v1/videos/{id}",
            get(
                |State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>| async move {
                    reply(&s, format!("/v1/videos/{id}"), &h, Value::Null).await
                },
            ),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/prefix"), state)
}

fn client(base: &str) -> XaiClient {
    XaiClient::new(
        XaiConfig::new("xai-test-key")
            .with_base_url(base)
            .with_timeouts(XaiTimeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_secs(2),
            }),
    )
    .unwrap()
}

fn answer(state: &Shared, status: u16, headers: &[(&str, &str)], body: &str) {
    state.lock().unwrap().answer = Some((
        status,
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body.to_string(),
    ));
}

fn body() -> CreateVideoRequest {
    CreateVideoRequest {
        model: "grok-imagine-video".into(),
        prompt: "a lighthouse in the fog".into(),
        duration: Some(8),
        resolution: Some("480p".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_and_query_send_the_key_and_the_body() {
    let (base, state) = start().await;
    let c = client(&base);
    answer(&state, 200, &[], r#"{"request_id":"req-42"}"#);
    let created = c.create_video(&body()).await.unwrap();
    assert_eq!(created.request_id, "req-42");
    answer(
        &state,
        200,
        &[],
        r#"{"status":"done","video":{"url":"https://v.test/a.mp4","duration":8},"usage":{"cost_in_usd_ticks":4000000000}}"#,
    );
    let status = c.get_video("req-42").await.unwrap();
    assert_eq!(status.status.as_deref(), Some("done"));
    assert_eq!(status.usage.unwrap().cost_in_usd_ticks, Some(4_000_000_000));
    let seen = std::mem::take(&mut state.lock().unwrap().seen);
    assert_eq!(seen[0].0, "/v1/videos/generations");
    assert_eq!(seen[0].1.as_deref(), Some("Bearer xai-test-key"));
    assert_eq!(
        seen[0].2,
        json!({"model": "grok-imagine-video", "prompt": "a lighthouse in the fog",
            "duration": 8, "resolution": "480p"})
    );
    assert_eq!(seen[1].0, "/v1/videos/req-42");
    assert_eq!(seen[1].1.as_deref(), Some("Bearer xai-test-key"));
}

#[tokio::test]
async fn a_202_with_an_empty_body_is_pending() {
    let (base, state) = start().await;
    answer(&state, 202, &[], "");
    let s = client(&base).get_video("req-1").await.unwrap();
    assert_eq!(s.status.as_deref(), Some("pending"));
}

#[tokio::test]
async fn error_answers_follow_the_table_with_retry_after() {
    let (base, state) = start().await;
    let c = client(&base);
    answer(
        &state,
        429,
        &[("retry-after", "7")],
        r#"{"error":"too many requests"}"#,
    );
    let e = c.create_video(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.is_retryable() && !e.maybe_accepted());
    assert_eq!(e.message(), "xAI HTTP 429: too many requests");
    answer(
        &state,
        400,
        &[],
        r#"{"error":"duration: must be between 1 and 15"}"#,
    );
    let e = c.create_video(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("duration: must be between 1 and 15"));
    answer(&state, 401, &[], r#"{"error":"invalid API key"}"#);
    assert_eq!(
        c.create_video(&body()).await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    answer(&state, 404, &[], r#"{"error":"no such request"}"#);
    assert_eq!(
        c.get_video("nope").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    answer(&state, 503, &[], "upstream busy");
    let e = c.get_video("req-1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(e.is_retryable() && !e.maybe_accepted());
    // A gateway timeout to a submission: xAI may have created the task.
    answer(&state, 504, &[], "gateway timeout");
    let e = c.create_video(&body()).await.unwrap_err();
    assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_success_without_a_request_id_is_maybe_accepted() {
    let (base, state) = start().await;
    answer(&state, 200, &[], r#"{"status":"queued"}"#);
    let e = client(&base).create_video(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_late_answer_is_a_timeout_maybe_accepted_for_submissions_only() {
    let (base, state) = start().await;
    let c = client(&base);
    answer(&state, 200, &[], r#"{"request_id":"req-9"}"#);
    state.lock().unwrap().stall = Some(Duration::from_secs(4));
    let e = c.create_video(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
    let e = c.get_video("req-9").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(!e.maybe_accepted() && e.is_retryable(), "{e}");
}

#[tokio::test]
async fn nothing_sent_is_retryable() {
    // A port nothing listens on: the connection is refused before anything leaves.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = client(&format!("http://{addr}"))
        .create_video(&body())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
}
