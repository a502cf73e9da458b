//! Failover by error class and in-flight slots, through the gateway over real HTTP, on
//! SQLite and PostgreSQL (`GENMUX_TEST_PG`), with the Kling simulator as the upstream
//! (issue 14 points 3 and 6).

mod common;

use common::*;
use genmux_core::{Catalog, Provider};
use genmux_kling::{KlingConfig, KlingProvider};
use genmux_midsync::engine::poller;
use genmux_router::{Candidate, Limits, PickRequest, ProviderLimit};
use genmux_sim::kling::{Endpoint, Feature, KlingSim};
use genmux_sim::FaultPlan;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The providers a picker chose, in order.
type Picks = Arc<Mutex<Vec<String>>>;

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
    kling_refusals_of_our_account_fail_over_to_midsync,
    in_flight_slots_hold_across_gateways_and_restarts,
);

/// Another Kling provider (as another gateway process builds it) for the simulator `sim`.
fn kling_for(sim: &KlingSim) -> Provider {
    KlingProvider::new(
        KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url()),
        Catalog::builtin(),
    )
    .expect("Kling provider")
    .into_provider()
    .expect("Kling provider halves")
}

/// Every create at Kling's text-to-video endpoint is answered with `code`.
fn refuse_with(sim: &KlingSim, code: u32) {
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            error: 1.0,
            error_code: code,
            ..FaultPlan::default()
        },
    )
    .unwrap();
}

/// Kling (tried first: it is the cheaper) answers each create with one of its error
/// codes; midsync (a chained gateway over a healthy Kling simulator) is the second
/// provider. Our account refused, spent or not allowed there, the concurrency limit, and
/// Kling's own rejection of a request the catalog accepted → the task goes to midsync and
/// is charged once; a content-policy refusal → 400, refunded, midsync never asked.
async fn kling_refusals_of_our_account_fail_over_to_midsync(db: Db) {
    let (broken, kling) = kling_sim(sim_config()).await;
    let (healthy, healthy_kling) = kling_sim(sim_config()).await;
    let upstream = gateway(Db::sqlite(), vec![healthy_kling], |_| {}).await;
    let midsync = genmux_midsync::MidsyncProvider::new(
        genmux_midsync::MidsyncConfig::new(upstream.base.clone(), upstream.key.clone()),
        Catalog::builtin(),
    )
    .unwrap()
    .into_provider();
    // Kling first whatever the prices and its health say (each case is about what
    // happens after Kling's answer), and every pick written down.
    let picks: Picks = Arc::default();
    let picked = picks.clone();
    let kling_first = move |_: &PickRequest<'_>, c: &[Candidate<'_>]| {
        let i = c.iter().position(|c| c.provider == "kling").unwrap_or(0);
        picked.lock().unwrap().push(c[i].provider.to_string());
        i
    };
    let gw = gateway_routed(
        db,
        vec![kling, midsync],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        |b| b.picker(kling_first),
    )
    .await;

    let mut charged = 0;
    for (code, class) in [
        (1100, "account abnormal"),
        (1101, "account in arrears"),
        (1102, "resource pack exhausted"),
        (1103, "no access to the model"),
        (1304, "IP not in whitelist"),
        (1303, "concurrency over the pack limit"),
        (
            1201,
            "Kling's own rejection of a request the catalog accepted",
        ),
    ] {
        refuse_with(&broken, code);
        picks.lock().unwrap().clear();
        let before = upstream.tasks().await.len();
        let created = gw
            .post("/unified-video/generate", &gw.key, &kling_body(), None)
            .await;
        assert_eq!(
            created.status, 200,
            "Kling {code} ({class}): {}",
            created.body
        );
        assert_eq!(created.body["status"], "submitted", "Kling {code}");
        let task_id = created.body["taskId"].as_str().unwrap();
        let task = gw.store.tasks.get(task_id).await.unwrap().unwrap();
        assert_eq!(
            task.provider, "midsync",
            "Kling {code} ({class}): failed over"
        );
        // The gateway asks once for the provider its task row names first (`pick_first`),
        // then the router picks per attempt: Kling, then midsync.
        assert_eq!(
            *picks.lock().unwrap(),
            ["kling", "kling", "midsync"],
            "Kling {code}: tried first, then midsync"
        );
        assert_eq!(
            upstream.tasks().await.len(),
            before + 1,
            "Kling {code}: midsync got the task"
        );
        charged += created.body["pointsCharged"].as_i64().unwrap();
        assert_eq!(
            gw.balance().await,
            BALANCE - charged,
            "Kling {code}: held once"
        );
        // The upstream's Kling finishes its task: its account's concurrency stays free.
        healthy.advance(Duration::from_secs(120)).await;
    }
    assert!(broken.state().tasks().is_empty(), "Kling created nothing");

    // Content policy: the same request would be refused anywhere; nobody else is asked.
    refuse_with(&broken, 1301);
    picks.lock().unwrap().clear();
    let before = upstream.tasks().await.len();
    let refused = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.error().contains("refused the content"),
        "{}",
        refused.body
    );
    assert_eq!(upstream.tasks().await.len(), before, "midsync never asked");
    assert_eq!(
        *picks.lock().unwrap(),
        ["kling", "kling"],
        "Kling alone tried"
    );
    assert_eq!(gw.balance().await, BALANCE - charged, "refunded");
    assert_eq!(gw.tasks().await.len(), 7, "no task row for the refusal");
    broken.shutdown().await;
    healthy.shutdown().await;
}

