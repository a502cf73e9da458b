//! `RunwayClient` over real HTTP on 127.0.0.1:0 against a scripted raw-socket server: the
//! headers every call carries, the paths and bodies, and what reaches the router when the
//! answer is an error, a `Retry-After`, a drop, a stall or garbage.

use genmux_core::ErrorKind;
use genmux_runway::wire::TextToVideoRequest;
use genmux_runway::{RunwayClient, RunwayConfig, RunwayTimeouts};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with the n-th request.
#[derive(Clone)]
enum Reply {
    Http(u16, Vec<(&'static str, String)>, String),
    Drop,
    Stall,
}

#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn server(replies: Vec<Reply>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        let mut replies = replies.into_iter();
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let Some(reply) = replies.next() else { return };
            let Some(req) = read_request(&mut sock).await else {
                continue;
            };
            seen2.lock().unwrap().push(req);
            match reply {
                Reply::Http(status, headers, body) => {
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                }
                Reply::Drop => drop(sock),
                Reply::Stall => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        }
    });
    (url, seen)
}

async fn read_request(sock: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        request_line,
        headers,
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

fn client(url: &str) -> RunwayClient {
    RunwayClient::new(
        RunwayConfig::new("key_secret_1")
            .with_base_url(url)
            .with_timeouts(RunwayTimeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_millis(700),
            }),
    )
    .unwrap()
}

fn t2v() -> TextToVideoRequest {
    TextToVideoRequest {
        model: "gen4.5".into(),
        prompt_text: "a fox".into(),
        ratio: "1280:720".into(),
        duration: Some(5),
        seed: None,
    }
}

fn ok(body: &str) -> Reply {
    Reply::Http(200, vec![], body.into())
}

#[tokio::test]
async fn every_call_carries_the_secret_and_the_version() {
    let (url, seen) = server(vec![
        ok(r#"{"id":"task-1"}"#),
        ok(r#"{"id":"task-1","status":"RUNNING","progress":0.5,"createdAt":"2026-12-06T08:00:00Z"}"#),
        Reply::Http(204, vec![], String::new()),
    ])
    .await;
    let c = client(&url);
    let created = c.create_text_to_video(&t2v()).await.unwrap();
    assert_eq!(created.id, "task-1");
    let task = c.get_task("task-1").await.unwrap();
    assert_eq!(task.progress, Some(0.5));
    c.delete_task("task-1").await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let lines: Vec<_> = seen.iter().map(|s| s.request_line.clone()).collect();
    assert_eq!(
        lines,
        [
            "POST /v1/text_to_video HTTP/1.1",
            "GET /v1/tasks/task-1 HTTP/1.1",
            "DELETE /v1/tasks/task-1 HTTP/1.1"
        ]
    );
    for s in &seen {
        assert_eq!(s.header("authorization"), Some("Bearer key_secret_1"));
        assert_eq!(s.header("x-runway-version"), Some("2024-11-06"));
    }
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"model":"gen4.5","promptText":"a fox","ratio":"1280:720","duration":5})
    );
}

#[tokio::test]
async fn a_task_id_cannot_change_the_path() {
    let (url, seen) = server(vec![Reply::Http(
        404,
        vec![],
        r#"{"error":"Task not found"}"#.into(),
    )])
    .await;
    let e = client(&url)
        .get_task("../image_to_video")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.message(), "Runway HTTP 404: Task not found");
    assert_eq!(
        seen.lock().unwrap()[0].request_line,
        "GET /v1/tasks/..%2Fimage_to_video HTTP/1.1"
    );
}

#[tokio::test]
async fn errors_keep_runways_words_and_retry_after() {
    let (url, _) = server(vec![
        Reply::Http(
            429,
            vec![("retry-after", "7".into())],
            r#"{"error":"You have exceeded the rate limit"}"#.into(),
        ),
        Reply::Http(
            400,
            vec![],
            r#"{"error":"Validation of body failed","issues":[{"path":["ratio"],"message":"Invalid enum value"}]}"#
                .into(),
        ),
        Reply::Http(502, vec![], "<html>bad gateway</html>".into()),
    ])
    .await;
    let c = client(&url);
    let e = c.create_text_to_video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(!e.maybe_accepted());
    let e = c.create_text_to_video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("Validation of body failed") && e.message().contains("ratio"));
    let e = c.get_task("t").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(e.is_retryable());
    assert_eq!(e.message(), "Runway HTTP 502: <html>bad gateway</html>");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_maybe_accepted_a_query_is_retryable() {
    let (url, _) = server(vec![
        Reply::Drop,
        Reply::Stall,
        ok("not json"),
        Reply::Http(504, vec![], r#"{"error":"timeout"}"#.into()),
        Reply::Drop,
        Reply::Stall,
    ])
    .await;
    let c = client(&url);
    for what in ["dropped", "stalled", "garbage", "504"] {
        let e = c.create_text_to_video(&t2v()).await.unwrap_err();
        assert!(e.maybe_accepted(), "{what}: {e}");
        assert!(!e.is_retryable(), "{what}: {e}");
    }
    for what in ["dropped", "stalled"] {
        let e = c.get_task("t").await.unwrap_err();
        assert!(!e.maybe_accepted(), "{what}: {e}");
        assert!(e.is_retryable(), "{what}: {e}");
    }
}

#[tokio::test]
async fn nothing_sent_is_retryable_and_not_accepted() {
    // A port nobody listens on.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = client(&url).create_text_to_video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
}

#[test]
fn the_secret_is_never_printed() {
    let cfg = RunwayConfig::new("key_very_secret");
    assert!(!format!("{cfg:?}").contains("very_secret"));
    let c = RunwayClient::new(cfg).unwrap();
    assert!(!format!("{c:?}").contains("very_secret"));
    let e = RunwayClient::new(RunwayConfig::new("  ")).unwrap_err();
    assert!(e.message().starts_with("api_secret"), "{e}");
}
