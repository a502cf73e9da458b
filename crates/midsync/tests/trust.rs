//! Issue 13 — what is charged is what runs, and upstreams see our ids only — over real HTTP
//! on loopback with the Kling simulator, on SQLite and PostgreSQL:
//! - no free-form `extra` (X1): refused, nothing written;
//! - the caller's `externalTaskId` stays ours: unique per account, never sent upstream, and
//!   accepted by the status route (X3);
//! - R1 / X4 for every Kling create endpoint: a submission of unknown outcome that the
//!   upstream ran is charged once; one it never received is refunded once; a provider that
//!   cannot look tasks up keeps the hold until the operator deadline;
//! - the models routes need a key, and offer only what a configured provider serves.

mod common;

use base64::Engine as _;
use common::*;
use genmux_core::{Catalog, Operation, TaskStatus, UnknownLookup};
use genmux_midsync::engine::poller;
use genmux_midsync::{MidsyncConfig, MidsyncProvider};
use genmux_sim::kling::{Endpoint, Feature, KlingSim};
use genmux_sim::FaultPlan;
use genmux_store::{NewTask, Scope};
use serde_json::{json, Value};
use std::time::Duration;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(
    extra_is_refused_and_nothing_is_written,
    external_task_ids_stay_ours_and_are_unique_per_account,
    unknown_submissions_the_upstream_ran_are_charged_once,
    unknown_submissions_never_received_are_refunded_once,
    a_provider_without_lookup_keeps_the_hold_until_the_deadline,
    models_need_a_key_and_offer_only_what_is_served,
);

fn png_b64() -> String {
    base64::engine::general_purpose::STANDARD.encode(genmux_sim::media::png(640, 360, 7))
}

async fn extra_is_refused_and_nothing_is_written(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    // The example: a 5 s std price, an `extra` asking for 10 s pro.
    let mut body = kling_body();
    body["extra"] = json!({"duration": "10", "mode": "pro"});
    for path in ["/unified-video/quote", "/unified-video/generate"] {
        let r = gw.post(path, &gw.key, &body, None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.error().starts_with("extra:"), "{path}: {}", r.error());
    }
    assert!(gw.tasks().await.is_empty());
    assert_eq!(gw.balance().await, BALANCE);
    assert_eq!(gw.entry_kinds().await, vec!["top_up"]);
    assert!(sim.state().tasks().is_empty());
    sim.shutdown().await;
}

async fn external_task_ids_stay_ours_and_are_unique_per_account(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let mut body = kling_body();
    body["externalTaskId"] = json!("order-1");
    let first = gw
        .post("/unified-video/generate", &gw.key, &body, None)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let task_id = first.body["taskId"].as_str().unwrap().to_string();
    let points = first.body["pointsCharged"].as_i64().unwrap();

    // Kling saw our task id, never the caller's.
    let upstream = sim.state().tasks();
    assert_eq!(upstream.len(), 1);
    assert_eq!(
        upstream[0].external_task_id.as_deref(),
        Some(task_id.as_str())
    );

    // The same externalTaskId again in this account: 409 naming it and the first task,
    // nothing charged, nothing sent.
    let again = gw
        .post("/unified-video/generate", &gw.key, &body, None)
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.error().contains("order-1") && again.error().contains(&task_id),
        "{}",
        again.error()
    );
    assert_eq!(gw.balance().await, BALANCE - points);
    assert_eq!(sim.state().tasks().len(), 1);

    // Another account on the same upstream account uses the same id independently.
    let other = format!("acct_other_{}", uuid::Uuid::new_v4().simple());
    gw.store.ledger.create_account(&other).await.unwrap();
    gw.store.ledger.top_up(&other, BALANCE).await.unwrap();
    let other_key = new_key(&gw.store, &other, &[Scope::ApiGenerate, Scope::ApiRead]).await;
    let theirs = gw
        .post("/unified-video/generate", &other_key, &body, None)
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    let their_id = theirs.body["taskId"].as_str().unwrap().to_string();
    assert_ne!(their_id, task_id);
    assert_eq!(sim.state().tasks().len(), 2);

    // The status route takes the externalTaskId within the caller's account.
    let mine = gw.get("/unified-video/order-1/status", &gw.key).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["taskId"], json!(task_id));
    assert_eq!(mine.body["externalTaskId"], "order-1");
    let yours = gw.get("/unified-video/order-1/status", &other_key).await;
    assert_eq!(yours.body["taskId"], json!(their_id));
    // …and never reaches another account's task by its taskId.
    let foreign = gw
        .get(&format!("/unified-video/{their_id}/status"), &gw.key)
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);

    // Settled: the usage row carries it.
    sim.advance(Duration::from_secs(600)).await;
    poller::poll_due(&gw.state).await.unwrap();
    let logs = gw.get("/v1/usage/logs", &gw.key).await;
    assert_eq!(logs.status, 200, "{}", logs.body);
    let rows = logs.body["logs"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", logs.body);
    assert_eq!(rows[0]["taskId"], json!(task_id));
    assert_eq!(rows[0]["externalTaskId"], "order-1");
    sim.shutdown().await;
}

