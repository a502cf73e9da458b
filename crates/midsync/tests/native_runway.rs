//! The catalog's `runway` model served natively by Runway (issue 17), through the gateway
//! over real HTTP on SQLite and PostgreSQL (`GENMUX_TEST_PG`), with the Runway simulator
//! as the upstream and midsync (the unified-API simulator) as the second provider:
//! generated natively and settled by polling alone (no callback URL, polls no closer than
//! Runway's 5 s), failed over to midsync on the contract's classes, never resent after a
//! lost answer or a content refusal, and cancelled through Runway's `DELETE` with the hold
//! voided only once Runway confirms.

mod common;

use common::*;
use genmux_core::Catalog;
use genmux_midsync::engine::poller;
use genmux_midsync::{MidsyncConfig, MidsyncProvider};
use genmux_router::{Candidate, PickRequest};
use genmux_runway::{RunwayConfig, RunwayProvider};
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::{Phase, SimConfig};
use genmux_sim::runway::{Endpoint, RunwaySim};
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};
use serde_json::{json, Value};
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
    runway_generates_natively_and_settles_by_polling_alone,
    refusals_of_runway_fail_over_to_midsync_content_and_lost_answers_do_not,
    a_runway_task_is_cancelled_through_delete_and_its_hold_voided,
);

/// spec/upstreams.md, Runway: "poll no more than every 5 s".
const MIN_POLL: Duration = Duration::from_secs(5);

/// Midsync's upstream balance: its points, to see whether it was asked.
const UPSTREAM_POINTS: i64 = 100_000;

struct Rig {
    gw: Gateway,
    runway: RunwaySim,
    unified: UnifiedSim,
}

impl Rig {
    /// Runway first whatever prices and health say (each case is about what happens after
    /// Runway's answer); midsync second.
    async fn start(db: Db) -> Rig {
        let runway = RunwaySim::start(SimConfig::default())
            .await
            .expect("the Runway simulator starts");
        let unified = UnifiedSim::start(UnifiedSimConfig::default())
            .await
            .expect("the unified simulator starts");
        assert!(unified.set_balance(unified.api_key(), Some(UPSTREAM_POINTS)));
        let native = RunwayProvider::new(
            RunwayConfig::new(runway.api_key()).with_base_url(runway.base_url()),
            Catalog::builtin(),
        )
        .expect("Runway provider")
        .into_provider();
        let midsync = MidsyncProvider::new(
            MidsyncConfig::new(unified.base_url(), unified.api_key()),
            Catalog::builtin(),
        )
        .expect("midsync provider")
        .into_provider();
        let runway_first = |_: &PickRequest<'_>, c: &[Candidate<'_>]| {
            c.iter().position(|c| c.provider == "runway").unwrap_or(0)
        };
        let gw = gateway_routed(
            db,
            vec![native, midsync],
            |_| {},
            |b| b.picker(runway_first),
        )
        .await;
        Rig {
            gw,
            runway,
            unified,
        }
    }

    async fn generate(&self, body: Value) -> Answer {
        self.gw
            .post("/unified-video/generate", &self.gw.key, &body, None)
            .await
    }

    async fn row(&self, task: &str) -> genmux_store::TaskRecord {
        self.gw.store.tasks.get(task).await.unwrap().unwrap()
    }

    /// Makes `task` due now and every other task due in an hour, and runs one poller pass:
    /// how many tasks it polled.
    async fn poll_now(&self, task: &str) -> usize {
        let gw = &self.gw;
        let worker = "test-force-due";
        let leased = gw
            .store
            .tasks
            .lease_due(
                worker,
                gw.state.clock().now() + Duration::from_secs(7200),
                1000,
                Duration::from_secs(1),
            )
            .await
            .unwrap();
        for t in leased {
            let now = gw.state.clock().now();
            let next = if t.id == task {
                now
            } else {
                now + Duration::from_secs(3600)
            };
            gw.store
                .tasks
                .reschedule(&t.id, worker, Some(next))
                .await
                .unwrap();
        }
        poller::poll_due(&gw.state).await.unwrap()
    }

    fn upstream_points_spent(&self) -> i64 {
        UPSTREAM_POINTS - self.unified.balance(self.unified.api_key()).unwrap()
    }

    async fn shutdown(self) {
        self.runway.shutdown().await;
        self.unified.shutdown().await;
    }
}

fn text_body(prompt: &str) -> Value {
    json!({"model": "runway", "prompt": prompt, "aspectRatio": "16:9", "duration": 5})
}

/// The gap between two moments, in whole milliseconds (never negative).
fn gap(from: time::OffsetDateTime, to: time::OffsetDateTime) -> Duration {
    Duration::from_millis(u64::try_from((to - from).whole_milliseconds()).unwrap_or(0))
}

