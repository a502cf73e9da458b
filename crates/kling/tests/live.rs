//! The conformance subset against the real Kling API, when `KLING_ACCESS_KEY` and
//! `KLING_SECRET_KEY` are set (`KLING_BASE_URL` optional, default the global endpoint).
//! Without them it prints that it is skipped and passes.
//!
//! It creates ONE 5 s std text-to-video task on kling-v2-5-turbo (≈ 1.5 units), queries
//! it by task id and by external id, lists one page, and checks two free rejections.

use genmux_core::ErrorKind;
use genmux_kling::wire::{ListQuery, Seconds, TaskStatus, Text2VideoRequest};
use genmux_kling::{KlingClient, KlingConfig};

fn live_client() -> Option<KlingClient> {
    let ak = std::env::var("KLING_ACCESS_KEY")
        .ok()
        .filter(|s| !s.is_empty());
    let sk = std::env::var("KLING_SECRET_KEY")
        .ok()
        .filter(|s| !s.is_empty());
    let (Some(ak), Some(sk)) = (ak, sk) else {
        println!("live Kling test skipped: KLING_ACCESS_KEY and KLING_SECRET_KEY are not set");
        return None;
    };
    let mut config = KlingConfig::new(ak, sk);
    if let Ok(url) = std::env::var("KLING_BASE_URL") {
        if !url.is_empty() {
            config.base_url = url;
        }
    }
    Some(KlingClient::new(config).expect("KLING_* settings are valid"))
}

#[tokio::test]
async fn live_create_get_list_and_rejections() {
    let Some(c) = live_client() else { return };
    let ext = format!(
        "genmux-live-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let created = c
        .create_text2video(&Text2VideoRequest {
            model_name: Some("kling-v2-5-turbo".into()),
            prompt: Some("A paper boat drifting on a calm pond, soft morning light".into()),
            duration: Some(Seconds(5)),
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create text2video");
    assert!(matches!(
        created.task_status,
        TaskStatus::Submitted | TaskStatus::Processing
    ));
    let by_id = c
        .get_text2video(&created.task_id)
        .await
        .expect("query by task_id");
    assert_eq!(by_id.task_id, created.task_id);
    let by_ext = c
        .get_text2video(&ext)
        .await
        .expect("query by external_task_id");
    assert_eq!(by_ext.task_id, created.task_id);
    let page = c
        .list_text2video(ListQuery {
            page_num: Some(1),
            page_size: Some(5),
        })
        .await
        .expect("list");
    assert!(page.len() <= 5);

    // Free rejections: an over-long prompt and an unknown task.
    let e = c
        .create_text2video(&Text2VideoRequest {
            model_name: Some("kling-v2-5-turbo".into()),
            prompt: Some("x".repeat(2501)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    let e = c.get_text2video("genmux-no-such-task").await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidRequest),
        "{e}"
    );
    println!("live Kling task {} created ({ext})", created.task_id);
}
