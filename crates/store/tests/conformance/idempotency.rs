//! IdempotencyStore: I4, T1–T3.

use super::ledger::{assert_balance_is_sum_of_entries, funded_account};
use super::{expect_kind, uid};
use genmux_core::ErrorKind;
use genmux_store::timestamp::now;
use genmux_store::{BeginOutcome, IdempotencyKey, Store, StoredResponse};

const ROUTE: &str = "POST /unified-video/generate";

pub async fn t1_fifty_concurrent_begins_yield_one_task(store: &Store) {
    // 50 identical POSTs with one key: one wins the key and holds; the rest see it running.
    let account = funded_account(store, 1000).await;
    let key = IdempotencyKey::new(uid("key"), ROUTE, "idem-t1").unwrap();
    let mut handles = Vec::new();
    for _ in 0..50 {
        let (s, key, account) = (store.clone(), key.clone(), account.clone());
        handles.push(tokio::spawn(async move {
            let outcome = s.idempotency.begin(&key, "fp-1").await.unwrap();
            if outcome == BeginOutcome::New {
                let task = uid("task");
                assert!(s.ledger.hold(&account, &task, 70).await.unwrap().created);
                let body = format!(r#"{{"taskId":"{task}"}}"#).into_bytes();
                let resp = StoredResponse { status: 200, body };
                assert!(s.idempotency.complete(&key, &resp).await.unwrap());
            }
            outcome
        }));
    }
    let mut new = 0;
    for h in handles {
        match h.await.unwrap() {
            BeginOutcome::New => new += 1,
            BeginOutcome::InProgress | BeginOutcome::Done(_) => {}
            BeginOutcome::Mismatch => panic!("same body reported as a mismatch"),
        }
    }
    assert_eq!(new, 1, "exactly one request owns the key");
    assert_eq!(
        store.ledger.balance(&account).await.unwrap(),
        930,
        "debited once"
    );
    assert_balance_is_sum_of_entries(store, &account).await;
    match store.idempotency.begin(&key, "fp-1").await.unwrap() {
        BeginOutcome::Done(r) => {
            assert_eq!(r.status, 200);
            assert!(r.body.starts_with(br#"{"taskId":"task_"#));
        }
        other => panic!("a replay after completion returns the response, got {other:?}"),
    }
}

pub async fn begin_complete_replay_mismatch_abandon_purge(store: &Store) {
    let api_key = uid("key");
    let key = IdempotencyKey::new(api_key.clone(), ROUTE, "k-1").unwrap();
    let idem = &store.idempotency;
    assert_eq!(idem.begin(&key, "fp-a").await.unwrap(), BeginOutcome::New);
    assert_eq!(
        idem.begin(&key, "fp-a").await.unwrap(),
        BeginOutcome::InProgress
    );
    // T2: same key, other body → mismatch (422), even while in progress.
    assert_eq!(
        idem.begin(&key, "fp-b").await.unwrap(),
        BeginOutcome::Mismatch
    );
    // Bytes are replayed exactly, including non-UTF-8.
    let resp = StoredResponse {
        status: 201,
        body: vec![b'{', 0xff, 0x00, b'}'],
    };
    assert!(idem.complete(&key, &resp).await.unwrap());
    assert!(!idem.complete(&key, &resp).await.unwrap(), "completes once");
    assert_eq!(
        idem.begin(&key, "fp-a").await.unwrap(),
        BeginOutcome::Done(resp.clone())
    );
    assert_eq!(
        idem.begin(&key, "fp-b").await.unwrap(),
        BeginOutcome::Mismatch
    );
    // T2: the same key under another API key or route is independent.
    let other_key = IdempotencyKey::new(uid("key"), ROUTE, "k-1").unwrap();
    assert_eq!(
        idem.begin(&other_key, "fp-b").await.unwrap(),
        BeginOutcome::New
    );
    let other_route =
        IdempotencyKey::new(api_key.clone(), "POST /unified-video/quote", "k-1").unwrap();
    assert_eq!(
        idem.begin(&other_route, "fp-a").await.unwrap(),
        BeginOutcome::New
    );
    // A finished key cannot be abandoned.
    assert!(!idem.abandon(&key).await.unwrap());
    // T3: a request that failed validation abandons its key; the corrected one is processed.
    let t3 = IdempotencyKey::new(api_key, ROUTE, "k-3").unwrap();
    assert_eq!(idem.begin(&t3, "fp-bad").await.unwrap(), BeginOutcome::New);
    assert!(idem.abandon(&t3).await.unwrap());
    assert!(!idem.abandon(&t3).await.unwrap());
    assert_eq!(
        idem.begin(&t3, "fp-fixed").await.unwrap(),
        BeginOutcome::New
    );

    // Retention: nothing younger than the cutoff goes.
    assert_eq!(
        idem.purge_older_than(now() - time::Duration::hours(24))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        idem.begin(&key, "fp-a").await.unwrap(),
        BeginOutcome::Done(resp)
    );
    assert!(
        idem.purge_older_than(now() + time::Duration::seconds(1))
            .await
            .unwrap()
            >= 4
    );
    assert_eq!(idem.begin(&key, "fp-b").await.unwrap(), BeginOutcome::New);

    let e = expect_kind(
        IdempotencyKey::new("k", ROUTE, "x".repeat(256)),
        ErrorKind::InvalidRequest,
    );
    assert!(
        e.message().contains("256") && e.message().contains("1–255"),
        "{e}"
    );
    expect_kind(
        IdempotencyKey::new("k", ROUTE, ""),
        ErrorKind::InvalidRequest,
    );
    assert!(
        IdempotencyKey::new("k", ROUTE, "é".repeat(255)).is_ok(),
        "255 characters, not bytes"
    );
}
