//! AccountStore: operator account management (issue 13 point 4) — creation without twins,
//! balances with held points, top-ups and adjustments with reasons that never take a
//! balance below zero, paged ledgers newest first, and an audit row for every change.

use super::ledger::assert_balance_is_sum_of_entries;
use super::{expect_kind, uid};
use genmux_core::ErrorKind;
use genmux_store::{AccountAuditAction, Actor, AuditAction, EntryKind, NewKey, Page, Scope, Store};

fn operator() -> Actor {
    Actor {
        key_id: Some(uid("opkey")),
        account_id: Some("default".into()),
    }
}

fn page(page: u32, limit: u32) -> Page {
    Page { page, limit }
}

pub async fn create_get_list_and_refuse_twins(store: &Store) {
    let actor = operator();
    let prefix = uid("acct");
    let ids: Vec<String> = ["b", "a", "c"]
        .iter()
        .map(|s| format!("{prefix}-{s}"))
        .collect();
    for id in &ids {
        let a = store.accounts.create(id, &actor).await.unwrap();
        assert_eq!(
            (a.id.as_str(), a.balance, a.held_points),
            (id.as_str(), 0, 0)
        );
    }
    let e = expect_kind(
        store.accounts.create(&ids[0], &actor).await,
        ErrorKind::Conflict,
    );
    assert!(e.message().contains(&ids[0]), "{e}");
    assert!(e.message().contains("already exists"), "{e}");

    // Case and whitespace twins, control characters and overlong ids are refused by the
    // operator path and the ledger's own create alike, and nothing is created.
    let upper = ids[0].to_uppercase();
    let spaced = format!("{} ", ids[0]);
    let long = "x".repeat(5000);
    for bad in [
        upper.as_str(),
        spaced.as_str(),
        "a\u{0}b",
        long.as_str(),
        "",
    ] {
        let e = expect_kind(
            store.accounts.create(bad, &actor).await,
            ErrorKind::InvalidRequest,
        );
        assert!(e.message().starts_with("accountId: `"), "{e}");
        assert!(e.message().contains("allowed: 1–63 characters"), "{e}");
        let e = expect_kind(
            store.ledger.create_account(bad).await,
            ErrorKind::InvalidRequest,
        );
        assert!(e.message().starts_with("account_id: `"), "{e}");
        assert_eq!(store.accounts.get(bad).await.unwrap(), None);
    }

    let got = store.accounts.get(&ids[1]).await.unwrap().expect("account");
    assert_eq!(got.balance, 0);
    assert_eq!(store.accounts.get(&uid("ghost")).await.unwrap(), None);

    // Paged by id: every account once, in id order, the total the same on every page.
    let mut seen = Vec::new();
    let mut total = None;
    for p in 1.. {
        let got = store.accounts.list(page(p, 2)).await.unwrap();
        assert!(got.accounts.len() <= 2);
        assert_eq!(*total.get_or_insert(got.total), got.total);
        if got.accounts.is_empty() {
            break;
        }
        seen.extend(got.accounts.into_iter().map(|a| a.id));
    }
    assert_eq!(seen.len() as u64, total.unwrap());
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "listed by id");
    let mine: Vec<&String> = seen.iter().filter(|s| s.starts_with(&prefix)).collect();
    assert_eq!(
        mine,
        vec![
            &format!("{prefix}-a"),
            &format!("{prefix}-b"),
            &format!("{prefix}-c")
        ]
    );
    expect_kind(
        store.accounts.list(page(0, 10)).await,
        ErrorKind::InvalidRequest,
    );

    let audit = store.accounts.audit_log(Some(&ids[0])).await.unwrap();
    assert_eq!(
        audit.len(),
        1,
        "one row for the creation, none for the refusals"
    );
    assert_eq!(audit[0].action, AccountAuditAction::Created);
    assert_eq!(audit[0].actor, actor);
}

