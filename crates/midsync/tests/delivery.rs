//! W2: outbound callbacks under a simulated clock — attempts follow the schedule (5 s,
//! 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter), keep one `webhook-id`, 3xx is a failure
//! and not followed, `Retry-After` is honoured, 410 disables, and the schedule runs out.

mod common;

use common::*;
use genmux_midsync::clock::{Clock, ManualClock};
use genmux_midsync::engine::delivery::deliver_due;
use genmux_midsync::AppState;
use genmux_store::{DeliveryState, NewDelivery};
use std::sync::Arc;
use std::time::Duration;

const SCHEDULE_SECS: [u64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(
    w2_retry_schedule,
    w2_retry_after_410_and_exhaustion,
    w2_410_disables_the_endpoint_of_that_account_only,
    a_slow_receiver_holds_one_slot_not_the_queue,
);

async fn setup(db: Db) -> (Gateway, AppState, Arc<ManualClock>) {
    let (_sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let state = gw.state.clone().with_clock(clock.clone());
    (gw, state, clock)
}

async fn enqueue(gw: &Gateway, clock: &ManualClock, id: &str, url: &str) {
    enqueue_for(gw, &gw.account, clock, id, url).await
}

async fn enqueue_for(gw: &Gateway, account: &str, clock: &ManualClock, id: &str, url: &str) {
    gw.store
        .outbox
        .enqueue(NewDelivery {
            webhook_id: id.to_string(),
            task_id: format!("task_{id}"),
            account_id: account.to_string(),
            url: url.to_string(),
            body: br#"{"success":true,"taskId":"t","status":"succeeded"}"#.to_vec(),
            next_attempt_at: clock.now(),
        })
        .await
        .unwrap();
}

fn within_jitter(wait: time::Duration, want_secs: u64) -> bool {
    let got = wait.as_seconds_f64();
    let want = want_secs as f64;
    got >= want * 0.9 - 0.001 && got <= want * 1.1 + 0.001
}

async fn w2_retry_schedule(db: Db) {
    let (gw, state, clock) = setup(db).await;
    // fail with 500, 503, a redirect, 500 → then 2xx
    let hook = receiver(vec![(500, None), (503, None), (302, None), (500, None)]).await;
    enqueue(&gw, &clock, "msg_w2", &hook.url).await;
    for (i, want) in SCHEDULE_SECS.iter().take(4).enumerate() {
        assert_eq!(deliver_due(&state).await.unwrap(), 1, "attempt {}", i + 1);
        let d = gw.store.outbox.get("msg_w2").await.unwrap().unwrap();
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(d.attempts, i as i64 + 1);
        let next = d.next_attempt_at.unwrap();
        assert!(
            within_jitter(next - clock.now(), *want),
            "attempt {}: waits {} s, schedule says {want} s ±10 %",
            i + 1,
            (next - clock.now()).as_seconds_f64()
        );
        if i == 2 {
            assert!(
                d.last_error.as_deref().unwrap_or("").contains("302"),
                "{:?}",
                d.last_error
            );
        }
        // not due yet: nothing is sent
        assert_eq!(deliver_due(&state).await.unwrap(), 0);
        clock.set(next);
    }
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    let d = gw.store.outbox.get("msg_w2").await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(hook.count(), 5);
    let ids: Vec<String> = hook
        .hits
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_string())
        .collect();
    assert!(ids.iter().all(|i| i == "msg_w2"), "stable id: {ids:?}");
    assert_eq!(deliver_due(&state).await.unwrap(), 0);
}

async fn w2_retry_after_410_and_exhaustion(db: Db) {
    let (gw, state, clock) = setup(db).await;
    // Retry-After beyond the schedule's wait is honoured
    let slow = receiver(vec![(429, Some(3600))]).await;
    enqueue(&gw, &clock, "msg_slow", &slow.url).await;
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    let d = gw.store.outbox.get("msg_slow").await.unwrap().unwrap();
    let wait = d.next_attempt_at.unwrap() - clock.now();
    assert!(wait >= time::Duration::seconds(3600), "waits {wait}");

    // 410 disables: no more attempts
    let gone = receiver(vec![(410, None)]).await;
    enqueue(&gw, &clock, "msg_gone", &gone.url).await;
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    let d = gw.store.outbox.get("msg_gone").await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Disabled);
    clock.advance(Duration::from_secs(48 * 3600));
    // only the slow one is due again; the disabled one is never retried
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    assert_eq!(gone.count(), 1);

    // a receiver that always fails: 8 attempts (the first + 7 retries), then exhausted
    let down = receiver(vec![(500, None); 20]).await;
    enqueue(&gw, &clock, "msg_down", &down.url).await;
    for _ in 0..8 {
        assert_eq!(deliver_due(&state).await.unwrap(), 1);
        if let Some(next) = gw
            .store
            .outbox
            .get("msg_down")
            .await
            .unwrap()
            .unwrap()
            .next_attempt_at
        {
            clock.set(next);
        }
    }
    let d = gw.store.outbox.get("msg_down").await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Exhausted);
    assert_eq!(down.count(), 8);
    clock.advance(Duration::from_secs(48 * 3600));
    assert_eq!(deliver_due(&state).await.unwrap(), 0);
    assert_eq!(down.count(), 8);
}

