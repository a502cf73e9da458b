//! One create + query per Kling endpoint against the real API. Runs only with real keys:
//! `KLING_LIVE_ACCESS_KEY` + `KLING_LIVE_SECRET_KEY`, or `KLING_LIVE_API_KEY` (optional
//! `KLING_LIVE_BASE_URL`, default the global endpoint). Without them every test prints that
//! it is skipped and passes. Endpoints that need inputs of your own name them:
//! `KLING_LIVE_IMAGE_URL` (a public .png/.jpg of a person, ≥ 300 px),
//! `KLING_LIVE_MOTION_VIDEO_URL` (a public .mp4 of one person moving, 3–10 s),
//! `KLING_LIVE_AUDIO_URL` (a public .mp3 of speech, 2–10 s).
//!
//! Each test spends real units (about 1.5 for a 5 s std video, 0.25 per image); run them
//! one at a time, e.g. `cargo test -p genmux-kling --test live -- --test-threads 1`.

use genmux_core::ErrorKind;
use genmux_kling::wire::{
    AdvancedLipSyncRequest, CharacterOrientation, ElementItem, FaceChoose, IdentifyFaceRequest,
    Image2VideoRequest, ImageGenerationRequest, ImageItem, ListQuery, Mode, MotionControlRequest,
    MultiImage2VideoRequest, OmniImageRequest, Seconds, Task, TaskStatus, Text2VideoRequest,
    VideoExtendRequest,
};
use genmux_kling::{Credentials, KlingClient, KlingConfig};
use std::time::Duration;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

/// The live client, or `None` (printed) without keys.
fn live(test: &str) -> Option<KlingClient> {
    let credentials = match (
        env("KLING_LIVE_ACCESS_KEY"),
        env("KLING_LIVE_SECRET_KEY"),
        env("KLING_LIVE_API_KEY"),
    ) {
        (Some(access_key), Some(secret_key), None) => Credentials::AccessKey {
            access_key,
            secret_key,
        },
        (None, None, Some(key)) => Credentials::ApiKey(key),
        _ => {
            println!("live Kling test {test} skipped: set KLING_LIVE_ACCESS_KEY + KLING_LIVE_SECRET_KEY, or KLING_LIVE_API_KEY");
            return None;
        }
    };
    let mut config = KlingConfig::with_credentials(credentials);
    if let Some(url) = env("KLING_LIVE_BASE_URL") {
        config.base_url = url;
    }
    Some(KlingClient::new(config).expect("KLING_LIVE_* settings are valid"))
}

/// An input the test needs, or `None` (printed).
fn input(test: &str, name: &str) -> Option<String> {
    let v = env(name);
    if v.is_none() {
        println!("live Kling test {test} skipped: {name} is not set");
    }
    v
}

