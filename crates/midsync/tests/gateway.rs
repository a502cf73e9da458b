//! End-to-end tests of the gateway over real HTTP on loopback, with the Kling simulator as
//! the upstream, on SQLite and PostgreSQL (`GENMUX_TEST_PG`). Engine passes (poll, deliver)
//! are driven explicitly, so nothing waits on wall-clock time.

mod common;

use common::*;
use genmux_core::webhook::WebhookSecret;
use genmux_core::TaskStatus;
use genmux_midsync::engine::{delivery, poller};
use genmux_midsync::KeyRate;
use genmux_sim::kling::{Endpoint, Feature, KlingSim};
use genmux_sim::FaultPlan;
use genmux_store::{
    HoldState, NewTask, Page, Scope, SubmissionRecord, TaskPage, TaskQuery, TaskRecord, TaskStore,
    TaskUpdate, TaskUpdateOutcome,
};
use serde_json::{json, Value};
use std::num::NonZeroU32;
use std::sync::Arc;
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
    generate_callback_settles_and_bills,
    upstream_failure_refunds,
    lost_callback_is_settled_by_polling,
    insufficient_points_writes_nothing,
    idempotency_keys,
    scopes_and_revocation,
    per_key_rate_limit,
    duplicate_concurrent_callbacks,
    uncertain_submission_is_reconciled_once,
    a_submission_in_flight_is_looked_up_on_the_normal_schedule,
    failover_to_the_second_provider,
    crash_after_failover_is_settled_by_the_second_provider,
    a_refused_submission_reported_by_its_provider_is_kept,
    client_errors_are_clear,
);

const TURBO_5S_POINTS: &str = "/unified-video/quote";

async fn quote_points(gw: &Gateway, body: &Value) -> i64 {
    let q = gw.post(TURBO_5S_POINTS, &gw.key, body, None).await;
    assert_eq!(q.status, 200, "{}", q.body);
    assert_eq!(q.body["success"], true);
    q.body["pointsCharged"].as_i64().expect("pointsCharged")
}

/// generate → provider callback → succeeded with assets → points posted → usage log and
/// summary agree with the ledger → the caller's callback arrives signed.
async fn generate_callback_settles_and_bills(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let hook = receiver(vec![]).await;
    let mut body = kling_body();
    let points = quote_points(&gw, &body).await;
    body["callbackUrl"] = json!(hook.url);
    body["projectId"] = json!("proj-7");

    let created = gw
        .post("/unified-video/generate", &gw.key, &body, None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    assert_eq!(created.body["success"], true);
    assert_eq!(created.body["model"], "kling-2.5-turbo");
    assert_eq!(created.body["providerModel"], "kling-v2-5-turbo");
    assert_eq!(created.body["pointsCharged"], points, "quote equals charge");
    assert_eq!(created.body["status"], "submitted");
    assert!(!created.body["providerTaskId"].as_str().unwrap().is_empty());
    assert_eq!(gw.balance().await, BALANCE - points, "held at once");

    let status = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["status"], "submitted");

    sim.advance(Duration::from_secs(120)).await;
    let calls = sim.callbacks();
    assert!(
        calls
            .iter()
            .any(|c| c.task_status == "succeed" && c.response_status == Some(200)),
        "the simulator's callbacks reached the gateway: {:?}",
        calls
            .iter()
            .map(|c| (&c.task_status, c.response_status))
            .collect::<Vec<_>>()
    );

    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    let url = done.body["assets"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1"), "{url}");
    assert_eq!(done.body["output"]["videoUrls"][0], url);
    assert_eq!(done.body["projectId"], "proj-7");
    // the asset is a real file
    let media = gw.http.get(url).send().await.unwrap();
    assert_eq!(media.status(), 200);
    assert!(!media.bytes().await.unwrap().is_empty());

    assert_eq!(gw.balance().await, BALANCE - points);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);

    let logs = gw
        .get("/v1/usage/logs?date_range=last_7_days", &gw.key)
        .await;
    assert_eq!(logs.status, 200, "{}", logs.body);
    assert_eq!(logs.body["total"], 1);
    let log = &logs.body["logs"][0];
    assert_eq!(log["model"], "kling-2.5-turbo");
    assert_eq!(log["pointsCharged"], points);
    assert_eq!(log["usage"]["duration"], 5);
    assert!(log["createdAt"].as_str().unwrap().contains('T'));
    let summary = gw
        .get(
            "/v1/usage/summary?date_range=last_7_days&groupBy=model",
            &gw.key,
        )
        .await;
    assert_eq!(summary.body["totalPointsCharged"], points);
    assert_eq!(summary.body["totalRequests"], 1);
    assert_eq!(
        summary.body["byModel"]["kling-2.5-turbo"]["pointsCharged"],
        points
    );
    assert_eq!(
        BALANCE - summary.body["totalPointsCharged"].as_i64().unwrap(),
        gw.balance().await,
        "usage agrees with the ledger"
    );

    // the caller's callback: signed with the account secret, stable id
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 1);
    let (headers, bytes) = hook.hits.lock().unwrap()[0].clone();
    let secret = gw.get("/v1/webhooks/secret", &gw.key).await;
    let secret = WebhookSecret::parse(secret.body["secret"].as_str().unwrap()).unwrap();
    let mut h = http::HeaderMap::new();
    for (k, v) in headers.iter() {
        h.insert(
            http::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    let ts: i64 = h["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    secret
        .verify_headers(&h, &bytes, ts)
        .expect("signature verifies");
    assert_eq!(h["webhook-id"], format!("msg_{task_id}").as_str());
    let delivered: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(delivered["taskId"], task_id.as_str());
    assert_eq!(delivered["status"], "succeeded");
    // nothing more to deliver
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 0);
    sim.shutdown().await;
}

/// An upstream failure refunds the hold and writes no usage row.
async fn upstream_failure_refunds(db: Db) {
    let mut cfg = sim_config();
    cfg.failure_rate = 1.0;
    let (sim, kling) = kling_sim(cfg).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    assert!(gw.balance().await < BALANCE);
    sim.advance(Duration::from_secs(120)).await;
    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "failed", "{}", done.body);
    assert!(!done.body["error"].as_str().unwrap().is_empty());
    assert_eq!(done.body["pointsCharged"], 0);
    assert_eq!(gw.balance().await, BALANCE, "refunded");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "void"]);
    let logs = gw.get("/v1/usage/logs", &gw.key).await;
    assert_eq!(logs.body["total"], 0);
    sim.shutdown().await;
}