pub async fn top_up_adjust_hold_and_ledger_with_reasons(store: &Store) {
    let actor = operator();
    let a = uid("acct");
    store.accounts.create(&a, &actor).await.unwrap();

    let e = store
        .accounts
        .top_up(&a, 100, "welcome credit", &actor)
        .await
        .unwrap();
    assert_eq!(
        (e.kind, e.amount, e.balance_after, e.reason.as_deref()),
        (EntryKind::TopUp, 100, 100, Some("welcome credit"))
    );
    let e = store
        .accounts
        .adjust(&a, -30, "refund of invoice 7 reversed", &actor)
        .await
        .unwrap();
    assert_eq!(
        (e.kind, e.amount, e.balance_after),
        (EntryKind::Adjust, -30, 70)
    );
    let e = store
        .accounts
        .adjust(&a, 5, "goodwill", &actor)
        .await
        .unwrap();
    assert_eq!((e.amount, e.balance_after), (5, 75));

    // A running task holds 20: the balance shows what can still be spent, the held points
    // what is reserved.
    let task = uid("task");
    store.ledger.hold(&a, &task, 20).await.unwrap();
    let acct = store.accounts.get(&a).await.unwrap().unwrap();
    assert_eq!((acct.balance, acct.held_points), (55, 20));

    // Never below zero: refused with the balance named, nothing written.
    let entries_before = store.ledger.entries(&a).await.unwrap();
    let e = expect_kind(
        store.accounts.adjust(&a, -56, "too much", &actor).await,
        ErrorKind::Conflict,
    );
    assert!(e.message().starts_with("points: "), "{e}");
    assert!(e.message().contains("balance is 55 points"), "{e}");
    assert!(e.message().contains("20 more are held"), "{e}");
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 55);
    assert_eq!(store.ledger.entries(&a).await.unwrap(), entries_before);
    // Exactly to zero is allowed.
    let e = store
        .accounts
        .adjust(&a, -55, "account closed", &actor)
        .await
        .unwrap();
    assert_eq!(e.balance_after, 0);
    store.ledger.void(&task).await.unwrap();
    let acct = store.accounts.get(&a).await.unwrap().unwrap();
    assert_eq!((acct.balance, acct.held_points), (20, 0));

    // Bad input names the field and writes nothing.
    for (points, reason, field) in [
        (0, "r", "points"),
        (-1, "r", "points"),
        (i64::MAX, "r", "points"),
        (1, "", "reason"),
        (1, "  ", "reason"),
        (1, "a\u{7}b", "reason"),
    ] {
        let e = expect_kind(
            store.accounts.top_up(&a, points, reason, &actor).await,
            ErrorKind::InvalidRequest,
        );
        assert!(e.message().starts_with(&format!("{field}: ")), "{e}");
    }
    let long = "r".repeat(501);
    for (points, reason, field) in [
        (0, "r", "points"),
        (i64::MIN, "r", "points"),
        (1, long.as_str(), "reason"),
    ] {
        let e = expect_kind(
            store.accounts.adjust(&a, points, reason, &actor).await,
            ErrorKind::InvalidRequest,
        );
        assert!(e.message().starts_with(&format!("{field}: ")), "{e}");
    }
    // Past the largest balance: refused by the account's state, unchanged.
    let e = expect_kind(
        store
            .accounts
            .top_up(&a, 1_000_000_000_000_000, "max", &actor)
            .await,
        ErrorKind::Conflict,
    );
    assert!(e.message().contains("largest balance"), "{e}");
    let ghost = uid("ghost");
    for r in [
        store.accounts.top_up(&ghost, 1, "r", &actor).await,
        store.accounts.adjust(&ghost, 1, "r", &actor).await,
    ] {
        let e = expect_kind(r, ErrorKind::NotFound);
        assert!(e.message().contains(&ghost), "{e}");
    }
    expect_kind(
        store.accounts.entries(&ghost, page(1, 10)).await,
        ErrorKind::NotFound,
    );
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 20);
    assert_balance_is_sum_of_entries(store, &a).await;

    // The ledger, newest first and paged: top_up, adjust, adjust, hold, adjust, void.
    let all = store.accounts.entries(&a, page(1, 100)).await.unwrap();
    assert_eq!(all.total, 6);
    let kinds: Vec<(EntryKind, i64)> = all.entries.iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(
        kinds,
        vec![
            (EntryKind::Void, 20),
            (EntryKind::Adjust, -55),
            (EntryKind::Hold, -20),
            (EntryKind::Adjust, 5),
            (EntryKind::Adjust, -30),
            (EntryKind::TopUp, 100),
        ]
    );
    assert_eq!(all.entries[2].task_id.as_deref(), Some(task.as_str()));
    assert_eq!(all.entries[1].reason.as_deref(), Some("account closed"));
    let p2 = store.accounts.entries(&a, page(2, 4)).await.unwrap();
    assert_eq!(p2.total, 6);
    assert_eq!(p2.entries, all.entries[4..].to_vec());

    // One audit row per change, none for refusals, each naming the actor, the points, the
    // balance after, the reason and its ledger entry.
    let audit = store.accounts.audit_log(Some(&a)).await.unwrap();
    type Row<'a> = (
        AccountAuditAction,
        Option<i64>,
        Option<i64>,
        Option<&'a str>,
    );
    let rows: Vec<Row> = audit
        .iter()
        .map(|r| (r.action, r.points, r.balance_after, r.reason.as_deref()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (AccountAuditAction::Created, None, None, None),
            (
                AccountAuditAction::TopUp,
                Some(100),
                Some(100),
                Some("welcome credit")
            ),
            (
                AccountAuditAction::Adjust,
                Some(-30),
                Some(70),
                Some("refund of invoice 7 reversed")
            ),
            (
                AccountAuditAction::Adjust,
                Some(5),
                Some(75),
                Some("goodwill")
            ),
            (
                AccountAuditAction::Adjust,
                Some(-55),
                Some(0),
                Some("account closed")
            ),
        ]
    );
    assert!(audit.iter().all(|r| r.actor == actor && r.account_id == a));
    assert_eq!(audit[1].ledger_entry_id, Some(all.entries[5].id));
    let everything = store.accounts.audit_log(None).await.unwrap();
    assert!(everything.len() >= audit.len());
}

