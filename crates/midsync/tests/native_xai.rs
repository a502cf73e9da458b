//! `grok-video` served natively by xAI (issue 17), through the gateway over real HTTP,
//! with the xAI simulator (`genmux_sim::xai`) and a unified-API simulator behind midsync:
//! a grok-video request goes to xAI when xAI takes it (1–15 s, `spec/upstreams.md`
//! provider table) and to midsync when it does not (16–30 s); xAI's refusals of our
//! account, its 5xx and its rate limits fail over to midsync per the recovery table; a
//! lost answer is never resent; tasks settle by polling alone (xAI has no webhooks), and
//! the usage row records xAI's billed `usage.cost_in_usd_ticks`.

mod common;

use common::*;
use genmux_core::{Catalog, Provider, TaskStatus};
use genmux_midsync::engine::poller;
use genmux_midsync::{MidsyncConfig, MidsyncProvider};
use genmux_router::{Candidate, PickRequest};
use genmux_sim::fault::FaultPlan;
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};
use genmux_sim::xai::{XaiEndpoint, XaiSim, XaiSimConfig};
use genmux_store::Scope;
use genmux_xai::{XaiConfig, XaiProvider};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs a scenario on both backends.
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
    grok_video_is_generated_by_xai_and_settled_by_polling_alone,
    xai_refusals_fail_over_to_midsync_by_error_class,
);

/// The two upstreams of grok-video, each on its own simulator (manual clocks).
struct Upstreams {
    xai_sim: XaiSim,
    unified: UnifiedSim,
    xai: Provider,
    midsync: Provider,
}

impl Upstreams {
    /// xAI at its spec prices, and a unified upstream whose points cost this account
    /// $0.05 (so grok-video 10 s 720p costs 25 points × $0.05 = $1.25 there against
    /// xAI's 10 s × $0.07 = $0.70: the router tries xAI first on price alone).
    async fn start() -> Upstreams {
        Upstreams::start_with(XaiSimConfig::default()).await
    }

    /// [`Upstreams::start`] with the xAI simulator configured by `xai`.
    async fn start_with(xai: XaiSimConfig) -> Upstreams {
        let xai_sim = XaiSim::start(xai).await.expect("the xAI simulator starts");
        let unified = UnifiedSim::start(UnifiedSimConfig::default())
            .await
            .expect("the unified simulator starts");
        let xai = XaiProvider::new(
            XaiConfig::new(xai_sim.api_key()).with_base_url(xai_sim.base_url()),
            Catalog::builtin(),
        )
        .expect("the xAI provider builds")
        .into_provider();
        let mut mc = MidsyncConfig::new(unified.base_url(), unified.api_key());
        mc.usd_per_point = 0.05;
        let midsync = MidsyncProvider::new(mc, Catalog::builtin())
            .expect("the midsync provider builds")
            .into_provider();
        Upstreams {
            xai_sim,
            unified,
            xai,
            midsync,
        }
    }

    fn providers(&self) -> Vec<Provider> {
        vec![self.midsync.clone(), self.xai.clone()]
    }

    async fn shutdown(self) {
        self.xai_sim.shutdown().await;
        self.unified.shutdown().await;
    }
}

fn grok(duration: u32) -> Value {
    json!({
        "model": "grok-video",
        "prompt": "A golden retriever runs toward the camera in a bright studio",
        "duration": duration,
        "resolution": "720p",
        "aspectRatio": "16:9"
    })
}

/// The routing preview's candidates of an operator quote, cheapest first.
fn candidates(quote: &Value) -> Vec<String> {
    quote["routing"]["candidates"]
        .as_array()
        .unwrap_or_else(|| panic!("no routing preview: {quote}"))
        .iter()
        .map(|c| c["provider"].as_str().unwrap().to_string())
        .collect()
}

