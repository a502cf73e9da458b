//! TaskStore: records, the transition rule, lookups and leasing.

use super::{expect_kind, uid};
use genmux_core::{Asset, ErrorKind, MediaKind, Operation, TaskStatus};
use genmux_store::timestamp::now;
use genmux_store::{
    NewTask, Page, Store, SubmissionRecord, TaskQuery, TaskUpdate, TaskUpdateOutcome,
};
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

/// A task of `account` due for polling at `due` (`None`: never polled).
pub fn new_task(account: &str, due: Option<OffsetDateTime>) -> NewTask {
    NewTask {
        id: uid("task"),
        account_id: account.to_string(),
        api_key_id: Some(uid("key")),
        model: "kling-2.6-t2v".into(),
        operation: Operation::TextToVideo,
        provider: "kling".into(),
        provider_task_id: Some(uid("kt")),
        provider_model: Some("kling-v2-6".into()),
        status: TaskStatus::Submitted,
        points: 70,
        request: serde_json::json!({"model": "kling-2.6-t2v", "prompt": "a red fox", "duration": 5}),
        callback_url: Some("https://client.example/cb".into()),
        callback_token: Some(uid("cbt")),
        project_id: Some("proj-7".into()),
        external_task_id: Some(uid("ext")),
        caller_external_id: None,
        created_at: now(),
        next_poll_at: due,
        trace_context: Some(format!(
            "00-{}-00f067aa0ba902b7-01",
            uuid::Uuid::new_v4().simple()
        )),
    }
}

fn video(url: &str) -> Asset {
    Asset {
        kind: MediaKind::Video,
        url: url.into(),
        id: Some("v1".into()),
        duration_secs: Some(5.0),
        index: 0,
        size_bytes: Some(1234),
    }
}

fn moved(o: &TaskUpdateOutcome) -> bool {
    matches!(o, TaskUpdateOutcome::Moved(_))
}

/// X3: a caller's own externalTaskId is unique among its account's tasks, refused with a
/// `Conflict` naming it (and writing nothing, not even the hold), while another account may
/// use the same one; it is found by account + id only.
pub async fn caller_external_id_is_unique_per_account(store: &Store) {
    let (a, b) = (uid("acct"), uid("acct"));
    for acct in [&a, &b] {
        store.ledger.create_account(acct).await.unwrap();
        store.ledger.top_up(acct, 1_000).await.unwrap();
    }
    let mut first = new_task(&a, None);
    first.caller_external_id = Some("order-42".into());
    store.tasks.insert_with_hold(first.clone()).await.unwrap();

    let mut again = new_task(&a, None);
    again.caller_external_id = Some("order-42".into());
    let e = expect_kind(
        store.tasks.insert_with_hold(again.clone()).await,
        ErrorKind::Conflict,
    );
    assert!(e.message().starts_with("externalTaskId: `order-42`"), "{e}");
    assert_eq!(store.tasks.get(&again.id).await.unwrap(), None);
    assert_eq!(
        store.ledger.balance(&a).await.unwrap(),
        930,
        "only the first hold"
    );

    let mut other = new_task(&b, None);
    other.caller_external_id = Some("order-42".into());
    store.tasks.insert_with_hold(other.clone()).await.unwrap();

    let found = store
        .tasks
        .find_by_caller_external_id(&a, "order-42")
        .await
        .unwrap()
        .expect("found in its account");
    assert_eq!(found.id, first.id);
    assert_eq!(found.caller_external_id.as_deref(), Some("order-42"));
    let found_b = store
        .tasks
        .find_by_caller_external_id(&b, "order-42")
        .await
        .unwrap()
        .expect("found in the other account");
    assert_eq!(found_b.id, other.id);
    assert_eq!(
        store
            .tasks
            .find_by_caller_external_id(&uid("acct"), "order-42")
            .await
            .unwrap(),
        None
    );
    // Tasks without one never collide.
    for _ in 0..2 {
        store
            .tasks
            .insert_with_hold(new_task(&a, None))
            .await
            .unwrap();
    }
}

pub async fn insert_and_get_round_trip(store: &Store) {
    let t = new_task(&uid("acct"), Some(now()));
    let rec = store.tasks.insert(t.clone()).await.unwrap();
    let got = store
        .tasks
        .get(&t.id)
        .await
        .unwrap()
        .expect("inserted task is found");
    assert_eq!(got, rec);
    assert_eq!(got.id, t.id);
    assert_eq!(got.account_id, t.account_id);
    assert_eq!(got.api_key_id, t.api_key_id);
    assert_eq!(got.operation, Operation::TextToVideo);
    assert_eq!(got.provider_task_id, t.provider_task_id);
    assert_eq!(got.status, TaskStatus::Submitted);
    assert_eq!(got.points, 70);
    assert_eq!(got.request, t.request);
    assert_eq!(got.callback_url, t.callback_url);
    assert_eq!(got.callback_token, t.callback_token);
    assert_eq!(got.project_id.as_deref(), Some("proj-7"));
    assert_eq!(got.external_task_id, t.external_task_id);
    assert_eq!(got.created_at, t.created_at);
    assert_eq!(got.next_poll_at, t.next_poll_at);
    assert!(got.assets.is_empty() && got.error.is_none());
    assert_eq!((got.poll_attempts, got.lease_owner.clone()), (0, None));
    assert!(t.trace_context.is_some());
    assert_eq!(
        got.trace_context, t.trace_context,
        "the creating request's traceparent is kept"
    );

    let mut dup = new_task(&t.account_id, None);
    dup.id = t.id.clone();
    let e = expect_kind(store.tasks.insert(dup).await, ErrorKind::Conflict);
    assert!(e.message().contains(&t.id), "{e}");
    assert_eq!(store.tasks.get(&uid("task")).await.unwrap(), None);
}