/// Text to video goes to Runway (gen4.5, 1280:720), is polled no closer than 5 s even
/// though the gateway's own schedule says "now", and settles by polls alone: the task
/// succeeds, its points are posted once, Runway was given no callback URL and sent none.
async fn runway_generates_natively_and_settles_by_polling_alone(db: Db) {
    let rig = Rig::start(db).await;
    let created = rig
        .generate(text_body("A cinematic shot of a mountain landscape"))
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "submitted");
    assert_eq!(created.body["providerModel"], "gen4");
    let task = created.body["taskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();
    let row = rig.row(&task).await;
    assert_eq!(row.provider, "runway");
    let upstream = rig.runway.tasks();
    assert_eq!(upstream.len(), 1);
    let sent = &upstream[0].data.request;
    assert_eq!(
        (sent.model.as_str(), sent.ratio.as_str(), sent.duration),
        ("gen4.5", "1280:720", 5)
    );
    assert_eq!(
        row.provider_task_id.as_deref(),
        Some(upstream[0].id.as_str())
    );
    assert_eq!(upstream[0].callback_url, None, "no callback URL for Runway");
    // The gateway's first delay is zero; Runway's minimum holds.
    let first = row.next_poll_at.expect("scheduled");
    assert!(
        gap(row.created_at, first) >= MIN_POLL,
        "first poll {first} is less than 5 s after {}",
        row.created_at
    );
    assert_eq!(
        poller::poll_due(&rig.gw.state).await.unwrap(),
        0,
        "not due before 5 s"
    );

    // Running: polled, and the next poll again no sooner than 5 s.
    rig.runway.advance(Duration::from_secs(3)).await;
    let before = rig.gw.state.clock().now();
    assert_eq!(rig.poll_now(&task).await, 1);
    let row = rig.row(&task).await;
    assert_eq!(row.status, genmux_core::TaskStatus::Processing);
    assert!(
        gap(before, row.next_poll_at.unwrap()) >= MIN_POLL,
        "next poll {:?} is less than 5 s after {before}",
        row.next_poll_at
    );

    // Finished upstream: the next poll settles it.
    rig.runway.advance(Duration::from_secs(40)).await;
    assert_eq!(rig.poll_now(&task).await, 1);
    let done = rig
        .gw
        .get(&format!("/unified-video/{task}/status"), &rig.gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert_eq!(done.body["pointsCharged"], points);
    assert_eq!(rig.gw.entry_kinds().await, ["top_up", "hold", "post"]);
    assert_eq!(rig.gw.balance().await, BALANCE - points);
    assert!(rig.runway.callbacks().is_empty(), "poll only: no callbacks");
    assert_eq!(rig.upstream_points_spent(), 0, "midsync never asked");
    rig.shutdown().await;
}

/// Every create at Runway answered with `plan`.
fn refuse_creates(sim: &RunwaySim, plan: FaultPlan) {
    for e in [Endpoint::TextToVideo, Endpoint::ImageToVideo] {
        sim.set_faults(e, plan.clone()).unwrap();
    }
}

fn status_fault(code: u32) -> FaultPlan {
    FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    }
}

