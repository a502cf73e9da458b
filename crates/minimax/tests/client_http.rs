//! The client against a loopback server with canned answers (the `object_store`
//! mock-server style): how each answer shape of `spec/upstreams.md` ("MiniMax Hailuo")
//! reaches the caller — errors under HTTP 200, HTTP-layer failures, `Retry-After`,
//! answers after which a submission may have been accepted, the Bearer header and the
//! query parameters sent.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use genmux_core::ErrorKind;
use genmux_minimax::wire::{QueryStatus, VideoGenerationRequest};
use genmux_minimax::{MiniMaxClient, MiniMaxConfig, MiniMaxTimeouts};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One canned answer: status, extra headers, body, and a delay before answering.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn ok(body: &str) -> Canned {
    Canned {
        status: 200,
        headers: Vec::new(),
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

/// What the server saw: method, path and query, Authorization header, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn server(answer: Canned) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let answer = answer.clone();
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let uri = req.uri().to_string();
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            log.lock().unwrap().push((
                method,
                uri,
                auth,
                String::from_utf8_lossy(&body).to_string(),
            ));
            tokio::time::sleep(answer.delay).await;
            let mut r: Response =
                (StatusCode::from_u16(answer.status).unwrap(), answer.body).into_response();
            for (k, v) in answer.headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn client(base: &str) -> MiniMaxClient {
    MiniMaxClient::new(
        MiniMaxConfig::new("sk-test")
            .with_base_url(base)
            .with_timeouts(MiniMaxTimeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_millis(700),
            }),
    )
    .unwrap()
}

fn request() -> VideoGenerationRequest {
    VideoGenerationRequest {
        model: "MiniMax-Hailuo-2.3".into(),
        first_frame_image: Some("https://example.com/a.png".into()),
        duration: Some(6),
        resolution: Some("768P".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_sends_bearer_and_json_and_returns_the_task_id() {
    let (base, seen) = server(ok(
        r#"{"task_id":"106916112212032","base_resp":{"status_code":0,"status_msg":"success"}}"#,
    ))
    .await;
    let id = client(&base)
        .create_video_generation(&request())
        .await
        .unwrap();
    assert_eq!(id, "106916112212032");
    let (method, uri, auth, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (method.as_str(), uri.as_str()),
        ("POST", "/v1/video_generation")
    );
    assert_eq!(auth, "Bearer sk-test");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["model"], "MiniMax-Hailuo-2.3");
    assert_eq!(body["duration"], 6);
}

#[tokio::test]
async fn errors_under_http_200_take_their_code() {
    for (code, kind, retryable) in [
        (1002, ErrorKind::RateLimited, true),
        (1004, ErrorKind::Unauthenticated, false),
        (1008, ErrorKind::ProviderUnavailable, false),
        (1026, ErrorKind::ContentRejected, false),
        (2013, ErrorKind::InvalidRequest, false),
        (2049, ErrorKind::Unauthenticated, false),
    ] {
        let (base, _) = server(ok(&format!(
            r#"{{"task_id":"","base_resp":{{"status_code":{code},"status_msg":"minimax says no"}}}}"#
        )))
        .await;
        let e = client(&base)
            .create_video_generation(&request())
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind(), e.is_retryable()),
            (kind, retryable),
            "{code}: {e}"
        );
        assert!(
            !e.maybe_accepted(),
            "{code}: MiniMax answered; nothing was created"
        );
        assert_eq!(e.message(), format!("MiniMax {code}: minimax says no"));
    }
}

#[tokio::test]
async fn retry_after_is_honoured_on_a_rate_limit() {
    let (base, _) = server(Canned {
        headers: vec![("retry-after", "4".into())],
        ..ok(r#"{"base_resp":{"status_code":1002,"status_msg":"rate limit"}}"#)
    })
    .await;
    let e = client(&base)
        .create_video_generation(&request())
        .await
        .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(4)));
    let (base, _) = server(Canned {
        status: 429,
        headers: vec![("retry-after", "9".into())],
        ..ok("Too Many Requests")
    })
    .await;
    let e = client(&base)
        .query_video_generation("t1")
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.retry_after()),
        (ErrorKind::RateLimited, Some(Duration::from_secs(9)))
    );
}