/// W4: the provider's callback never arrives → polling settles the task; a late callback
/// changes nothing.
async fn lost_callback_is_settled_by_polling(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let gw = gateway(db, vec![kling], |_| {}).await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();
    sim.advance(Duration::from_secs(120)).await;
    assert!(
        sim.callbacks().iter().all(|c| c.lost),
        "callbacks were lost"
    );
    let before = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(before.body["status"], "submitted");

    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 1);
    let after = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(after.body["status"], "succeeded", "{}", after.body);
    assert_eq!(gw.balance().await, BALANCE - points);

    // the late callback, replayed as the simulator would have sent it
    let lost = sim
        .callbacks()
        .into_iter()
        .find(|c| c.task_status == "succeed")
        .unwrap();
    let late = gw.send(gw.http.post(&lost.url).json(&lost.body)).await;
    assert_eq!(late.status, 200, "{}", late.body);
    assert_eq!(late.body["status"], "succeeded");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    assert_eq!(gw.get("/v1/usage/logs", &gw.key).await.body["total"], 1);
    // a finished task is not polled again
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 0);
    sim.shutdown().await;
}

/// Insufficient points → 402 with a clear message and nothing written; after a top-up the
/// same Idempotency-Key goes through.
async fn insufficient_points_writes_nothing(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let poor = "acct_poor";
    gw.store.ledger.create_account(poor).await.unwrap();
    gw.store.ledger.top_up(poor, 1).await.unwrap();
    let key = new_key(&gw.store, poor, &[Scope::ApiGenerate]).await;
    let r = gw
        .post(
            "/unified-video/generate",
            &key,
            &kling_body(),
            Some("k-402"),
        )
        .await;
    assert_eq!(r.status, 402, "{}", r.body);
    assert_eq!(r.body["success"], false);
    assert!(r.error().contains("insufficient points"), "{}", r.error());
    assert!(
        r.error().contains("the account has 1 points"),
        "{}",
        r.error()
    );
    assert!(
        !r.error().contains("task_"),
        "no task was created, none is named: {}",
        r.error()
    );
    assert!(sim.state().tasks().is_empty(), "nothing submitted upstream");
    let entries = gw.store.ledger.entries(poor).await.unwrap();
    assert_eq!(entries.len(), 1, "only the top-up");
    assert!(gw
        .store
        .tasks
        .list_by_account(poor, genmux_store::Page { page: 1, limit: 10 })
        .await
        .unwrap()
        .is_empty());
    gw.store.ledger.top_up(poor, 500).await.unwrap();
    let r = gw
        .post(
            "/unified-video/generate",
            &key,
            &kling_body(),
            Some("k-402"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    sim.shutdown().await;
}

/// T1 (50 concurrent identical POSTs with one key → one task, one hold), T2 (other body →
/// 422, another API key is independent), T3 (a failed validation stores nothing).
async fn idempotency_keys(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = std::sync::Arc::new(gateway(db, vec![kling], |_| {}).await);
    let body = kling_body();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let gw = gw.clone();
        let body = body.clone();
        set.spawn(async move {
            let r = gw
                .post("/unified-video/generate", &gw.key, &body, Some("t1-key"))
                .await;
            (
                r.status,
                r.body["taskId"].as_str().map(str::to_string),
                r.bytes,
            )
        });
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut first_bytes: Option<Vec<u8>> = None;
    while let Some(res) = set.join_next().await {
        let (status, id, bytes) = res.unwrap();
        assert!(status == 200 || status == 409, "status {status}");
        if status == 200 {
            ids.insert(id.unwrap());
            match &first_bytes {
                None => first_bytes = Some(bytes),
                Some(b) => assert_eq!(b, &bytes, "a replay is byte for byte"),
            }
        }
    }
    assert_eq!(ids.len(), 1, "one task: {ids:?}");
    assert_eq!(gw.tasks().await.len(), 1);
    assert_eq!(sim.state().tasks().len(), 1, "one upstream submission");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);
    let replay = gw
        .post("/unified-video/generate", &gw.key, &body, Some("t1-key"))
        .await;
    assert_eq!(replay.status, 200);
    assert_eq!(Some(replay.bytes), first_bytes);
    assert_eq!(replay.headers["idempotent-replayed"], "true");

    // T2
    let mut other = body.clone();
    other["duration"] = json!(10);
    let r = gw
        .post("/unified-video/generate", &gw.key, &other, Some("t1-key"))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error().contains("different request body"),
        "{}",
        r.error()
    );
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);
    // Scoped per account (issue 13 point 10): another key of the same account replays the
    // first answer; another account's namespace is tests/accounts.rs's.
    let second_key = new_key(&gw.store, &gw.account, &[Scope::ApiGenerate]).await;
    let r = gw
        .post(
            "/unified-video/generate",
            &second_key,
            &body,
            Some("t1-key"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(Some(r.bytes), first_bytes, "the same account's replay");
    assert_eq!(r.headers["idempotent-replayed"], "true");
    assert_eq!(gw.tasks().await.len(), 1);

    // T3
    let mut invalid = body.clone();
    invalid["duration"] = json!(7);
    let r = gw
        .post("/unified-video/generate", &gw.key, &invalid, Some("t3-key"))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.error().starts_with("duration: 7"), "{}", r.error());
    let r = gw
        .post("/unified-video/generate", &gw.key, &body, Some("t3-key"))
        .await;
    assert_eq!(r.status, 200, "corrected request processed: {}", r.body);
    assert_eq!(gw.tasks().await.len(), 2);
    sim.shutdown().await;
}

