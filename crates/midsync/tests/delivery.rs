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
