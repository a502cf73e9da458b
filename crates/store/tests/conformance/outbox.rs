//! Outbox: outbound callbacks (W2's storage side).

use super::{expect_kind, uid};
use genmux_store::timestamp::now;
use genmux_store::{Delivery, DeliveryState, GiveUpReason, NewDelivery, Store};
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

fn delivery(account: &str, at: OffsetDateTime) -> NewDelivery {
    NewDelivery {
        webhook_id: uid("msg"),
        task_id: uid("task"),
        account_id: account.to_string(),
        url: "https://client.example/hook".into(),
        body: br#"{"taskId":"t","status":"succeeded"}"#.to_vec(),
        next_attempt_at: at,
    }
}

fn ids(v: &[Delivery], account: &str) -> Vec<String> {
    v.iter()
        .filter(|d| d.account_id == account)
        .map(|d| d.webhook_id.clone())
        .collect()
}

pub async fn enqueue_lease_reschedule_deliver_give_up(store: &Store) {
    let ob = &store.outbox;
    let acct = uid("acct");
    let t0 = now() + time::Duration::days(3650 * 5);
    let lease = Duration::from_secs(60);
    let d = delivery(&acct, t0);
    let stored = ob.enqueue(d.clone()).await.unwrap();
    assert_eq!(
        (stored.state, stored.attempts, stored.body.clone()),
        (DeliveryState::Pending, 0, d.body.clone())
    );
    // Enqueueing the same webhook id again keeps the first (its id is stable across retries).
    let mut again = d.clone();
    again.body = b"other".to_vec();
    assert_eq!(ob.enqueue(again).await.unwrap(), stored);

    assert!(ids(
        &ob.lease_due("w1", t0 - time::Duration::seconds(1), 10, lease)
            .await
            .unwrap(),
        &acct
    )
    .is_empty());
    let got = ob.lease_due("w1", t0, 10, lease).await.unwrap();
    assert_eq!(ids(&got, &acct), vec![d.webhook_id.clone()]);
    assert_eq!(got[0].lease_owner.as_deref(), Some("w1"));
    assert!(ids(&ob.lease_due("w2", t0, 10, lease).await.unwrap(), &acct).is_empty());

    // A failed attempt: only the lease holder reschedules; the id stays, attempts count.
    let t1 = t0 + time::Duration::seconds(5);
    assert!(!ob
        .reschedule(&d.webhook_id, "w2", t1, "HTTP 500")
        .await
        .unwrap());
    assert!(ob
        .reschedule(&d.webhook_id, "w1", t1, "HTTP 500")
        .await
        .unwrap());
    let rec = ob.get(&d.webhook_id).await.unwrap().unwrap();
    assert_eq!(
        (rec.attempts, rec.last_error.as_deref(), rec.next_attempt_at),
        (1, Some("HTTP 500"), Some(t1))
    );
    assert_eq!(rec.lease_owner, None);
    assert!(ids(&ob.lease_due("w2", t0, 10, lease).await.unwrap(), &acct).is_empty());
    assert_eq!(
        ids(&ob.lease_due("w2", t1, 10, lease).await.unwrap(), &acct),
        vec![d.webhook_id.clone()]
    );
    // w2 vanishes; after its lease ends w3 takes over.
    let t2 = t1 + time::Duration::seconds(60);
    assert_eq!(
        ids(&ob.lease_due("w3", t2, 10, lease).await.unwrap(), &acct),
        vec![d.webhook_id.clone()]
    );
    assert!(ob.mark_delivered(&d.webhook_id, t2).await.unwrap());
    assert!(
        !ob.mark_delivered(&d.webhook_id, t2).await.unwrap(),
        "delivered once"
    );
    let rec = ob.get(&d.webhook_id).await.unwrap().unwrap();
    assert_eq!(
        (rec.state, rec.attempts, rec.finished_at),
        (DeliveryState::Delivered, 2, Some(t2))
    );
    assert!(ids(
        &ob.lease_due("w3", t2 + time::Duration::days(1), 10, lease)
            .await
            .unwrap(),
        &acct
    )
    .is_empty());

    // 410 disables; running out of attempts exhausts. Neither is leased again.
    let gone = ob.enqueue(delivery(&acct, t0)).await.unwrap();
    let tired = ob.enqueue(delivery(&acct, t0)).await.unwrap();
    assert!(ob
        .give_up(&gone.webhook_id, GiveUpReason::Disabled, "HTTP 410", t2)
        .await
        .unwrap());
    assert!(ob
        .give_up(&tired.webhook_id, GiveUpReason::Exhausted, "timeout", t2)
        .await
        .unwrap());
    assert!(!ob
        .give_up(&tired.webhook_id, GiveUpReason::Exhausted, "timeout", t2)
        .await
        .unwrap());
    assert!(!ob
        .reschedule(&gone.webhook_id, "w1", t2, "x")
        .await
        .unwrap());
    let g = ob.get(&gone.webhook_id).await.unwrap().unwrap();
    assert_eq!(
        (g.state, g.last_error.as_deref(), g.attempts),
        (DeliveryState::Disabled, Some("HTTP 410"), 1)
    );
    assert_eq!(
        ob.get(&tired.webhook_id).await.unwrap().unwrap().state,
        DeliveryState::Exhausted
    );
    assert!(ids(
        &ob.lease_due("w1", t2 + time::Duration::days(1), 10, lease)
            .await
            .unwrap(),
        &acct
    )
    .is_empty());
    assert_eq!(ob.get("msg_missing").await.unwrap(), None);
}