/// K2: route × scope matrix; revoked, missing and malformed keys.
async fn scopes_and_revocation(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let read = new_key(&gw.store, &gw.account, &[Scope::ApiRead]).await;
    let gen = new_key(&gw.store, &gw.account, &[Scope::ApiGenerate]).await;
    let admin = new_key(&gw.store, &gw.account, &[Scope::Admin]).await;

    let r = gw
        .post("/unified-video/generate", &read, &kling_body(), None)
        .await;
    assert_eq!(r.status, 403);
    assert!(r.error().contains("api.generate"), "{}", r.error());
    assert_eq!(gw.get("/v1/usage/logs", &read).await.status, 200);
    assert_eq!(gw.get("/v1/usage/summary", &read).await.status, 200);
    assert_eq!(
        gw.post("/unified-video/quote", &read, &kling_body(), None)
            .await
            .status,
        200
    );

    let r = gw.get("/v1/usage/logs", &gen).await;
    assert_eq!(r.status, 403);
    assert!(r.error().contains("api.read"), "{}", r.error());
    let created = gw
        .post("/unified-video/generate", &gen, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200);
    let id = created.body["taskId"].as_str().unwrap();
    assert_eq!(
        gw.get(&format!("/unified-video/{id}/status"), &gen)
            .await
            .status,
        200
    );
    assert_eq!(gw.get("/v1/keys", &gen).await.status, 403);

    assert_eq!(gw.get("/v1/usage/logs", &admin).await.status, 200);
    assert_eq!(gw.get("/v1/keys", &admin).await.status, 200);

    // another account cannot see the task
    gw.store.ledger.create_account("acct_other").await.unwrap();
    let other = new_key(&gw.store, "acct_other", &[Scope::ApiRead]).await;
    assert_eq!(
        gw.get(&format!("/unified-video/{id}/status"), &other)
            .await
            .status,
        404
    );

    // revoked → 401
    let key_id = read.split('_').nth(1).unwrap();
    let revoked = gw
        .send(
            gw.http
                .delete(format!("{}/v1/keys/{key_id}", gw.base))
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let r = gw.get("/v1/usage/logs", &read).await;
    assert_eq!(r.status, 401);
    assert!(r.error().starts_with("API key rejected"), "{}", r.error());

    let r = gw
        .send(gw.http.get(format!("{}/v1/usage/logs", gw.base)))
        .await;
    assert_eq!(r.status, 401);
    assert!(r.error().contains("Authorization"), "{}", r.error());
    assert_eq!(gw.get("/v1/usage/logs", "gmx_nope").await.status, 401);
    // the models document needs a key, as the seed says (issue 13); any scope reads it
    let m = gw
        .send(gw.http.get(format!("{}/unified-video/models", gw.base)))
        .await;
    assert_eq!(m.status, 401, "{}", m.body);
    let m = gw.get("/unified-video/models", &gen).await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert!(m.body["modelParams"]["kling-2.5-turbo"]["fields"].is_array());
    sim.shutdown().await;
}

/// K3: over the per-key limit → 429 with Retry-After; buckets are per key.
async fn per_key_rate_limit(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.key_rate = Some(KeyRate {
            per_minute: NonZeroU32::MIN,
            burst: NonZeroU32::new(3).unwrap(),
        })
    })
    .await;
    for _ in 0..3 {
        assert_eq!(gw.get("/v1/usage/logs", &gw.key).await.status, 200);
    }
    let r = gw.get("/v1/usage/logs", &gw.key).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(after >= 1);
    assert!(r.error().contains("rate limit"), "{}", r.error());
    let other = new_key(&gw.store, &gw.account, &[Scope::ApiRead]).await;
    assert_eq!(gw.get("/v1/usage/logs", &other).await.status, 200);
    sim.shutdown().await;
}

