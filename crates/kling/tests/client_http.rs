//! `KlingClient` over real HTTP on 127.0.0.1:0 against a scripted raw-socket server: what
//! reaches the router when the connection is refused, dropped, slow or answers garbage,
//! and how token refresh and `Retry-After` behave.

use genmux_core::ErrorKind;
use genmux_kling::wire::{Endpoint, ListQuery, Text2VideoRequest};
use genmux_kling::{KlingClient, KlingConfig, KlingTimeouts};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the scripted server does with the n-th request it reads.
#[derive(Clone)]
enum Reply {
    /// Answer with this status, extra headers and body.
    Http(u16, Vec<(&'static str, String)>, String),
    /// Read the request, then close without answering.
    Drop,
    /// Read the request, then wait far longer than the client's timeout.
    Stall,
}

struct Seen {
    request_line: String,
    authorization: String,
    body: String,
}

/// Starts a server answering requests in order with `replies`; returns its URL and the
/// requests it saw.
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
            // One request per connection keeps the script simple.
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
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        request_line: head.lines().next().unwrap_or_default().to_string(),
        authorization: header("authorization"),
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

fn client(url: &str) -> KlingClient {
    KlingClient::new(
        KlingConfig::new("ak-test", "sk-test")
            .with_base_url(url)
            .with_timeouts(KlingTimeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_millis(500),
            }),
    )
    .unwrap()
}

fn t2v() -> Text2VideoRequest {
    Text2VideoRequest {
        model_name: Some("kling-v2-5-turbo".into()),
        prompt: Some("a fox".into()),
        ..Default::default()
    }
}

const CREATED: &str = r#"{"code":0,"message":"SUCCEED","request_id":"r-1","data":{"task_id":"t-1","task_info":{"external_task_id":"e-1"},"task_status":"submitted","created_at":1722769557708,"updated_at":1722769557708}}"#;

#[tokio::test]
async fn create_sends_bearer_jwt_and_snake_case_body() {
    let (url, seen) = server(vec![Reply::Http(200, vec![], CREATED.into())]).await;
    let task = client(&url).create_text2video(&t2v()).await.unwrap();
    assert_eq!(task.task_id, "t-1");
    assert_eq!(task.task_info.external_task_id.as_deref(), Some("e-1"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].request_line, "POST /v1/videos/text2video HTTP/1.1");
    assert!(
        seen[0].authorization.starts_with("Bearer eyJ"),
        "{}",
        seen[0].authorization
    );
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"model_name": "kling-v2-5-turbo", "prompt": "a fox"})
    );
}

#[tokio::test]
async fn get_encodes_the_id_and_list_sends_page_params() {
    let list = r#"{"code":0,"message":"SUCCEED","request_id":"r","data":[]}"#;
    let (url, seen) = server(vec![
        Reply::Http(200, vec![], CREATED.into()),
        Reply::Http(200, vec![], list.into()),
    ])
    .await;
    let c = client(&url);
    c.get_text2video("ext/../1 2").await.unwrap();
    let tasks = c
        .list_image_generations(ListQuery {
            page_num: Some(2),
            page_size: Some(50),
        })
        .await
        .unwrap();
    assert!(tasks.is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0].request_line,
        "GET /v1/videos/text2video/ext%2F..%2F1%202 HTTP/1.1"
    );
    assert_eq!(
        seen[1].request_line,
        "GET /v1/images/generations?pageNum=2&pageSize=50 HTTP/1.1"
    );
}

#[tokio::test]
async fn connection_refused_is_retryable_and_not_accepted() {
    // Bind then drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = client(&format!("http://127.0.0.1:{port}"))
        .create_text2video(&t2v())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(e.is_retryable());
    assert!(!e.maybe_accepted());
}

