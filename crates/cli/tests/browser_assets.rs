//! Issue 18 in a browser: a result the gateway keeps, played and seeked by Chromium's
//! `<video>` from a signed link (no `Authorization` header): the video loads, seeks to the
//! middle, and the gateway answered its range requests with 206 (counted in `/metrics`).

mod support;

use genmux_web::testing::{eval, start_chromedriver};
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;
use std::time::Instant;
use support::Gateway;

const WAIT: Duration = Duration::from_secs(30);
const TASK_WAIT: Duration = Duration::from_secs(90);

/// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout`; an `Err`
/// (the video failed, the task failed) ends the test at once with its message.
async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_seeks_a_kept_video_through_range_requests() {
    let gw = Gateway::start(&[]);
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/unified-video/generate", gw.url))
        .bearer_auth(&gw.key)
        .json(&json!({"model": "kling-2.5-turbo", "prompt": "A lighthouse at dawn", "duration": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task_id = created["taskId"].as_str().expect("a task id").to_string();
    let done = wait_until("the task to succeed", TASK_WAIT, || async {
        let s: Value = http
            .get(format!("{}/unified-video/{task_id}/status", gw.url))
            .bearer_auth(&gw.key)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if s["status"] == "failed" {
            return Err(format!("the task failed: {s}"));
        }
        Ok((s["status"] == "succeeded").then_some(s))
    })
    .await
    .expect("the sandbox task succeeds");
    let url = done["assets"][0]["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/v1/assets/ast_", gw.url)),
        "serve keeps results: {url}"
    );
    let link: Value = http
        .get(format!("{url}/link"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed = link["url"].as_str().expect("a signed link").to_string();

    let driver = start_chromedriver().await.expect("chromedriver starts");
    let client = driver
        .new_client()
        .await
        .expect("headless Chromium session");
    let c = &client;
    client
        .goto(&format!("{}/healthz", gw.url))
        .await
        .expect("open the gateway");
    eval(
        c,
        "const v = document.createElement('video');
         v.id = 'kept'; v.muted = true; v.preload = 'auto'; v.src = arguments[0];
         window.seeked = false; v.addEventListener('seeked', () => { window.seeked = true; });
         document.body.append(v);",
        vec![json!(signed)],
    )
    .await
    .expect("add the video");
    let meta = wait_until("the video's metadata", WAIT, || async {
        let v = eval(
            c,
            "const v = document.getElementById('kept');
             return {ready: v.readyState, duration: v.duration, error: v.error && v.error.code};",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
        if !v["error"].is_null() {
            return Err(format!("the video failed to load: {v}"));
        }
        Ok((v["ready"].as_i64().unwrap_or(0) >= 1).then_some(v))
    })
    .await
    .expect("the video loads from the signed link");
    let duration = meta["duration"].as_f64().expect("a duration");
    assert!(duration > 1.0, "{meta}");
    let target = duration / 2.0;
    eval(
        c,
        "document.getElementById('kept').currentTime = arguments[0];",
        vec![json!(target)],
    )
    .await
    .expect("seek");
    let after = wait_until("the seek to finish", WAIT, || async {
        let v = eval(
            c,
            "const v = document.getElementById('kept');
             return {seeked: window.seeked, time: v.currentTime, ready: v.readyState,
                     error: v.error && v.error.code};",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
        if !v["error"].is_null() {
            return Err(format!("the video failed while seeking: {v}"));
        }
        Ok((v["seeked"] == true && v["ready"].as_i64().unwrap_or(0) >= 2).then_some(v))
    })
    .await
    .expect("Chromium seeks the kept video");
    let at = after["time"].as_f64().unwrap();
    assert!((at - target).abs() < 0.5, "seeked to {at}, asked {target}");
    client.close().await.ok();

    // The media requests were answered as ranges (Chromium asks `Range: bytes=0-` and
    // more on seeking).
    let metrics = http
        .get(format!("{}/metrics", gw.url))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("http_route=\"/v1/assets/{asset_id}\"")
                && l.contains("http_response_status_code=\"206\"")),
        "no 206 from /v1/assets/{{asset_id}} in /metrics:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("/v1/assets"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