/// W3: the same provider callback 3× concurrently and out of order → one state change, one
/// post.
async fn duplicate_concurrent_callbacks(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let gw = std::sync::Arc::new(
        gateway(db, vec![kling], |c| {
            c.poll.first_delay = Duration::from_secs(3600)
        })
        .await,
    );
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    let calls = sim.callbacks();
    let done = calls
        .iter()
        .find(|c| c.task_status == "succeed")
        .unwrap()
        .clone();
    let early = calls
        .iter()
        .find(|c| c.task_status == "processing")
        .map(|c| c.body.clone());
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let gw = gw.clone();
        let (url, body) = (done.url.clone(), done.body.clone());
        set.spawn(async move { gw.send(gw.http.post(&url).json(&body)).await.status });
    }
    while let Some(s) = set.join_next().await {
        assert_eq!(s.unwrap(), 200);
    }
    // an out-of-order "processing" after "succeed" changes nothing
    if let Some(body) = early {
        let r = gw.send(gw.http.post(&done.url).json(&body)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["status"], "succeeded");
    }
    let status = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(status.body["status"], "succeeded");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    assert_eq!(gw.get("/v1/usage/logs", &gw.key).await.body["total"], 1);
    // a forged callback for an unknown token is refused
    let forged = gw
        .send(
            gw.http
                .post(format!("{}/callbacks/kling/not-a-token", gw.base))
                .json(&done.body),
        )
        .await;
    assert_eq!(forged.status, 404);
    sim.shutdown().await;
}

/// R1: the upstream accepted but the answer was lost → no second submission; the poller
/// finds the task by its external id and it is charged once.
async fn uncertain_submission_is_reconciled_once(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            drop_connection: 1.0,
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let gw = gateway(db, vec![kling], |_| {}).await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "unknown");
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();
    assert_eq!(
        sim.state().tasks().len(),
        1,
        "submitted once, never retried"
    );
    sim.advance(Duration::from_secs(120)).await;
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 1);
    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    let task = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(
        task.provider_task_id.as_deref(),
        Some(sim.state().tasks()[0].task_id.as_str()),
        "the upstream id was learnt"
    );
    assert_eq!(gw.balance().await, BALANCE - points);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    assert_eq!(sim.state().tasks().len(), 1);
    sim.shutdown().await;
}