pub async fn list_by_account_is_newest_first_and_paged(store: &Store) {
    let account = uid("acct");
    let base = now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut t = new_task(&account, None);
        t.created_at = base + time::Duration::seconds(i);
        ids.push(t.id.clone());
        store.tasks.insert(t).await.unwrap();
    }
    store
        .tasks
        .insert(new_task(&uid("other"), None))
        .await
        .unwrap();
    ids.reverse(); // newest first
    let page = |page, limit| store.tasks.list_by_account(&account, Page { page, limit });
    let ids_of = |v: Vec<genmux_store::TaskRecord>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids_of(page(1, 2).await.unwrap()), ids[0..2]);
    assert_eq!(ids_of(page(2, 2).await.unwrap()), ids[2..4]);
    assert_eq!(ids_of(page(3, 2).await.unwrap()), ids[4..5]);
    assert!(page(4, 2).await.unwrap().is_empty());
    assert_eq!(ids_of(page(1, 100).await.unwrap()), ids);
    let e = expect_kind(page(0, 2).await, ErrorKind::InvalidRequest);
    assert!(e.message().contains("page = 0"), "{e}");
    expect_kind(page(1, 0).await, ErrorKind::InvalidRequest);
    expect_kind(page(1, 1001).await, ErrorKind::InvalidRequest);
}

/// `TaskStore::list` (issue 13 point 5): only the account's tasks, newest first, each filter
/// narrowing the page and the total alike.
pub async fn list_filters_by_kind_status_model_and_date(store: &Store) {
    let account = uid("acct");
    let base = now();
    // Oldest first: i seconds after `base`.
    let specs = [
        (
            "kling-2.6-t2v",
            Operation::TextToVideo,
            TaskStatus::Submitted,
        ),
        (
            "kling-2.5-turbo",
            Operation::ImageToVideo,
            TaskStatus::Succeeded,
        ),
        ("kling-image", Operation::TextToImage, TaskStatus::Failed),
        (
            "kling-2.6-t2v",
            Operation::TextToVideo,
            TaskStatus::Cancelled,
        ),
        (
            "kling-image",
            Operation::ImageToImage,
            TaskStatus::Processing,
        ),
        (
            "kling-2.6-t2v",
            Operation::TextToVideo,
            TaskStatus::Succeeded,
        ),
    ];
    let mut ids = Vec::new();
    for (i, (model, op, status)) in specs.iter().enumerate() {
        let mut t = new_task(&account, None);
        t.model = model.to_string();
        t.operation = *op;
        t.status = *status;
        t.created_at = base + time::Duration::seconds(i as i64);
        ids.push(t.id.clone());
        store.tasks.insert(t).await.unwrap();
    }
    // Another account's task, newer than all of them, is never listed.
    let mut other = new_task(&uid("other"), None);
    other.created_at = base + time::Duration::seconds(60);
    store.tasks.insert(other).await.unwrap();

    let list = |q: TaskQuery| async move {
        let p = store.tasks.list(&q).await.unwrap();
        (
            p.tasks.into_iter().map(|t| t.id).collect::<Vec<_>>(),
            p.total,
        )
    };
    let pick = |idx: &[usize]| idx.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();
    let all = || TaskQuery::account(&account, 100);

    assert_eq!(list(all()).await, (pick(&[5, 4, 3, 2, 1, 0]), 6));
    // Paged: the total counts every page.
    let mut q = all();
    q.page = Page { page: 2, limit: 4 };
    assert_eq!(list(q).await, (pick(&[1, 0]), 6));
    // Kind, by the operation's output.
    let mut q = all();
    q.kind = Some(MediaKind::Video);
    assert_eq!(list(q).await, (pick(&[5, 3, 1, 0]), 4));
    let mut q = all();
    q.kind = Some(MediaKind::Image);
    assert_eq!(list(q).await, (pick(&[4, 2]), 2));
    // Statuses (any of them).
    let mut q = all();
    q.statuses = vec![TaskStatus::Succeeded, TaskStatus::Cancelled];
    assert_eq!(list(q).await, (pick(&[5, 3, 1]), 3));
    // Model, combined with a status.
    let mut q = all();
    q.model = Some("kling-2.6-t2v".into());
    assert_eq!(list(q.clone()).await, (pick(&[5, 3, 0]), 3));
    q.statuses = vec![TaskStatus::Submitted];
    assert_eq!(list(q).await, (pick(&[0]), 1));
    // Creation time: from inclusive, to exclusive.
    let mut q = all();
    q.from = Some(base + time::Duration::seconds(2));
    q.to = Some(base + time::Duration::seconds(4));
    assert_eq!(list(q).await, (pick(&[3, 2]), 2));
    // Nothing matches: an empty page, total 0.
    let mut q = all();
    q.model = Some("grok-video".into());
    assert_eq!(list(q).await, (vec![], 0));
    // Another account sees none of them.
    assert_eq!(
        list(TaskQuery::account(uid("nobody"), 10)).await,
        (vec![], 0)
    );

    let mut q = all();
    q.page = Page { page: 0, limit: 10 };
    let e = expect_kind(store.tasks.list(&q).await, ErrorKind::InvalidRequest);
    assert!(e.message().contains("page = 0"), "{e}");
    let mut q = all();
    q.page = Page {
        page: 1,
        limit: 1001,
    };
    expect_kind(store.tasks.list(&q).await, ErrorKind::InvalidRequest);
    let mut q = all();
    q.from = Some(base + time::Duration::seconds(5));
    q.to = Some(base);
    let e = expect_kind(store.tasks.list(&q).await, ErrorKind::InvalidRequest);
    assert!(e.message().contains("after it ends"), "{e}");
}

