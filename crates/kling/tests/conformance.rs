//! genmux-kling against the Kling simulator (genmux-sim) over real HTTP: every endpoint
//! (create, query by task id and by external id, list, identify-face), every catalog entry
//! through `KlingProvider` to a downloaded file, every documented rejection reaching the
//! caller as the right `ErrorKind` with Kling's message, injected faults, and unsigned
//! callbacks parsed by the provider.

use genmux_core::{
    Catalog, ErrorKind, GenerationRequest, MediaKind, Offering, Submission, SubmitRequest, TaskRef,
    TaskSnapshot, TaskStatus, VideoProvider,
};
use genmux_kling::wire::{
    CameraConfig, CameraControl, CameraType, ElementItem, Endpoint, IdentifyFaceRequest,
    Image2VideoRequest, ImageGenerationRequest, ImageItem, ListQuery, MultiImage2VideoRequest,
    OmniImageRequest, Seconds, TaskStatus as WireStatus, Text2VideoRequest, VideoExtendRequest,
};
use genmux_kling::{KlingClient, KlingConfig, KlingProvider, KlingTimeouts};
use genmux_sim::fault::FaultPlan;
use genmux_sim::kling::{self as sim, AccountStatus, KlingAccount, KlingSim, KlingSimConfig};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Env {
    sim: KlingSim,
    provider: KlingProvider,
}