/// Issue 21: the task row written before the submission (R4) is first polled after the
/// normal first delay, not after the unknown grace. Were the gateway killed while the
/// submission is in flight (its callback lost with it), the task is found by the id we
/// sent within the poll schedule — here the upstream has created the task and stalls its
/// answer, the poller finds it meanwhile, and the late answer changes nothing.
async fn a_submission_in_flight_is_looked_up_on_the_normal_schedule(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            stall: Duration::from_secs(4),
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let first_delay = Duration::from_millis(50);
    let gw = std::sync::Arc::new(
        gateway(db, vec![kling], |c| {
            c.poll.first_delay = first_delay;
            c.poll.unknown_grace = Duration::from_secs(3600);
        })
        .await,
    );
    let points = quote_points(&gw, &kling_body()).await;
    let in_flight = {
        let gw = gw.clone();
        tokio::spawn(async move {
            gw.post("/unified-video/generate", &gw.key, &kling_body(), None)
                .await
        })
    };
    // The row written before the submission, and the upstream's task, while the answer stalls.
    let mut row = None;
    for _ in 0..200 {
        let rows = gw
            .store
            .tasks
            .list_by_account(&gw.account, Page { page: 1, limit: 10 })
            .await
            .unwrap();
        if let (Some(t), 1) = (rows.into_iter().next(), sim.state().tasks().len()) {
            row = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let row = row.expect("the task row and the upstream task exist while the answer stalls");
    assert_eq!(row.status, TaskStatus::Unknown);
    let due = row.next_poll_at.expect("an unknown task has a poll time") - row.created_at;
    assert_eq!(
        due,
        time::Duration::try_from(first_delay).unwrap(),
        "first poll after the first delay, not after the unknown grace"
    );
    tokio::time::sleep(first_delay * 2).await;
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 1);
    let found = gw.store.tasks.get(&row.id).await.unwrap().unwrap();
    assert!(
        !in_flight.is_finished(),
        "found while the submission was still in flight"
    );
    assert_eq!(
        found.provider_task_id.as_deref(),
        Some(sim.state().tasks()[0].task_id.as_str()),
        "found upstream by the id we sent: {found:?}"
    );
    assert!(
        matches!(found.status, TaskStatus::Submitted | TaskStatus::Processing),
        "{found:?}"
    );
    let answered = in_flight.await.unwrap();
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_eq!(answered.body["taskId"], row.id.as_str());
    assert_eq!(sim.state().tasks().len(), 1, "submitted once");
    assert_eq!(gw.balance().await, BALANCE - points, "held once");
    sim.shutdown().await;
}

/// The first provider refuses (5xx before acceptance) → the second one gets the task, and
/// it is charged once.
/// Two providers for failover tests: Kling answering every request with a 5xx (tried
/// first: it is cheaper), then a chained gateway (midsync upstream) over a healthy Kling
/// simulator.
struct BrokenThenChained {
    broken: KlingSim,
    sim: KlingSim,
    upstream: Gateway,
    providers: Vec<genmux_core::Provider>,
}

async fn broken_then_chained() -> BrokenThenChained {
    let (broken, kling) = kling_sim(sim_config()).await;
    broken
        .set_all_faults(FaultPlan {
            server_error: 1.0,
            ..FaultPlan::default()
        })
        .unwrap();
    let (sim, healthy) = kling_sim(sim_config()).await;
    let upstream = gateway(Db::sqlite(), vec![healthy], |_| {}).await;
    let midsync = genmux_midsync::MidsyncProvider::new(
        genmux_midsync::MidsyncConfig::new(upstream.base.clone(), upstream.key.clone()),
        genmux_core::Catalog::builtin(),
    )
    .unwrap()
    .into_provider();
    BrokenThenChained {
        broken,
        sim,
        upstream,
        providers: vec![kling, midsync],
    }
}

async fn failover_to_the_second_provider(db: Db) {
    let BrokenThenChained {
        broken,
        sim,
        upstream,
        providers,
    } = broken_then_chained().await;
    let gw = gateway(db, providers, |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let req: genmux_core::GenerationRequest = serde_json::from_value(kling_body()).unwrap();
    let quote = gw.state.router().catalog().quote(&req).unwrap();
    assert_eq!(
        gw.state.router().pick_first(&quote).map(|p| p.0),
        Some("kling"),
        "the broken provider is tried first, so the test exercises failover"
    );
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let task = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(task.provider, "midsync", "failed over");
    assert!(broken.state().tasks().is_empty());
    assert_eq!(upstream.tasks().await.len(), 1);

    // upstream finishes → its signed callback reaches us → settled
    sim.advance(Duration::from_secs(120)).await;
    assert_eq!(delivery::deliver_due(&upstream.state).await.unwrap(), 1);
    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert!(done.body["assets"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    assert_eq!(upstream.entry_kinds().await, vec!["top_up", "hold", "post"]);
    broken.shutdown().await;
    sim.shutdown().await;
}

/// A task store that bends one step of a generate, to reach states a test cannot time.
struct Twisted {
    inner: Arc<dyn TaskStore>,
    twist: Twist,
}

#[derive(Clone, Copy, PartialEq)]
enum Twist {
    /// `record_submission` never lands: the state a process killed right after the
    /// upstream accepted leaves behind (R4).
    DiesBeforeRecording,
    /// Just before a refused submission's row is discarded, a provider reports the task
    /// (the callback of a provider that answered with an error yet kept it).
    ReportedBeforeDiscard,
}

impl Twisted {
    fn wrap(twist: Twist) -> impl FnOnce(genmux_store::Store) -> genmux_store::Store {
        move |mut store| {
            store.tasks = Arc::new(Twisted {
                inner: store.tasks.clone(),
                twist,
            });
            store
        }
    }
}

#[genmux_core::async_trait]
impl TaskStore for Twisted {
    async fn insert(&self, task: NewTask) -> genmux_core::Result<TaskRecord> {
        self.inner.insert(task).await
    }
    async fn insert_with_hold(&self, task: NewTask) -> genmux_core::Result<TaskRecord> {
        self.inner.insert_with_hold(task).await
    }
    async fn record_submission(
        &self,
        task_id: &str,
        submission: SubmissionRecord,
    ) -> genmux_core::Result<Option<TaskRecord>> {
        if self.twist == Twist::DiesBeforeRecording {
            return Err(genmux_core::Error::internal(format!(
                "the process died before recording the submission of {task_id}"
            )));
        }
        self.inner.record_submission(task_id, submission).await
    }
    async fn settle(
        &self,
        settlement: genmux_store::Settlement,
    ) -> genmux_core::Result<genmux_store::Settled> {
        self.inner.settle(settlement).await
    }
    async fn retarget_unsubmitted(
        &self,
        task_id: &str,
        provider: &str,
    ) -> genmux_core::Result<bool> {
        self.inner.retarget_unsubmitted(task_id, provider).await
    }
    async fn discard_unsubmitted(&self, task_id: &str) -> genmux_core::Result<bool> {
        if self.twist == Twist::ReportedBeforeDiscard {
            let reported = TaskUpdate {
                provider_task_id: Some("kt_reported".into()),
                ..TaskUpdate::status(TaskStatus::Processing)
            };
            self.inner.update(task_id, reported).await?;
        }
        self.inner.discard_unsubmitted(task_id).await
    }
    async fn get(&self, task_id: &str) -> genmux_core::Result<Option<TaskRecord>> {
        self.inner.get(task_id).await
    }
    async fn count_unfinished(
        &self,
        provider: &str,
        except: Option<&str>,
        at_most: u32,
    ) -> genmux_core::Result<u32> {
        self.inner.count_unfinished(provider, except, at_most).await
    }
    async fn list_by_account(
        &self,
        account_id: &str,
        page: Page,
    ) -> genmux_core::Result<Vec<TaskRecord>> {
        self.inner.list_by_account(account_id, page).await
    }
    async fn list(&self, query: &TaskQuery) -> genmux_core::Result<TaskPage> {
        self.inner.list(query).await
    }
    async fn update(
        &self,
        task_id: &str,
        update: TaskUpdate,
    ) -> genmux_core::Result<TaskUpdateOutcome> {
        self.inner.update(task_id, update).await
    }
    async fn find_by_provider_task(
        &self,
        provider: &str,
        provider_task_id: &str,
    ) -> genmux_core::Result<Option<TaskRecord>> {
        self.inner
            .find_by_provider_task(provider, provider_task_id)
            .await
    }
    async fn find_by_caller_external_id(
        &self,
        account_id: &str,
        external_id: &str,
    ) -> genmux_core::Result<Option<TaskRecord>> {
        self.inner
            .find_by_caller_external_id(account_id, external_id)
            .await
    }
    async fn find_by_callback_token(&self, token: &str) -> genmux_core::Result<Option<TaskRecord>> {
        self.inner.find_by_callback_token(token).await
    }
    async fn lease_due(
        &self,
        worker_id: &str,
        now: time::OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> genmux_core::Result<Vec<TaskRecord>> {
        self.inner.lease_due(worker_id, now, limit, lease_for).await
    }
    async fn reschedule(
        &self,
        task_id: &str,
        worker_id: &str,
        next_poll_at: Option<time::OffsetDateTime>,
    ) -> genmux_core::Result<bool> {
        self.inner
            .reschedule(task_id, worker_id, next_poll_at)
            .await
    }
}

/// R4 after a failover: the first provider refuses, the second accepts, and the gateway
/// dies before it records where the task went. The task row already names the second
/// provider (it was renamed before that attempt was sent), so the second provider's
/// callback is accepted and settles it: the video is delivered and charged once, not
/// refunded while the upstream bills us for it.
async fn crash_after_failover_is_settled_by_the_second_provider(db: Db) {
    let BrokenThenChained {
        broken,
        sim,
        upstream,
        providers,
    } = broken_then_chained().await;
    let gw = gateway_over(
        db,
        providers,
        |c| c.poll.first_delay = Duration::from_secs(3600),
        Twisted::wrap(Twist::DiesBeforeRecording),
    )
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();
    let row = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(
        (
            row.provider.as_str(),
            row.status,
            row.provider_task_id.as_deref()
        ),
        ("midsync", TaskStatus::Unknown, None),
        "the unrecorded task names the provider that accepted it"
    );
    assert!(broken.state().tasks().is_empty());
    assert_eq!(upstream.tasks().await.len(), 1);

    sim.advance(Duration::from_secs(120)).await;
    assert_eq!(
        delivery::deliver_due(&upstream.state).await.unwrap(),
        1,
        "the second provider's callback is accepted"
    );
    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert_eq!(gw.balance().await, BALANCE - points, "charged once");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    broken.shutdown().await;
    sim.shutdown().await;
}

/// Every provider refuses, but one of them reported the task by callback before the
/// gateway discarded it: the task is real, so the caller gets it (200, `processing`) and
/// its hold stays for settlement instead of being refunded while the provider works.
async fn a_refused_submission_reported_by_its_provider_is_kept(db: Db) {
    let (broken, kling) = kling_sim(sim_config()).await;
    broken
        .set_all_faults(FaultPlan {
            server_error: 1.0,
            ..FaultPlan::default()
        })
        .unwrap();
    let gw = gateway_over(
        db,
        vec![kling],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        Twisted::wrap(Twist::ReportedBeforeDiscard),
    )
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "processing");
    assert_eq!(created.body["providerTaskId"], "kt_reported");
    let task_id = created.body["taskId"].as_str().unwrap();
    let hold = gw.store.ledger.get_hold(task_id).await.unwrap().unwrap();
    assert_eq!(hold.state, HoldState::Held, "not refunded");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);
    broken.shutdown().await;
}

/// Every 4xx path answers `{"success": false, "error": …}` with a message that says what to
/// fix.
async fn client_errors_are_clear(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.allow_loopback_callbacks = false;
        c.body_limit = 64 * 1024;
    })
    .await;
    let gen = "/unified-video/generate";
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox", "duration": 5, "colour": "red"}),
            400,
            "colour",
        ),
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox", "duration": "5"}),
            400,
            "duration",
        ),
        (json!({"model": "kling-9", "prompt": "A fox"}), 400, "model"),
        (json!({"prompt": "A fox"}), 400, "model: required"),
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox", "duration": 7}),
            400,
            "duration: 7",
        ),
        (
            json!({"model": "kling-image", "prompt": "A fox"}),
            400,
            "/unified-image",
        ),
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox walks", "duration": 5, "callbackUrl": "http://127.1/x"}),
            400,
            "callbackUrl",
        ),
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox walks", "duration": 5, "callbackUrl": "file:///etc/passwd"}),
            400,
            "callbackUrl",
        ),
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox walks", "duration": 5, "callbackUrl": "http://[::ffff:127.0.0.1]/"}),
            400,
            "callbackUrl",
        ),
        (
            json!({"model": "kling-2.5-turbo", "prompt": "A fox walks", "duration": 5, "images": ["http://169.254.169.254/x.png"]}),
            400,
            "images[0]",
        ),
    ];
    for (body, status, needle) in cases {
        let r = gw.post(gen, &gw.key, &body, None).await;
        assert_eq!(r.status, status, "{body} → {}", r.body);
        assert_eq!(r.body["success"], false, "{body}");
        assert!(
            r.error().contains(needle),
            "{body}: `{}` should mention {needle}",
            r.error()
        );
    }
    // the quote of an invalid combination: success false and the reason
    let q = gw
        .post(
            "/unified-video/quote",
            &gw.key,
            &json!({"model": "kling-2.5-turbo", "prompt": "A fox", "duration": 7}),
            None,
        )
        .await;
    assert_eq!(q.status, 400);
    assert_eq!(q.body["success"], false);
    assert!(q.error().starts_with("duration: 7"), "{}", q.error());

    // V1: oversized body → 413 before parsing, and the client reads it every time (the
    // body is drained first, so no reset destroys the answer)
    for size in [100 * 1024, 1024 * 1024, 4 * 1024 * 1024] {
        for _ in 0..5 {
            let big = json!({"model": "kling-2.5-turbo", "prompt": "x".repeat(size)});
            let r = gw.post(gen, &gw.key, &big, None).await;
            assert_eq!(r.status, 413);
            assert!(r.error().contains("limit"), "{}", r.error());
        }
    }
    // malformed JSON, wrong content type
    let r = gw
        .send(
            gw.http
                .post(format!("{}{gen}", gw.base))
                .bearer_auth(&gw.key)
                .header("content-type", "application/json")
                .body("{\"model\": "),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.error().contains("not valid JSON"), "{}", r.error());
    let r = gw
        .send(
            gw.http
                .post(format!("{}{gen}", gw.base))
                .bearer_auth(&gw.key)
                .body("model=x"),
        )
        .await;
    assert_eq!(r.status, 415);
    assert!(r.error().contains("application/json"));
    // unknown task, route, method, query parameters
    let r = gw.get("/unified-video/task_nope/status", &gw.key).await;
    assert_eq!(r.status, 404);
    assert!(r.error().contains("task_nope"));
    let r = gw.get("/unified-video/nothing-here", &gw.key).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["success"], false);
    let r = gw.get(gen, &gw.key).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["success"], false);
    for (q, needle) in [
        ("/v1/usage/logs?date_range=yesterday", "date_range"),
        ("/v1/usage/logs?page=0", "page"),
        ("/v1/usage/logs?limit=5000", "limit"),
        ("/v1/usage/logs?pgae=2", "pgae"),
        ("/v1/usage/summary?groupBy=day", "groupBy"),
    ] {
        let r = gw.get(q, &gw.key).await;
        assert_eq!(r.status, 400, "{q}");
        assert!(r.error().contains(needle), "{q}: {}", r.error());
    }
    // nothing was written by any of this
    assert!(gw.tasks().await.is_empty());
    assert_eq!(gw.entry_kinds().await, vec!["top_up"]);
    assert!(sim.state().tasks().is_empty());
    // the OpenAPI document lists the routes
    let doc = gw
        .send(gw.http.get(format!("{}/openapi.json", gw.base)))
        .await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/unified-video/generate"]["post"].is_object());
    assert!(doc.body["paths"]["/v1/usage/summary"]["get"].is_object());
    sim.shutdown().await;
}