/// `cancelled` is stored, read back and final: no later observation moves it, and a
/// finished task cannot become cancelled.
pub async fn cancelled_is_final(store: &Store) {
    let t = new_task(&uid("acct"), Some(now()));
    store.tasks.insert(t.clone()).await.unwrap();
    let mut cancel = TaskUpdate::status(TaskStatus::Cancelled);
    cancel.error = Some("cancelled at the caller's request".into());
    let o = store.tasks.update(&t.id, cancel).await.unwrap();
    assert!(moved(&o));
    assert_eq!(o.record().status, TaskStatus::Cancelled);
    assert_eq!(
        o.record().next_poll_at,
        None,
        "a cancelled task is not polled"
    );
    for later in [
        TaskStatus::Succeeded,
        TaskStatus::Failed,
        TaskStatus::Processing,
    ] {
        let o = store
            .tasks
            .update(&t.id, TaskUpdate::status(later))
            .await
            .unwrap();
        assert!(!moved(&o), "{later} moved a cancelled task");
    }
    let got = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(got.status, TaskStatus::Cancelled);
    assert_eq!(
        got.error.as_deref(),
        Some("cancelled at the caller's request")
    );
    // Not leased for polling any more.
    let leased = store
        .tasks
        .lease_due(
            &uid("w"),
            now() + time::Duration::hours(1),
            1000,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert!(leased.iter().all(|l| l.id != t.id));

    let done = new_task(&uid("acct"), None);
    store.tasks.insert(done.clone()).await.unwrap();
    store
        .tasks
        .update(&done.id, TaskUpdate::status(TaskStatus::Succeeded))
        .await
        .unwrap();
    let o = store
        .tasks
        .update(&done.id, TaskUpdate::status(TaskStatus::Cancelled))
        .await
        .unwrap();
    assert!(!moved(&o));
    assert_eq!(o.record().status, TaskStatus::Succeeded);
}

pub async fn update_follows_the_transition_rule(store: &Store) {
    let t = new_task(&uid("acct"), Some(now()));
    store.tasks.insert(t.clone()).await.unwrap();
    let up = |u: TaskUpdate| store.tasks.update(&t.id, u);

    let o = up(TaskUpdate::status(TaskStatus::Processing))
        .await
        .unwrap();
    assert!(moved(&o));
    assert_eq!(o.record().status, TaskStatus::Processing);
    // Backwards and repeated observations are no-ops, not errors.
    let o = up(TaskUpdate::status(TaskStatus::Submitted)).await.unwrap();
    assert!(!moved(&o));
    assert_eq!(o.record().status, TaskStatus::Processing);
    assert!(!moved(
        &up(TaskUpdate::status(TaskStatus::Processing))
            .await
            .unwrap()
    ));

    let mut done = TaskUpdate::status(TaskStatus::Succeeded);
    done.assets = vec![video("https://cdn.example/v.mp4")];
    let o = up(done).await.unwrap();
    assert!(moved(&o));
    let rec = o.record();
    assert_eq!(rec.status, TaskStatus::Succeeded);
    assert_eq!(rec.assets, vec![video("https://cdn.example/v.mp4")]);
    assert_eq!(rec.next_poll_at, None, "a final task is not polled");

    // A finished task never moves back or sideways, and nothing it carries is stored.
    let mut fail = TaskUpdate::status(TaskStatus::Failed);
    fail.error = Some("late failure".into());
    let o = up(fail).await.unwrap();
    assert!(!moved(&o));
    let stored = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TaskStatus::Succeeded);
    assert_eq!(stored.error, None);
    assert_eq!(stored.assets.len(), 1);

    // An unknown submission is resolved when its upstream id is found.
    let mut u = new_task(&uid("acct"), None);
    u.status = TaskStatus::Unknown;
    u.provider_task_id = None;
    store.tasks.insert(u.clone()).await.unwrap();
    let mut found = TaskUpdate::status(TaskStatus::Submitted);
    found.provider_task_id = Some("kt-found".into());
    found.provider_model = Some("kling-v2-6".into());
    let o = store.tasks.update(&u.id, found).await.unwrap();
    assert!(moved(&o));
    assert_eq!(o.record().provider_task_id.as_deref(), Some("kt-found"));
    let mut failed = TaskUpdate::status(TaskStatus::Failed);
    failed.error = Some("content rejected".into());
    let o = store.tasks.update(&u.id, failed).await.unwrap();
    assert_eq!(o.record().error.as_deref(), Some("content rejected"));

    expect_kind(
        store
            .tasks
            .update(&uid("task"), TaskUpdate::status(TaskStatus::Failed))
            .await,
        ErrorKind::NotFound,
    );
}