impl Env {
    async fn start(config: KlingSimConfig) -> Env {
        let sim = KlingSim::start(config).await.unwrap();
        let mut kc =
            KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url());
        kc.timeouts = KlingTimeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        };
        let provider = KlingProvider::new(kc, Catalog::builtin()).unwrap();
        Env { sim, provider }
    }

    async fn default() -> Env {
        Env::start(KlingSimConfig::default()).await
    }

    fn client(&self) -> &KlingClient {
        self.provider.client()
    }

    /// A fresh id for a submission, as the gateway mints one per task.
    fn next_external_id(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        format!(
            "conf-task-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
    }

    fn offering(&self, model: &str, provider_model: &str) -> Offering {
        self.provider
            .video_offerings()
            .iter()
            .chain(self.provider.image_offerings())
            .find(|o| o.model == model && o.provider_model == provider_model)
            .unwrap_or_else(|| panic!("no offering {model} / {provider_model}"))
            .clone()
    }

    /// Quotes `body` for `model` through the catalog and submits it through the provider.
    async fn submit(
        &self,
        model: &str,
        provider_model: &str,
        body: Value,
        callback_url: Option<&str>,
    ) -> genmux_core::Result<(Submission, TaskRef)> {
        let mut obj = body.as_object().cloned().unwrap_or_default();
        obj.insert("model".into(), json!(model));
        let req: GenerationRequest = serde_json::from_value(Value::Object(obj)).unwrap();
        let q = Catalog::builtin().quote(&req).unwrap();
        let offering = self.offering(model, provider_model);
        // Through the trait object, as the router holds providers.
        let video: &dyn VideoProvider = &self.provider;
        let sr = SubmitRequest {
            request: &q.request,
            operation: q.operation,
            offering: &offering,
            callback_url,
            external_id: &self.next_external_id(),
        };
        let submission = match q.operation.output() {
            MediaKind::Video => video.submit(sr).await?,
            MediaKind::Image => genmux_core::ImageProvider::submit(&self.provider, sr).await?,
        };
        let task = TaskRef {
            provider: "kling".into(),
            provider_task_id: submission.provider_task_id.clone(),
            model: model.into(),
            provider_model: provider_model.into(),
            operation: q.operation,
        };
        Ok((submission, task))
    }

    /// A finished 5 s text-to-video: (video id, video URL).
    async fn video(&self) -> (String, String) {
        let t = self
            .client()
            .create_text2video(&Text2VideoRequest {
                model_name: Some("kling-v2-5-turbo".into()),
                prompt: Some("a lighthouse in the fog".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        self.sim.advance(Duration::from_secs(61)).await;
        let done = self.client().get_text2video(&t.task_id).await.unwrap();
        let v = &done.task_result.unwrap().videos[0];
        (v.id.clone(), v.url.clone())
    }
}

fn is_mp4(bytes: &[u8]) -> bool {
    bytes.len() > 12 && &bytes[4..8] == b"ftyp"
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

#[tokio::test]
async fn text2video_create_query_by_both_ids_list_and_download() {
    let env = Env::default().await;
    let c = env.client();
    let created = c
        .create_text2video(&Text2VideoRequest {
            model_name: Some("kling-v2-6".into()),
            prompt: Some("a red fox in the snow".into()),
            duration: Some(Seconds(10)),
            sound: Some(genmux_kling::wire::OnOff::On),
            mode: Some(genmux_kling::wire::Mode::Pro),
            camera_control: Some(CameraControl {
                kind: CameraType::Simple,
                config: Some(CameraConfig {
                    zoom: Some(5.0),
                    ..Default::default()
                }),
            }),
            external_task_id: Some("conf-t2v-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.task_status, WireStatus::Submitted);
    assert_eq!(
        created.task_info.external_task_id.as_deref(),
        Some("conf-t2v-1")
    );
    assert!(created.created_at > 1_600_000_000_000, "milliseconds");

    env.sim.advance(Duration::from_secs(61)).await;
    let by_id = c.get_text2video(&created.task_id).await.unwrap();
    let by_ext = c.get_text2video("conf-t2v-1").await.unwrap();
    assert_eq!(by_id.task_id, by_ext.task_id);
    assert_eq!(by_id.task_status, WireStatus::Succeed);
    let video = &by_id.task_result.as_ref().unwrap().videos[0];
    assert_eq!(
        video
            .duration
            .as_deref()
            .map(|d| d.parse::<f64>().unwrap().round()),
        Some(10.0)
    );
    assert!(by_id.final_unit_deduction.is_some());
    let bytes = c.download(&video.url).await.unwrap();
    assert!(is_mp4(&bytes), "the result URL serves an MP4");

    let page = c
        .list_text2video(ListQuery {
            page_num: Some(1),
            page_size: Some(10),
        })
        .await
        .unwrap();
    assert!(page.iter().any(|t| t.task_id == created.task_id));
    let empty = c
        .list_text2video(ListQuery {
            page_num: Some(2),
            page_size: Some(10),
        })
        .await
        .unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn every_endpoint_create_query_list() {
    let env = Env::default().await;
    let c = env.client();
    let (video_id, video_url) = env.video().await;
    let img = "https://example.com/a.png".to_string();

    let i2v = c
        .create_image2video(&Image2VideoRequest {
            model_name: Some("kling-v2-5-turbo".into()),
            image: Some(img.clone()),
            image_tail: Some("https://example.com/b.png".into()),
            prompt: Some("the flower opens".into()),
            external_task_id: Some("conf-i2v".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let multi = c
        .create_multi_image2video(&MultiImage2VideoRequest {
            model_name: Some("kling-v1-6".into()),
            image_list: vec![ImageItem { image: img.clone() }; 4],
            prompt: "four friends".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let motion = c
        .create_motion_control(&genmux_kling::wire::MotionControlRequest {
            model_name: None,
            element_list: Vec::new(),
            image_url: img.clone(),
            video_url: video_url.clone(),
            character_orientation: genmux_kling::wire::CharacterOrientation::Image,
            mode: genmux_kling::wire::Mode::Std,
            prompt: None,
            keep_original_sound: Some(genmux_kling::wire::YesNo::No),
            external_task_id: None,
            callback_url: None,
        })
        .await
        .unwrap();
    let extend = c
        .create_video_extend(&VideoExtendRequest {
            video_id: video_id.clone(),
            prompt: Some("keep going".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let faces = c
        .identify_face(&IdentifyFaceRequest {
            video_id: Some(video_id.clone()),
            video_url: None,
        })
        .await
        .unwrap();
    assert!(!faces.session_id.is_empty());
    let face = &faces.face_data[0];
    assert!(face.end_time > face.start_time);
    let lip = c
        .create_advanced_lip_sync(&genmux_kling::wire::AdvancedLipSyncRequest {
            session_id: faces.session_id.clone(),
            face_choose: vec![genmux_kling::wire::FaceChoose {
                face_id: face.face_id.clone(),
                sound_file: Some("https://example.com/voice.mp3".into()),
                sound_start_time: 0,
                sound_end_time: 3000,
                sound_insert_time: face.start_time.max(0) as u64,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let gen = c
        .create_image_generation(&ImageGenerationRequest {
            model_name: Some("kling-v2-1".into()),
            prompt: "a watercolor fox".into(),
            n: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let omni = c
        .create_omni_image(&OmniImageRequest {
            model_name: Some("kling-image-o1".into()),
            prompt: "put <<<image_1>>> on a beach".into(),
            image_list: vec![ImageItem { image: img.clone() }],
            element_list: vec![ElementItem { element_id: 829 }],
            ..Default::default()
        })
        .await
        .unwrap();

    env.sim.advance(Duration::from_secs(61)).await;
    let q = ListQuery {
        page_num: Some(1),
        page_size: Some(500),
    };
    for (endpoint, id) in [
        (Endpoint::Image2Video, &i2v.task_id),
        (Endpoint::MultiImage2Video, &multi.task_id),
        (Endpoint::MotionControl, &motion.task_id),
        (Endpoint::VideoExtend, &extend.task_id),
        (Endpoint::AdvancedLipSync, &lip.task_id),
        (Endpoint::ImageGenerations, &gen.task_id),
        (Endpoint::OmniImage, &omni.task_id),
    ] {
        let t = c.get(endpoint, id).await.unwrap();
        assert_eq!(t.task_status, WireStatus::Succeed, "{endpoint}");
        let listed = c.list(endpoint, q).await.unwrap();
        assert!(listed.iter().any(|x| &x.task_id == id), "{endpoint} list");
    }
    // The typed per-endpoint methods hit the same paths.
    assert_eq!(
        c.get_image2video("conf-i2v").await.unwrap().task_id,
        i2v.task_id
    );
    assert_eq!(
        c.get_multi_image2video(&multi.task_id)
            .await
            .unwrap()
            .task_id,
        multi.task_id
    );
    assert_eq!(
        c.get_motion_control(&motion.task_id).await.unwrap().task_id,
        motion.task_id
    );
    assert_eq!(
        c.get_advanced_lip_sync(&lip.task_id).await.unwrap().task_id,
        lip.task_id
    );
    assert_eq!(
        c.get_omni_image(&omni.task_id).await.unwrap().task_id,
        omni.task_id
    );
    assert!(!c.list_image2video(q).await.unwrap().is_empty());
    assert!(!c.list_multi_image2video(q).await.unwrap().is_empty());
    assert!(!c.list_motion_control(q).await.unwrap().is_empty());
    assert!(!c.list_video_extend(q).await.unwrap().is_empty());
    assert!(!c.list_advanced_lip_sync(q).await.unwrap().is_empty());
    assert!(!c.list_image_generations(q).await.unwrap().is_empty());
    assert!(!c.list_omni_image(q).await.unwrap().is_empty());

    let ext = c.get_video_extend(&extend.task_id).await.unwrap();
    let parent = ext.task_info.parent_video.as_ref().unwrap();
    assert_eq!(parent.id, video_id);
    let whole: f64 = ext.task_result.as_ref().unwrap().videos[0]
        .duration
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (9.0..=10.5).contains(&whole),
        "extended video is the whole ≈ 10 s: {whole}"
    );
    let lipt = c.get_advanced_lip_sync(&lip.task_id).await.unwrap();
    assert_eq!(lipt.task_info.parent_video.unwrap().id, video_id);
    let images = c
        .get_image_generation(&gen.task_id)
        .await
        .unwrap()
        .task_result
        .unwrap()
        .images;
    assert_eq!(images.iter().map(|i| i.index).collect::<Vec<_>>(), [0, 1]);
    assert!(is_png(&c.download(&images[1].url).await.unwrap()));
}

#[tokio::test]
async fn every_kling_catalog_entry_through_the_provider_to_a_file() {
    // Every case runs at once: a pack large enough for all of them (the default is 5).
    let mut account = KlingAccount::new("ak-big", "sk-big");
    account.video_concurrency = 50;
    account.image_concurrency = 50;
    let env = Env::start(KlingSimConfig::default().with_accounts(vec![account])).await;
    let (video_id, video_url) = env.video().await;
    let img = "https://example.com/a.png";
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "kling-2.5-turbo",
            "kling-v2-5-turbo",
            json!({"prompt": "A cinematic city", "duration": 10, "cfgScale": 0.4, "externalTaskId": "cat-1"}),
        ),
        (
            "kling-2.5-turbo",
            "kling-v2-5-turbo",
            json!({"prompt": "The flower opens", "images": [img, "https://example.com/b.png"]}),
        ),
        (
            "kling-2.6-t2v",
            "kling-v2-6",
            json!({"prompt": "A harbour at dusk", "generateAudio": true,
                "cameraControl": {"cameraMotion": "pan", "cameraSpeed": 1.2}}),
        ),
        (
            "kling-3.0",
            "kling-v3",
            json!({"prompt": "A cinematic city", "mode": "pro", "duration": 5, "generateAudio": true}),
        ),
        (
            "kling-3.0",
            "kling-v3",
            json!({"prompt": "Walk forward", "images": [img], "duration": 10}),
        ),
        (
            "kling-multi-image",
            "kling-v1-6",
            json!({"prompt": "They shake hands", "images": [img, "https://example.com/b.png"]}),
        ),
        (
            "kling-motion-control",
            "motion-control",
            json!({"images": [img], "motionVideo": video_url, "characterOrientation": "image",
                "mode": "std", "duration": 5}),
        ),
        (
            "kling-video-extend",
            "video-extend",
            json!({"videoId": video_id, "prompt": "Keep rising"}),
        ),
        (
            "kling-lip-sync",
            "advanced-lip-sync",
            json!({"videoId": video_id, "soundFile": "https://example.com/voice.mp3",
                "soundStartTime": 0, "soundEndTime": 3000, "soundInsertTime": 0,
                "externalTaskId": "cat-lip"}),
        ),
        (
            "kling-image",
            "kling-v2-1",
            json!({"prompt": "A watercolor fox", "n": 2}),
        ),
        (
            "kling-image",
            "kling-v1-5",
            json!({"prompt": "As an astronaut", "images": [img], "imageReference": "face"}),
        ),
        (
            "kling-omni-image",
            "kling-image-o1",
            json!({"prompt": "Put <<<image_1>>> on a beach", "images": [img], "elementIds": ["829"]}),
        ),
    ];
    let mut tasks = Vec::new();
    for (model, pm, body) in &cases {
        let (sub, task) = env
            .submit(model, pm, body.clone(), None)
            .await
            .unwrap_or_else(|e| panic!("{model} / {pm}: {e}"));
        assert_eq!(sub.status, TaskStatus::Submitted, "{model}");
        assert_eq!(sub.provider_model, *pm);
        tasks.push((model, task));
    }
    env.sim.advance(Duration::from_secs(61)).await;
    for (model, task) in tasks {
        let snap = env.provider.task_status(&task).await.unwrap();
        assert_eq!(
            snap.status,
            TaskStatus::Succeeded,
            "{model}: {:?}",
            snap.error
        );
        let asset = &snap.assets[0];
        let bytes = env.client().download(&asset.url).await.unwrap();
        match asset.kind {
            MediaKind::Video => {
                assert!(is_mp4(&bytes), "{model}");
                assert!(
                    asset.id.is_some() && asset.duration_secs.is_some(),
                    "{model}"
                );
            }
            MediaKind::Image => assert!(is_png(&bytes), "{model}"),
        }
    }
}

/// A Kling rejection as the caller sees it.
fn rejected(r: genmux_core::Result<impl std::fmt::Debug>, kind: ErrorKind, code: i64, words: &str) {
    let e = r.expect_err("Kling should refuse this");
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.provider(), Some("kling"));
    let prefix = format!("Kling {code}: ");
    assert!(
        e.message().starts_with(&prefix),
        "want code {code}: {}",
        e.message()
    );
    assert!(
        e.message().contains(words),
        "want {words:?} in {}",
        e.message()
    );
    assert!(!e.maybe_accepted());
}

#[tokio::test]
async fn documented_rejections_reach_the_caller_with_klings_message() {
    let env = Env::default().await;
    let c = env.client();
    let t2v = |prompt: String| Text2VideoRequest {
        model_name: Some("kling-v2-5-turbo".into()),
        prompt: Some(prompt),
        ..Default::default()
    };
    // Prompts ≤ 2500 characters.
    rejected(
        c.create_text2video(&t2v("x".repeat(2501))).await,
        ErrorKind::InvalidRequest,
        1201,
        "2500",
    );
    // A data: prefix on Base64.
    rejected(
        c.create_image2video(&Image2VideoRequest {
            model_name: Some("kling-v2-5-turbo".into()),
            image: Some("data:image/png;base64,iVBORw0KGgo=".into()),
            ..Default::default()
        })
        .await,
        ErrorKind::InvalidRequest,
        1201,
        "data:",
    );
    // Camera config with two non-zero values.
    let mut two = t2v("a pan and a zoom".into());
    two.model_name = Some("kling-v2-6".into());
    two.camera_control = Some(CameraControl {
        kind: CameraType::Simple,
        config: Some(CameraConfig {
            pan: Some(3.0),
            zoom: Some(2.0),
            ..Default::default()
        }),
    });
    rejected(
        c.create_text2video(&two).await,
        ErrorKind::InvalidRequest,
        1201,
        "exactly one",
    );
    // 5 images in image_list.
    rejected(
        c.create_multi_image2video(&MultiImage2VideoRequest {
            image_list: vec![
                ImageItem {
                    image: "https://example.com/a.png".into()
                };
                5
            ],
            prompt: "too many".into(),
            ..Default::default()
        })
        .await,
        ErrorKind::InvalidRequest,
        1201,
        "image_list",
    );
    // n = 10.
    rejected(
        c.create_image_generation(&ImageGenerationRequest {
            prompt: "ten foxes".into(),
            n: Some(10),
            ..Default::default()
        })
        .await,
        ErrorKind::InvalidRequest,
        1201,
        "n = 10",
    );
    // elements + images > 10.
    rejected(
        c.create_omni_image(&OmniImageRequest {
            prompt: "a crowd".into(),
            image_list: vec![
                ImageItem {
                    image: "https://example.com/a.png".into()
                };
                6
            ],
            element_list: (0..5)
                .map(|i| ElementItem {
                    element_id: 100 + i,
                })
                .collect(),
            ..Default::default()
        })
        .await,
        ErrorKind::InvalidRequest,
        1201,
        "at most 10",
    );
    // Mutually exclusive image-to-video groups.
    rejected(
        c.create_image2video(&Image2VideoRequest {
            image: Some("https://example.com/a.png".into()),
            image_tail: Some("https://example.com/b.png".into()),
            camera_control: Some(CameraControl {
                kind: CameraType::ForwardUp,
                config: None,
            }),
            ..Default::default()
        })
        .await,
        ErrorKind::InvalidRequest,
        1201,
        "mutually exclusive",
    );
    // cfg_scale on a V2.x model.
    let mut cfg = t2v("a city".into());
    cfg.cfg_scale = Some(0.5);
    rejected(
        c.create_text2video(&cfg).await,
        ErrorKind::InvalidRequest,
        1201,
        "cfg_scale",
    );
    // Unknown model: 1203.
    let mut unknown = t2v("a city".into());
    unknown.model_name = Some("kling-v9".into());
    rejected(
        c.create_text2video(&unknown).await,
        ErrorKind::NotFound,
        1203,
        "kling-v9",
    );
    // Unknown task: 1203 not found.
    rejected(
        c.get_text2video("no-such-task").await,
        ErrorKind::NotFound,
        1203,
        "no-such-task",
    );
    // external_task_id must be unique.
    let mut ext = t2v("first".into());
    ext.external_task_id = Some("dup-1".into());
    c.create_text2video(&ext).await.unwrap();
    rejected(
        c.create_text2video(&ext).await,
        ErrorKind::InvalidRequest,
        1201,
        "dup-1",
    );
    // Unknown field (a camelCase slip) in a raw body.
    rejected(
        c.create(
            Endpoint::Text2Video,
            &json!({"prompt": "a city", "aspectRatio": "16:9"}),
        )
        .await,
        ErrorKind::InvalidRequest,
        1201,
        "aspectRatio",
    );
    // A body that is not a JSON object: 1200 invalid request.
    rejected(
        c.create(Endpoint::Text2Video, &json!([])).await,
        ErrorKind::InvalidRequest,
        1200,
        "JSON object",
    );
}

#[tokio::test]
async fn the_provider_rejects_before_kling_when_the_endpoint_cannot_take_the_input() {
    let env = Env::default().await;
    // Lip sync on an unknown face id names the faces found.
    let (video_id, _) = env.video().await;
    let e = env
        .submit(
            "kling-lip-sync",
            "advanced-lip-sync",
            json!({"videoId": video_id, "faceId": "nobody", "audioId": "a-1",
                   "soundStartTime": 0, "soundEndTime": 3000, "soundInsertTime": 0}),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("`nobody`"), "{}", e.message());
}

#[tokio::test]
async fn account_access_safety_and_concurrency_codes() {
    let mut account = KlingAccount::new("ak-limits", "sk-limits");
    account.video_concurrency = 1;
    account.allowed_models = Some(vec!["kling-v2-5-turbo".into()]);
    let mut config = KlingSimConfig::default().with_accounts(vec![account]);
    config.blocked_words = vec!["forbidden".into()];
    let env = Env::start(config).await;
    let c = env.client();
    let t2v = |model: &str, prompt: &str| Text2VideoRequest {
        model_name: Some(model.into()),
        prompt: Some(prompt.into()),
        ..Default::default()
    };
    rejected(
        c.create_text2video(&t2v("kling-v2-6", "a city")).await,
        ErrorKind::PermissionDenied,
        1103,
        "kling-v2-6",
    );
    rejected(
        c.create_text2video(&t2v("kling-v2-5-turbo", "something forbidden"))
            .await,
        ErrorKind::ContentRejected,
        1301,
        "forbidden",
    );
    c.create_text2video(&t2v("kling-v2-5-turbo", "one"))
        .await
        .unwrap();
    let e = c
        .create_text2video(&t2v("kling-v2-5-turbo", "two"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert!(e.is_retryable(), "1303 is retryable");
    assert!(
        e.retry_after() >= Some(Duration::from_secs(1)),
        "spec: backoff ≥ 1 s"
    );
    assert!(e.message().starts_with("Kling 1303: "), "{}", e.message());
    // Once the first task ends, its slot is free again.
    env.sim.advance(Duration::from_secs(61)).await;
    c.create_text2video(&t2v("kling-v2-5-turbo", "three"))
        .await
        .unwrap();

    for (status, code) in [
        (AccountStatus::Abnormal, 1100),
        (AccountStatus::InArrears, 1101),
        (AccountStatus::PackExhausted, 1102),
    ] {
        let mut account = KlingAccount::new("ak-acct", "sk-acct");
        account.status = status;
        let env = Env::start(KlingSimConfig::default().with_accounts(vec![account])).await;
        let e = env
            .client()
            .create_text2video(&t2v("kling-v2-5-turbo", "a city"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ProviderUnavailable, "{code}");
        assert!(
            !e.is_retryable(),
            "{code}: an account problem is not retried"
        );
        assert!(
            e.message().starts_with(&format!("Kling {code}: ")),
            "{}",
            e.message()
        );
    }
}

#[tokio::test]
async fn wrong_credentials_are_unauthenticated_after_one_refresh() {
    let sim = KlingSim::start(KlingSimConfig::default()).await.unwrap();
    let c = KlingClient::new(
        KlingConfig::new(sim.access_key(), "not-the-secret").with_base_url(sim.base_url()),
    )
    .unwrap();
    let e = c.get_text2video("any").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    assert!(e.message().starts_with("Kling 10"), "{}", e.message());
    let c = KlingClient::new(
        KlingConfig::new("unknown-ak", sim.secret_key()).with_base_url(sim.base_url()),
    )
    .unwrap();
    let e = c.get_text2video("any").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn injected_faults_map_to_retry_and_maybe_accepted() {
    let env = Env::default().await;
    let c = env.client();
    let req = Text2VideoRequest {
        model_name: Some("kling-v2-5-turbo".into()),
        prompt: Some("a city".into()),
        ..Default::default()
    };
    let create = sim::Endpoint::Create(sim::Feature::Text2Video);
    env.sim
        .set_faults(
            create,
            FaultPlan {
                rate_limit: 1.0,
                retry_after: Duration::from_secs(4),
                ..FaultPlan::none()
            },
        )
        .unwrap();
    let e = c.create_text2video(&req).await.unwrap_err();
    assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::RateLimited, true));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(4)));

    env.sim
        .set_faults(
            create,
            FaultPlan {
                server_error: 1.0,
                ..FaultPlan::none()
            },
        )
        .unwrap();
    let e = c.create_text2video(&req).await.unwrap_err();
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
    assert!(
        matches!(
            e.kind(),
            ErrorKind::ProviderUnavailable | ErrorKind::Timeout
        ),
        "{e}"
    );

    // The task is created, then the connection drops: maybe accepted, and it exists.
    let mut dropped = req.clone();
    dropped.external_task_id = Some("maybe-1".into());
    env.sim
        .set_faults(
            create,
            FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
        )
        .unwrap();
    let e = c.create_text2video(&dropped).await.unwrap_err();
    assert!(e.maybe_accepted() && !e.is_retryable(), "{e}");
    env.sim.set_faults(create, FaultPlan::none()).unwrap();
    let found = c.get_text2video("maybe-1").await.unwrap();
    assert_eq!(found.task_info.external_task_id.as_deref(), Some("maybe-1"));

    let mut garbled = req.clone();
    garbled.external_task_id = Some("maybe-2".into());
    env.sim
        .set_faults(
            create,
            FaultPlan {
                malformed_json: 1.0,
                ..FaultPlan::none()
            },
        )
        .unwrap();
    let e = c.create_text2video(&garbled).await.unwrap_err();
    assert!(e.maybe_accepted(), "{e}");
    env.sim.set_faults(create, FaultPlan::none()).unwrap();
    assert!(c.get_text2video("maybe-2").await.is_ok());

    // A dropped query is simply retryable.
    let query = sim::Endpoint::Query(sim::Feature::Text2Video);
    env.sim
        .set_faults(
            query,
            FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
        )
        .unwrap();
    let e = c.get_text2video("maybe-1").await.unwrap_err();
    assert!(e.is_retryable() && !e.maybe_accepted(), "{e}");
}

/// What a callback receiver saw: the provider's parse, and the header names it arrived with.
type Received = Arc<Mutex<Vec<(genmux_core::Result<TaskSnapshot>, Vec<String>)>>>;

/// A callback receiver that hands each request to the provider's parser.
async fn receiver(provider: Arc<KlingProvider>) -> (String, Received) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let got: Received = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let got = got2.clone();
            let provider = provider.clone();
            async move {
                let parsed = provider.parse_task_callback(&headers, &body);
                let ok = parsed.is_ok();
                let names = headers.keys().map(|k| k.as_str().to_string()).collect();
                got.lock().unwrap().push((parsed, names));
                if ok {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::BAD_REQUEST
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got)
}

/// spec "Errors, limits, callbacks": Kling POSTs the bare task object with no signature
/// headers (issue 15 point 1: the old simulator sent `webhook-id` and Standard Webhooks
/// signatures, which real Kling never does); the provider parses it as a hint.
#[tokio::test]
async fn callbacks_are_the_bare_task_object_without_signature_headers() {
    let sim = KlingSim::start(KlingSimConfig::default()).await.unwrap();
    let config = KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url());
    let provider = Arc::new(KlingProvider::new(config, Catalog::builtin()).unwrap());
    let (url, got) = receiver(provider.clone()).await;
    let offering = provider
        .video_offerings()
        .iter()
        .find(|o| o.model == "kling-2.5-turbo")
        .unwrap()
        .clone();
    let q = Catalog::builtin()
        .quote(&GenerationRequest {
            model: "kling-2.5-turbo".into(),
            prompt: Some("a city at night".into()),
            ..Default::default()
        })
        .unwrap();
    let sub = provider
        .submit_task(SubmitRequest {
            request: &q.request,
            operation: q.operation,
            offering: &offering,
            callback_url: Some(&url),
            external_id: "conf-callback-1",
        })
        .await
        .unwrap();
    sim.advance(Duration::from_secs(61)).await;
    let results = std::mem::take(&mut *got.lock().unwrap());
    assert!(!results.is_empty(), "callbacks arrived");
    for (_, names) in results.iter() {
        assert!(
            names.iter().all(|n| !n.starts_with("webhook-")),
            "a Kling callback carries no signature headers: {names:?}"
        );
    }
    let statuses: Vec<TaskStatus> = results
        .iter()
        .map(|(r, _)| r.as_ref().expect("an unsigned callback parses").status)
        .collect();
    assert_eq!(statuses.last(), Some(&TaskStatus::Succeeded));
    let last = results.last().unwrap().0.as_ref().unwrap();
    assert_eq!(last.provider_task_id, sub.provider_task_id);
    assert_eq!(last.assets[0].kind, MediaKind::Video);
    // The body is exactly the task object a query returns.
    let record = sim.callbacks().pop().unwrap();
    let queried = provider
        .client()
        .get_text2video(&sub.provider_task_id)
        .await
        .unwrap();
    assert_eq!(record.body["task_id"], json!(queried.task_id));
    assert_eq!(record.body["task_status"], json!("succeed"));
}