fn external_id(what: &str) -> String {
    format!(
        "genmux-live-{what}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    )
}

/// A create answer is a task that has not finished.
fn created(task: &Task) {
    assert!(!task.task_id.is_empty());
    assert!(matches!(
        task.task_status,
        TaskStatus::Submitted | TaskStatus::Processing
    ));
}

/// Queries `id` at `endpoint` every 10 s until it ends (at most 15 minutes).
async fn finished(c: &KlingClient, endpoint: genmux_kling::wire::Endpoint, id: &str) -> Task {
    for _ in 0..90 {
        let t = c.get(endpoint, id).await.expect("query");
        if matches!(t.task_status, TaskStatus::Succeed | TaskStatus::Failed) {
            return t;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    panic!("{endpoint} task {id} did not finish within 15 minutes");
}

#[tokio::test]
async fn live_text2video_query_by_id_and_external_id_list_and_rejections() {
    let Some(c) = live("text2video") else { return };
    let ext = external_id("t2v");
    let t = c
        .create_text2video(&Text2VideoRequest {
            model_name: Some("kling-v2-5-turbo".into()),
            prompt: Some("A paper boat drifting on a calm pond, soft morning light".into()),
            duration: Some(Seconds(5)),
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create text2video");
    created(&t);
    assert_eq!(
        c.get_text2video(&t.task_id).await.unwrap().task_id,
        t.task_id
    );
    assert_eq!(c.get_text2video(&ext).await.unwrap().task_id, t.task_id);
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
}

#[tokio::test]
async fn live_image2video() {
    let Some(c) = live("image2video") else { return };
    let Some(image) = input("image2video", "KLING_LIVE_IMAGE_URL") else {
        return;
    };
    let ext = external_id("i2v");
    let t = c
        .create_image2video(&Image2VideoRequest {
            model_name: Some("kling-v2-6".into()),
            image: Some(image),
            prompt: Some("The person smiles and waves".into()),
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create image2video");
    created(&t);
    assert_eq!(c.get_image2video(&ext).await.unwrap().task_id, t.task_id);
}

#[tokio::test]
async fn live_multi_image2video() {
    let Some(c) = live("multi-image2video") else {
        return;
    };
    let Some(image) = input("multi-image2video", "KLING_LIVE_IMAGE_URL") else {
        return;
    };
    let ext = external_id("multi");
    let t = c
        .create_multi_image2video(&MultiImage2VideoRequest {
            model_name: Some("kling-v1-6".into()),
            image_list: vec![ImageItem { image }],
            prompt: "The person walks through a park".into(),
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create multi-image2video");
    created(&t);
    assert_eq!(
        c.get_multi_image2video(&ext).await.unwrap().task_id,
        t.task_id
    );
}

#[tokio::test]
async fn live_motion_control_with_model_name() {
    let Some(c) = live("motion-control") else {
        return;
    };
    let (Some(image), Some(video)) = (
        input("motion-control", "KLING_LIVE_IMAGE_URL"),
        input("motion-control", "KLING_LIVE_MOTION_VIDEO_URL"),
    ) else {
        return;
    };
    let ext = external_id("motion");
    let t = c
        .create_motion_control(&MotionControlRequest {
            model_name: Some("kling-v2-6".into()),
            image_url: image,
            video_url: video,
            character_orientation: CharacterOrientation::Image,
            mode: Mode::Std,
            prompt: None,
            keep_original_sound: None,
            element_list: Vec::new(),
            external_task_id: Some(ext.clone()),
            callback_url: None,
        })
        .await
        .expect("create motion-control");
    created(&t);
    // spec "Reconciliation": the 2026 docs query motion-control by external id.
    assert_eq!(c.get_motion_control(&ext).await.unwrap().task_id, t.task_id);
}

/// Video-extend and lip sync need a finished Kling video: this one makes it (≈ 1.5 units),
/// extends it, then identifies its faces and, with `KLING_LIVE_AUDIO_URL`, lip-syncs it.
#[tokio::test]
async fn live_video_extend_identify_face_and_lip_sync() {
    let Some(c) = live("video-extend / lip sync") else {
        return;
    };
    let t = c
        .create_text2video(&Text2VideoRequest {
            model_name: Some("kling-v2-5-turbo".into()),
            prompt: Some("A woman facing the camera talks calmly, close-up portrait".into()),
            duration: Some(Seconds(5)),
            ..Default::default()
        })
        .await
        .expect("create the source video");
    let done = finished(&c, genmux_kling::wire::Endpoint::Text2Video, &t.task_id).await;
    assert_eq!(done.task_status, TaskStatus::Succeed, "{done:?}");
    let video_id = done.task_result.expect("a result").videos[0].id.clone();

    let ext = external_id("extend");
    let e = c
        .create_video_extend(&VideoExtendRequest {
            video_id: video_id.clone(),
            prompt: Some("She keeps talking".into()),
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create video-extend");
    created(&e);
    assert_eq!(c.get_video_extend(&ext).await.unwrap().task_id, e.task_id);

    let faces = c
        .identify_face(&IdentifyFaceRequest {
            video_id: Some(video_id),
            video_url: None,
        })
        .await
        .expect("identify-face");
    println!(
        "identify-face: {} faces, final_unit_deduction {:?}",
        faces.face_data.len(),
        faces.final_unit_deduction
    );
    let Some(audio) = input("advanced-lip-sync", "KLING_LIVE_AUDIO_URL") else {
        return;
    };
    let face = faces.face_data.first().expect("a face in the source video");
    let ls = c
        .create_advanced_lip_sync(&AdvancedLipSyncRequest {
            session_id: faces.session_id.clone(),
            face_choose: vec![FaceChoose {
                face_id: face.face_id.clone(),
                sound_file: Some(audio),
                sound_start_time: 0,
                sound_end_time: 2000,
                sound_insert_time: 0,
                ..Default::default()
            }],
            external_task_id: Some(external_id("lipsync")),
            callback_url: None,
        })
        .await
        .expect("create advanced-lip-sync");
    created(&ls);
    // No query by external id here (spec "Reconciliation"): by task id.
    assert_eq!(
        c.get_advanced_lip_sync(&ls.task_id).await.unwrap().task_id,
        ls.task_id
    );
}

#[tokio::test]
async fn live_image_generation() {
    let Some(c) = live("images/generations") else {
        return;
    };
    let ext = external_id("image");
    let t = c
        .create_image_generation(&ImageGenerationRequest {
            model_name: Some("kling-v2-1".into()),
            prompt: "A watercolor fox in a snowy forest".into(),
            n: Some(1),
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create images/generations");
    created(&t);
    assert_eq!(
        c.get_image_generation(&ext).await.unwrap().task_id,
        t.task_id
    );
}

/// Omni-image with `KLING_LIVE_ELEMENT_ID` (a subject of your library; an integer) when
/// set, so the integer `element_id` is exercised too.
#[tokio::test]
async fn live_omni_image() {
    let Some(c) = live("omni-image") else { return };
    let Some(image) = input("omni-image", "KLING_LIVE_IMAGE_URL") else {
        return;
    };
    let element_list = env("KLING_LIVE_ELEMENT_ID")
        .map(|id| {
            vec![ElementItem {
                element_id: id.parse().expect("KLING_LIVE_ELEMENT_ID is an integer"),
            }]
        })
        .unwrap_or_default();
    let ext = external_id("omni");
    let t = c
        .create_omni_image(&OmniImageRequest {
            prompt: "Put <<<image_1>>> on a beach at sunset".into(),
            image_list: vec![ImageItem { image }],
            element_list,
            external_task_id: Some(ext.clone()),
            ..Default::default()
        })
        .await
        .expect("create omni-image");
    created(&t);
    assert_eq!(c.get_omni_image(&ext).await.unwrap().task_id, t.task_id);
}
