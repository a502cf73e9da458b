//! `seedance-1.5-pro` through the gateway with two providers: the native `seedance`
//! provider (Ark, over the Seedance simulator) and `midsync` (a unified upstream, over the
//! unified simulator), issue 16. The router tries the cheaper first (Ark tokens × USD per
//! million against midsync points × USD per point); a refusal of our Ark account, an Ark
//! 5xx or Ark's concurrency limit sends the task to midsync; a content refusal does not.
//! Tasks settle by Ark's callback — a hint the gateway confirms by querying Ark, never
//! settling from the body — and by polling when callbacks are lost. On SQLite and
//! PostgreSQL (`GENMUX_TEST_PG`).

mod common;

use common::*;
use genmux_core::{Catalog, PriceInputs, Provider};
use genmux_midsync::engine::poller;
use genmux_midsync::{MidsyncConfig, MidsyncProvider};
use genmux_router::{Candidate, PickRequest, Picker, PriceFirst};
use genmux_seedance::{ArkConfig, SeedanceProvider};
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::SimAccount;
use genmux_sim::seedance::{SeedanceEndpoint, SeedanceSim, SeedanceSimConfig};
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};
use genmux_store::Scope;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const QUEUE: Duration = Duration::from_secs(2);
const RENDER: Duration = Duration::from_secs(60);

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
    the_cheaper_native_provider_serves_and_its_callback_is_confirmed_by_a_query,
    lost_callbacks_are_made_up_by_polling,
    refusals_of_our_ark_account_5xx_and_concurrency_fail_over_to_midsync,
    a_submission_whose_answer_was_lost_is_found_by_its_callback,
);

/// A Seedance simulator with `accounts` (the first one is the provider's) and the native
/// provider on it at `usd_per_million` USD per million tokens.
async fn seedance(accounts: Vec<SimAccount>, usd_per_million: f64) -> (SeedanceSim, Provider) {
    let sim = SeedanceSim::start_seedance(SeedanceSimConfig::default(), |s| {
        s.with_timings(QUEUE, RENDER).with_accounts(accounts)
    })
    .await
    .expect("the Seedance simulator starts");
    let provider = SeedanceProvider::new(
        ArkConfig::new(sim.api_key()).with_base_url(sim.ark_base_url()),
        usd_per_million,
        Catalog::builtin(),
    )
    .expect("the seedance provider builds")
    .into_provider();
    (sim, provider)
}

/// A unified simulator and midsync on it at `usd_per_point` USD per upstream point.
async fn midsync(usd_per_point: f64) -> (UnifiedSim, Provider) {
    let sim = UnifiedSim::start(UnifiedSimConfig::default())
        .await
        .expect("the unified simulator starts");
    let mut config = MidsyncConfig::new(sim.base_url(), sim.api_key());
    config.usd_per_point = usd_per_point;
    let provider = MidsyncProvider::new(config, Catalog::builtin())
        .unwrap()
        .into_provider();
    (sim, provider)
}

/// The default picker, writing down every pick.
fn recording(picks: Arc<Mutex<Vec<String>>>) -> impl Picker {
    move |r: &PickRequest<'_>, c: &[Candidate<'_>]| {
        let i = PriceFirst.pick(r, c);
        picks.lock().unwrap().push(c[i].provider.to_string());
        i
    }
}

/// 8 s at 720p, silent: 1280 × 720 × 24 × 8 / 1024 = 172,800 Ark tokens (10 points).
fn seedance_body() -> Value {
    json!({
        "model": "seedance-1.5-pro",
        "prompt": "A cinematic shot of a beach at dusk, waves lapping the shore",
        "duration": 8,
        "resolution": "720p"
    })
}

async fn status(gw: &Gateway, task: &str) -> Value {
    let s = gw
        .get(&format!("/unified-video/{task}/status"), &gw.key)
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    s.body
}

