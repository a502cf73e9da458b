//! Ledger: balances, two-phase charges, and their races.

use super::{expect_kind, uid};
use genmux_core::ErrorKind;
use genmux_store::{EntryKind, HoldState, Resolution, Store};

/// A new account holding `points`.
pub async fn funded_account(store: &Store, points: i64) -> String {
    let account = uid("acct");
    store.ledger.create_account(&account).await.unwrap();
    if points > 0 {
        assert_eq!(store.ledger.top_up(&account, points).await.unwrap(), points);
    }
    account
}

/// I1 for one account: balance = sum of entries, every running balance ≥ 0, and each
/// entry's `balance_after` replays in id order.
pub async fn assert_balance_is_sum_of_entries(store: &Store, account: &str) {
    let balance = store.ledger.balance(account).await.unwrap();
    let entries = store.ledger.entries(account).await.unwrap();
    let mut running = 0;
    for e in &entries {
        running += e.amount;
        assert!(running >= 0, "balance went negative at entry {e:?}");
        assert_eq!(e.balance_after, running, "entry {e:?} does not replay");
    }
    assert_eq!(balance, running, "balance ≠ sum of entries for {account}");
}

fn kinds(entries: &[genmux_store::LedgerEntry]) -> Vec<(EntryKind, i64)> {
    entries.iter().map(|e| (e.kind, e.amount)).collect()
}

pub async fn hold_post_void_move_balances_and_write_entries(store: &Store) {
    let a = funded_account(store, 1000).await;
    let (t1, t2) = (uid("task"), uid("task"));

    let h = store.ledger.hold(&a, &t1, 300).await.unwrap();
    assert!(h.created);
    assert_eq!((h.hold.points, h.hold.state), (300, HoldState::Held));
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 700);
    let r = store.ledger.post(&t1).await.unwrap();
    assert!(r.applied());
    assert_eq!(r.hold().state, HoldState::Posted);
    assert!(r.hold().resolved_at.is_some());
    assert_eq!(
        store.ledger.balance(&a).await.unwrap(),
        700,
        "a post keeps the points"
    );

    store.ledger.hold(&a, &t2, 200).await.unwrap();
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 500);
    let r = store.ledger.void(&t2).await.unwrap();
    assert!(matches!(&r, Resolution::Applied(h) if h.state == HoldState::Voided));
    assert_eq!(
        store.ledger.balance(&a).await.unwrap(),
        700,
        "a void refunds"
    );

    // Repeats and crossed calls are answered, never applied twice.
    let again = store.ledger.post(&t1).await.unwrap();
    assert!(matches!(&again, Resolution::AlreadyResolved(h) if h.state == HoldState::Posted));
    let crossed = store.ledger.void(&t1).await.unwrap();
    assert!(matches!(&crossed, Resolution::AlreadyResolved(h) if h.state == HoldState::Posted));
    let crossed = store.ledger.post(&t2).await.unwrap();
    assert!(matches!(&crossed, Resolution::AlreadyResolved(h) if h.state == HoldState::Voided));
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 700);

    let entries = store.ledger.entries(&a).await.unwrap();
    assert_eq!(
        kinds(&entries),
        vec![
            (EntryKind::TopUp, 1000),
            (EntryKind::Hold, -300),
            (EntryKind::Post, 0),
            (EntryKind::Hold, -200),
            (EntryKind::Void, 200),
        ]
    );
    assert_eq!(entries[1].task_id.as_deref(), Some(t1.as_str()));
    assert_eq!(entries[0].task_id, None);
    assert_balance_is_sum_of_entries(store, &a).await;
    assert_eq!(
        store.ledger.get_hold(&t2).await.unwrap().unwrap().state,
        HoldState::Voided
    );

    // Errors name what is wrong.
    let ghost = uid("acct");
    let e = expect_kind(store.ledger.top_up(&ghost, 5).await, ErrorKind::NotFound);
    assert!(e.message().contains(&ghost), "{e}");
    expect_kind(store.ledger.balance(&ghost).await, ErrorKind::NotFound);
    expect_kind(
        store.ledger.hold(&ghost, &uid("task"), 1).await,
        ErrorKind::NotFound,
    );
    let e = expect_kind(store.ledger.top_up(&a, 0).await, ErrorKind::InvalidRequest);
    assert!(e.message().contains("points = 0"), "{e}");
    expect_kind(store.ledger.top_up(&a, -5).await, ErrorKind::InvalidRequest);
    expect_kind(
        store.ledger.hold(&a, &uid("task"), -1).await,
        ErrorKind::InvalidRequest,
    );
    expect_kind(store.ledger.post(&uid("task")).await, ErrorKind::NotFound);
    expect_kind(store.ledger.void(&uid("task")).await, ErrorKind::NotFound);
    assert_eq!(store.ledger.get_hold(&uid("task")).await.unwrap(), None);
    // Creating an account twice is harmless.
    store.ledger.create_account(&a).await.unwrap();
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 700);
}

