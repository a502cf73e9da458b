//! `hailuo-2.3-standard` through the gateway over real HTTP with MiniMax as its native
//! provider (issue 16): generated natively (MiniMax is the cheaper: ~$0.56 against
//! midsync's 34 points), failed over to midsync when MiniMax refuses for account, 5xx or
//! concurrency reasons, and settled by polling or by MiniMax's callbacks — whose challenge
//! the gateway echoes, and whose status hints it settles only as a status query confirms.

mod common;

use common::*;
use genmux_core::{Catalog, Provider};
use genmux_midsync::engine::poller;
use genmux_midsync::{MidsyncConfig, MidsyncProvider};
use genmux_minimax::{MiniMaxConfig, MiniMaxProvider};
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::{SimAccount, SimConfig};
use genmux_sim::minimax::{Endpoint, MiniMaxSim, MiniMaxWire};
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};
use serde_json::{json, Value};
use std::time::Duration;

/// The catalog's 34 points for hailuo-2.3-standard (10 s, 768P).
const POINTS: i64 = 34;

/// A MiniMax simulator (manual clock: 4 s queue, 60 s render) and a provider pointed at it.
async fn minimax(
    tweak: impl FnOnce(SimConfig<MiniMaxWire>) -> SimConfig<MiniMaxWire>,
) -> (MiniMaxSim, Provider) {
    let sim =
        MiniMaxSim::start(tweak(SimConfig::default().with_settings(|s| {
            s.with_timings(Duration::from_secs(4), Duration::from_secs(60))
        })))
        .await
        .expect("the MiniMax simulator starts");
    let provider = MiniMaxProvider::new(
        MiniMaxConfig::new(sim.api_key()).with_base_url(sim.base_url()),
        Catalog::builtin(),
    )
    .expect("MiniMax provider")
    .into_provider();
    (sim, provider)
}

/// Points the unified simulator's account starts with; each task created there spends
/// some, so its balance tells whether midsync was asked.
const UPSTREAM_POINTS: i64 = 10_000;

/// midsync over the unified simulator: the second provider of hailuo-2.3-standard.
async fn midsync() -> (UnifiedSim, Provider) {
    let sim = UnifiedSim::start(UnifiedSimConfig::default())
        .await
        .expect("the unified simulator starts");
    assert!(sim.set_balance(sim.api_key(), Some(UPSTREAM_POINTS)));
    let provider = MidsyncProvider::new(
        MidsyncConfig::new(sim.base_url(), sim.api_key()),
        Catalog::builtin(),
    )
    .expect("midsync provider")
    .into_provider();
    (sim, provider)
}

/// A hailuo-2.3-standard request (the image on loopback: the gateway resolves and checks
/// every media URL, and the tests allow loopback).
fn hailuo_body() -> Value {
    json!({
        "model": "hailuo-2.3-standard",
        "prompt": "Natural breathing and blinking",
        "images": ["http://127.0.0.1:9/portrait.png"],
    })
}

async fn status_of(gw: &Gateway, task_id: &str) -> Value {
    gw.get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await
        .body
}

/// Points the midsync upstream has spent: 0 while midsync was never asked.
fn upstream_spent(unified: &UnifiedSim) -> i64 {
    UPSTREAM_POINTS - unified.balance(unified.api_key()).expect("a funded key")
}

/// The asset of a succeeded task is a real MP4 (here the download URL MiniMax's
/// files/retrieve minted: these gateways keep no blob store).
async fn assert_real_video(gw: &Gateway, done: &Value) {
    let url = done["assets"][0]["url"].as_str().expect("an asset URL");
    let bytes = gw
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "a real MP4");
}