/// A finished text-to-video task on the simulator: its video id and URL feed extend, lip
/// sync and motion control.
async fn finished_video(gw: &Gateway, sim: &KlingSim) -> (String, String) {
    let r = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(600)).await;
    poller::poll_due(&gw.state).await.unwrap();
    let task = gw.store.tasks.get(&id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
    let a = &task.assets[0];
    (a.id.clone().expect("video id"), a.url.clone())
}

/// One request per Kling create endpoint, with the simulator feature that serves it.
fn every_endpoint(
    sim: &KlingSim,
    video_id: &str,
    video_url: &str,
) -> Vec<(Feature, &'static str, Value)> {
    let img = png_b64();
    // spec §1: sound files are .mp3/.wav/.m4a (the simulator does not fetch them).
    let audio_url = format!("{}/media/voice.mp3", sim.base_url());
    vec![
        (Feature::Text2Video, "/unified-video", kling_body()),
        (
            Feature::Image2Video,
            "/unified-video",
            json!({"model": "kling-2.5-turbo", "prompt": "The flower opens", "images": [img.clone()], "duration": 5}),
        ),
        (
            Feature::MultiImage2Video,
            "/unified-video",
            json!({"model": "kling-multi-image", "prompt": "Two friends shake hands", "images": [img.clone(), img.clone()], "duration": 5}),
        ),
        (
            Feature::MotionControl,
            "/unified-video",
            json!({"model": "kling-motion-control", "images": [img.clone()], "motionVideo": video_url, "characterOrientation": "image", "mode": "std", "duration": 5}),
        ),
        (
            Feature::VideoExtend,
            "/unified-video",
            json!({"model": "kling-video-extend", "videoId": video_id, "prompt": "Keep rising"}),
        ),
        (
            Feature::AdvancedLipSync,
            "/unified-video",
            json!({"model": "kling-lip-sync", "videoId": video_id, "soundFile": audio_url, "soundStartTime": 0, "soundEndTime": 3000, "soundInsertTime": 0}),
        ),
        (
            Feature::ImageGenerations,
            "/unified-image",
            json!({"model": "kling-image", "prompt": "A watercolor fox", "n": 1}),
        ),
        (
            Feature::OmniImage,
            "/unified-image",
            json!({"model": "kling-omni-image", "prompt": "<<<image_1>>> in a hat", "images": [img], "n": 1}),
        ),
    ]
}

/// R1 for every Kling create endpoint: the connection drops after the simulator created
/// the task (the gateway cannot know) → `unknown`, never resubmitted; the poller finds it
/// by the id we sent (query by external id, or the task list for lip sync) and it is
/// charged exactly once.
async fn unknown_submissions_the_upstream_ran_are_charged_once(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.unknown_grace = Duration::ZERO;
    })
    .await;
    let (video_id, video_url) = finished_video(&gw, &sim).await;
    for (feature, prefix, body) in every_endpoint(&sim, &video_id, &video_url) {
        sim.set_faults(
            Endpoint::Create(feature),
            FaultPlan {
                drop_connection: 1.0,
                lost_callback: 1.0,
                ..FaultPlan::default()
            },
        )
        .unwrap();
        let before_upstream = sim.state().tasks().len();
        let before = gw.balance().await;
        let r = gw
            .post(&format!("{prefix}/generate"), &gw.key, &body, None)
            .await;
        assert_eq!(r.status, 200, "{feature:?}: {}", r.body);
        assert_eq!(r.body["status"], "unknown", "{feature:?}: {}", r.body);
        let id = r.body["taskId"].as_str().unwrap().to_string();
        let points = r.body["pointsCharged"].as_i64().unwrap();
        assert_eq!(
            sim.state().tasks().len(),
            before_upstream + 1,
            "{feature:?}: sent once, never again"
        );
        sim.advance(Duration::from_secs(900)).await;
        for _ in 0..3 {
            poller::poll_due(&gw.state).await.unwrap();
        }
        let task = gw.store.tasks.get(&id).await.unwrap().unwrap();
        assert_eq!(task.status, TaskStatus::Succeeded, "{feature:?}: {task:?}");
        assert!(
            task.provider_task_id.is_some(),
            "{feature:?}: upstream id learnt"
        );
        assert_eq!(
            gw.balance().await,
            before - points,
            "{feature:?}: charged once"
        );
        assert_eq!(
            sim.state().tasks().len(),
            before_upstream + 1,
            "{feature:?}: never resubmitted"
        );
        sim.set_faults(Endpoint::Create(feature), FaultPlan::default())
            .unwrap();
    }
    sim.shutdown().await;
}

