//! Every endpoint over real HTTP: create, query (by task_id and external_task_id), list,
//! the task lifecycle on the simulated clock, callbacks, and the media behind result URLs.

mod common;

use std::io::Cursor;
use std::time::Duration;

use common::{png_b64, Api, Receiver};
use genmux_sim::kling::{KlingSimConfig, Timings};
use serde_json::{json, Value};

fn mp4_info(bytes: &[u8]) -> (Duration, Duration, u16, u16) {
    let mp4 = mp4::Mp4Reader::read_header(Cursor::new(bytes), bytes.len() as u64)
        .expect("a real MP4 parser reads the file");
    let track = mp4.tracks().values().next().expect("one track");
    assert_eq!(track.media_type().unwrap(), mp4::MediaType::H264);
    (
        mp4.duration(),
        track.duration(),
        track.width(),
        track.height(),
    )
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .expect("a real PNG decoder reads the file");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("pixels decode");
    (info.width, info.height)
}

#[tokio::test]
async fn text2video_moves_on_the_clock_and_calls_back_with_the_task_object() {
    let api = Api::default().await;
    let rx = Receiver::start().await;
    let start = api.sim.clock().now_ms();
    let id = api
        .create(
            "/v1/videos/text2video",
            &json!({"prompt": "a red fox in snow", "duration": "10", "mode": "pro",
                    "model_name": "kling-v2-5-turbo", "external_task_id": "order-1",
                    "callback_url": rx.url}),
        )
        .await;
    let t = api.task("/v1/videos/text2video", &id).await;
    assert_eq!(t["task_status"], "submitted");
    assert_eq!(t["task_info"]["external_task_id"], "order-1");
    assert_eq!(
        t["created_at"].as_i64(),
        Some(start),
        "created_at is Unix ms"
    );
    assert!(t.get("task_result").is_none());

    api.sim.advance(Duration::from_secs(1)).await;
    assert_eq!(
        api.task("/v1/videos/text2video", &id).await["task_status"],
        "submitted"
    );
    assert!(rx.hits().is_empty());

    api.sim.advance(Duration::from_secs(1)).await;
    assert_eq!(
        rx.statuses(),
        ["processing"],
        "callback on the status change"
    );
    assert_eq!(
        api.task("/v1/videos/text2video", &id).await["task_status"],
        "processing"
    );

    api.sim.advance(Duration::from_secs(60)).await;
    assert_eq!(rx.statuses(), ["processing", "succeed"]);
    let t = api.task("/v1/videos/text2video", &id).await;
    assert_eq!(t["task_status"], "succeed");
    assert_eq!(t["updated_at"].as_i64(), Some(start + 32_000));
    assert_eq!(
        t["final_unit_deduction"], "5",
        "v2.5-turbo pro 10 s = 2 × 2.5 u"
    );
    // The callback body is the bare task object, as in the query's data.
    assert_eq!(rx.hits()[1].json(), t);
    let video = &t["task_result"]["videos"][0];
    assert_eq!(video["duration"], "10", "duration is a string of seconds");
    let bytes = api.download(video["url"].as_str().unwrap()).await;
    let (movie, track, w, h) = mp4_info(&bytes);
    assert_eq!(movie, Duration::from_secs(10), "mvhd duration");
    assert_eq!(track, Duration::from_secs(10), "mdhd duration");
    assert_eq!((w, h), (128, 72), "16:9 by default");

    // Query by external_task_id (spec §2: id = task_id or external_task_id).
    assert_eq!(
        api.task("/v1/videos/text2video", "order-1").await["task_id"],
        id.as_str()
    );
    // spec "Errors, limits, callbacks": Kling does not sign callbacks; nothing beyond the
    // HTTP basics is sent (the old simulator sent webhook-id, which Kling never does).
    for h in rx.hits() {
        assert!(
            h.headers
                .keys()
                .all(|k| !k.as_str().starts_with("webhook-")),
            "{:?}",
            h.headers
        );
    }
}

#[tokio::test]
async fn callbacks_are_unsigned_task_objects() {
    let api = Api::default().await;
    let rx = Receiver::start().await;
    api.create(
        "/v1/images/generations",
        &json!({"prompt": "a teapot", "callback_url": rx.url}),
    )
    .await;
    api.sim.advance(Duration::from_secs(60)).await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 2);
    for h in &hits {
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            assert!(h.headers.get(name).is_none(), "{name} sent");
        }
        assert!(h.json()["task_id"].is_string());
    }
    let records = api.sim.callbacks();
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|r| r.response_status == Some(200) && !r.lost));
}