/// Native generation settled by polling: MiniMax's callbacks are all lost, the poller
/// queries the task and, once it succeeded, retrieves its file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hailuo_is_generated_natively_and_settled_by_polling() {
    let (sim, mm) = minimax(|c| c).await;
    sim.set_faults(
        Endpoint::Create,
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let (unified, ms) = midsync().await;
    let gw = gateway(Db::sqlite(), vec![mm, ms], |_| {}).await;

    let created = gw
        .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["providerModel"], "MiniMax-Hailuo-2.3");
    assert_eq!(created.body["pointsCharged"], POINTS);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    assert_eq!(gw.tasks().await[0].provider, "minimax");
    // What MiniMax was asked: the catalog's defaults, our callback URL, no caller id.
    let sent = sim.tasks();
    assert_eq!(sent.len(), 1);
    let req = &sent[0].data.request;
    assert_eq!(
        (req.model.as_str(), req.duration, req.resolution.as_str()),
        ("MiniMax-Hailuo-2.3", 10, "768P")
    );
    assert!(req
        .callback_url
        .as_deref()
        .is_some_and(|u| u.starts_with(&format!("{}/callbacks/minimax/", gw.base))));

    sim.advance(Duration::from_secs(70)).await;
    assert!(
        sim.callbacks().iter().all(|c| c.lost),
        "callbacks were lost"
    );
    assert_eq!(status_of(&gw, &task_id).await["status"], "submitted");
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 1);
    let done = status_of(&gw, &task_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_real_video(&gw, &done).await;
    assert_eq!(gw.balance().await, BALANCE - POINTS);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    assert_eq!(upstream_spent(&unified), 0, "midsync was never asked");
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 0);
    sim.shutdown().await;
}

/// Native generation settled by callback: the gateway echoes MiniMax's challenge, so the
/// status callbacks follow; each is confirmed by a query (and files/retrieve) before it
/// settles anything. Forged hints to the task's URL change nothing the upstream does not
/// confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hailuo_settles_by_callback_after_the_challenge_and_a_query() {
    let (sim, mm) = minimax(|c| c).await;
    let (_unified, ms) = midsync().await;
    let gw = gateway(Db::sqlite(), vec![mm, ms], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let upstream_id = created.body["providerTaskId"].as_str().unwrap().to_string();

    sim.advance(Duration::from_secs(5)).await;
    let calls = sim.callbacks();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].body.get("challenge").is_some());
    assert_eq!(calls[0].response_status, Some(200));
    assert_eq!(
        calls[0].response_body.as_ref(),
        Some(&calls[0].body),
        "the gateway echoes the challenge"
    );
    assert_eq!(calls[1].body["status"], "Processing");
    assert_eq!(calls[1].response_status, Some(200), "{calls:?}");
    assert_eq!(status_of(&gw, &task_id).await["status"], "processing");

    // Forged hints: MiniMax's query says Processing, so nothing is settled.
    let url = calls[1].url.clone();
    for forged in [
        json!({"task_id": upstream_id, "status": "Success", "file_id": "123456789012345",
               "base_resp": {"status_code": 0, "status_msg": "success"}}),
        json!({"task_id": upstream_id, "status": "Fail",
               "base_resp": {"status_code": 1027, "status_msg": "output video sensitive"}}),
    ] {
        let a = gw.send(gw.http.post(&url).json(&forged)).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["status"], "processing", "{}", a.body);
    }
    // A hint about another upstream task is refused.
    let other = json!({"task_id": "999", "status": "Success", "file_id": "1",
                       "base_resp": {"status_code": 0, "status_msg": "success"}});
    assert_eq!(gw.send(gw.http.post(&url).json(&other)).await.status, 400);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);

    sim.advance(Duration::from_secs(61)).await;
    let calls = sim.callbacks();
    let last = calls.last().unwrap();
    assert_eq!(last.body["status"], "Success");
    assert_eq!(last.response_status, Some(200));
    assert_eq!(last.response_body.as_ref().unwrap()["status"], "succeeded");
    let done = status_of(&gw, &task_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_real_video(&gw, &done).await;
    assert_eq!(gw.balance().await, BALANCE - POINTS);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    // A challenge replayed later is still answered (and changes nothing).
    let replay = gw.send(gw.http.post(&url).json(&calls[0].body)).await;
    assert_eq!(replay.body, calls[0].body);
    sim.shutdown().await;
}

