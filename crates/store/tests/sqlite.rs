//! The conformance suite on SQLite (a temporary file per test), plus what only a file
//! database must prove: durability across reopening and across a writer killed by SIGKILL,
//! and that no API key secret lands in the file (K1).

mod conformance;

use conformance::ledger::assert_balance_is_sum_of_entries;
use conformance::{expect_kind, uid};
use genmux_core::ErrorKind;
use genmux_store::{NewKey, Scope, Store};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A fresh SQLite database in its own temporary directory, removed on drop.
pub struct Scratch {
    pub store: Store,
    dir: PathBuf,
}

impl Scratch {
    fn url(dir: &std::path::Path) -> String {
        format!("sqlite://{}", dir.join("genmux.db").display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(uid("genmux-store-test"));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

async fn scratch() -> Scratch {
    let dir = scratch_dir();
    let store = Store::open(&Scratch::url(&dir))
        .await
        .expect("open SQLite store");
    assert_eq!(store.backend(), "sqlite");
    Scratch { store, dir }
}

conformance_tests!(scratch);

/// Migration 0003 on a file written up to 0002 keeps its data, moves Idempotency-Key
/// records to accounts and makes the first-start key an operator (conformance/upgrade.rs).
#[tokio::test(flavor = "multi_thread")]
async fn upgrading_a_0002_database_keeps_it_and_scopes_idempotency_per_account() {
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;
    let dir = scratch_dir();
    let url = Scratch::url(&dir);
    let before = conformance::upgrade::migrations_before_0003("sqlite", &dir);
    let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(before)
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    for stmt in conformance::upgrade::seed_statements("X'00'") {
        sqlx::query(&stmt).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let store = Store::open(&url).await.expect("0003 applies");
    conformance::upgrade::check(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn open_rejects_an_unknown_scheme() {
    let e = Store::open("mysql://localhost/x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("`mysql`"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_memory_store_keeps_its_data_across_calls() {
    // One connection holds the whole database: migrations and later calls must share it.
    let store = Store::open("sqlite::memory:").await.unwrap();
    let account = uid("acct");
    store.ledger.create_account(&account).await.unwrap();
    store.ledger.top_up(&account, 10).await.unwrap();
    expect_kind(
        store.ledger.hold(&account, "t", 11).await,
        ErrorKind::InsufficientPoints,
    );
    store.ledger.hold(&account, "t", 4).await.unwrap();
    assert!(store.ledger.void("t").await.unwrap().applied());
    assert_eq!(store.ledger.balance(&account).await.unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn reopening_keeps_committed_data_and_migrates_once() {
    let s = scratch().await;
    let account = uid("acct");
    s.store.ledger.create_account(&account).await.unwrap();
    s.store.ledger.top_up(&account, 500).await.unwrap();
    s.store.ledger.hold(&account, "task-1", 120).await.unwrap();
    s.store.ledger.post("task-1").await.unwrap();
    s.store.close().await;

    let reopened = Store::open(&Scratch::url(&s.dir)).await.unwrap();
    assert_eq!(reopened.ledger.balance(&account).await.unwrap(), 380);
    assert_eq!(reopened.ledger.entries(&account).await.unwrap().len(), 3);
    assert!(!reopened.ledger.post("task-1").await.unwrap().applied());
    assert_balance_is_sum_of_entries(&reopened, &account).await;
    reopened.close().await;
}

const CHILD_ENV: &str = "GENMUX_STORE_TEST_CRASH_CHILD_URL";
const CRASH_TEST: &str = "a_writer_killed_by_sigkill_loses_no_committed_movement";
const COMMITS_BEFORE_KILL: u64 = 40;

/// Writers in the child at once, so their movements share group commits.
const CRASH_WRITERS: u64 = 8;

/// The child's side: `CRASH_WRITERS` tasks commit ledger movements forever, each
/// announcing every movement after its commit returned.
async fn crash_child(url: &str) {
    let store = Store::open(url).await.expect("child opens the store");
    store.ledger.create_account("crash").await.unwrap();
    store.ledger.top_up("crash", 1_000_000).await.unwrap();
    println!("ready");
    let writers = (0..CRASH_WRITERS).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            // Bounded so an orphaned child cannot run forever.
            for i in 0..20_000u64 {
                let task = format!("crash-{w}-{i}");
                store.ledger.hold("crash", &task, 3).await.unwrap();
                if i % 2 == 0 {
                    store.ledger.post(&task).await.unwrap();
                } else {
                    store.ledger.void(&task).await.unwrap();
                }
                println!("committed {w} {i}");
            }
        })
    });
    for w in writers.collect::<Vec<_>>() {
        w.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_killed_by_sigkill_loses_no_committed_movement() {
    if let Ok(url) = std::env::var(CHILD_ENV) {
        crash_child(&url).await;
        return;
    }
    let dir = scratch_dir();
    let url = Scratch::url(&dir);
    // Re-run this test binary on just this test, in child mode.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child writer");
    let stdout = child.stdout.take().unwrap();
    // Per writer, the last movement it announced.
    let mut last_committed = std::collections::BTreeMap::new();
    let mut announced = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("read the child's output");
        if let Some(rest) = line.strip_prefix("committed ") {
            let (w, i) = rest.trim().split_once(' ').expect("committed W I");
            let (w, i): (u64, u64) = (w.parse().unwrap(), i.parse().unwrap());
            last_committed.insert(w, i);
            announced += 1;
            if announced >= COMMITS_BEFORE_KILL * CRASH_WRITERS {
                break;
            }
        }
    }
    // `Child::kill` is SIGKILL on Unix: no destructor, no pool close, no checkpoint.
    child.kill().expect("SIGKILL the child");
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the child was killed, not finished: {status}"
    );
    assert!(
        !last_committed.is_empty(),
        "the child committed before it was killed"
    );

    let store = Store::open(&url).await.expect("reopen after the crash");
    // Every movement the child announced is there, and the ledger is consistent.
    let mut posts = 0;
    for (w, last) in &last_committed {
        for i in 0..=*last {
            let id = format!("crash-{w}-{i}");
            let hold = store.ledger.get_hold(&id).await.unwrap();
            let hold = hold.unwrap_or_else(|| panic!("hold {id} was committed and is lost"));
            assert!(
                hold.resolved_at.is_some(),
                "{id} was resolved before the kill"
            );
            posts += i64::from(i % 2 == 0);
        }
    }
    assert_balance_is_sum_of_entries(&store, "crash").await;
    let balance = store.ledger.balance("crash").await.unwrap();
    assert!(
        balance <= 1_000_000 - 3 * posts,
        "{posts} announced posts were kept: {balance}"
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn k1_no_key_secret_is_written_to_the_database_file() {
    let s = scratch().await;
    let account = uid("acct");
    s.store.ledger.create_account(&account).await.unwrap();
    let created = s
        .store
        .keys
        .create(NewKey {
            account_id: account.clone(),
            name: "k1".into(),
            scopes: vec![Scope::ApiGenerate],
            expires_at: None,
        })
        .await
        .unwrap();
    s.store.keys.authenticate(&created.plaintext).await.unwrap();
    let secret = created.plaintext.rsplit('_').next().unwrap().to_string();
    let wrong = format!("gmx_{}_{}", created.key.id, "Q".repeat(32));
    assert!(s.store.keys.authenticate(&wrong).await.is_err());
    s.store.keys.revoke(&created.key.id).await.unwrap();
    s.store.close().await;
    let mut found_files = 0;
    for entry in std::fs::read_dir(&s.dir).unwrap() {
        // The last connection's close removes `-wal`/`-shm` on sqlx's worker thread, which
        // may still be running after `close()` returned: a file listed here can be gone by
        // the time it is read (its content was checkpointed into the main file).
        let bytes = match std::fs::read(entry.unwrap().path()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("reading a database file: {e}"),
        };
        found_files += 1;
        for needle in [
            created.plaintext.as_bytes(),
            secret.as_bytes(),
            &secret.as_bytes()[..16],
            wrong.as_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a key secret was found in the database files"
            );
        }
    }
    assert!(found_files >= 1);
}

/// Group commit: writes whose callers give up at random points (a client hanging up
/// mid-request drops the future) are rolled back alone; the writes that returned are
/// all there, the ledger stays consistent, and the writer is never left stuck.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_writes_roll_back_alone_and_never_stall_the_writer() {
    use std::time::Duration;
    let s = scratch().await;
    let store = &s.store;
    let account = uid("acct");
    store.ledger.create_account(&account).await.unwrap();
    store.ledger.top_up(&account, 1_000_000).await.unwrap();
    let mut completed = Vec::new();
    let mut started = Vec::new();
    for round in 0..20u64 {
        let calls = (0..40u64).map(|i| {
            let store = store.clone();
            let account = account.clone();
            let task = format!("cancel-{round}-{i}");
            // From "dropped before it queued" to "finished well within the limit"; every
            // tenth write has seconds, so some finish however slow the disk or loaded the
            // machine (with only sub-3 ms limits, a busy machine finished none).
            let limit = if i % 10 == 9 {
                Duration::from_secs(10)
            } else {
                Duration::from_micros((round * 40 + i) * 37 % 3_000)
            };
            tokio::spawn(async move {
                let r = tokio::time::timeout(limit, store.ledger.hold(&account, &task, 1)).await;
                (task, r.is_ok_and(|r| r.is_ok()))
            })
        });
        for call in calls.collect::<Vec<_>>() {
            let (task, ok) = call.await.unwrap();
            if ok {
                completed.push(task.clone());
            }
            started.push(task);
        }
    }
    // A write after all that goes through promptly: nothing holds the writer.
    tokio::time::timeout(
        Duration::from_secs(10),
        store.ledger.hold(&account, "after", 1),
    )
    .await
    .expect("the writer is not stuck")
    .unwrap();
    for task in &completed {
        assert!(
            store.ledger.get_hold(task).await.unwrap().is_some(),
            "{task} returned Ok and is lost"
        );
    }
    let mut kept = 0;
    for task in &started {
        kept += i64::from(store.ledger.get_hold(task).await.unwrap().is_some());
    }
    assert!(
        completed.len() as i64 <= kept,
        "{} returned, {kept} kept",
        completed.len()
    );
    assert!(
        (completed.len() as u64) < 800 && !completed.is_empty(),
        "the limits cancel some writes and let others finish: {} of 800 finished",
        completed.len()
    );
    assert_eq!(
        store.ledger.balance(&account).await.unwrap(),
        1_000_000 - kept - 1,
        "one point per kept hold"
    );
    assert_balance_is_sum_of_entries(store, &account).await;
}

/// Many writers at once (group commits of many writes) and each sees its own result.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_in_shared_commits_keep_their_own_outcomes() {
    let s = scratch().await;
    let store = &s.store;
    let account = uid("acct");
    store.ledger.create_account(&account).await.unwrap();
    store.ledger.top_up(&account, 150).await.unwrap();
    // 200 holds of 1 point on 150 points: exactly 150 succeed, 50 are refused, and a
    // refused one does not undo the others committed with it.
    let calls = (0..200).map(|i| {
        let store = store.clone();
        let account = account.clone();
        tokio::spawn(async move { store.ledger.hold(&account, &format!("t{i}"), 1).await })
    });
    let mut ok = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::InsufficientPoints, "{e}"),
        }
    }
    assert_eq!(ok, 150);
    assert_eq!(store.ledger.balance(&account).await.unwrap(), 0);
    assert_balance_is_sum_of_entries(store, &account).await;
}

/// One process owns a SQLite file: there is no revocation feed to follow.
#[tokio::test]
async fn sqlite_has_no_revocation_feed() {
    let s = scratch().await;
    assert!(s.store.keys.revocations().await.unwrap().is_none());
}