pub async fn concurrent_updates_move_a_task_once(store: &Store) {
    // W3's basis: the same callback delivered many times at once changes state once.
    let t = new_task(&uid("acct"), Some(now()));
    store.tasks.insert(t.clone()).await.unwrap();
    let mut handles = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        let id = t.id.clone();
        let status = if i % 2 == 0 {
            TaskStatus::Succeeded
        } else {
            TaskStatus::Failed
        };
        handles.push(tokio::spawn(async move {
            s.tasks
                .update(&id, TaskUpdate::status(status))
                .await
                .unwrap()
        }));
    }
    let mut winners = Vec::new();
    for h in handles {
        if let TaskUpdateOutcome::Moved(r) = h.await.unwrap() {
            winners.push(r.status);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one update moves the task: {winners:?}"
    );
    let stored = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.status, winners[0]);
}

pub async fn find_by_provider_task_and_callback_token(store: &Store) {
    let t = new_task(&uid("acct"), None);
    store.tasks.insert(t.clone()).await.unwrap();
    let ptid = t.provider_task_id.clone().unwrap();
    let by_pt = store
        .tasks
        .find_by_provider_task("kling", &ptid)
        .await
        .unwrap();
    assert_eq!(by_pt.map(|r| r.id), Some(t.id.clone()));
    // Task affinity: the same upstream id under another provider is another task.
    assert_eq!(
        store
            .tasks
            .find_by_provider_task("seedance", &ptid)
            .await
            .unwrap(),
        None
    );
    let token = t.callback_token.clone().unwrap();
    let by_token = store.tasks.find_by_callback_token(&token).await.unwrap();
    assert_eq!(by_token.map(|r| r.id), Some(t.id.clone()));
    assert_eq!(
        store.tasks.find_by_callback_token("nope").await.unwrap(),
        None
    );
}

pub async fn lease_due_reschedule_and_expiry(store: &Store) {
    // Lease windows are far from the real clock so other tests' tasks are never due here.
    let far = now() + time::Duration::days(3650 * 3);
    let account = uid("acct");
    let due = new_task(&account, Some(far - time::Duration::seconds(10)));
    let later = new_task(&account, Some(far + time::Duration::hours(1)));
    let never = new_task(&account, None);
    let finished = new_task(&account, Some(far - time::Duration::seconds(20)));
    for t in [&due, &later, &never, &finished] {
        store.tasks.insert(t.clone()).await.unwrap();
    }
    store
        .tasks
        .update(&finished.id, TaskUpdate::status(TaskStatus::Failed))
        .await
        .unwrap();

    let lease = Duration::from_secs(30);
    let mine = |v: Vec<genmux_store::TaskRecord>| {
        v.into_iter()
            .filter(|t| t.account_id == account)
            .collect::<Vec<_>>()
    };
    let got = mine(store.tasks.lease_due("w1", far, 100, lease).await.unwrap());
    assert_eq!(got.iter().map(|t| &t.id).collect::<Vec<_>>(), vec![&due.id]);
    assert_eq!(got[0].lease_owner.as_deref(), Some("w1"));
    assert_eq!(
        got[0].lease_expires_at,
        Some(far + time::Duration::seconds(30))
    );
    assert_eq!(got[0].poll_attempts, 1);
    // Held by w1: w2 gets nothing, and cannot reschedule it.
    assert!(mine(store.tasks.lease_due("w2", far, 100, lease).await.unwrap()).is_empty());
    assert!(!store
        .tasks
        .reschedule(&due.id, "w2", Some(far))
        .await
        .unwrap());
    // w1 reschedules: the lease is released and the task is due again at the new time.
    let next = far + time::Duration::seconds(5);
    assert!(store
        .tasks
        .reschedule(&due.id, "w1", Some(next))
        .await
        .unwrap());
    let rec = store.tasks.get(&due.id).await.unwrap().unwrap();
    assert_eq!((rec.next_poll_at, rec.lease_owner), (Some(next), None));
    assert!(mine(store.tasks.lease_due("w2", far, 100, lease).await.unwrap()).is_empty());
    let got = mine(store.tasks.lease_due("w2", next, 100, lease).await.unwrap());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].poll_attempts, 2);
    // w2 dies; once its lease expires w3 takes the task over, and w2 can no longer touch it.
    let expired = next + time::Duration::seconds(30);
    assert!(mine(
        store
            .tasks
            .lease_due("w3", expired - time::Duration::microseconds(1), 100, lease)
            .await
            .unwrap()
    )
    .is_empty());
    let got = mine(
        store
            .tasks
            .lease_due("w3", expired, 100, lease)
            .await
            .unwrap(),
    );
    assert_eq!(
        got.iter()
            .map(|t| t.lease_owner.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("w3")]
    );
    assert!(!store.tasks.reschedule(&due.id, "w2", None).await.unwrap());
    // A task that finishes while leased is released and never leased again.
    store
        .tasks
        .update(&due.id, TaskUpdate::status(TaskStatus::Succeeded))
        .await
        .unwrap();
    let rec = store.tasks.get(&due.id).await.unwrap().unwrap();
    assert_eq!((rec.lease_owner, rec.next_poll_at), (None, None));
    let far_later = far + time::Duration::days(1);
    let got = mine(
        store
            .tasks
            .lease_due("w4", far_later, 100, lease)
            .await
            .unwrap(),
    );
    assert_eq!(
        got.iter().map(|t| &t.id).collect::<Vec<_>>(),
        vec![&later.id]
    );
    assert!(store
        .tasks
        .lease_due("w4", far_later, 0, lease)
        .await
        .unwrap()
        .is_empty());
}

