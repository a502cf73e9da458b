//! Kling text to video end to end, against the Kling simulator: the catalog validates and
//! prices a unified request, `KlingProvider` maps it to `POST /v1/videos/text2video`, the
//! task is polled until it succeeds, and the MP4 is saved to `./genmux-out/`.
//!
//! ```text
//! cargo run --example kling_text2video --features kling
//! ```

use genmux::core::{GenerationRequest, SubmitRequest, TaskRef, TaskStatus, VideoProvider};
use genmux::kling::{KlingConfig, KlingProvider};
use genmux::Catalog;
use genmux_sim::kling::{KlingSim, KlingSimConfig};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = KlingSim::start(KlingSimConfig::default()).await?;
    println!("Kling simulator at {}", sim.base_url());

    let catalog = Catalog::builtin();
    let provider = KlingProvider::new(
        KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url()),
        catalog,
    )?;

    // The gateway's path: validate, apply defaults and price with the catalog.
    let quote = catalog.quote(&GenerationRequest {
        model: "kling-2.5-turbo".into(),
        prompt: Some("A red fox running through fresh snow at dawn".into()),
        duration: Some(5),
        aspect_ratio: Some("16:9".into()),
        ..Default::default()
    })?;
    println!(
        "{}: {} for {} points",
        quote.model, quote.operation, quote.points
    );
    let offering = provider
        .video_offerings()
        .iter()
        .find(|o| o.model == quote.model)
        .ok_or("the Kling provider does not offer kling-2.5-turbo")?;

    let submission = VideoProvider::submit(
        &provider,
        SubmitRequest {
            request: &quote.request,
            operation: quote.operation,
            offering,
            callback_url: None,
            // The id Kling stores as `external_task_id` (the gateway passes its task id).
            external_id: "example-task-1",
        },
    )
    .await?;
    println!(
        "created Kling task {} ({})",
        submission.provider_task_id, submission.status
    );

    let task = TaskRef {
        provider: "kling".into(),
        provider_task_id: submission.provider_task_id.clone(),
        model: quote.model.clone(),
        provider_model: submission.provider_model.clone(),
        operation: quote.operation,
    };
    // The simulator's clock is manual: move it forward 10 s at a time and poll.
    let snapshot = loop {
        sim.advance(Duration::from_secs(10)).await;
        let snap = VideoProvider::status(&provider, &task).await?;
        println!("  +10 s simulated: {}", snap.status);
        if snap.status.is_final() {
            break snap;
        }
    };
    if snapshot.status != TaskStatus::Succeeded {
        return Err(format!(
            "task failed: {}",
            snapshot.error.unwrap_or_else(|| "no reason given".into())
        )
        .into());
    }

    let video = snapshot.assets.first().ok_or("no video in the result")?;
    let bytes = provider.client().download(&video.url).await?;
    std::fs::create_dir_all("genmux-out")?;
    let path = format!("genmux-out/{}.mp4", submission.provider_task_id);
    std::fs::write(&path, &bytes)?;
    println!(
        "saved {path} ({} bytes, {} s)",
        bytes.len(),
        video
            .duration_secs
            .map(|d| d.to_string())
            .unwrap_or_else(|| "?".into())
    );
    sim.shutdown().await;
    Ok(())
}