pub async fn two_deliverers_never_hold_the_same_callback(store: &Store) {
    let acct = uid("acct");
    let at = now() + time::Duration::days(3650 * 6);
    let mut all = HashSet::new();
    for _ in 0..30 {
        all.insert(
            store
                .outbox
                .enqueue(delivery(&acct, at))
                .await
                .unwrap()
                .webhook_id,
        );
    }
    let worker = |name: &'static str| {
        let (s, acct) = (store.clone(), acct.clone());
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s
                    .outbox
                    .lease_due(name, at, 2, Duration::from_secs(600))
                    .await
                    .unwrap();
                let mine = ids(&batch, &acct);
                if mine.is_empty() {
                    return got;
                }
                got.extend(mine);
                tokio::task::yield_now().await;
            }
        })
    };
    let (a, b) = (worker("d-a"), worker("d-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (sa, sb): (HashSet<_>, HashSet<_>) =
        (a.iter().cloned().collect(), b.iter().cloned().collect());
    assert_eq!(
        sa.len() + sb.len(),
        a.len() + b.len(),
        "a worker leased a callback twice"
    );
    assert!(sa.is_disjoint(&sb));
    assert_eq!(&sa | &sb, all);
}

/// Issue 13 point 10: a disabled endpoint is one URL of one account; disabling twice keeps
/// the first record; a delivery skipped because of it ends `disabled` with the reason and
/// no attempt counted; enabling removes it (once).
pub async fn disabled_endpoints_are_per_account_and_url(store: &Store) {
    use genmux_store::DisabledEndpoint;
    let ob = &store.outbox;
    let (a, b) = (uid("acct"), uid("acct"));
    let url = "https://client.example/hook";
    let t0 = now();
    assert_eq!(ob.disabled_endpoint(&a, url).await.unwrap(), None);
    assert!(ob.disabled_endpoints(&a).await.unwrap().is_empty());
    let first = DisabledEndpoint {
        account_id: a.clone(),
        url: url.into(),
        reason: "HTTP 410 Gone to msg_1".into(),
        webhook_id: Some("msg_1".into()),
        disabled_at: t0,
    };
    let stored = ob.disable_endpoint(first.clone()).await.unwrap();
    assert_eq!(stored, first);
    // again (another deliverer saw a 410 too): the first record stays
    let mut second = first.clone();
    second.reason = "HTTP 410 Gone to msg_2".into();
    second.webhook_id = Some("msg_2".into());
    second.disabled_at = t0 + time::Duration::seconds(5);
    assert_eq!(ob.disable_endpoint(second).await.unwrap(), first);
    // another URL of the account, listed newest first
    let other = DisabledEndpoint {
        url: "https://client.example/other".into(),
        disabled_at: t0 + time::Duration::seconds(10),
        ..first.clone()
    };
    ob.disable_endpoint(other.clone()).await.unwrap();
    assert_eq!(
        ob.disabled_endpoints(&a).await.unwrap(),
        vec![other.clone(), first.clone()]
    );
    // the same URL of another account is not disabled
    assert_eq!(ob.disabled_endpoint(&b, url).await.unwrap(), None);
    assert!(ob.disabled_endpoints(&b).await.unwrap().is_empty());
    // an empty key is refused
    expect_kind(
        ob.disable_endpoint(DisabledEndpoint {
            url: String::new(),
            ..first.clone()
        })
        .await,
        genmux_core::ErrorKind::InvalidRequest,
    );

    // a pending delivery skipped for it: disabled, reason kept, no attempt counted
    let d = ob.enqueue(delivery(&a, t0)).await.unwrap();
    assert!(ob
        .skip_disabled(&d.webhook_id, "endpoint disabled", t0)
        .await
        .unwrap());
    assert!(!ob
        .skip_disabled(&d.webhook_id, "endpoint disabled", t0)
        .await
        .unwrap());
    let rec = ob.get(&d.webhook_id).await.unwrap().unwrap();
    assert_eq!(
        (
            rec.state,
            rec.attempts,
            rec.last_error.as_deref(),
            rec.finished_at,
            rec.next_attempt_at
        ),
        (
            DeliveryState::Disabled,
            0,
            Some("endpoint disabled"),
            Some(t0),
            None
        )
    );
    assert!(ids(
        &ob.lease_due(
            "w1",
            t0 + time::Duration::days(1),
            10,
            Duration::from_secs(60)
        )
        .await
        .unwrap(),
        &a
    )
    .is_empty());

    // enabled again: gone from the list, once
    assert!(ob.enable_endpoint(&a, url).await.unwrap());
    assert!(!ob.enable_endpoint(&a, url).await.unwrap());
    assert_eq!(ob.disabled_endpoint(&a, url).await.unwrap(), None);
    assert_eq!(ob.disabled_endpoints(&a).await.unwrap(), vec![other]);
}
