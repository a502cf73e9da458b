//! Asset copies (issue 18): a copy job per task started once, leased to one worker at a
//! time, assets stored once and expired once, stored bytes per account.

use super::{expect_kind, uid};
use genmux_core::{ErrorKind, MediaKind};
use genmux_store::timestamp::now;
use genmux_store::{AssetState, CopyState, NewAsset, NewCopy, Store, StoredBlob};
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

fn copy(account: &str, at: OffsetDateTime, assets: u32) -> NewCopy {
    let task_id = uid("task");
    NewCopy {
        account_id: account.to_string(),
        report: serde_json::json!({"providerTaskId": "up_1", "status": "succeeded"}),
        assets: (0..assets)
            .map(|index| NewAsset {
                id: uid("ast"),
                index,
                kind: MediaKind::Video,
                upstream_url: format!("https://cdn.upstream.example/{task_id}/{index}.mp4"),
            })
            .collect(),
        next_attempt_at: at,
        deadline_at: at + time::Duration::hours(1),
        task_id,
    }
}

fn blob(key: &str, size: i64, at: OffsetDateTime, keep: time::Duration) -> StoredBlob {
    StoredBlob {
        blob_key: key.to_string(),
        content_type: "video/mp4".into(),
        size_bytes: size,
        sha256: "ab".repeat(32),
        stored_at: at,
        expires_at: at + keep,
    }
}

pub async fn copy_job_is_started_once_leased_retried_and_finished(store: &Store) {
    let a = &store.assets;
    let acct = uid("acct");
    // Far in the future, so other tests' due jobs in a shared database do not interfere.
    let t0 = now() + time::Duration::days(3650 * 6);
    let lease = Duration::from_secs(60);
    let c = copy(&acct, t0, 2);
    let job = a.begin_copy(c.clone()).await.unwrap();
    assert_eq!((job.state, job.attempts), (CopyState::Pending, 0));
    assert_eq!(job.report, c.report);
    // A duplicate report of success starts nothing new and keeps the first assets.
    let mut again = c.clone();
    again.assets[0].id = uid("ast");
    assert_eq!(a.begin_copy(again).await.unwrap(), job);
    let assets = a.assets_of(&c.task_id).await.unwrap();
    assert_eq!(
        assets
            .iter()
            .map(|x| (x.id.clone(), x.index, x.state))
            .collect::<Vec<_>>(),
        vec![
            (c.assets[0].id.clone(), 0, AssetState::Pending),
            (c.assets[1].id.clone(), 1, AssetState::Pending)
        ]
    );
    assert_eq!(assets[1].upstream_url, c.assets[1].upstream_url);

    let mine = |v: Vec<genmux_store::CopyJob>| {
        v.into_iter()
            .filter(|j| j.account_id == acct)
            .map(|j| j.task_id)
            .collect::<Vec<_>>()
    };
    assert!(mine(
        a.lease_copies("w1", t0 - time::Duration::seconds(1), 10, lease)
            .await
            .unwrap()
    )
    .is_empty());
    assert_eq!(
        mine(a.lease_copies("w1", t0, 10, lease).await.unwrap()),
        vec![c.task_id.clone()]
    );
    assert!(mine(a.lease_copies("w2", t0, 10, lease).await.unwrap()).is_empty());
    // Only the holder reschedules.
    let t1 = t0 + time::Duration::seconds(30);
    assert!(!a
        .retry_copy(&c.task_id, "w2", t1, "HTTP 503")
        .await
        .unwrap());
    assert!(a
        .retry_copy(&c.task_id, "w1", t1, "HTTP 503")
        .await
        .unwrap());
    let j = a.copy_of(&c.task_id).await.unwrap().unwrap();
    assert_eq!(
        (j.attempts, j.last_error.as_deref(), j.next_attempt_at),
        (1, Some("HTTP 503"), Some(t1))
    );
    // A lease that expires is taken over by another worker.
    assert_eq!(
        mine(a.lease_copies("w2", t1, 10, lease).await.unwrap()),
        vec![c.task_id.clone()]
    );
    let later = t1 + time::Duration::seconds(61);
    assert_eq!(
        mine(a.lease_copies("w3", later, 10, lease).await.unwrap()),
        vec![c.task_id.clone()]
    );

    // A pending asset's upstream URL can be refreshed (a fresh link); a stored one not.
    assert!(a
        .refresh_upstream_url(&c.assets[0].id, "https://cdn.upstream.example/fresh.mp4")
        .await
        .unwrap());
    assert_eq!(
        a.asset(&c.assets[0].id)
            .await
            .unwrap()
            .unwrap()
            .upstream_url,
        "https://cdn.upstream.example/fresh.mp4"
    );
    // An asset is stored once.
    let b = blob("assets/x/0", 1234, t0, time::Duration::days(30));
    assert!(a.mark_stored(&c.assets[0].id, &b).await.unwrap());
    assert!(!a.mark_stored(&c.assets[0].id, &b).await.unwrap());
    let got = a.asset(&c.assets[0].id).await.unwrap().unwrap();
    assert_eq!((got.state, got.blob), (AssetState::Stored, Some(b)));
    assert!(!a
        .refresh_upstream_url(&c.assets[0].id, "https://x.example/late.mp4")
        .await
        .unwrap());
    assert_eq!(a.asset("ast_missing").await.unwrap(), None);

    assert!(a
        .finish_copy(&c.task_id, CopyState::Done, None, later)
        .await
        .unwrap());
    assert!(!a
        .finish_copy(&c.task_id, CopyState::Failed, Some("late"), later)
        .await
        .unwrap());
    let j = a.copy_of(&c.task_id).await.unwrap().unwrap();
    assert_eq!(
        (j.state, j.finished_at, j.lease_owner),
        (CopyState::Done, Some(later), None)
    );
    assert!(mine(
        a.lease_copies("w1", later + time::Duration::days(1), 10, lease)
            .await
            .unwrap()
    )
    .is_empty());
    expect_kind(
        a.finish_copy(&c.task_id, CopyState::Pending, None, later)
            .await,
        ErrorKind::InvalidRequest,
    );
    let mut empty = copy(&acct, t0, 0);
    empty.assets.clear();
    expect_kind(a.begin_copy(empty).await, ErrorKind::InvalidRequest);
}

