//! Against the real xAI API, only when `XAI_API_KEY` is set (it costs money: one 1 s
//! 480p video, about $0.05). Without the key the test prints that it was skipped and
//! passes. `XAI_BASE_URL` overrides the endpoint (e.g. to point at `genmux sim`).
//!
//! ```sh
//! XAI_API_KEY=xai-… cargo test -p genmux-xai --test live -- --nocapture
//! ```

use genmux_core::{
    Catalog, GenerationRequest, Operation, ProviderSettings, SubmitRequest, TaskRef, TaskStatus,
    VideoProvider,
};
use genmux_xai::XaiProvider;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_one_second_video_is_generated_and_billed() {
    let settings = ProviderSettings::from_env();
    let Some(provider) = XaiProvider::from_settings(&settings, Catalog::builtin()).unwrap() else {
        println!("skipped: XAI_API_KEY is not set (the live xAI test runs only with a real key)");
        return;
    };
    let offering = provider
        .offerings()
        .iter()
        .find(|o| o.model == "grok-video")
        .expect("grok-video is served by xai")
        .clone();
    let request = GenerationRequest {
        model: "grok-video".into(),
        prompt: Some("A paper boat drifts on a calm pond, soft morning light".into()),
        duration: Some(1),
        resolution: Some("480p".into()),
        aspect_ratio: Some("16:9".into()),
        ..Default::default()
    };
    let sub = provider
        .submit(SubmitRequest {
            request: &request,
            operation: Operation::TextToVideo,
            offering: &offering,
            callback_url: None,
            external_id: "genmux-live-xai",
        })
        .await
        .expect("xAI accepts the request");
    println!("xAI request_id {}", sub.provider_task_id);
    let task = TaskRef {
        provider: "xai".into(),
        provider_task_id: sub.provider_task_id.clone(),
        model: offering.model.clone(),
        provider_model: offering.provider_model.clone(),
        operation: Operation::TextToVideo,
    };
    let started = Instant::now();
    let snap = loop {
        match provider.status(&task).await {
            Ok(s) if s.status.is_final() => break s,
            Ok(s) => println!("{:>4}s: {}", started.elapsed().as_secs(), s.status),
            Err(e) if e.is_retryable() => println!("retryable: {e}"),
            Err(e) => panic!("status failed: {e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "not finished after 15 minutes"
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    println!("final: {snap:?}");
    assert_eq!(snap.status, TaskStatus::Succeeded, "{:?}", snap.error);
    assert_eq!(snap.assets.len(), 1);
    let bytes = reqwest::get(&snap.assets[0].url)
        .await
        .expect("the video downloads")
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4");
    println!(
        "billed: {:?} micro-USD (usage {:?}) after {} s",
        snap.billed_usd_micros,
        snap.usage,
        started.elapsed().as_secs()
    );
}
