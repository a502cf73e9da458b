//! The client against the real MiniMax API, when `MINIMAX_API_KEY` is set
//! (`MINIMAX_BASE_URL` optional: default the international endpoint,
//! `https://api.minimaxi.com` for China). Without the key it prints that it is skipped and
//! passes.
//!
//! It creates ONE 6 s 768P text-to-video task on MiniMax-Hailuo-2.3 (about $0.28, spec),
//! queries it until it ends (at most `MINIMAX_LIVE_WAIT_SECS`, default 600), retrieves its
//! file and downloads the video; and checks two free rejections (1080P with 10 s; a wrong
//! key).

use genmux_core::ErrorKind;
use genmux_minimax::wire::{QueryStatus, VideoGenerationRequest};
use genmux_minimax::{MiniMaxClient, MiniMaxConfig};
use std::time::{Duration, Instant};

fn live_config() -> Option<MiniMaxConfig> {
    let Some(key) = std::env::var("MINIMAX_API_KEY")
        .ok()
        .filter(|s| !s.trim().is_empty())
    else {
        println!("live MiniMax test skipped: MINIMAX_API_KEY is not set");
        return None;
    };
    let mut config = MiniMaxConfig::new(key);
    if let Ok(url) = std::env::var("MINIMAX_BASE_URL") {
        if !url.trim().is_empty() {
            config.base_url = url;
        }
    }
    Some(config)
}

#[tokio::test]
async fn live_create_query_retrieve_and_rejections() {
    let Some(config) = live_config() else { return };
    let c = MiniMaxClient::new(config.clone()).expect("MINIMAX_* settings are valid");

    // Free rejections first: nothing is created.
    let e = c
        .create_video_generation(&VideoGenerationRequest {
            model: "MiniMax-Hailuo-2.3".into(),
            prompt: Some("a paper boat on a pond".into()),
            duration: Some(10),
            resolution: Some("1080P".into()),
            ..Default::default()
        })
        .await
        .expect_err("1080P is only available with 6 s");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let wrong = MiniMaxClient::new(MiniMaxConfig {
        api_key: "genmux-live-wrong-key".into(),
        ..config
    })
    .unwrap();
    let e = wrong
        .query_video_generation("1")
        .await
        .expect_err("a wrong key is refused");
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");

    let task_id = c
        .create_video_generation(&VideoGenerationRequest {
            model: "MiniMax-Hailuo-2.3".into(),
            prompt: Some("A paper boat drifting on a calm pond, soft morning light".into()),
            prompt_optimizer: Some(true),
            duration: Some(6),
            resolution: Some("768P".into()),
            ..Default::default()
        })
        .await
        .expect("create video_generation");
    println!("live MiniMax task {task_id}");
    let wait = std::env::var("MINIMAX_LIVE_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let deadline = Instant::now() + Duration::from_secs(wait);
    let done = loop {
        let q = c.query_video_generation(&task_id).await.expect("query");
        assert_eq!(q.task_id, task_id);
        println!("status {}", q.status.as_str());
        match q.status {
            QueryStatus::Success | QueryStatus::Fail => break q,
            _ if Instant::now() > deadline => {
                panic!(
                    "task {task_id} not done after {wait} s (still {:?})",
                    q.status
                )
            }
            _ => tokio::time::sleep(Duration::from_secs(10)).await,
        }
    };
    assert_eq!(done.status, QueryStatus::Success, "{done:?}");
    let file_id = done.file_id.expect("a finished task names its file");
    let file = c.retrieve_file(&file_id).await.expect("files/retrieve");
    let bytes = reqwest::get(&file.download_url)
        .await
        .expect("download")
        .bytes()
        .await
        .expect("the video");
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4");
}