/// A submission whose answer was lost (MiniMax took it; the connection dropped) stays
/// `unknown` with its hold — MiniMax cannot be asked by our id — until MiniMax's callback
/// names the task: the gateway confirms it by a query and settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_answer_is_found_through_the_callback() {
    let (sim, mm) = minimax(|c| c).await;
    sim.set_faults(
        Endpoint::Create,
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let (unified, ms) = midsync().await;
    let gw = gateway(Db::sqlite(), vec![mm, ms], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "unknown", "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    assert_eq!(gw.balance().await, BALANCE - POINTS, "the hold stays");
    assert_eq!(upstream_spent(&unified), 0, "never resent elsewhere");
    assert_eq!(sim.tasks().len(), 1, "MiniMax took it");
    sim.set_faults(Endpoint::Create, FaultPlan::none()).unwrap();

    sim.advance(Duration::from_secs(5)).await;
    let task = &gw.tasks().await[0];
    assert_eq!(
        task.provider_task_id.as_deref(),
        Some(sim.tasks()[0].id.as_str())
    );
    assert_eq!(task.status.as_str(), "processing");
    sim.advance(Duration::from_secs(61)).await;
    let done = status_of(&gw, &task_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    sim.shutdown().await;
}

/// MiniMax refuses (tried first: it is the cheaper): out of balance (1008), the HTTP
/// layer failing (503), the account's concurrency (1002) → the task goes to midsync and
/// is charged once. A sensitive prompt (1026) would be refused anywhere: 400, refunded,
/// midsync never asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_fail_over_to_midsync() {
    let (sim, mm) = minimax(|c| {
        c.with_settings(|s| s.with_accounts(vec![SimAccount::new("sk-mm").with_concurrency(1)]))
    })
    .await;
    let (unified, ms) = midsync().await;
    let gw = gateway(Db::sqlite(), vec![mm, ms], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let mut charged = 0;
    let error = |code: u32| FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    };
    for (plan, class) in [
        (error(1101), "1008 insufficient balance"),
        (error(5001), "HTTP 503"),
        (error(5000), "HTTP 500"),
    ] {
        sim.set_faults(Endpoint::Create, plan).unwrap();
        let created = gw
            .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
            .await;
        assert_eq!(created.status, 200, "{class}: {}", created.body);
        assert_eq!(
            created.body["providerModel"], "hailuo-2.3-standard",
            "{class}: served by midsync"
        );
        let task_id = created.body["taskId"].as_str().unwrap();
        let task = gw
            .tasks()
            .await
            .into_iter()
            .find(|t| t.id == task_id)
            .unwrap();
        assert_eq!(task.provider, "midsync", "{class}");
        charged += POINTS;
        assert_eq!(
            gw.balance().await,
            BALANCE - charged,
            "{class}: charged once"
        );
        assert!(upstream_spent(&unified) > 0, "{class}: midsync was asked");
    }
    sim.set_faults(Endpoint::Create, FaultPlan::none()).unwrap();
    assert!(sim.tasks().is_empty(), "MiniMax created nothing");

    // Concurrency: the first task takes MiniMax's only slot, the second goes to midsync.
    let first = gw
        .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
        .await;
    assert_eq!(
        first.body["providerModel"], "MiniMax-Hailuo-2.3",
        "{}",
        first.body
    );
    let second = gw
        .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        second.body["providerModel"], "hailuo-2.3-standard",
        "1002 over concurrency: {}",
        second.body
    );
    charged += 2 * POINTS;
    assert_eq!(gw.balance().await, BALANCE - charged);
    assert_eq!(sim.tasks().len(), 1);

    // A content-policy refusal stops: no failover, refunded.
    sim.set_faults(Endpoint::Create, error(1301)).unwrap();
    let before = upstream_spent(&unified);
    let refused = gw
        .post("/unified-video/generate", &gw.key, &hailuo_body(), None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(gw.balance().await, BALANCE - charged, "refunded");
    assert_eq!(upstream_spent(&unified), before, "midsync never asked");
    let midsync_tasks = gw
        .tasks()
        .await
        .into_iter()
        .filter(|t| t.provider == "midsync")
        .count();
    assert_eq!(midsync_tasks, 4, "1008, 503, 500, concurrency");
    sim.shutdown().await;
}