/// Two gateways on one PostgreSQL database: a key revoked through one is refused by the
/// other at once, though the other had just authenticated it and caches for an hour — the
/// store's revocation feed, followed by the engine, drops the cached entry. A third
/// gateway without an engine (no feed) keeps serving its cached entry, which shows the
/// feed is what made the difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_reaches_other_gateways_at_once() {
    let db = Db::postgres().await;
    let url = db.url();
    let (sim, kling) = kling_sim(sim_config()).await;
    let a = gateway(db, vec![kling], |_| {}).await;
    let hour = |c: &mut genmux_midsync::GatewayConfig| c.auth_cache_ttl = Duration::from_secs(3600);
    let (_, kling_b) = kling_sim(sim_config()).await;
    let b = second_gateway(&url, vec![kling_b], hour).await;
    let engine_b = genmux_midsync::engine::Engine::spawn(b.state.clone());
    let (_, kling_c) = kling_sim(sim_config()).await;
    let c = second_gateway(&url, vec![kling_c], hour).await;

    let summary = "/v1/usage/summary";
    assert_eq!(
        b.get(summary, &a.key).await.status,
        200,
        "B authenticates and caches"
    );
    assert_eq!(
        c.get(summary, &a.key).await.status,
        200,
        "C authenticates and caches"
    );
    let key_id = a.key.split('_').nth(1).expect("gmx_<id>_<secret>");
    // Wait until B's follower is listening: a revocation of a throwaway key bumps B's
    // cache generation once it has been heard.
    let mut heard = false;
    for _ in 0..100 {
        let before = b.state.auth_cache().generation();
        let throwaway = new_key(&a.store, &a.account, &[Scope::ApiRead]).await;
        let throwaway_id = throwaway.split('_').nth(1).unwrap();
        assert!(a.store.keys.revoke(throwaway_id).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
        if b.state.auth_cache().generation() > before {
            heard = true;
            break;
        }
    }
    assert!(heard, "B's revocation follower hears revocations");
    assert_eq!(b.get(summary, &a.key).await.status, 200, "still cached");
    assert!(a.store.keys.revoke(key_id).await.unwrap());

    let mut refused = false;
    for _ in 0..200 {
        if b.get(summary, &a.key).await.status == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused,
        "B refuses the revoked key long before its one-hour cache entry ends"
    );
    assert_eq!(
        c.get(summary, &a.key).await.status,
        200,
        "C, without the feed, still serves its cached entry"
    );
    engine_b.shutdown().await;
    sim.shutdown().await;
}