/// A task row written before the submission, whose process died before it left (R4): the
/// provider, asked by the id that would have been sent, has no such task → refunded once,
/// for every Kling endpoint (query by external id, or the list scan for lip sync).
async fn unknown_submissions_never_received_are_refunded_once(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.unknown_grace = Duration::ZERO;
    })
    .await;
    // Some traffic at every endpoint, so list scans have tasks to read past.
    let (video_id, video_url) = finished_video(&gw, &sim).await;
    let catalog = Catalog::builtin();
    for (feature, _, body) in every_endpoint(&sim, &video_id, &video_url) {
        let req = serde_json::from_value(body).unwrap();
        let q = catalog.quote(&req).unwrap();
        let before = gw.balance().await;
        let now = gw.state.clock().now();
        let id = unsent_task(&gw, "kling", &q, now, now).await;
        assert_eq!(gw.balance().await, before - q.points);
        poller::poll_due(&gw.state).await.unwrap();
        let task = gw.store.tasks.get(&id).await.unwrap().unwrap();
        assert_eq!(task.status, TaskStatus::Failed, "{feature:?}: {task:?}");
        assert_eq!(gw.balance().await, before, "{feature:?}: refunded once");
        // Lip sync is found through the task list; every other endpoint by its query.
        let want = if q.operation == Operation::LipSync {
            UnknownLookup::ListScan
        } else {
            UnknownLookup::ExternalIdQuery
        };
        assert_eq!(
            gw.state.router().unknown_lookup("kling", &q.model),
            Some(want),
            "{feature:?}"
        );
    }
    sim.shutdown().await;
}

/// A task row of `provider`, `unknown`, written with its hold as generate writes it before
/// the submission leaves — as if the process died before sending it (R4).
async fn unsent_task(
    gw: &Gateway,
    provider: &str,
    q: &genmux_core::Quote,
    created_at: time::OffsetDateTime,
    due: time::OffsetDateTime,
) -> String {
    let id = format!("task_unsent_{}", uuid::Uuid::new_v4().simple());
    gw.store
        .tasks
        .insert_with_hold(NewTask {
            id: id.clone(),
            account_id: gw.account.clone(),
            api_key_id: None,
            model: q.model.clone(),
            operation: q.operation,
            provider: provider.into(),
            provider_task_id: None,
            provider_model: None,
            status: TaskStatus::Unknown,
            points: q.points,
            request: serde_json::to_value(&q.request).unwrap(),
            callback_url: None,
            callback_token: Some(uuid::Uuid::new_v4().simple().to_string()),
            project_id: None,
            external_task_id: Some(id.clone()),
            caller_external_id: None,
            created_at,
            next_poll_at: Some(due),
            trace_context: None,
        })
        .await
        .unwrap();
    id
}