/// What each offering of seedance-1.5-pro costs for `seedance_body()`, by provider.
fn costs(providers: &[&Provider]) -> Vec<(String, i64)> {
    let inputs = PriceInputs {
        resolution: Some("720p"),
        seconds: 8,
        ..Default::default()
    };
    providers
        .iter()
        .flat_map(|p| {
            p.offerings()
                .into_iter()
                .filter(|(_, o)| o.model == "seedance-1.5-pro")
                .map(|(_, o)| (p.id().to_string(), o.cost_micros(&inputs)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Ark at its list price ($1.2 per million tokens) against an aggregator charging $0.025
/// a point: Ark's 172,800 tokens cost $0.20736, midsync's 10.368 points $0.2592 — the
/// native provider serves. Its callbacks reach the gateway; each one is confirmed by a
/// query (a forged "succeeded" for a running task changes nothing), and the real one
/// settles the task: charged once, Ark's tokens recorded as the upstream cost. At $2 per
/// million ($0.3456) midsync serves instead.
async fn the_cheaper_native_provider_serves_and_its_callback_is_confirmed_by_a_query(db: Db) {
    let (ark, native) = seedance(vec![SimAccount::new("ark-key")], 1.2).await;
    let (unified, aggregator) = midsync(0.025).await;
    assert_eq!(
        costs(&[&native, &aggregator]),
        [
            ("seedance".to_string(), 207_360),
            ("midsync".to_string(), 259_200)
        ]
    );
    let picks: Arc<Mutex<Vec<String>>> = Arc::default();
    let gw = gateway_routed(
        db,
        vec![aggregator, native],
        // Callbacks only: no poll is due during the test.
        |c| c.poll.first_delay = Duration::from_secs(3600),
        |b| b.picker(recording(picks.clone())),
    )
    .await;
    let operator = new_key(
        &gw.store,
        &gw.account,
        &[Scope::Operator, Scope::ApiGenerate, Scope::ApiRead],
    )
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &seedance_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["pointsCharged"], 10);
    assert_eq!(created.body["providerModel"], "seedance-1-5-pro-251215");
    let task = created.body["taskId"].as_str().unwrap().to_string();
    let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
    assert_eq!(row.provider, "seedance");
    assert!(picks.lock().unwrap().iter().all(|p| p == "seedance"));
    assert_eq!(ark.tasks().len(), 1);
    let upstream = &ark.tasks()[0];
    // Ark calls the gateway back, at the task's own URL.
    let hook = upstream
        .callback_url
        .clone()
        .expect("a callback URL went to Ark");
    assert!(
        hook.starts_with(&format!("{}/callbacks/seedance/", gw.base)),
        "{hook}"
    );

    // Running: Ark says so, the gateway asks Ark and agrees.
    ark.advance(QUEUE).await;
    let cb = ark.callbacks();
    assert_eq!(cb.len(), 1, "{cb:?}");
    assert_eq!(cb[0].response_status, Some(200), "{cb:?}");
    assert_eq!(status(&gw, &task).await["status"], "processing");

    // A forged "succeeded" to the task's URL: Ark, asked, says running — nothing settles.
    let mut forged = cb[0].body.clone();
    forged["status"] = json!("succeeded");
    forged["content"] = json!({"video_url": "https://evil.example/fake.mp4"});
    forged["usage"] = json!({"completion_tokens": 1});
    let r = gw.send(gw.http.post(&hook).json(&forged)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "processing", "{}", r.body);
    let s = status(&gw, &task).await;
    assert_eq!(s["status"], "processing", "{s}");
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold"]);

    // Succeeded: the callback, confirmed, settles it.
    ark.advance(RENDER).await;
    let cb = ark.callbacks();
    assert_eq!(cb.len(), 2, "{cb:?}");
    assert_eq!(cb[1].body["status"], "succeeded");
    assert_eq!(cb[1].response_status, Some(200), "{cb:?}");
    let s = status(&gw, &task).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    let video = s["assets"][0]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{s}"));
    assert!(!video.contains("evil.example"), "{s}");
    let bytes = gw
        .http
        .get(video)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "a real MP4 at {video}");
    assert_eq!(gw.balance().await, BALANCE - 10);
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "post"]);
    // A late duplicate changes nothing.
    let r = gw.send(gw.http.post(&hook).json(&cb[1].body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "post"]);
    // What Ark billed: 172,800 tokens × $1.2 per million.
    let ops = gw.get("/v1/usage/logs", &operator).await;
    let row = &ops.body["logs"][0];
    let cost = row["upstreamCostUsd"]
        .as_f64()
        .unwrap_or_else(|| panic!("{row}"));
    assert!((cost - 0.20736).abs() < 1e-9, "{row}");
    assert!(
        unified.state().callbacks().is_empty(),
        "midsync never asked"
    );

    // Ark at $2 per million: midsync is the cheaper and serves.
    let (dear, dear_native) = seedance(vec![SimAccount::new("ark-key")], 2.0).await;
    let (_unified2, aggregator2) = midsync(0.025).await;
    assert!(costs(&[&dear_native])[0].1 > costs(&[&aggregator2])[0].1);
    let gw2 = gateway(Db::sqlite(), vec![dear_native, aggregator2], |_| {}).await;
    let r = gw2
        .post("/unified-video/generate", &gw2.key, &seedance_body(), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let row = gw2
        .store
        .tasks
        .get(r.body["taskId"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.provider, "midsync");
    assert!(dear.tasks().is_empty());
    ark.shutdown().await;
    dear.shutdown().await;
}

/// Ark's callbacks never arrive (lost): the poller queries Ark and settles the task; a
/// failed Ark task (output moderation) is refunded the same way.
async fn lost_callbacks_are_made_up_by_polling(db: Db) {
    let (ark, native) = seedance(vec![SimAccount::new("ark-key")], 1.2).await;
    ark.set_faults(
        SeedanceEndpoint::Create,
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let gw = gateway(db, vec![native], |_| {}).await;
    let ok = gw
        .post("/unified-video/generate", &gw.key, &seedance_body(), None)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let mut refused = seedance_body();
    refused["prompt"] = json!("A beach at dusk, sim-sensitive-output");
    let bad = gw
        .post("/unified-video/generate", &gw.key, &refused, None)
        .await;
    assert_eq!(bad.status, 200, "{}", bad.body);
    ark.advance(QUEUE + RENDER).await;
    assert!(ark.callbacks().iter().all(|c| c.lost));
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 2);
    let s = status(&gw, ok.body["taskId"].as_str().unwrap()).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    let video = s["assets"][0]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{s}"));
    let bytes = gw
        .http
        .get(video)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "a real MP4 at {video}");
    let f = status(&gw, bad.body["taskId"].as_str().unwrap()).await;
    assert_eq!(f["status"], "failed", "{f}");
    // One charged, one refunded.
    assert_eq!(gw.balance().await, BALANCE - 10);
    let mut kinds = gw.entry_kinds().await;
    kinds.sort();
    assert_eq!(kinds, ["hold", "hold", "post", "top_up", "void"]);
    ark.shutdown().await;
}

/// Ark (the cheaper) refuses: our account is out of quota, our key is refused, the model
/// is not activated, Ark fails with a 500 or is overloaded, the account runs its
/// concurrency limit, the request has a ratio Ark lacks — each time the task goes to
/// midsync, charged once. A sensitive prompt is refused by Ark and
/// nobody else is asked.
async fn refusals_of_our_ark_account_5xx_and_concurrency_fail_over_to_midsync(db: Db) {
    let (ark, native) = seedance(vec![SimAccount::new("ark-key").with_concurrency(1)], 1.2).await;
    let (unified, aggregator) = midsync(0.025).await;
    let picks: Arc<Mutex<Vec<String>>> = Arc::default();
    let gw = gateway_routed(
        db,
        vec![native, aggregator],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        |b| b.picker(recording(picks.clone())),
    )
    .await;
    let mut charged = 0;
    let mut to_midsync = 0;
    // The simulator answers the framework's fault codes with Ark's: 1102 → 429
    // QuotaExceeded, 1004 → 401 AuthenticationError, 1103 → 403 ModelNotOpen, 5000 → 500
    // InternalServiceError, 5001 → 429 ServerOverloaded.
    for (case, code) in [
        ("quota exhausted", Some(1102)),
        ("key refused", Some(1004)),
        ("model not activated", Some(1103)),
        ("internal error", Some(5000)),
        ("overloaded", Some(5001)),
        ("over the account's concurrency", None),
        ("a ratio the catalog allows and Ark lacks", None),
    ] {
        let mut body = seedance_body();
        match code {
            Some(code) => ark
                .set_faults(
                    SeedanceEndpoint::Create,
                    FaultPlan {
                        error: 1.0,
                        error_code: code,
                        ..FaultPlan::none()
                    },
                )
                .unwrap(),
            // The catalog sells 2:3 (midsync serves it); Ark has no 2:3: the mapping
            // refuses before any call, and midsync takes it.
            None if case.starts_with("a ratio") => body["aspectRatio"] = json!("2:3"),
            None => {
                // The account's one slot is taken by a task of its own.
                ark.set_all_faults(FaultPlan::none()).unwrap();
                let first = gw
                    .post("/unified-video/generate", &gw.key, &seedance_body(), None)
                    .await;
                assert_eq!(first.status, 200, "{}", first.body);
                let row = gw
                    .store
                    .tasks
                    .get(first.body["taskId"].as_str().unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(row.provider, "seedance", "{case}: the slot's own task");
                charged += first.body["pointsCharged"].as_i64().unwrap();
            }
        }
        picks.lock().unwrap().clear();
        let created = gw
            .post("/unified-video/generate", &gw.key, &body, None)
            .await;
        assert_eq!(created.status, 200, "{case}: {}", created.body);
        let row = gw
            .store
            .tasks
            .get(created.body["taskId"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.provider, "midsync", "{case}: failed over");
        let p = picks.lock().unwrap().clone();
        assert_eq!(
            p.first().map(String::as_str),
            Some("seedance"),
            "{case}: {p:?}"
        );
        assert_eq!(
            p.last().map(String::as_str),
            Some("midsync"),
            "{case}: {p:?}"
        );
        to_midsync += 1;
        charged += created.body["pointsCharged"].as_i64().unwrap();
        assert_eq!(gw.balance().await, BALANCE - charged, "{case}: held once");
    }
    assert_eq!(ark.tasks().len(), 1, "Ark ran only the slot's own task");
    let at_midsync = gw
        .tasks()
        .await
        .iter()
        .filter(|t| t.provider == "midsync")
        .count();
    assert_eq!(at_midsync, to_midsync);

    // Content: Ark refuses the prompt; the same prompt would be refused anywhere.
    ark.advance(QUEUE + RENDER).await; // the slot frees
    let mut sensitive = seedance_body();
    sensitive["prompt"] = json!("A beach at dusk, sim-sensitive-text");
    picks.lock().unwrap().clear();
    let before = gw.tasks().await.len();
    let refused = gw
        .post("/unified-video/generate", &gw.key, &sensitive, None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.error().contains("refused the content"),
        "{}",
        refused.body
    );
    assert!(
        picks.lock().unwrap().iter().all(|p| p == "seedance"),
        "midsync never asked"
    );
    assert_eq!(
        gw.tasks().await.len(),
        before,
        "no task row for the refusal"
    );
    assert_eq!(gw.balance().await, BALANCE - charged, "nothing held");
    ark.shutdown().await;
    unified.shutdown().await;
}

/// The create reached Ark but its answer was lost: the task is `unknown` and keeps its
/// hold (Ark cannot look a task up by our id, so nothing is resent or refunded); Ark's
/// callback to the task's URL names the task, the gateway confirms it by a query and
/// settles it — charged once, midsync never asked.
async fn a_submission_whose_answer_was_lost_is_found_by_its_callback(db: Db) {
    let (ark, native) = seedance(vec![SimAccount::new("ark-key")], 1.2).await;
    let (unified, aggregator) = midsync(0.025).await;
    ark.set_faults(
        SeedanceEndpoint::Create,
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let gw = gateway(db, vec![native, aggregator], |c| {
        c.poll.first_delay = Duration::from_secs(3600);
        c.poll.unknown_grace = Duration::from_secs(3600);
    })
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &seedance_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "unknown", "{}", created.body);
    let task = created.body["taskId"].as_str().unwrap().to_string();
    assert_eq!(ark.tasks().len(), 1, "Ark runs it");
    assert_eq!(
        gw.entry_kinds().await,
        ["top_up", "hold"],
        "held, not refunded"
    );
    ark.set_all_faults(FaultPlan::none()).unwrap();
    ark.advance(QUEUE + RENDER).await;
    let s = status(&gw, &task).await;
    assert_eq!(s["status"], "succeeded", "{s}");
    let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
    assert_eq!(
        row.provider_task_id.as_deref(),
        Some(ark.tasks()[0].id.as_str())
    );
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "post"]);
    assert_eq!(gw.balance().await, BALANCE - 10);
    assert!(unified.state().callbacks().is_empty());
    ark.shutdown().await;
    unified.shutdown().await;
}
