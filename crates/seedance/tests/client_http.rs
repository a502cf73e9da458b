//! `ArkClient` against a canned HTTP server (the `object_store` mock-server pattern): what
//! it sends (path, Bearer key, body) and how each kind of answer becomes a task or an
//! error — Ark's codes, `Retry-After`, tolerant reading, and the answers that leave a
//! submission's fate open.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use genmux_core::ErrorKind;
use genmux_seedance::wire::{Content, CreateTaskRequest, TaskStatus};
use genmux_seedance::{ArkClient, ArkConfig, ArkTimeouts};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    auth: Option<String>,
    body: Option<Value>,
}

/// A server answering every request with `answer` and recording it.
struct Canned {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

type Answer = fn() -> Response;

async fn canned(answer: Answer) -> Canned {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(Seen {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    auth: headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                    body: serde_json::from_slice(&body).ok(),
                });
                answer()
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Canned {
        base: format!("http://{addr}/api/v3"),
        seen,
    }
}

fn client(base: &str) -> ArkClient {
    ArkClient::new(
        ArkConfig::new("ark-test-key")
            .with_base_url(base)
            .with_timeouts(ArkTimeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_secs(2),
            }),
    )
    .unwrap()
}

fn body() -> CreateTaskRequest {
    CreateTaskRequest {
        model: "seedance-1-5-pro-251215".into(),
        content: vec![Content::text("a fox")],
        generate_audio: Some(false),
        ..Default::default()
    }
}

fn ark_error(status: u16, code: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"error": {"code": code, "message": "ark says no"}})),
    )
        .into_response()
}

#[tokio::test]
async fn create_sends_the_body_with_the_bearer_key_to_the_tasks_path() {
    let server = canned(|| axum::Json(json!({"id": "cgt-1", "extra": true})).into_response()).await;
    let created = client(&server.base).create_task(&body()).await.unwrap();
    assert_eq!(created.id, "cgt-1");
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/api/v3/contents/generations/tasks");
    assert_eq!(seen.auth.as_deref(), Some("Bearer ark-test-key"));
    assert_eq!(
        seen.body.unwrap(),
        json!({"model": "seedance-1-5-pro-251215",
            "content": [{"type": "text", "text": "a fox"}], "generate_audio": false})
    );
}

#[tokio::test]
async fn query_reads_a_task_tolerantly_and_keeps_the_id_one_segment() {
    let server = canned(|| {
        axum::Json(json!({"id": "cgt-1", "status": "paused", "usage": null, "new": 1}))
            .into_response()
    })
    .await;
    let task = client(&server.base).get_task("cgt-1/../x").await.unwrap();
    assert_eq!(task.status, TaskStatus::Other("paused".into()));
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.path,
        "/api/v3/contents/generations/tasks/cgt-1%2F..%2Fx"
    );
    let e = client(&server.base).get_task(" ").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn ark_errors_become_their_kinds_with_retry_after() {
    let server = canned(|| {
        let mut r = ark_error(429, "RateLimitExceeded.EndpointRPMExceeded");
        r.headers_mut().insert("retry-after", "6".parse().unwrap());
        r
    })
    .await;
    let e = client(&server.base).create_task(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(6)));
    assert!(!e.maybe_accepted());
    assert_eq!(
        e.message(),
        "Ark 429 RateLimitExceeded.EndpointRPMExceeded: ark says no"
    );
    let server = canned(|| ark_error(429, "QuotaExceeded")).await;
    let e = client(&server.base).create_task(&body()).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.is_retryable()),
        (ErrorKind::ProviderUnavailable, false)
    );
    let server = canned(|| ark_error(400, "InputImageSensitiveContentDetected")).await;
    let e = client(&server.base).create_task(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContentRejected);
    let server = canned(|| ark_error(401, "AuthenticationError")).await;
    let e = client(&server.base).get_task("cgt-1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    // Not Ark's shape: the status decides.
    let server =
        canned(|| (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>").into_response()).await;
    let e = client(&server.base).create_task(&body()).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.is_retryable()),
        (ErrorKind::ProviderUnavailable, true)
    );
    assert!(e.message().contains("bad gateway"), "{e}");
}

#[tokio::test]
async fn answers_that_leave_a_submission_open_are_maybe_accepted() {
    // A gateway's 504: Ark may have created the task behind it.
    let server =
        canned(|| (StatusCode::GATEWAY_TIMEOUT, "upstream request timeout").into_response()).await;
    let e = client(&server.base).create_task(&body()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
    // The same on a query is just retryable.
    let e = client(&server.base).get_task("cgt-1").await.unwrap_err();
    assert!(!e.maybe_accepted() && e.is_retryable(), "{e}");
    // A 200 that is not an answer.
    let server = canned(|| (StatusCode::OK, "{\"id\":").into_response()).await;
    let e = client(&server.base).create_task(&body()).await.unwrap_err();
    assert!(e.maybe_accepted(), "{e}");
    let e = client(&server.base).get_task("cgt-1").await.unwrap_err();
    assert!(!e.maybe_accepted() && e.is_retryable(), "{e}");
    // Too slow: timed out after sending.
    let app = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        axum::Json(json!({"id": "cgt-late"}))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let e = client(&format!("http://{addr}/api/v3"))
        .create_task(&body())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.maybe_accepted(), "{e}");
}

#[tokio::test]
async fn nothing_sent_is_retryable_and_not_maybe_accepted() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = client(&format!("http://{addr}/api/v3"))
        .create_task(&body())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
    for bad in ["ftp://ark", "not a url", ""] {
        let e = ArkClient::new(ArkConfig::new("k").with_base_url(bad)).unwrap_err();
        assert!(e.message().starts_with("base_url"), "{e}");
    }
    let e = ArkClient::new(ArkConfig::new(" ")).unwrap_err();
    assert!(e.message().starts_with("api_key"), "{e}");
}