/// Twenty concurrent adjustments of -10 on 100 points: exactly ten apply, the balance
/// ends at zero and never went below it (I1).
pub async fn concurrent_adjustments_never_go_below_zero(store: &Store) {
    let actor = operator();
    let a = uid("acct");
    store.accounts.create(&a, &actor).await.unwrap();
    store
        .accounts
        .top_up(&a, 100, "seed", &actor)
        .await
        .unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (store, a, actor) = (store.clone(), a.clone(), actor.clone());
        set.spawn(async move {
            store
                .accounts
                .adjust(&a, -10, &format!("take {i}"), &actor)
                .await
        });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (10, 10));
    assert_eq!(store.ledger.balance(&a).await.unwrap(), 0);
    assert_balance_is_sum_of_entries(store, &a).await;
    let adjusts = store
        .accounts
        .audit_log(Some(&a))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == AccountAuditAction::Adjust)
        .count();
    assert_eq!(adjusts, 10, "an audit row per applied adjustment only");
}

pub async fn create_and_revoke_key_write_both_audit_logs(store: &Store) {
    let actor = operator();
    let a = uid("acct");
    store.accounts.create(&a, &actor).await.unwrap();
    let created = store
        .accounts
        .create_key(
            NewKey {
                account_id: a.clone(),
                name: "tenant admin".into(),
                scopes: vec![Scope::Admin],
                expires_at: None,
            },
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(created.key.account_id, a);
    assert_eq!(
        store.keys.authenticate(&created.plaintext).await.unwrap(),
        created.key
    );
    let key_audit = store.keys.audit_log(Some(&a)).await.unwrap();
    assert_eq!(key_audit.len(), 1);
    assert_eq!(key_audit[0].action, AuditAction::Created);
    assert_eq!(
        key_audit[0].key_id.as_deref(),
        Some(created.key.id.as_str())
    );
    let audit = store.accounts.audit_log(Some(&a)).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.action, AccountAuditAction::KeyCreated);
    assert_eq!(last.actor, actor);
    assert!(last.detail.contains(&created.key.id), "{}", last.detail);
    assert!(last.detail.contains("scopes=admin"), "{}", last.detail);
    assert!(
        !last.detail.contains(&created.plaintext),
        "no secret in the audit"
    );

    // Revoked through the account store: both audit logs, once.
    assert!(store
        .accounts
        .revoke_key(&created.key.id, &actor)
        .await
        .unwrap());
    assert!(!store
        .accounts
        .revoke_key(&created.key.id, &actor)
        .await
        .unwrap());
    expect_kind(
        store.keys.authenticate(&created.plaintext).await,
        ErrorKind::Unauthenticated,
    );
    let last = store.accounts.audit_log(Some(&a)).await.unwrap();
    let last = last.last().unwrap();
    assert_eq!(last.action, AccountAuditAction::KeyRevoked);
    assert_eq!(last.actor, actor);
    assert_eq!(last.detail, format!("key={}", created.key.id));
    let revoked = store.keys.audit_log(Some(&a)).await.unwrap();
    assert_eq!(
        revoked
            .iter()
            .filter(|r| r.action == AuditAction::Revoked)
            .count(),
        1
    );
    expect_kind(
        store.accounts.revoke_key(&uid("nokey"), &actor).await,
        ErrorKind::NotFound,
    );

    // A key for an account that does not exist: refused, nothing written anywhere.
    let ghost = uid("ghost");
    let e = expect_kind(
        store
            .accounts
            .create_key(
                NewKey {
                    account_id: ghost.clone(),
                    name: "x".into(),
                    scopes: vec![Scope::ApiRead],
                    expires_at: None,
                },
                &actor,
            )
            .await,
        ErrorKind::NotFound,
    );
    assert!(e.message().contains(&ghost), "{e}");
    assert!(store
        .accounts
        .audit_log(Some(&ghost))
        .await
        .unwrap()
        .is_empty());
    assert!(store.keys.audit_log(Some(&ghost)).await.unwrap().is_empty());
    assert_eq!(store.accounts.get(&ghost).await.unwrap(), None);
}