/// Runway refusing our account (401), a daily cap (429 with a Retry-After of an hour),
/// Runway down (503), and Runway's own limits on a request the catalog accepts (a 1:1
/// text-to-video, a watermark) → midsync takes the task, charged once. A lost answer → the
/// task is `unknown` at Runway, held, never sent to midsync and not refunded by the
/// poller (Runway cannot be asked by our id). A `SAFETY.*` failure → the task fails and is
/// refunded, midsync never asked.
async fn refusals_of_runway_fail_over_to_midsync_content_and_lost_answers_do_not(db: Db) {
    let rig = Rig::start(db).await;
    let mut charged = 0;
    let cases: Vec<(&str, Option<FaultPlan>, Value)> = vec![
        (
            "401: our secret refused",
            Some(status_fault(1004)),
            text_body("a fox in the snow"),
        ),
        (
            "429: daily cap, retry in an hour",
            Some(FaultPlan {
                rate_limit: 1.0,
                retry_after: Duration::from_secs(3600),
                ..FaultPlan::none()
            }),
            text_body("a fox in the snow"),
        ),
        (
            "503: Runway down",
            Some(status_fault(5001)),
            text_body("a fox in the snow"),
        ),
        (
            "1:1 has no Runway text-to-video ratio",
            None,
            json!({"model": "runway", "prompt": "a fox in the snow", "aspectRatio": "1:1"}),
        ),
        (
            "Runway has no watermark",
            None,
            json!({"model": "runway", "prompt": "a fox in the snow", "aspectRatio": "16:9", "watermark": true}),
        ),
    ];
    for (class, fault, body) in cases {
        if let Some(plan) = fault {
            refuse_creates(&rig.runway, plan);
        }
        let spent = rig.upstream_points_spent();
        let created = rig.generate(body).await;
        rig.runway.set_all_faults(FaultPlan::none()).unwrap();
        assert_eq!(created.status, 200, "{class}: {}", created.body);
        let task = created.body["taskId"].as_str().unwrap();
        assert_eq!(
            rig.row(task).await.provider,
            "midsync",
            "{class}: failed over"
        );
        assert!(
            rig.upstream_points_spent() > spent,
            "{class}: midsync ran it"
        );
        charged += created.body["pointsCharged"].as_i64().unwrap();
        assert_eq!(
            rig.gw.balance().await,
            BALANCE - charged,
            "{class}: held once"
        );
    }
    assert!(rig.runway.tasks().is_empty(), "Runway created nothing");

    // A lost answer: Runway made the task; nobody else is asked, the hold stays.
    refuse_creates(
        &rig.runway,
        FaultPlan {
            drop_connection: 1.0,
            ..FaultPlan::none()
        },
    );
    let spent = rig.upstream_points_spent();
    let lost = rig.generate(text_body("a fox in the snow")).await;
    rig.runway.set_all_faults(FaultPlan::none()).unwrap();
    assert_eq!(lost.status, 200, "{}", lost.body);
    assert_eq!(lost.body["status"], "unknown", "{}", lost.body);
    let lost_task = lost.body["taskId"].as_str().unwrap().to_string();
    let lost_points = lost.body["pointsCharged"].as_i64().unwrap();
    charged += lost_points;
    assert_eq!(rig.row(&lost_task).await.provider, "runway");
    assert_eq!(rig.runway.tasks().len(), 1, "Runway did create it");
    assert_eq!(
        rig.upstream_points_spent(),
        spent,
        "never resent to midsync"
    );
    assert_eq!(rig.poll_now(&lost_task).await, 1);
    let row = rig.row(&lost_task).await;
    assert_eq!(row.status, genmux_core::TaskStatus::Unknown, "not refunded");
    assert_eq!(rig.gw.balance().await, BALANCE - charged, "the hold stays");

    // Content refused by Runway's moderation (SAFETY.INPUT.TEXT): failed, refunded, and
    // not retried anywhere.
    let spent = rig.upstream_points_spent();
    let created = rig
        .generate(text_body("a forbidden scene in the snow"))
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task = created.body["taskId"].as_str().unwrap().to_string();
    assert_eq!(rig.row(&task).await.provider, "runway");
    rig.runway.advance(Duration::from_secs(60)).await;
    assert_eq!(rig.poll_now(&task).await, 1);
    let failed = rig
        .gw
        .get(&format!("/unified-video/{task}/status"), &rig.gw.key)
        .await;
    assert_eq!(failed.body["status"], "failed", "{}", failed.body);
    // The caller is told what to do; operators see Runway's class and code.
    let upstream_error = rig.row(&task).await.upstream_error.unwrap_or_default();
    assert!(
        upstream_error.contains("content_rejected") && upstream_error.contains("SAFETY.INPUT.TEXT"),
        "{upstream_error}"
    );
    assert_eq!(failed.body["pointsCharged"], 0);
    assert_eq!(rig.gw.balance().await, BALANCE - charged, "refunded");
    assert_eq!(rig.upstream_points_spent(), spent, "midsync never asked");
    assert_eq!(rig.runway.tasks().len(), 2, "Runway not asked again either");
    rig.shutdown().await;
}

/// A running Runway task cancelled through the gateway: Runway's `DELETE` reaches the
/// simulator, the task is `CANCELLED` there, `cancelled` here with its hold voided once.
/// A task Runway already finished is not cancellable (409), is not deleted upstream, and
/// its points are posted by the next poll.
async fn a_runway_task_is_cancelled_through_delete_and_its_hold_voided(db: Db) {
    let rig = Rig::start(db).await;
    let created = rig.generate(text_body("a lighthouse in the fog")).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task = created.body["taskId"].as_str().unwrap().to_string();
    rig.runway.advance(Duration::from_secs(3)).await;
    let list = rig.gw.get("/unified-video/tasks", &rig.gw.key).await;
    assert_eq!(list.body["tasks"][0]["cancellable"], true, "{}", list.body);
    let r = rig
        .gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &rig.gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["pointsCharged"], 0);
    assert_eq!(
        rig.runway.tasks()[0].phase,
        Phase::Cancelled,
        "DELETE reached Runway"
    );
    assert_eq!(rig.gw.entry_kinds().await, ["top_up", "hold", "void"]);
    assert_eq!(rig.gw.balance().await, BALANCE);
    // A second cancel: already final, nothing voided twice.
    let again = rig
        .gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &rig.gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(rig.gw.entry_kinds().await, ["top_up", "hold", "void"]);

    // Finished upstream before the cancel arrives: refused, and Runway keeps the result.
    let created = rig.generate(text_body("a lighthouse at dawn")).await;
    let task = created.body["taskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();
    rig.runway.advance(Duration::from_secs(60)).await;
    let r = rig
        .gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &rig.gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.error().contains("can no longer be cancelled"),
        "{}",
        r.body
    );
    let upstream = rig.runway.tasks();
    assert_eq!(upstream[1].phase, Phase::Succeeded);
    assert!(!upstream[1].data.deleted, "a finished task is not deleted");
    assert_eq!(rig.poll_now(&task).await, 1);
    let done = rig
        .gw
        .get(&format!("/unified-video/{task}/status"), &rig.gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert_eq!(rig.gw.balance().await, BALANCE - points);
    rig.shutdown().await;
}