/// The copier renews its lease while a download runs: only the holder renews, a renewed
/// lease keeps others out until its new end, and a closed job is not renewed.
pub async fn a_copy_lease_is_renewed_only_by_its_holder(store: &Store) {
    let a = &store.assets;
    let acct = uid("acct");
    let t0 = now() + time::Duration::days(3650 * 8);
    let lease = Duration::from_secs(60);
    let c = copy(&acct, t0, 1);
    a.begin_copy(c.clone()).await.unwrap();
    let mine = |v: Vec<genmux_store::CopyJob>| {
        v.into_iter()
            .filter(|j| j.account_id == acct)
            .map(|j| j.task_id)
            .collect::<Vec<_>>()
    };
    // Nobody holds it yet: nothing to renew.
    let until = t0 + time::Duration::seconds(180);
    assert!(!a.renew_copy_lease(&c.task_id, "w1", until).await.unwrap());
    assert_eq!(
        mine(a.lease_copies("w1", t0, 10, lease).await.unwrap()),
        vec![c.task_id.clone()]
    );
    assert!(!a.renew_copy_lease(&c.task_id, "w2", until).await.unwrap());
    assert!(a.renew_copy_lease(&c.task_id, "w1", until).await.unwrap());
    let j = a.copy_of(&c.task_id).await.unwrap().unwrap();
    assert_eq!(
        (j.lease_owner.as_deref(), j.lease_expires_at),
        (Some("w1"), Some(until))
    );
    // Past the first lease's end but within the renewed one: still w1's.
    let past_first = t0 + time::Duration::seconds(90);
    assert!(mine(a.lease_copies("w2", past_first, 10, lease).await.unwrap()).is_empty());
    assert_eq!(
        mine(a.lease_copies("w2", until, 10, lease).await.unwrap()),
        vec![c.task_id.clone()]
    );
    // The old holder lost it and cannot take it back by renewing.
    assert!(!a
        .renew_copy_lease(&c.task_id, "w1", until + time::Duration::seconds(600))
        .await
        .unwrap());
    assert!(a
        .finish_copy(&c.task_id, CopyState::Done, None, until)
        .await
        .unwrap());
    assert!(!a
        .renew_copy_lease(&c.task_id, "w2", until + time::Duration::seconds(600))
        .await
        .unwrap());
}