/// The Redis of `GENMUX_TEST_REDIS` (default `redis://127.0.0.1:6379/`); CI runs one.
fn test_redis() -> genmux_midsync::RedisUrl {
    let url =
        std::env::var("GENMUX_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    genmux_midsync::RedisUrl::parse(&url).expect("GENMUX_TEST_REDIS is a Redis URL")
}

/// A burst of 3, then one a minute: a slow machine cannot earn a 4th request mid-test.
fn burst_of_three(
    redis: Option<genmux_midsync::RedisUrl>,
) -> impl Fn(&mut genmux_midsync::GatewayConfig) {
    move |c| {
        c.key_rate = Some(KeyRate {
            per_minute: NonZeroU32::MIN,
            burst: NonZeroU32::new(3).unwrap(),
        });
        c.key_rate_redis = redis.clone();
    }
}

/// K3 across replicas: two gateways counting in one Redis share each key's budget — a
/// burst of 3 is 3 requests in all, not 3 per gateway — and the refusal carries
/// `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn k3_a_rate_counted_in_redis_is_one_budget_across_gateways() {
    let db = Db::postgres().await;
    let url = db.url();
    let (sim, kling) = kling_sim(sim_config()).await;
    let a = gateway(db, vec![kling], burst_of_three(Some(test_redis()))).await;
    let (_, kling_b) = kling_sim(sim_config()).await;
    let b = second_gateway(&url, vec![kling_b], burst_of_three(Some(test_redis()))).await;
    let logs = "/v1/usage/logs";
    let mut statuses = Vec::new();
    for gw in [&a, &b, &a, &b, &a] {
        statuses.push(gw.get(logs, &a.key).await.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "one budget of 3 across both"
    );
    let r = b.get(logs, &a.key).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "Retry-After {after}");
    // Another key has its own budget.
    let other = new_key(&a.store, &a.account, &[Scope::ApiRead]).await;
    assert_eq!(b.get(logs, &other).await.status, 200);
    sim.shutdown().await;
}

/// A Redis that cannot be reached does not take the API down: each gateway counts the
/// key's rate itself meanwhile (3 allowed, then 429), and answers promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn k3_an_unreachable_rate_redis_falls_back_to_counting_locally() {
    let nowhere = genmux_midsync::RedisUrl::parse("redis://127.0.0.1:1/").unwrap();
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(Db::sqlite(), vec![kling], burst_of_three(Some(nowhere))).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = tokio::time::timeout(Duration::from_secs(5), gw.get("/v1/usage/logs", &gw.key))
            .await
            .expect("answered without waiting on the unreachable Redis");
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    sim.shutdown().await;
}