/// A 10 s grok-video goes to xAI (cheaper, and 10 s fits its 1–15 s), waits `pending`
/// while the xAI clock stands, and succeeds once it moves — found by the poller alone:
/// nothing calls back. The held points are posted once; the operator's usage row records
/// what xAI billed, 7 × 10^9 ticks = $0.70, and the margin.
async fn grok_video_is_generated_by_xai_and_settled_by_polling_alone(db: Db) {
    let up = Upstreams::start().await;
    let gw = gateway(db, up.providers(), |_| {}).await;
    let operator = new_key(
        &gw.store,
        &gw.account,
        &[Scope::Operator, Scope::ApiGenerate, Scope::ApiRead],
    )
    .await;
    let q = gw
        .post("/unified-video/quote", &operator, &grok(10), None)
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(candidates(&q.body), ["xai", "midsync"], "{}", q.body);
    // 720p: 17 + (10 − 6) × 2 points (spec/upstreams.md, the aggregator's points).
    assert_eq!(q.body["pointsCharged"], 25);

    let created = gw
        .post("/unified-video/generate", &gw.key, &grok(10), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["providerModel"], "grok-imagine-video");
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let row = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(row.provider, "xai");
    assert_eq!(gw.balance().await, BALANCE - 25, "held at once");
    let sent = up.xai_sim.tasks();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        Some(&sent[0].id),
        row.provider_task_id.as_ref(),
        "xAI's request_id is the task"
    );
    assert_eq!(
        (
            sent[0].data.job.duration,
            sent[0].data.job.resolution.as_str()
        ),
        (10, "720p")
    );
    assert_eq!(sent[0].callback_url, None, "xAI takes no callback URL");

    // The clock stands: polled, still running.
    poller::poll_due(&gw.state).await.unwrap();
    let running = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert!(
        ["submitted", "processing"].contains(&running.body["status"].as_str().unwrap()),
        "{}",
        running.body
    );
    // xAI finishes; the poller finds out.
    up.xai_sim.advance(Duration::from_secs(120)).await;
    assert!(
        up.xai_sim.callbacks().is_empty(),
        "poll only: nothing called back"
    );
    poller::poll_due(&gw.state).await.unwrap();
    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    let url = done.body["assets"][0]["url"].as_str().unwrap();
    // The gateway hands out xAI's link as it stands (this gateway keeps no copies).
    assert!(url.starts_with(up.xai_sim.base_url()), "{url}");
    let media = gw.http.get(url).send().await.unwrap();
    assert_eq!(media.status(), 200);
    let bytes = media.bytes().await.unwrap();
    assert_eq!(&bytes[4..8], b"ftyp", "a real MP4");
    assert_eq!(gw.balance().await, BALANCE - 25);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);

    let logs = gw.get("/v1/usage/logs", &operator).await;
    assert_eq!(logs.status, 200, "{}", logs.body);
    let log = &logs.body["logs"][0];
    let cost = log["upstreamCostUsd"]
        .as_f64()
        .unwrap_or_else(|| panic!("{log}"));
    assert!((cost - 0.70).abs() < 1e-9, "xAI billed $0.70: {log}");
    let margin = log["marginUsd"].as_f64().unwrap();
    assert!((margin - (25.0 / 50.0 - 0.70)).abs() < 1e-6, "{log}");
    // A second pass changes nothing: posted once.
    poller::poll_due(&gw.state).await.unwrap();
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    up.shutdown().await;
}

/// A task xAI reports `failed` is found failed by the poller, its hold voided once, with
/// xAI's code kept as the upstream's reason (operators see it, callers get the gateway's
/// words); nothing is billed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_xai_fails_is_refunded_by_polling() {
    let up =
        Upstreams::start_with(XaiSimConfig::default().with_settings(|s| s.with_failure_rate(1.0)))
            .await;
    let gw = gateway(Db::sqlite(), up.providers(), |_| {}).await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &grok(6), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    assert_eq!(gw.balance().await, BALANCE - 17, "held");
    up.xai_sim.advance(Duration::from_secs(120)).await;
    poller::poll_due(&gw.state).await.unwrap();
    let row = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(
        (row.provider.as_str(), row.status),
        ("xai", TaskStatus::Failed)
    );
    assert!(
        row.upstream_error
            .as_deref()
            .is_some_and(|e| e.contains("xAI internal_error")),
        "{row:?}"
    );
    assert_eq!(gw.balance().await, BALANCE, "refunded");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "void"]);
    poller::poll_due(&gw.state).await.unwrap();
    assert_eq!(
        gw.entry_kinds().await,
        vec!["top_up", "hold", "void"],
        "once"
    );
    up.shutdown().await;
}

/// A 20 s grok-video is one the catalog sells (6–30 s) but xAI does not take (1–15 s):
/// only midsync is a candidate, and the task goes there without xAI being asked. A 15 s
/// one still goes to xAI.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_longer_than_xai_takes_goes_to_midsync() {
    let up = Upstreams::start().await;
    let gw = gateway(Db::sqlite(), up.providers(), |_| {}).await;
    let operator = new_key(
        &gw.store,
        &gw.account,
        &[Scope::Operator, Scope::ApiGenerate, Scope::ApiRead],
    )
    .await;
    let q = gw
        .post("/unified-video/quote", &operator, &grok(20), None)
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(candidates(&q.body), ["midsync"], "{}", q.body);
    let created = gw
        .post("/unified-video/generate", &gw.key, &grok(20), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    // 720p 20 s: 17 + 14 × 2 points.
    assert_eq!(created.body["pointsCharged"], 45);
    let row = gw
        .store
        .tasks
        .get(created.body["taskId"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.provider, "midsync");
    assert!(
        row.provider_task_id
            .as_deref()
            .and_then(|id| up.unified.points_charged(id))
            .is_some(),
        "the unified upstream holds the task"
    );
    assert!(up.xai_sim.tasks().is_empty(), "xAI never asked");

    let fits = gw
        .post("/unified-video/generate", &gw.key, &grok(15), None)
        .await;
    assert_eq!(fits.status, 200, "{}", fits.body);
    let row = gw
        .store
        .tasks
        .get(fits.body["taskId"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.provider, "xai");
    assert_eq!(up.xai_sim.tasks()[0].data.job.duration, 15);
    up.shutdown().await;
}

/// The providers a picker chose, in order.
type Picks = Arc<Mutex<Vec<String>>>;

/// How the xAI simulator refuses every create, per class of the contract.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// 401: our key refused.
    Auth,
    /// 403: the team's credits are spent.
    OutOfCredit,
    /// 503: xAI is down (retryable: xAI stays a candidate, tried after midsync).
    Unavailable,
    /// 429 with `Retry-After: 1`.
    RateLimited,
    /// 400: xAI's own refusal of a request the catalog accepted.
    Invalid,
}

fn refuse(sim: &XaiSim, how: Refusal) {
    sim.set_all_faults(FaultPlan::none()).unwrap();
    sim.handle().set_balance(0, None);
    let plan = |code| FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    };
    match how {
        Refusal::Auth => sim.set_faults(XaiEndpoint::Create, plan(1000)).unwrap(),
        Refusal::OutOfCredit => sim.handle().set_balance(0, Some(0)),
        Refusal::Unavailable => sim.set_faults(XaiEndpoint::Create, plan(5001)).unwrap(),
        Refusal::RateLimited => sim
            .set_faults(
                XaiEndpoint::Create,
                FaultPlan {
                    rate_limit: 1.0,
                    retry_after: Duration::from_secs(1),
                    ..FaultPlan::none()
                },
            )
            .unwrap(),
        Refusal::Invalid => sim.set_faults(XaiEndpoint::Create, plan(1201)).unwrap(),
    }
}

