//! Against the real Ark API, when `ARK_API_KEY` is set (`ARK_BASE_URL` optional, default
//! BytePlus ModelArk; `ARK_LIVE_WAIT_SECS` optional, how long to wait for the video,
//! default 600). Without the key it prints that it is skipped and passes.
//!
//! It creates ONE 4 s 480p silent text-to-video task on Seedance 1.5 Pro (864 × 480 × 24 ×
//! 4 / 1024 = 38,880 tokens ≈ $0.05), queries it until it is final, checks the tokens
//! against the spec's formula, and checks two free rejections (a duration out of range, an
//! unknown task id).

use genmux_core::ErrorKind;
use genmux_seedance::wire::{Content, CreateTaskRequest, TaskStatus};
use genmux_seedance::{ArkClient, ArkConfig};
use std::time::Duration;

fn live_client() -> Option<ArkClient> {
    let Some(key) = std::env::var("ARK_API_KEY").ok().filter(|s| !s.is_empty()) else {
        println!("live Seedance test skipped: ARK_API_KEY is not set");
        return None;
    };
    let mut config = ArkConfig::new(key);
    if let Some(url) = std::env::var("ARK_BASE_URL").ok().filter(|s| !s.is_empty()) {
        config.base_url = url;
    }
    Some(ArkClient::new(config).expect("ARK_* settings are valid"))
}

#[tokio::test]
async fn live_create_query_until_final_and_rejections() {
    let Some(c) = live_client() else { return };
    let model = c.region().model_id("seedance-1-5-pro-251215");
    let request = |duration: i64| CreateTaskRequest {
        model: model.clone(),
        content: vec![Content::text(
            "A paper boat drifting on a calm pond, soft morning light",
        )],
        resolution: Some("480p".into()),
        ratio: Some("16:9".into()),
        duration: Some(duration),
        watermark: Some(false),
        generate_audio: Some(false),
        ..Default::default()
    };
    // Free rejections first.
    let e = c.create_task(&request(13)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let e = c.get_task("cgt-genmux-no-such-task").await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidRequest),
        "{e}"
    );

    let created = c.create_task(&request(4)).await.expect("create");
    assert!(created.id.starts_with("cgt-"), "{}", created.id);
    let wait: u64 = std::env::var("ARK_LIVE_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let deadline = std::time::Instant::now() + Duration::from_secs(wait);
    let task = loop {
        let t = c.get_task(&created.id).await.expect("query");
        assert_eq!(t.id, created.id);
        if matches!(
            t.status,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Expired
        ) {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "task {} still {} after {wait} s",
            t.id,
            t.status.as_str()
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
    let url = task.content.as_ref().and_then(|c| c.video_url.clone());
    assert!(url.is_some_and(|u| u.starts_with("https://")), "{task:?}");
    // spec "Billing": 864 × 480 × 24 × 4 / 1024 (480p frames may differ slightly).
    let tokens = task.usage.as_ref().and_then(|u| u.completion_tokens);
    println!(
        "live Seedance task {} ({model} on {:?}): {tokens:?} completion tokens; formula 38880",
        task.id,
        c.region()
    );
    assert!(tokens.is_some_and(|t| t > 0), "{task:?}");
}