pub async fn two_copiers_never_hold_the_same_job(store: &Store) {
    let a = &store.assets;
    let acct = uid("acct");
    let t0 = now() + time::Duration::days(3650 * 7);
    let mut want = HashSet::new();
    for _ in 0..20 {
        let c = copy(&acct, t0, 1);
        want.insert(c.task_id.clone());
        a.begin_copy(c).await.unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let a = a.clone();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..10 {
                got.extend(
                    a.lease_copies(&format!("w{w}"), t0, 3, Duration::from_secs(60))
                        .await
                        .unwrap(),
                );
            }
            got
        }));
    }
    let mut seen = Vec::new();
    for w in workers {
        seen.extend(
            w.await
                .unwrap()
                .into_iter()
                .filter(|j| j.account_id == acct)
                .map(|j| j.task_id),
        );
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len(), "a job was leased twice: {seen:?}");
    assert_eq!(unique, want);
}

pub async fn expiry_and_stored_bytes_per_account(store: &Store) {
    let a = &store.assets;
    let (acct, other) = (uid("acct"), uid("acct"));
    let t0 = now();
    let c = copy(&acct, t0, 2);
    let d = copy(&other, t0, 1);
    a.begin_copy(c.clone()).await.unwrap();
    a.begin_copy(d.clone()).await.unwrap();
    let keep = time::Duration::days(30);
    a.mark_stored(&c.assets[0].id, &blob("k/c0", 100, t0, keep))
        .await
        .unwrap();
    a.mark_stored(
        &c.assets[1].id,
        &blob("k/c1", 50, t0, time::Duration::days(1)),
    )
    .await
    .unwrap();
    a.mark_stored(&d.assets[0].id, &blob("k/d0", 7, t0, keep))
        .await
        .unwrap();
    let bytes = a.stored_bytes(Some(&acct)).await.unwrap();
    assert_eq!(
        bytes
            .iter()
            .map(|b| (b.account_id.clone(), b.assets, b.bytes))
            .collect::<Vec<_>>(),
        vec![(acct.clone(), 2, 150)]
    );
    let all = a.stored_bytes(None).await.unwrap();
    assert!(all
        .iter()
        .any(|b| b.account_id == other && b.bytes == 7 && b.assets == 1));

    // Two days on, only the one-day asset is due for deletion.
    let sweep = t0 + time::Duration::days(2);
    let due: Vec<String> = a
        .expired(sweep, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.account_id == acct || x.account_id == other)
        .map(|x| x.id)
        .collect();
    assert_eq!(due, vec![c.assets[1].id.clone()]);
    assert!(a.mark_expired(&c.assets[1].id).await.unwrap());
    assert!(!a.mark_expired(&c.assets[1].id).await.unwrap());
    assert_eq!(
        a.asset(&c.assets[1].id).await.unwrap().unwrap().state,
        AssetState::Expired
    );
    assert_eq!(a.stored_bytes(Some(&acct)).await.unwrap()[0].bytes, 100);
    // A pending asset is never expired.
    assert!(!a.mark_expired(&uid("ast")).await.unwrap());
}