/// xAI (tried first) refuses each create with one class of its error table; midsync is
/// the second candidate. Our account refused or spent, xAI down, rate-limited, or xAI
/// refusing a request the catalog accepted → the task goes to midsync, held once, and xAI
/// has no task. Then a lost answer (the connection dropped after xAI created the task):
/// never resent to midsync, the task is `unknown` and keeps its hold (xAI cannot look it
/// up: X4).
async fn xai_refusals_fail_over_to_midsync_by_error_class(db: Db) {
    let up = Upstreams::start().await;
    let picks: Picks = Arc::default();
    let picked = picks.clone();
    let xai_first = move |_: &PickRequest<'_>, c: &[Candidate<'_>]| {
        let i = c.iter().position(|c| c.provider == "xai").unwrap_or(0);
        picked.lock().unwrap().push(c[i].provider.to_string());
        i
    };
    let gw = gateway_routed(
        db,
        up.providers(),
        |c| c.poll.first_delay = Duration::from_secs(3600),
        |b| b.picker(xai_first),
    )
    .await;
    let mut charged = 0;
    for how in [
        Refusal::Auth,
        Refusal::OutOfCredit,
        Refusal::Unavailable,
        Refusal::RateLimited,
        Refusal::Invalid,
    ] {
        refuse(&up.xai_sim, how);
        picks.lock().unwrap().clear();
        let created = gw
            .post("/unified-video/generate", &gw.key, &grok(10), None)
            .await;
        assert_eq!(created.status, 200, "{how:?}: {}", created.body);
        assert_eq!(created.body["status"], "submitted", "{how:?}");
        let row = gw
            .store
            .tasks
            .get(created.body["taskId"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.provider, "midsync", "{how:?}: failed over");
        assert!(
            row.provider_task_id
                .as_deref()
                .and_then(|id| up.unified.points_charged(id))
                .is_some(),
            "{how:?}: the unified upstream holds the task"
        );
        let tried = picks.lock().unwrap().clone();
        assert!(
            tried.iter().any(|p| p == "xai") && tried.last().map(String::as_str) == Some("midsync"),
            "{how:?}: xAI tried, then midsync: {tried:?}"
        );
        charged += created.body["pointsCharged"].as_i64().unwrap();
        assert_eq!(gw.balance().await, BALANCE - charged, "{how:?}: held once");
    }
    assert!(up.xai_sim.tasks().is_empty(), "xAI created nothing");

    // The answer is lost after xAI created the task: it may be running there, so nothing
    // is resent anywhere and the hold is kept (`design/RELIABILITY.md` R1, X4).
    up.xai_sim
        .set_faults(
            XaiEndpoint::Create,
            FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
        )
        .unwrap();
    picks.lock().unwrap().clear();
    let lost = gw
        .post("/unified-video/generate", &gw.key, &grok(10), None)
        .await;
    assert_eq!(lost.status, 200, "{}", lost.body);
    assert_eq!(lost.body["status"], "unknown", "{}", lost.body);
    assert_eq!(
        *picks.lock().unwrap(),
        ["xai", "xai"],
        "midsync never asked"
    );
    assert_eq!(up.xai_sim.tasks().len(), 1, "xAI runs the task");
    let row = gw
        .store
        .tasks
        .get(lost.body["taskId"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.provider.as_str(), row.status),
        ("xai", TaskStatus::Unknown)
    );
    charged += lost.body["pointsCharged"].as_i64().unwrap();
    assert_eq!(gw.balance().await, BALANCE - charged, "the hold is kept");
    up.shutdown().await;
}