pub async fn hold_larger_than_balance_is_refused_and_writes_nothing(store: &Store) {
    let a = funded_account(store, 100).await;
    let t = uid("task");
    let e = expect_kind(
        store.ledger.hold(&a, &t, 101).await,
        ErrorKind::InsufficientPoints,
    );
    assert!(
        e.message().contains("100") && e.message().contains("101"),
        "{e}"
    );
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 100);
    assert_eq!(
        store.ledger.entries(&a).await.unwrap().len(),
        1,
        "only the top-up"
    );
    assert_eq!(store.ledger.get_hold(&t).await.unwrap(), None);
    // The same task can be held once the account can pay.
    store.ledger.top_up(&a, 1).await.unwrap();
    assert!(store.ledger.hold(&a, &t, 101).await.unwrap().created);
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 0);
    // An empty account refuses any positive hold, and a zero-point hold is fine.
    expect_kind(
        store.ledger.hold(&a, &uid("task"), 1).await,
        ErrorKind::InsufficientPoints,
    );
    assert!(
        store
            .ledger
            .hold(&a, &uid("task"), 0)
            .await
            .unwrap()
            .created
    );
    assert_balance_is_sum_of_entries(store, &a).await;
}

pub async fn repeated_hold_returns_the_existing_hold(store: &Store) {
    let a = funded_account(store, 500).await;
    let t = uid("task");
    let first = store.ledger.hold(&a, &t, 200).await.unwrap();
    let second = store.ledger.hold(&a, &t, 200).await.unwrap();
    assert!(first.created && !second.created);
    assert_eq!(first.hold, second.hold);
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 300);
    let e = expect_kind(store.ledger.hold(&a, &t, 250).await, ErrorKind::Conflict);
    assert!(
        e.message().contains("200") && e.message().contains("250"),
        "{e}"
    );
    let b = funded_account(store, 500).await;
    expect_kind(store.ledger.hold(&b, &t, 200).await, ErrorKind::Conflict);
    assert_eq!(store.ledger.balance(&b).await.unwrap(), 500);
    // Even once resolved, a repeat hold answers with the hold and charges nothing.
    store.ledger.void(&t).await.unwrap();
    let replay = store.ledger.hold(&a, &t, 200).await.unwrap();
    assert!(!replay.created);
    assert_eq!(replay.hold.state, HoldState::Voided);
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 500);
    assert_balance_is_sum_of_entries(store, &a).await;
}

pub async fn t1_fifty_concurrent_holds_debit_once(store: &Store) {
    let a = funded_account(store, 1000).await;
    let t = uid("task");
    let mut handles = Vec::new();
    for _ in 0..50 {
        let (s, a, t) = (store.clone(), a.clone(), t.clone());
        handles.push(tokio::spawn(async move { s.ledger.hold(&a, &t, 70).await }));
    }
    let mut created = 0;
    for h in handles {
        let o = h
            .await
            .unwrap()
            .expect("every concurrent hold answers with the hold");
        assert_eq!(o.hold.points, 70);
        created += usize::from(o.created);
    }
    assert_eq!(created, 1, "one hold placed");
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 930, "debited once");
    let holds = store
        .ledger
        .entries(&a)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Hold)
        .count();
    assert_eq!(holds, 1);
    assert_balance_is_sum_of_entries(store, &a).await;
}

async fn race(store: &Store, task: &str, posts: usize, voids: usize) -> Vec<Resolution> {
    let mut handles = Vec::new();
    for i in 0..posts + voids {
        let (s, t) = (store.clone(), task.to_string());
        handles.push(tokio::spawn(async move {
            if i < posts {
                s.ledger.post(&t).await.unwrap()
            } else {
                s.ledger.void(&t).await.unwrap()
            }
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

pub async fn post_and_void_racing_resolve_once(store: &Store) {
    let a = funded_account(store, 1000).await;
    let (tp, tv, tx) = (uid("task"), uid("task"), uid("task"));
    for t in [&tp, &tv, &tx] {
        store.ledger.hold(&a, t, 100).await.unwrap();
    }
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 700);

    let r = race(store, &tp, 20, 0).await;
    assert_eq!(
        r.iter().filter(|r| r.applied()).count(),
        1,
        "20 posts: one applies"
    );
    assert!(r.iter().all(|r| r.hold().state == HoldState::Posted));
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 700);

    let r = race(store, &tv, 0, 20).await;
    assert_eq!(
        r.iter().filter(|r| r.applied()).count(),
        1,
        "20 voids: one applies"
    );
    assert_eq!(
        store.ledger.balance(&a).await.unwrap(),
        800,
        "refunded once"
    );

    let r = race(store, &tx, 10, 10).await;
    let winners: Vec<_> = r.iter().filter(|r| r.applied()).collect();
    assert_eq!(winners.len(), 1, "10 posts + 10 voids: one applies");
    let final_state = winners[0].hold().state;
    assert!(
        r.iter().all(|r| r.hold().state == final_state),
        "all report the winner's state"
    );
    let expected = if final_state == HoldState::Voided {
        900
    } else {
        800
    };
    assert_eq!(store.ledger.balance(&a).await.unwrap(), expected);

    let entries = store.ledger.entries(&a).await.unwrap();
    let resolutions = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Post | EntryKind::Void))
        .count();
    assert_eq!(resolutions, 3, "one post-or-void entry per hold (I2)");
    assert_balance_is_sum_of_entries(store, &a).await;
}