#[tokio::test]
async fn a_configured_failure_share_fails_tasks_without_charge() {
    let api = Api::start(KlingSimConfig::default().with_failure_rate(1.0)).await;
    let id = api
        .create("/v1/videos/text2video", &json!({"prompt": "a storm"}))
        .await;
    api.sim.advance(Duration::from_secs(60)).await;
    let t = api.task("/v1/videos/text2video", &id).await;
    assert_eq!(t["task_status"], "failed");
    assert!(!t["task_status_msg"].as_str().unwrap().is_empty());
    assert_eq!(
        t["final_unit_deduction"], "0",
        "failed tasks are not charged"
    );
    assert!(t.get("task_result").is_none());
}

#[tokio::test]
async fn image2video_multi_image_and_motion_control_produce_videos() {
    let api = Api::default().await;
    let i2v = api
        .create(
            "/v1/videos/image2video",
            &json!({"image": png_b64(360, 640), "prompt": "she turns", "external_task_id": "i2v-1"}),
        )
        .await;
    let multi = api
        .create(
            "/v1/videos/multi-image2video",
            &json!({"image_list": [{"image": png_b64(400, 400)}, {"image": "https://example.com/b.png"}],
                    "prompt": "two friends", "aspect_ratio": "1:1", "external_task_id": "multi-1"}),
        )
        .await;
    let motion = api
        .create(
            "/v1/videos/motion-control",
            &json!({"image_url": "https://example.com/dancer.png",
                    "video_url": "https://example.com/moves.mp4",
                    "character_orientation": "image", "mode": "pro"}),
        )
        .await;
    api.sim.advance(Duration::from_secs(60)).await;

    let t = api.task("/v1/videos/image2video", "i2v-1").await;
    assert_eq!(t["task_id"], i2v.as_str());
    let url = t["task_result"]["videos"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, w, h) = mp4_info(&api.download(&url).await);
    assert!(
        h > w,
        "a portrait start frame gives a portrait video ({w}x{h})"
    );

    let t = api.task("/v1/videos/multi-image2video", "multi-1").await;
    assert_eq!(t["task_id"], multi.as_str());
    assert_eq!(t["task_status"], "succeed");

    let t = api.task("/v1/videos/motion-control", &motion).await;
    assert_eq!(t["task_status"], "succeed");
    assert_eq!(t["final_unit_deduction"], "6", "pro 1.2 u/s × 5 s");
}

#[tokio::test]
async fn video_extend_returns_the_whole_video_with_its_parent() {
    let api = Api::default().await;
    let source = api.generated_video("5").await;
    let id = api
        .create(
            "/v1/videos/video-extend",
            &json!({"video_id": source, "prompt": "keep going"}),
        )
        .await;
    api.sim.advance(Duration::from_secs(60)).await;
    let t = api.task("/v1/videos/video-extend", &id).await;
    assert_eq!(t["task_status"], "succeed");
    assert_eq!(t["task_info"]["parent_video"]["id"], source.as_str());
    assert_eq!(t["task_info"]["parent_video"]["duration"], "5");
    let v = &t["task_result"]["videos"][0];
    assert_ne!(v["id"], source.as_str(), "the extended video has a new id");
    assert_eq!(v["duration"], "10", "source + 5 s");
    let (movie, _, _, _) = mp4_info(&api.download(v["url"].as_str().unwrap()).await);
    assert_eq!(movie, Duration::from_secs(10));
    // An extended video can be extended again.
    let again = v["id"].as_str().unwrap();
    api.create("/v1/videos/video-extend", &json!({"video_id": again}))
        .await;
}