#[tokio::test]
async fn dropped_connection_after_send_is_maybe_accepted_for_creates_only() {
    let (url, _) = server(vec![Reply::Drop, Reply::Drop]).await;
    let c = client(&url);
    let e = c.create_text2video(&t2v()).await.unwrap_err();
    assert!(e.maybe_accepted(), "{e}");
    assert!(!e.is_retryable());
    let e = c.get_text2video("t-1").await.unwrap_err();
    assert!(!e.maybe_accepted());
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn timeout_after_send_is_maybe_accepted() {
    let (url, _) = server(vec![Reply::Stall]).await;
    let e = client(&url).create_text2video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.maybe_accepted());
}

#[tokio::test]
async fn unreadable_success_answer_to_a_create_is_maybe_accepted() {
    let (url, _) = server(vec![
        Reply::Http(200, vec![], "{\"code\":0,\"data\":{".into()),
        Reply::Http(200, vec![], "not json".into()),
    ])
    .await;
    let c = client(&url);
    let e = c.create_text2video(&t2v()).await.unwrap_err();
    assert!(e.maybe_accepted(), "{e}");
    let e = c.get_text2video("t-1").await.unwrap_err();
    assert!(!e.maybe_accepted() && e.is_retryable(), "{e}");
}

#[tokio::test]
async fn token_rejection_is_refreshed_once() {
    let expired = r#"{"code":1004,"message":"token expired","request_id":"r-x","data":null}"#;
    let (url, seen) = server(vec![
        Reply::Http(401, vec![], expired.into()),
        Reply::Http(200, vec![], CREATED.into()),
    ])
    .await;
    let task = client(&url).create_text2video(&t2v()).await.unwrap();
    assert_eq!(task.task_id, "t-1");
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen) = server(vec![
        Reply::Http(401, vec![], expired.into()),
        Reply::Http(401, vec![], expired.into()),
        Reply::Http(200, vec![], CREATED.into()),
    ])
    .await;
    let e = client(&url).create_text2video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert_eq!(e.message(), "Kling 1004: token expired (request_id r-x)");
    assert_eq!(seen.lock().unwrap().len(), 2, "one refresh, not a loop");
}

#[tokio::test]
async fn rate_limit_carries_retry_after_and_account_problems_do_not() {
    let busy =
        r#"{"code":1303,"message":"parallel task over resource pack limit","request_id":"r"}"#;
    let broke = r#"{"code":1101,"message":"account arrears","request_id":"r"}"#;
    let (url, _) = server(vec![
        Reply::Http(429, vec![("retry-after", "3".into())], busy.into()),
        Reply::Http(429, vec![("retry-after", "3".into())], broke.into()),
        Reply::Http(502, vec![], "<html>bad gateway</html>".into()),
    ])
    .await;
    let c = client(&url);
    let e = c.create_text2video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(e
        .message()
        .contains("parallel task over resource pack limit"));
    assert!(!e.maybe_accepted());
    let e = c.create_text2video(&t2v()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ProviderUnavailable);
    assert!(!e.is_retryable() && e.retry_after().is_none());
    let e = c.create_text2video(&t2v()).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.is_retryable()),
        (ErrorKind::ProviderUnavailable, true)
    );
    assert!(
        !e.maybe_accepted(),
        "a 5xx answer means Kling did not accept it"
    );
}

#[tokio::test]
async fn identify_face_failure_is_never_maybe_accepted() {
    let (url, _) = server(vec![Reply::Drop]).await;
    let e = client(&url)
        .identify_face(&genmux_kling::wire::IdentifyFaceRequest {
            video_id: Some("v".into()),
            video_url: None,
        })
        .await
        .unwrap_err();
    assert!(!e.maybe_accepted());
}