/// Issue 13 point 10: after a 410 the endpoint — this URL of this account — gets nothing
/// more, whatever the task: a later delivery is given up unattempted with the reason, even
/// a retry already scheduled before the 410; another account's delivery to the same URL is
/// sent; enabling it again lets later deliveries through.
async fn w2_410_disables_the_endpoint_of_that_account_only(db: Db) {
    let (gw, state, clock) = setup(db).await;
    let hook = receiver(vec![(500, None), (410, None)]).await;
    // a delivery that fails once and waits for its retry…
    enqueue(&gw, &clock, "msg_retry", &hook.url).await;
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    // …then another one is answered 410
    enqueue(&gw, &clock, "msg_gone", &hook.url).await;
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    assert_eq!(hook.count(), 2);
    let gone = gw.store.outbox.get("msg_gone").await.unwrap().unwrap();
    assert_eq!(gone.state, DeliveryState::Disabled);
    let off = gw
        .store
        .outbox
        .disabled_endpoints(&gw.account)
        .await
        .unwrap();
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].url, hook.url);
    assert_eq!(off[0].webhook_id.as_deref(), Some("msg_gone"));
    assert!(off[0].reason.contains("HTTP 410 Gone"), "{}", off[0].reason);

    // the scheduled retry and a new delivery: not sent, given up with the reason
    enqueue(&gw, &clock, "msg_later", &hook.url).await;
    clock.advance(Duration::from_secs(3600));
    assert_eq!(deliver_due(&state).await.unwrap(), 2);
    assert_eq!(hook.count(), 2, "nothing sent to the disabled endpoint");
    for id in ["msg_retry", "msg_later"] {
        let d = gw.store.outbox.get(id).await.unwrap().unwrap();
        assert_eq!(d.state, DeliveryState::Disabled, "{id}");
        let why = d.last_error.unwrap();
        assert!(
            why.starts_with(&format!(
                "not sent: the endpoint {} was disabled at ",
                hook.url
            )),
            "{why}"
        );
    }
    assert_eq!(
        gw.store
            .outbox
            .get("msg_later")
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0
    );
    assert_eq!(
        gw.store
            .outbox
            .get("msg_retry")
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );

    // another account's callback to the same URL is its own endpoint
    let other = "acct_other_receiver";
    enqueue_for(&gw, other, &clock, "msg_other", &hook.url).await;
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    assert_eq!(hook.count(), 3);
    assert_eq!(
        gw.store
            .outbox
            .get("msg_other")
            .await
            .unwrap()
            .unwrap()
            .state,
        DeliveryState::Delivered
    );

    // enabled again: sent again
    assert!(gw
        .store
        .outbox
        .enable_endpoint(&gw.account, &hook.url)
        .await
        .unwrap());
    enqueue(&gw, &clock, "msg_back", &hook.url).await;
    assert_eq!(deliver_due(&state).await.unwrap(), 1);
    assert_eq!(hook.count(), 4);
    assert_eq!(
        gw.store
            .outbox
            .get("msg_back")
            .await
            .unwrap()
            .unwrap()
            .state,
        DeliveryState::Delivered
    );
}

/// Issue 21: the engine's deliverer keeps a pipeline — a receiver that does not answer holds
/// one slot while the callbacks queued behind it go out (the deliverer used to lease a
/// batch and wait for all of it, so one slow receiver stalled every callback after it).
async fn a_slow_receiver_holds_one_slot_not_the_queue(db: Db) {
    let (_sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.delivery.batch = 4;
        c.delivery.in_flight = 8;
        c.delivery.tick = Duration::from_millis(20);
    })
    .await;
    // The slow receiver answers only when the test lets it.
    let release = Arc::new(tokio::sync::Notify::new());
    let r = release.clone();
    let slow = axum::Router::new().fallback(move || {
        let r = r.clone();
        async move {
            r.notified().await;
            "ok"
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, slow).await });
    let fast = receiver(vec![]).await;

    let now = time::OffsetDateTime::now_utc();
    let queue = |id: String, url: &str, at: time::OffsetDateTime| NewDelivery {
        webhook_id: id.clone(),
        task_id: format!("task_{id}"),
        account_id: gw.account.clone(),
        url: url.to_string(),
        body: br#"{"success":true,"taskId":"t","status":"succeeded"}"#.to_vec(),
        next_attempt_at: at,
    };
    // The slow one is due first, so it is in the first lease.
    gw.store
        .outbox
        .enqueue(queue(
            "msg_slow".into(),
            &slow_url,
            now - time::Duration::seconds(1),
        ))
        .await
        .unwrap();
    for i in 0..20 {
        gw.store
            .outbox
            .enqueue(queue(format!("msg_fast_{i:02}"), &fast.url, now))
            .await
            .unwrap();
    }
    let engine = genmux_midsync::engine::Engine::spawn(gw.state.clone());
    let mut delivered = 0;
    for _ in 0..500 {
        delivered = 0;
        for i in 0..20 {
            let d = gw
                .store
                .outbox
                .get(&format!("msg_fast_{i:02}"))
                .await
                .unwrap()
                .unwrap();
            delivered += usize::from(d.state == DeliveryState::Delivered);
        }
        if delivered == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered, 20, "callbacks behind a slow receiver went out");
    assert_eq!(fast.hits.lock().unwrap().len(), 20);
    let slow_row = gw.store.outbox.get("msg_slow").await.unwrap().unwrap();
    assert_eq!(
        slow_row.state,
        DeliveryState::Pending,
        "the slow receiver has not answered yet"
    );
    // Once it answers, its callback is delivered too, and the engine stops cleanly.
    release.notify_waiters();
    let mut slow_done = false;
    for _ in 0..500 {
        release.notify_waiters();
        let d = gw.store.outbox.get("msg_slow").await.unwrap().unwrap();
        if d.state == DeliveryState::Delivered {
            slow_done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        slow_done,
        "the slow receiver's callback is delivered once it answers"
    );
    engine.shutdown().await;
}