#[tokio::test]
async fn identify_face_then_advanced_lip_sync() {
    let api = Api::default().await;
    let video = api.generated_video("10").await;
    let (status, v) = api
        .post("/v1/videos/identify-face", &json!({"video_id": video}))
        .await;
    assert_eq!((status, v["code"].as_i64()), (200, Some(0)), "{v}");
    let session = v["data"]["session_id"].as_str().unwrap().to_string();
    let face = &v["data"]["face_data"][0];
    assert_eq!(face["start_time"], 0);
    assert_eq!(face["end_time"], 10_000, "ms");
    let face_png = api.download(face["face_image"].as_str().unwrap()).await;
    assert_eq!(png_size(&face_png), (64, 64));

    let id = api
        .create(
            "/v1/videos/advanced-lip-sync",
            &json!({"session_id": session, "external_task_id": "lip-1", "face_choose": [{
                "face_id": face["face_id"], "sound_file": "https://example.com/line.mp3",
                "sound_start_time": 0, "sound_end_time": 4000, "sound_insert_time": 1000,
                "sound_volume": 1.5, "original_audio_volume": 0}]}),
        )
        .await;
    api.sim.advance(Duration::from_secs(60)).await;
    let t = api.task("/v1/videos/advanced-lip-sync", &id).await;
    assert_eq!(t["task_status"], "succeed");
    assert_eq!(t["task_info"]["parent_video"]["id"], video.as_str());
    assert_eq!(t["task_result"]["videos"][0]["duration"], "10");
    assert_eq!(t["final_unit_deduction"], "1", "0.5 u per 5 s");

    // identify-face also takes the URL of a video.
    let url = format!("{}/media/videos/{video}.mp4", api.sim.base_url());
    let (_, v) = api
        .post("/v1/videos/identify-face", &json!({"video_url": url}))
        .await;
    assert_eq!(v["data"]["face_data"][0]["end_time"], 10_000);
}

#[tokio::test]
async fn image_generation_and_omni_image_return_n_real_pngs() {
    let api = Api::default().await;
    let gen = api
        .create(
            "/v1/images/generations",
            &json!({"prompt": "a lighthouse", "n": 3, "aspect_ratio": "9:16", "resolution": "2k"}),
        )
        .await;
    let omni = api
        .create(
            "/v1/images/omni-image",
            &json!({"prompt": "<<<image_1>>> wearing a hat", "n": 2, "external_task_id": "omni-1",
                    "image_list": [{"image": png_b64(300, 300)}], "element_list": [{"element_id": 42}]}),
        )
        .await;
    api.sim.advance(Duration::from_secs(60)).await;
    let t = api.task("/v1/images/generations", &gen).await;
    assert_eq!(t["final_unit_deduction"], "1.5", "3 × 0.5 u at 2k");
    let images = t["task_result"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    for (i, img) in images.iter().enumerate() {
        assert_eq!(img["index"], i);
        let (w, h) = png_size(&api.download(img["url"].as_str().unwrap()).await);
        assert_eq!((w, h), (72, 128), "9:16");
    }
    let t = api.task("/v1/images/omni-image", &omni).await;
    assert_eq!(t["task_result"]["images"].as_array().unwrap().len(), 2);
    assert_eq!(t["task_info"]["external_task_id"], "omni-1");
}

#[tokio::test]
async fn list_pages_newest_first_per_endpoint() {
    let mut cfg = KlingSimConfig::default();
    cfg.accounts[0].video_concurrency = 10;
    let api = Api::start(cfg).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            api.create(
                "/v1/videos/text2video",
                &json!({"prompt": format!("shot {i}")}),
            )
            .await,
        );
    }
    api.create(
        "/v1/images/generations",
        &json!({"prompt": "other endpoint"}),
    )
    .await;
    let page = |n: u32| format!("/v1/videos/text2video?pageNum={n}&pageSize=3");
    let ids_of = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, p1) = api.get(&page(1)).await;
    let (_, p2) = api.get(&page(2)).await;
    let (_, p3) = api.get(&page(3)).await;
    let (_, p4) = api.get(&page(4)).await;
    let all: Vec<String> = [ids_of(&p1), ids_of(&p2), ids_of(&p3)].concat();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(all, newest_first);
    assert_eq!(ids_of(&p3).len(), 1);
    assert!(ids_of(&p4).is_empty());
    let (_, default) = api.get("/v1/videos/text2video").await;
    assert_eq!(ids_of(&default).len(), 7, "default pageSize 30");
    for bad in [
        "pageNum=0",
        "pageNum=1001",
        "pageSize=0",
        "pageSize=501",
        "pageSize=x",
    ] {
        let (status, v) = api.get(&format!("/v1/videos/text2video?{bad}")).await;
        assert_eq!(
            (status, v["code"].as_i64()),
            (400, Some(1201)),
            "{bad}: {v}"
        );
        let field = bad.split('=').next().unwrap();
        assert!(v["message"].as_str().unwrap().contains(field), "{v}");
    }
}