#[test]
fn config_errors_name_the_field() {
    let e = KlingClient::new(KlingConfig::new("", "sk")).unwrap_err();
    assert!(e.message().starts_with("access_key"), "{}", e.message());
    let e = KlingClient::new(KlingConfig::new("ak", " ")).unwrap_err();
    assert!(e.message().starts_with("secret_key"), "{}", e.message());
    let e = KlingClient::new(KlingConfig::new("ak", "sk").with_base_url("api.klingai.com"))
        .unwrap_err();
    assert!(e.message().starts_with("base_url"), "{}", e.message());
    let c = KlingClient::new(KlingConfig::new("ak", "sk").with_base_url("http://127.0.0.1:1/"))
        .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:1");
    assert_eq!(Endpoint::OmniImage.path(), "/v1/images/omni-image");
    let dbg = format!("{:?}", KlingConfig::new("ak", "very-secret"));
    assert!(!dbg.contains("very-secret"), "{dbg}");
    let dbg = format!("{:?}", KlingConfig::with_api_key("static-secret-key"));
    assert!(!dbg.contains("static-secret-key"), "{dbg}");
    let e = KlingClient::new(KlingConfig::with_api_key("")).unwrap_err();
    assert!(e.message().starts_with("api_key"), "{}", e.message());
}

/// spec "Field types": responses may carry explicit `null`s (`message`, `request_id`,
/// `task_info`, …); every answer shape parses with them — a query, a list, an
/// identify-face answer and an error envelope.
#[tokio::test]
async fn explicit_nulls_in_every_response_parse() {
    let query = r#"{"code":0,"message":null,"request_id":null,"data":{"task_id":"t-1",
        "task_status":"succeed","task_status_msg":null,"task_info":null,
        "task_result":{"videos":[{"id":"v-1","url":"https://k.test/v.mp4","duration":null,
        "watermark_url":null}],"images":null},"created_at":1,"updated_at":2,
        "final_unit_deduction":null}}"#;
    let list = r#"{"code":0,"message":null,"request_id":null,"data":[{"task_id":"t-2",
        "task_status":"processing","task_info":{"external_task_id":null,"parent_video":null},
        "task_result":null,"created_at":1,"updated_at":2}]}"#;
    let faces = r#"{"code":0,"message":null,"request_id":null,"data":{"session_id":"s-1",
        "face_data":null,"final_unit_deduction":null}}"#;
    let error = r#"{"code":1201,"message":null,"request_id":null,"data":null}"#;
    let (url, _) = server(vec![
        Reply::Http(200, vec![], query.into()),
        Reply::Http(200, vec![], list.into()),
        Reply::Http(200, vec![], faces.into()),
        Reply::Http(400, vec![], error.into()),
    ])
    .await;
    let c = client(&url);
    let t = c.get(Endpoint::Text2Video, "t-1").await.unwrap();
    assert_eq!(t.task_info.external_task_id, None);
    assert_eq!(t.task_result.unwrap().videos[0].watermark_url, None);
    let items = c
        .list(Endpoint::Text2Video, ListQuery::default())
        .await
        .unwrap();
    assert_eq!(items[0].task_id, "t-2");
    let f = c
        .identify_face(&genmux_kling::wire::IdentifyFaceRequest {
            video_id: Some("v-1".into()),
            video_url: None,
        })
        .await
        .unwrap();
    assert!(f.face_data.is_empty() && f.final_unit_deduction.is_none());
    let e = c.get(Endpoint::Text2Video, "t-3").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
}

/// spec "Auth": a static API key is sent as the bearer token as it is (no JWT), and an
/// auth failure is not retried with the same key.
#[tokio::test]
async fn a_static_api_key_is_the_bearer_token() {
    let (url, seen) = server(vec![
        Reply::Http(200, vec![], CREATED.into()),
        Reply::Http(
            401,
            vec![],
            r#"{"code":1002,"message":"token invalid","request_id":"r"}"#.into(),
        ),
        Reply::Http(200, vec![], CREATED.into()),
    ])
    .await;
    let c =
        KlingClient::new(KlingConfig::with_api_key("kling-static-key").with_base_url(url)).unwrap();
    c.create_text2video(&t2v()).await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[0].authorization,
        "Bearer kling-static-key"
    );
    let e = c.get_text2video("t-1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
}