#[tokio::test]
async fn http_layer_failures_and_ambiguous_answers() {
    // 503 before MiniMax: retryable, nothing created.
    let (base, _) = server(Canned {
        status: 503,
        ..ok("Service Unavailable")
    })
    .await;
    let e = client(&base)
        .create_video_generation(&request())
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.is_retryable(), e.maybe_accepted()),
        (ErrorKind::ProviderUnavailable, true, false)
    );
    // 504 from a proxy on a create: MiniMax may have the task.
    let (base, _) = server(Canned {
        status: 504,
        ..ok("Gateway Timeout")
    })
    .await;
    let e = client(&base)
        .create_video_generation(&request())
        .await
        .unwrap_err();
    assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
    // "success" without a task id, or an unreadable 200: maybe accepted.
    for body in [
        r#"{"task_id":"","base_resp":{"status_code":0,"status_msg":"success"}}"#,
        r#"{"task_id":"1","base_resp":{"status_co"#,
        r#"{"task_id":"1"}"#,
    ] {
        let (base, _) = server(ok(body)).await;
        let e = client(&base)
            .create_video_generation(&request())
            .await
            .unwrap_err();
        assert!(e.maybe_accepted(), "{body}: {e}");
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    }
    // A create answered too late: Timeout, maybe accepted.
    let (base, _) = server(Canned {
        delay: Duration::from_millis(1500),
        ..ok(r#"{"task_id":"1","base_resp":{"status_code":0}}"#)
    })
    .await;
    let e = client(&base)
        .create_video_generation(&request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.maybe_accepted() && !e.is_retryable());
    // The same for a query: retryable, never maybe accepted.
    let e = client(&base).query_video_generation("1").await.unwrap_err();
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
    // Nobody listening: nothing was sent.
    let e = client("http://127.0.0.1:9")
        .create_video_generation(&request())
        .await
        .unwrap_err();
    assert!(!e.maybe_accepted() && e.is_retryable(), "{e}");
}

#[tokio::test]
async fn query_and_retrieve_send_their_ids_and_read_the_answers() {
    let (base, seen) = server(ok(
        r#"{"task_id":"t 1","status":"Fail","file_id":"","base_resp":{"status_code":1027,"status_msg":"output video sensitive"}}"#,
    ))
    .await;
    // A failed task's reason is the task's state, not a failed query.
    let q = client(&base).query_video_generation("t 1").await.unwrap();
    assert_eq!(q.status, QueryStatus::Fail);
    assert_eq!(q.base_resp.status_code, 1027);
    assert_eq!(
        seen.lock().unwrap()[0].1,
        "/v1/query/video_generation?task_id=t+1"
    );
    // Any other code on a query is an error.
    let (base, _) = server(ok(
        r#"{"task_id":"","status":"","base_resp":{"status_code":2013,"status_msg":"invalid params"}}"#,
    ))
    .await;
    let e = client(&base).query_video_generation("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let (base, seen) = server(ok(
        r#"{"file":{"file_id":205258526306433,"bytes":0,"created_at":1700469398,"filename":"output.mp4","purpose":"video_generation","download_url":"https://cdn.test/v.mp4"},"base_resp":{"status_code":0,"status_msg":"success"}}"#,
    ))
    .await;
    let f = client(&base)
        .retrieve_file("205258526306433")
        .await
        .unwrap();
    assert_eq!(f.download_url, "https://cdn.test/v.mp4");
    assert_eq!(f.file_id, "205258526306433");
    assert_eq!(
        seen.lock().unwrap()[0].1,
        "/v1/files/retrieve?file_id=205258526306433"
    );
    // A file without a download URL is unreadable (retryable for a query).
    let (base, _) = server(ok(
        r#"{"file":{"file_id":1},"base_resp":{"status_code":0}}"#,
    ))
    .await;
    let e = client(&base).retrieve_file("1").await.unwrap_err();
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
}