#[tokio::test]
async fn media_of_unknown_ids_is_404_and_expires_after_30_days() {
    let api = Api::start(KlingSimConfig::default().with_timings(Timings {
        queue: Duration::from_secs(1),
        video: Duration::from_secs(1),
        image: Duration::from_secs(1),
    }))
    .await;
    let video = api.generated_video("5").await;
    let url = format!("{}/media/videos/{video}.mp4", api.sim.base_url());
    assert_eq!(api.http.get(&url).send().await.unwrap().status(), 200);
    let missing = format!("{}/media/videos/nope.mp4", api.sim.base_url());
    assert_eq!(api.http.get(&missing).send().await.unwrap().status(), 404);
    api.sim.advance(Duration::from_secs(31 * 24 * 3600)).await;
    assert_eq!(api.http.get(&url).send().await.unwrap().status(), 404);
}

/// Issue 20 point 3: a video the simulator is told to measure (the sandbox's sample
/// files) decides the output: a motion-control result lasts the motion video's length and
/// is billed by it; identify-face sees the video's length, and the lip-synced result
/// lasts as long. A video it cannot read is refused naming the field.
#[tokio::test]
async fn measured_videos_decide_motion_control_and_lip_sync_lengths() {
    use genmux_core::{SampleKind, SampleMedia};
    use genmux_sim::samples::SampleServer;
    let samples = SampleServer::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = Api::start(KlingSimConfig {
        measured_media: vec![format!("{}/", samples.base_url())],
        ..KlingSimConfig::default()
    })
    .await;
    let video = |w, h, s| SampleMedia {
        kind: SampleKind::Video,
        width: Some(w),
        height: Some(h),
        seconds: Some(s),
    };
    let motion_url = samples.url_for("https://example.com/dance.mp4", &video(720, 1280, 8));
    let motion = api
        .create(
            "/v1/videos/motion-control",
            &json!({"image_url": "https://example.com/person.png", "video_url": motion_url,
                    "character_orientation": "image", "mode": "std"}),
        )
        .await;
    let talk_url = samples.url_for("https://example.com/talk.mp4", &video(1280, 720, 7));
    let (status, v) = api
        .post("/v1/videos/identify-face", &json!({"video_url": talk_url}))
        .await;
    assert_eq!((status, v["code"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(v["data"]["face_data"][0]["end_time"], 7_000, "{v}");
    let session = v["data"]["session_id"].as_str().unwrap().to_string();
    let sync = api
        .create(
            "/v1/videos/advanced-lip-sync",
            &json!({"session_id": session, "face_choose": [{"face_id": "0",
                    "sound_file": "https://example.com/voice.mp3", "sound_start_time": 0,
                    "sound_end_time": 5000, "sound_insert_time": 0}]}),
        )
        .await;
    api.sim.advance(Duration::from_secs(60)).await;

    let t = api.task("/v1/videos/motion-control", &motion).await;
    assert_eq!(t["task_status"], "succeed", "{t}");
    assert_eq!(t["final_unit_deduction"], "7.2", "std 0.9 u/s × 8 s: {t}");
    let v = &t["task_result"]["videos"][0];
    assert_eq!(v["duration"], "8", "{t}");
    let (movie, _, w, h) = mp4_info(&api.download(v["url"].as_str().unwrap()).await);
    assert_eq!(movie, Duration::from_secs(8));
    assert!(
        h > w,
        "a portrait motion video gives a portrait result ({w}x{h})"
    );

    let t = api.task("/v1/videos/advanced-lip-sync", &sync).await;
    assert_eq!(t["task_status"], "succeed", "{t}");
    let v = &t["task_result"]["videos"][0];
    assert_eq!(v["duration"], "7", "{t}");
    let (movie, _, _, _) = mp4_info(&api.download(v["url"].as_str().unwrap()).await);
    assert_eq!(movie, Duration::from_secs(7));

    // Too long for orientation `image` (at most 10 s), measured: refused.
    let long_url = samples.url_for("https://example.com/long.mp4", &video(720, 1280, 12));
    let (_, v) = api
        .post(
            "/v1/videos/motion-control",
            &json!({"image_url": "https://example.com/person.png", "video_url": long_url,
                    "character_orientation": "image", "mode": "std"}),
        )
        .await;
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("video_url is 12 s long")),
        "{v}"
    );
    // A measured URL that serves no video: refused naming the field and why.
    let broken = format!("{}/video/1x1/0/broken.mp4", samples.base_url());
    let (_, v) = api
        .post("/v1/videos/identify-face", &json!({"video_url": broken}))
        .await;
    let m = v["message"].as_str().unwrap_or_default();
    assert!(
        m.contains("video_url") && m.contains("could not be read") && m.contains("HTTP 404"),
        "{v}"
    );
    samples.shutdown().await;
}