/// X4: the unified API cannot find a task by our id. A submission of unknown outcome keeps
/// its hold past the grace — the upstream may be running it — and is voided only at the
/// operator deadline, counted.
async fn a_provider_without_lookup_keeps_the_hold_until_the_deadline(db: Db) {
    // A unified upstream that is never reached: the poller must not need it.
    let midsync = MidsyncProvider::new(
        MidsyncConfig::new("http://127.0.0.1:9", "unused"),
        Catalog::builtin(),
    )
    .unwrap()
    .into_provider();
    let gw = gateway(db, vec![midsync], |c| {
        c.poll.unknown_grace = Duration::ZERO;
        c.poll.unknown_deadline = Duration::from_secs(3600);
    })
    .await;
    let catalog = Catalog::builtin();
    let req = serde_json::from_value(
        json!({"model": "seedance-1.5-pro", "prompt": "A beach at dusk", "duration": 8}),
    )
    .unwrap();
    let q = catalog.quote(&req).unwrap();
    let now = gw.state.clock().now();
    let mut ids = Vec::new();
    for age in [Duration::from_secs(1800), Duration::from_secs(7200)] {
        let id = unsent_task(&gw, "midsync", &q, now - age, now).await;
        ids.push(id);
    }
    assert_eq!(gw.balance().await, BALANCE - 2 * q.points);
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 2);
    // Within the deadline: still unknown, still held, not polled again right away.
    let young = gw.store.tasks.get(&ids[0]).await.unwrap().unwrap();
    assert_eq!(young.status, TaskStatus::Unknown);
    assert!(young.next_poll_at.unwrap() > now, "{young:?}");
    // Past it: voided once, with a reason, and counted.
    let old = gw.store.tasks.get(&ids[1]).await.unwrap().unwrap();
    assert_eq!(old.status, TaskStatus::Failed);
    assert!(
        old.error.as_deref().unwrap().contains("never confirmed"),
        "{old:?}"
    );
    assert_eq!(gw.balance().await, BALANCE - q.points);
    assert_eq!(gw.state.unknown_voided_total(), 1);
    let audit = gw
        .store
        .accounts
        .audit_log(Some(&gw.account))
        .await
        .unwrap();
    let voided: Vec<_> = audit
        .iter()
        .filter(|e| e.action == genmux_store::AccountAuditAction::UnknownVoided)
        .collect();
    assert_eq!(voided.len(), 1, "{audit:?}");
    assert!(voided[0].detail.contains(&ids[1]), "{:?}", voided[0]);
    assert_eq!(voided[0].points, Some(q.points));
    // A second pass changes nothing.
    poller::poll_due(&gw.state).await.unwrap();
    assert_eq!(gw.state.unknown_voided_total(), 1);
}

async fn models_need_a_key_and_offer_only_what_is_served(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    // The seed: models need Authorization.
    let anonymous = gw
        .send(gw.http.get(format!("{}/unified-video/models", gw.base)))
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let doc = gw.get("/unified-video/models", &gw.key).await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    let ids: Vec<&str> = doc.body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // Only Kling is configured: its models, none of the midsync-only ones.
    assert!(ids.contains(&"kling-2.5-turbo"), "{ids:?}");
    assert!(!ids.contains(&"seedance-1.5-pro"), "{ids:?}");
    // kling-v2-5-turbo has no camera control: the form does not offer it.
    let fields: Vec<&str> = doc.body["modelParams"]["kling-2.5-turbo"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"prompt"), "{fields:?}");
    assert!(
        !fields.iter().any(|f| f.starts_with("cameraControl")),
        "{fields:?}"
    );

    // A request for either is refused before any hold, with a 422 naming it.
    let seedance = json!({"model": "seedance-1.5-pro", "prompt": "A beach at dusk", "duration": 8});
    let mut camera = kling_body();
    camera["cameraControl"] = json!({"cameraMotion": "pan", "cameraSpeed": 1.0});
    for (body, needle) in [
        (&seedance, "model: `seedance-1.5-pro`"),
        (&camera, "cameraControl:"),
    ] {
        for path in ["/unified-video/quote", "/unified-video/generate"] {
            let r = gw.post(path, &gw.key, body, None).await;
            assert_eq!(r.status, 422, "{path}: {}", r.body);
            assert!(r.error().starts_with(needle), "{path}: {}", r.error());
            assert!(
                r.error().contains("no configured provider") || r.error().contains("not served"),
                "{}",
                r.error()
            );
        }
    }
    assert!(gw.tasks().await.is_empty());
    assert_eq!(gw.entry_kinds().await, vec!["top_up"]);

    // Operators see what is left out and why; tenants may not ask.
    let denied = gw.get("/unified-video/models?all=true", &gw.key).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    let admin = new_key(&gw.store, &gw.account, &[Scope::Admin]).await;
    let all = gw.get("/unified-video/models?all=true", &admin).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let unserved = all.body["unserved"].as_array().unwrap();
    assert!(
        unserved.iter().any(|u| u["model"] == "seedance-1.5-pro"
            && u["reason"].as_str().unwrap().contains("midsync")),
        "{unserved:?}"
    );
    assert!(
        unserved
            .iter()
            .any(|u| u["model"] == "kling-2.5-turbo" && u["field"] == "cameraControl"),
        "{unserved:?}"
    );
    sim.shutdown().await;
}

/// `models_public` opens the models routes to forms without a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn models_public_opens_the_models_routes() {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(Db::sqlite(), vec![kling], |c| c.models_public = true).await;
    let anonymous = gw
        .send(gw.http.get(format!("{}/unified-video/models", gw.base)))
        .await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    // A bad key is still refused rather than ignored.
    let bad = gw.get("/unified-video/models", "gmx_nope_nope").await;
    assert_eq!(bad.status, 401, "{}", bad.body);
    sim.shutdown().await;
}