pub async fn two_pollers_never_hold_the_same_task(store: &Store) {
    let far = now() + time::Duration::days(3650 * 4);
    let account = uid("acct");
    let mut all = HashSet::new();
    for _ in 0..40 {
        let t = new_task(&account, Some(far));
        all.insert(t.id.clone());
        store.tasks.insert(t).await.unwrap();
    }
    let poller = |worker: &'static str| {
        let s = store.clone();
        let account = account.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s
                    .tasks
                    .lease_due(worker, far, 3, Duration::from_secs(600))
                    .await
                    .unwrap();
                let mine: Vec<_> = batch
                    .into_iter()
                    .filter(|t| t.account_id == account)
                    .collect();
                if mine.is_empty() {
                    return got;
                }
                for t in &mine {
                    assert_eq!(t.lease_owner.as_deref(), Some(worker));
                }
                got.extend(mine.into_iter().map(|t| t.id));
                tokio::task::yield_now().await;
            }
        })
    };
    let (a, b) = (poller("poller-a"), poller("poller-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (sa, sb): (HashSet<_>, HashSet<_>) =
        (a.iter().cloned().collect(), b.iter().cloned().collect());
    assert_eq!(sa.len(), a.len(), "poller a leased a task twice");
    assert_eq!(sb.len(), b.len(), "poller b leased a task twice");
    assert!(
        sa.is_disjoint(&sb),
        "both pollers held {:?}",
        sa.intersection(&sb).collect::<Vec<_>>()
    );
    assert_eq!(&sa | &sb, all, "every due task was leased");
}

/// A task inserted before its submission (R4): named at each failover, then either
/// recorded where it went or discarded; neither touches a task that has moved on.
pub async fn submission_intent_is_retargeted_recorded_or_discarded(store: &Store) {
    let intent = |account: &str| NewTask {
        provider_task_id: None,
        provider_model: None,
        status: TaskStatus::Unknown,
        ..new_task(account, Some(now()))
    };
    let account = uid("acct");

    // Failover: the row follows the attempt; then the second provider's answer is recorded.
    let t = intent(&account);
    store.tasks.insert(t.clone()).await.unwrap();
    assert!(store
        .tasks
        .retarget_unsubmitted(&t.id, "midsync")
        .await
        .unwrap());
    let got = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(
        (got.provider.as_str(), got.status),
        ("midsync", TaskStatus::Unknown)
    );
    let recorded = store
        .tasks
        .record_submission(
            &t.id,
            SubmissionRecord {
                provider: "midsync".into(),
                provider_task_id: Some("up_1".into()),
                provider_model: Some("kling-v2-6".into()),
                status: TaskStatus::Submitted,
                external_task_id: None,
                next_poll_at: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.provider_task_id.as_deref(), Some("up_1"));
    assert_eq!(recorded.status, TaskStatus::Submitted);
    assert_eq!(
        recorded.external_task_id, t.external_task_id,
        "kept when none is given"
    );
    // Submitted now: neither a late retarget nor a discard may touch it.
    assert!(!store
        .tasks
        .retarget_unsubmitted(&t.id, "kling")
        .await
        .unwrap());
    assert!(!store.tasks.discard_unsubmitted(&t.id).await.unwrap());
    let after = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(after.provider, "midsync");
    assert_eq!(after.status, TaskStatus::Submitted);

    // Refused everywhere: the row goes; an unknown id changes nothing.
    let refused = intent(&account);
    store.tasks.insert(refused.clone()).await.unwrap();
    assert!(store.tasks.discard_unsubmitted(&refused.id).await.unwrap());
    assert_eq!(store.tasks.get(&refused.id).await.unwrap(), None);
    assert!(!store
        .tasks
        .retarget_unsubmitted(&refused.id, "kling")
        .await
        .unwrap());
    assert!(!store.tasks.discard_unsubmitted(&refused.id).await.unwrap());
}

/// A task and its hold in one transaction: both or neither.
pub async fn insert_with_hold_writes_both_or_neither(store: &Store) {
    let account = super::ledger::funded_account(store, 100).await;
    let mut t = new_task(&account, Some(now()));
    t.points = 70;
    let rec = store.tasks.insert_with_hold(t.clone()).await.unwrap();
    assert_eq!((rec.id.as_str(), rec.points), (t.id.as_str(), 70));
    let hold = store.ledger.get_hold(&t.id).await.unwrap().expect("hold");
    assert_eq!(
        (hold.account_id.as_str(), hold.points),
        (account.as_str(), 70)
    );
    assert_eq!(hold.state, genmux_store::HoldState::Held);
    assert_eq!(store.ledger.balance(&account).await.unwrap(), 30);
    super::ledger::assert_balance_is_sum_of_entries(store, &account).await;

    // Too few points: the error names the balance; no task, no hold, no entry.
    let mut poor = new_task(&account, Some(now()));
    poor.points = 31;
    let e = expect_kind(
        store.tasks.insert_with_hold(poor.clone()).await,
        ErrorKind::InsufficientPoints,
    );
    assert!(
        e.message().contains("has 30 points") && e.message().contains("needs 31"),
        "{e}"
    );
    assert_eq!(store.tasks.get(&poor.id).await.unwrap(), None);
    assert_eq!(store.ledger.get_hold(&poor.id).await.unwrap(), None);

    // The task row fails (its id is taken by a task without a hold): the debit and the
    // hold are rolled back with it.
    let bare = new_task(&account, None);
    store.tasks.insert(bare.clone()).await.unwrap();
    let mut clash = new_task(&account, None);
    clash.id = bare.id.clone();
    clash.points = 10;
    expect_kind(
        store.tasks.insert_with_hold(clash).await,
        ErrorKind::Conflict,
    );
    assert_eq!(store.ledger.get_hold(&bare.id).await.unwrap(), None);

    // The same task again, with points to cover it: Conflict at its hold, debit undone.
    store.ledger.top_up(&account, 100).await.unwrap();
    expect_kind(
        store.tasks.insert_with_hold(t.clone()).await,
        ErrorKind::Conflict,
    );
    assert_eq!(store.ledger.balance(&account).await.unwrap(), 130);

    // No such account.
    let orphan = new_task(&uid("acct"), None);
    expect_kind(
        store.tasks.insert_with_hold(orphan.clone()).await,
        ErrorKind::NotFound,
    );
    assert_eq!(store.tasks.get(&orphan.id).await.unwrap(), None);

    assert_eq!(store.ledger.balance(&account).await.unwrap(), 130);
    assert_eq!(
        store.ledger.entries(&account).await.unwrap().len(),
        3,
        "two top-ups and one hold"
    );
    super::ledger::assert_balance_is_sum_of_entries(store, &account).await;
}

/// Issue 13 point 10: a failed task keeps the upstream's own text for operators beside the
/// message callers see; a finished task's texts are not overwritten, and a new task has
/// none.
pub async fn upstream_error_is_kept_beside_the_caller_message(store: &Store) {
    let t = new_task(&uid("acct"), Some(now()));
    let fresh = store.tasks.insert(t.clone()).await.unwrap();
    assert_eq!(fresh.upstream_error, None);
    let processing = store
        .tasks
        .update(&t.id, TaskUpdate::status(TaskStatus::Processing))
        .await
        .unwrap();
    assert_eq!(processing.record().upstream_error, None);
    let mut failed = TaskUpdate::status(TaskStatus::Failed);
    failed.error = Some("the provider could not generate this task".into());
    failed.upstream_error = Some("Kling: risk control hit (request_id r-1)".into());
    let o = store.tasks.update(&t.id, failed).await.unwrap();
    assert!(moved(&o));
    let stored = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.error.as_deref(), stored.upstream_error.as_deref()),
        (
            Some("the provider could not generate this task"),
            Some("Kling: risk control hit (request_id r-1)")
        )
    );
    let mut late = TaskUpdate::status(TaskStatus::Failed);
    late.upstream_error = Some("a late report".into());
    assert!(!moved(&store.tasks.update(&t.id, late).await.unwrap()));
    let again = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(
        again.upstream_error.as_deref(),
        Some("Kling: risk control hit (request_id r-1)")
    );
    // listed records carry it too
    let listed = store
        .tasks
        .list_by_account(&t.account_id, genmux_store::Page { page: 1, limit: 10 })
        .await
        .unwrap();
    assert_eq!(listed[0].upstream_error, again.upstream_error);
}

