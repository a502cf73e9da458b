//! Against the real Runway API, when `RUNWAYML_API_SECRET` is set (`RUNWAY_BASE_URL`
//! optional, default `https://api.dev.runwayml.com`). Without it, it prints that it is
//! skipped and passes.
//!
//! It checks two free rejections (a ratio text-to-video lacks, an unknown task id), then
//! creates ONE 5 s gen4.5 text-to-video task (60 credits ≈ $0.60 if it runs to the end),
//! reads it, and cancels it through the provider (Runway's `DELETE`, confirmed by reading
//! the task again). With `RUNWAY_LIVE_WAIT=1` it instead polls every 5 s until the task
//! finishes and downloads the MP4.

use genmux_core::{
    Catalog, ErrorKind, GenerationRequest, Operation, SubmitRequest, TaskRef, TaskStatus,
    VideoProvider,
};
use genmux_runway::wire::TextToVideoRequest;
use genmux_runway::{RunwayClient, RunwayConfig, RunwayProvider};
use std::time::Duration;

fn live_config() -> Option<RunwayConfig> {
    let Some(secret) = std::env::var("RUNWAYML_API_SECRET")
        .ok()
        .filter(|s| !s.trim().is_empty())
    else {
        println!("live Runway test skipped: RUNWAYML_API_SECRET is not set");
        return None;
    };
    let mut config = RunwayConfig::new(secret);
    if let Ok(url) = std::env::var("RUNWAY_BASE_URL") {
        if !url.trim().is_empty() {
            config.base_url = url;
        }
    }
    Some(config)
}

#[tokio::test]
async fn live_rejections_create_read_and_cancel() {
    let Some(config) = live_config() else { return };
    let client = RunwayClient::new(config.clone()).expect("RUNWAY_* settings are valid");
    // Free: refused before any task exists.
    let e = client
        .create_text_to_video(&TextToVideoRequest {
            model: "gen4.5".into(),
            prompt_text: "a paper boat on a pond".into(),
            ratio: "960:960".into(),
            duration: Some(5),
            seed: None,
        })
        .await
        .expect_err("text to video has no 960:960");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let e = client
        .get_task("00000000-0000-4000-a000-000000000000")
        .await
        .expect_err("no such task");
    assert!(
        matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidRequest),
        "{e}"
    );

    let provider = RunwayProvider::new(config, Catalog::builtin()).expect("provider");
    let request = Catalog::builtin()
        .quote(&GenerationRequest {
            model: "runway".into(),
            prompt: Some("A paper boat drifting on a calm pond, soft morning light".into()),
            aspect_ratio: Some("16:9".into()),
            duration: Some(5),
            ..Default::default()
        })
        .expect("a valid request")
        .request;
    let offering = provider.offerings()[0].clone();
    let sub = provider
        .submit(SubmitRequest {
            request: &request,
            operation: Operation::TextToVideo,
            offering: &offering,
            callback_url: None,
            external_id: "genmux-live",
        })
        .await
        .expect("create text to video");
    let task = TaskRef {
        provider: "runway".into(),
        provider_task_id: sub.provider_task_id.clone(),
        model: "runway".into(),
        provider_model: sub.provider_model,
        operation: Operation::TextToVideo,
    };
    let first = provider.status(&task).await.expect("read the task");
    println!("runway task {} is {:?}", task.provider_task_id, first.usage);
    if std::env::var("RUNWAY_LIVE_WAIT").as_deref() == Ok("1") {
        for _ in 0..120 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let now = provider.status(&task).await.expect("read the task");
            if now.status.is_final() {
                assert_eq!(now.status, TaskStatus::Succeeded, "{:?}", now.error);
                let bytes = provider
                    .client()
                    .download(&now.assets[0].url)
                    .await
                    .expect("download the output");
                assert_eq!(&bytes[4..8], b"ftyp", "an MP4");
                return;
            }
        }
        panic!("the task did not finish within 10 minutes");
    }
    provider
        .cancel(&task)
        .await
        .expect("Runway confirms the cancellation");
    let after = provider.status(&task).await.expect("read the task");
    assert_eq!(after.status, TaskStatus::Cancelled);
}