/// One Kling task at a time (`max_in_flight = 1`), two gateways on one database: a task
/// running for gateway A fills the slot for gateway B too, and for a gateway started
/// afterwards (a restart: nothing in process remembers the task); once B's poller settles
/// A's task, A takes the slot again though it never saw the settlement.
async fn in_flight_slots_hold_across_gateways_and_restarts(db: Db) {
    let (sim, kling_a) = kling_sim(sim_config()).await;
    // Settled by polling, on whichever gateway polls: the simulator's callbacks are lost.
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let one_at_a_time = |b: genmux_router::RouterBuilder| {
        b.limits(Limits::new().provider(
            "kling",
            ProviderLimit {
                max_in_flight: Some(1),
                ..Default::default()
            },
        ))
    };
    let url = db.url();
    let a = gateway_routed(db, vec![kling_a], |_| {}, one_at_a_time).await;
    let b = second_gateway_routed(&url, vec![kling_for(&sim)], |_| {}, one_at_a_time).await;
    assert!(a.state.router().counts_in_flight_durably());

    let first = a
        .post("/unified-video/generate", &a.key, &kling_body(), None)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let points = first.body["pointsCharged"].as_i64().unwrap();

    let busy = |answer: &Answer, who: &str| {
        assert_eq!(answer.status, 429, "{who}: {}", answer.body);
        assert!(
            answer.error().contains("in-flight limit reached (1 tasks)"),
            "{who}: {}",
            answer.body
        );
        assert!(
            answer.headers.contains_key("retry-after"),
            "{who}: Retry-After"
        );
    };
    let refused = b
        .post("/unified-video/generate", &b.key, &kling_body(), None)
        .await;
    busy(&refused, "the other gateway");
    assert_eq!(b.balance().await, BALANCE, "nothing held for the refusal");
    assert!(b.tasks().await.is_empty(), "no task row for the refusal");

    // A restart: a fresh gateway (a fresh router) over the same database.
    let restarted = second_gateway_routed(&url, vec![kling_for(&sim)], |_| {}, one_at_a_time).await;
    let refused = restarted
        .post(
            "/unified-video/generate",
            &restarted.key,
            &kling_body(),
            None,
        )
        .await;
    busy(&refused, "a restarted gateway");
    assert_eq!(sim.state().tasks().len(), 1, "Kling ran one task");

    // The task finishes upstream; B's poller settles it (A hears nothing).
    sim.advance(Duration::from_secs(120)).await;
    assert_eq!(poller::poll_due(&b.state).await.unwrap(), 1);
    let task_id = first.body["taskId"].as_str().unwrap();
    let done = a
        .get(&format!("/unified-video/{task_id}/status"), &a.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert_eq!(a.balance().await, BALANCE - points);

    // The slot is free everywhere, including on A.
    let second = a
        .post("/unified-video/generate", &a.key, &kling_body(), None)
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    let refused = b
        .post("/unified-video/generate", &b.key, &kling_body(), None)
        .await;
    busy(&refused, "the other gateway, while A's second task runs");
    assert_eq!(sim.state().tasks().len(), 2);
    sim.shutdown().await;
}