/// Issue 14 point 6: a provider's in-flight count is its unfinished tasks (submitted,
/// processing, unknown — accepted or maybe accepted), across every writer of the database:
/// a task stops counting when it settles, an intent row moves with a failover, a discarded
/// one is gone, the submission being routed leaves itself out, and counting stops at the
/// limit asked about.
pub async fn count_unfinished_counts_what_a_provider_may_run(store: &Store) {
    let account = uid("acct");
    let provider = uid("prov");
    let other = uid("prov");
    let count = |except: Option<String>| {
        let provider = provider.clone();
        async move {
            store
                .tasks
                .count_unfinished(&provider, except.as_deref(), 100)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(None).await, 0);

    let mut running = Vec::new();
    for status in [TaskStatus::Submitted, TaskStatus::Processing] {
        let mut t = new_task(&account, Some(now()));
        t.provider = provider.clone();
        t.status = status;
        store.tasks.insert(t.clone()).await.unwrap();
        running.push(t);
    }
    // An intent row (written before its first attempt), another provider's task.
    let intent = NewTask {
        provider: provider.clone(),
        provider_task_id: None,
        provider_model: None,
        status: TaskStatus::Unknown,
        ..new_task(&account, Some(now()))
    };
    store.tasks.insert(intent.clone()).await.unwrap();
    let mut elsewhere = new_task(&account, Some(now()));
    elsewhere.provider = other.clone();
    store.tasks.insert(elsewhere).await.unwrap();

    assert_eq!(count(None).await, 3);
    assert_eq!(
        store
            .tasks
            .count_unfinished(&provider, None, 2)
            .await
            .unwrap(),
        2,
        "counting stops at `at_most`"
    );
    assert_eq!(
        count(Some(intent.id.clone())).await,
        2,
        "the submission being routed leaves itself out"
    );
    assert_eq!(
        store
            .tasks
            .count_unfinished(&other, None, 100)
            .await
            .unwrap(),
        1
    );

    // Settling stops a task counting, whoever settles it.
    for (t, status) in running
        .iter()
        .zip([TaskStatus::Succeeded, TaskStatus::Failed])
    {
        let o = store
            .tasks
            .update(&t.id, TaskUpdate::status(status))
            .await
            .unwrap();
        assert!(moved(&o));
    }
    assert_eq!(count(None).await, 1);
    // A failover moves the intent's slot to the next provider.
    assert!(store
        .tasks
        .retarget_unsubmitted(&intent.id, &other)
        .await
        .unwrap());
    assert_eq!(count(None).await, 0);
    assert_eq!(
        store
            .tasks
            .count_unfinished(&other, None, 100)
            .await
            .unwrap(),
        2
    );
    // Refused everywhere: discarded, it counts nowhere.
    assert!(store.tasks.discard_unsubmitted(&intent.id).await.unwrap());
    assert_eq!(
        store
            .tasks
            .count_unfinished(&other, None, 100)
            .await
            .unwrap(),
        1
    );
}

/// Issue 19: the gauges count unfinished tasks by status and see how long the oldest due
/// poll and the oldest due callback have waited (each test has a fresh database).
pub async fn gauges_see_unfinished_tasks_due_polls_and_pending_callbacks(store: &Store) {
    let account = uid("acct");
    let now = now();
    let empty = store.gauges(now).await.unwrap();
    assert_eq!(
        empty.unfinished,
        vec![
            (TaskStatus::Submitted, 0),
            (TaskStatus::Processing, 0),
            (TaskStatus::Unknown, 0)
        ]
    );
    assert_eq!((empty.polls_due, empty.oldest_due_poll), (0, None));
    assert_eq!(
        (empty.callbacks_pending, empty.oldest_due_callback),
        (0, None)
    );

    let late = now - Duration::from_secs(600);
    let t = new_task(&account, Some(late));
    store.tasks.insert(t.clone()).await.unwrap();
    store
        .tasks
        .insert(new_task(&account, Some(now + Duration::from_secs(60))))
        .await
        .unwrap();
    let mut processing = new_task(&account, None);
    processing.status = TaskStatus::Processing;
    store.tasks.insert(processing).await.unwrap();
    for at in [late, now + Duration::from_secs(60)] {
        store
            .outbox
            .enqueue(genmux_store::NewDelivery {
                webhook_id: uid("msg"),
                task_id: t.id.clone(),
                account_id: account.clone(),
                url: "https://client.example/hook".into(),
                body: b"{}".to_vec(),
                next_attempt_at: at,
            })
            .await
            .unwrap();
    }

    let g = store.gauges(now).await.unwrap();
    assert_eq!(
        g.unfinished,
        vec![
            (TaskStatus::Submitted, 2),
            (TaskStatus::Processing, 1),
            (TaskStatus::Unknown, 0)
        ]
    );
    assert_eq!(g.polls_due, 1, "the poll due later is not due");
    assert_eq!(g.oldest_due_poll, Some(late));
    assert_eq!(g.callbacks_pending, 2, "every pending callback is backlog");
    assert_eq!(
        g.oldest_due_callback,
        Some(late),
        "only due ones have waited"
    );

    // Settled, the task leaves the unfinished count and the due polls.
    store
        .tasks
        .update(
            &t.id,
            TaskUpdate {
                status: TaskStatus::Failed,
                assets: Vec::new(),
                error: Some("x".into()),
                upstream_error: None,
                provider_task_id: None,
                provider_model: None,
            },
        )
        .await
        .unwrap();
    let g = store.gauges(now).await.unwrap();
    assert_eq!(g.unfinished[0], (TaskStatus::Submitted, 1));
    assert_eq!((g.polls_due, g.oldest_due_poll), (0, None));
}

/// A settlement (issue 21) commits the hold's resolution, the usage row, the callback and
/// the final status together; a later settlement the other way changes nothing and says
/// how the hold ended; a task without a hold is `NotFound` with nothing written.
pub async fn settle_commits_every_step_together_or_none(store: &Store) {
    use genmux_store::{HoldState, NewDelivery, Resolution, Settlement, UsageRecord};
    let account = super::ledger::funded_account(store, 100).await;
    let mut t = new_task(&account, Some(now()));
    t.points = 70;
    store.tasks.insert_with_hold(t.clone()).await.unwrap();
    let usage = UsageRecord {
        task_id: t.id.clone(),
        account_id: account.clone(),
        api_key_id: t.api_key_id.clone(),
        model: t.model.clone(),
        points: 70,
        usage: serde_json::json!({"duration": 5}),
        input_tokens: 0,
        output_tokens: 0,
        created_at: now(),
        caller_external_id: None,
        upstream_cost_micros: Some(500_000),
        margin_micros: Some(200_000),
    };
    let delivery = NewDelivery {
        webhook_id: uid("msg"),
        task_id: t.id.clone(),
        account_id: account.clone(),
        url: "https://client.example/cb".into(),
        body: br#"{"status":"succeeded"}"#.to_vec(),
        next_attempt_at: now(),
    };
    let succeeded = TaskUpdate {
        assets: vec![video("https://gateway.example/v1/assets/a1")],
        ..TaskUpdate::status(TaskStatus::Succeeded)
    };
    let settled = store
        .tasks
        .settle(Settlement {
            task_id: t.id.clone(),
            hold: HoldState::Posted,
            usage: Some(usage.clone()),
            delivery: Some(delivery.clone()),
            update: succeeded,
            copy_done_at: None,
            stored_assets: Vec::new(),
        })
        .await
        .unwrap();
    assert!(
        matches!(settled.resolution, Resolution::Applied(ref h) if h.state == HoldState::Posted)
    );
    match settled.outcome {
        Some(TaskUpdateOutcome::Moved(r)) => {
            assert_eq!(r.status, TaskStatus::Succeeded);
            assert_eq!(r.assets.len(), 1);
        }
        other => panic!("expected the task moved, got {other:?}"),
    }
    assert_eq!(store.ledger.balance(&account).await.unwrap(), 30);
    super::ledger::assert_balance_is_sum_of_entries(store, &account).await;
    let queued = store.outbox.get(&delivery.webhook_id).await.unwrap();
    assert_eq!(queued.map(|d| d.task_id), Some(t.id.clone()));
    let to = now() + time::Duration::hours(1);
    let summary = store
        .usage
        .summary(&account, to - time::Duration::days(1), to)
        .await
        .unwrap();
    assert_eq!(
        (summary.total.points_charged, summary.total.requests),
        (70, 1),
        "one usage row"
    );

    // A contradicting report afterwards: the hold stays posted, nothing else is written.
    let again = store
        .tasks
        .settle(Settlement {
            task_id: t.id.clone(),
            hold: HoldState::Voided,
            usage: None,
            delivery: Some(NewDelivery {
                webhook_id: uid("msg"),
                ..delivery.clone()
            }),
            update: TaskUpdate::status(TaskStatus::Failed),
            copy_done_at: None,
            stored_assets: Vec::new(),
        })
        .await
        .unwrap();
    assert!(
        matches!(again.resolution, Resolution::AlreadyResolved(ref h) if h.state == HoldState::Posted)
    );
    assert!(again.outcome.is_none());
    let task = store.tasks.get(&t.id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded);
    assert_eq!(store.ledger.balance(&account).await.unwrap(), 30);

    // No hold: NotFound, and the task is untouched.
    let bare = new_task(&account, None);
    store.tasks.insert(bare.clone()).await.unwrap();
    expect_kind(
        store
            .tasks
            .settle(Settlement {
                task_id: bare.id.clone(),
                hold: HoldState::Posted,
                usage: None,
                delivery: None,
                update: TaskUpdate::status(TaskStatus::Succeeded),
                copy_done_at: None,
                stored_assets: Vec::new(),
            })
            .await,
        ErrorKind::NotFound,
    );
    let bare_now = store.tasks.get(&bare.id).await.unwrap().unwrap();
    assert_eq!(bare_now.status, TaskStatus::Submitted);

    // A copied task: its last asset's record and the copy job's end commit with the rest;
    // when the hold ended the other way, neither is written.
    let copied_settlement = |task_id: &str, asset_id: &str, hold: HoldState| Settlement {
        task_id: task_id.to_string(),
        hold,
        usage: None,
        delivery: None,
        update: TaskUpdate::status(TaskStatus::Succeeded),
        copy_done_at: Some(now()),
        stored_assets: vec![(
            asset_id.to_string(),
            genmux_store::StoredBlob {
                blob_key: format!("{account}/{task_id}/{asset_id}"),
                content_type: "video/mp4".into(),
                size_bytes: 16_384,
                sha256: "cd".repeat(32),
                stored_at: now(),
                expires_at: now() + time::Duration::days(30),
            },
        )],
    };
    for (hold, cancelled_first) in [(HoldState::Posted, false), (HoldState::Posted, true)] {
        let mut c = new_task(&account, Some(now()));
        c.points = 10;
        store.tasks.insert_with_hold(c.clone()).await.unwrap();
        let asset_id = uid("ast");
        store
            .assets
            .begin_copy(genmux_store::NewCopy {
                task_id: c.id.clone(),
                account_id: account.clone(),
                report: serde_json::json!({"status": "succeeded"}),
                assets: vec![genmux_store::NewAsset {
                    id: asset_id.clone(),
                    index: 0,
                    kind: MediaKind::Video,
                    upstream_url: "https://cdn.upstream.example/0.mp4".into(),
                }],
                next_attempt_at: now() + time::Duration::days(3650 * 9),
                deadline_at: now() + time::Duration::days(3650 * 9),
            })
            .await
            .unwrap();
        if cancelled_first {
            store.ledger.void(&c.id).await.unwrap();
        }
        let settled = store
            .tasks
            .settle(copied_settlement(&c.id, &asset_id, hold))
            .await
            .unwrap();
        let asset = store.assets.asset(&asset_id).await.unwrap().unwrap();
        let job = store.assets.copy_of(&c.id).await.unwrap().unwrap();
        if cancelled_first {
            assert!(settled.outcome.is_none());
            assert_eq!(
                (asset.state, job.state),
                (
                    genmux_store::AssetState::Pending,
                    genmux_store::CopyState::Pending
                )
            );
        } else {
            assert!(settled.outcome.is_some());
            assert_eq!(
                (asset.state, job.state),
                (
                    genmux_store::AssetState::Stored,
                    genmux_store::CopyState::Done
                )
            );
            assert_eq!(asset.blob.map(|b| b.size_bytes), Some(16_384));
        }
    }
}
