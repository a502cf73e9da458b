//! The conformance suite on PostgreSQL. Each test creates a scratch database on the server
//! named by `GENMUX_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`) and drops
//! it afterwards. An unreachable server fails the tests: CI has one, and a silent skip would
//! hide a broken backend.

mod conformance;

use conformance::uid;
use genmux_store::Store;
use sqlx::Connection;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("GENMUX_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// A scratch database, dropped (with its connections) when this goes out of scope.
pub struct Scratch {
    pub store: Store,
    name: String,
}

async fn admin() -> sqlx::PgConnection {
    let url = admin_url();
    sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL tests need a server at {url} (set GENMUX_TEST_PG to point elsewhere); \
             connecting failed: {e}"
        )
    })
}

fn url_for(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("GENMUX_TEST_PG is a URL");
    url.set_path(name);
    url.to_string()
}

async fn scratch_url() -> (String, String) {
    let name = uid("genmux_test").to_lowercase();
    let mut admin = admin().await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create the scratch database");
    admin.close().await.ok();
    (name.clone(), url_for(&name))
}

async fn scratch() -> Scratch {
    let (name, url) = scratch_url().await;
    let store = Store::open(&url).await.expect("open PostgreSQL store");
    assert_eq!(store.backend(), "postgres");
    Scratch { store, name }
}

fn drop_database(name: &str) {
    let name = name.to_string();
    // Drop runs outside async code: use a runtime of our own on a plain thread.
    let done = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut admin = admin().await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .map(|_| ())
        })
    })
    .join();
    if let Ok(Err(e)) = done {
        eprintln!("warning: could not drop scratch database: {e}");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop_database(&self.name);
    }
}

conformance_tests!(scratch);

/// Migration 0003 on a database written up to 0002 keeps its data, moves Idempotency-Key
/// records to accounts and makes the first-start key an operator (conformance/upgrade.rs).
#[tokio::test(flavor = "multi_thread")]
async fn upgrading_a_0002_database_keeps_it_and_scopes_idempotency_per_account() {
    let (name, url) = scratch_url().await;
    let dir = std::env::temp_dir().join(uid("genmux-store-upgrade"));
    let before = conformance::upgrade::migrations_before_0003("postgres", &dir);
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(before)
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    for stmt in conformance::upgrade::seed_statements(r"'\x00'::bytea") {
        sqlx::query(&stmt).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let store = Store::open(&url).await.expect("0003 applies");
    conformance::upgrade::check(&store).await;
    store.close().await;
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_gateway_sees_committed_data_and_migrations_run_once() {
    let s = scratch().await;
    let account = uid("acct");
    s.store.ledger.create_account(&account).await.unwrap();
    s.store.ledger.top_up(&account, 50).await.unwrap();
    // Another gateway opening the same database migrates nothing and sees the balance.
    let url = url_for(&s.name);
    let other = Store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    assert_eq!(other.ledger.balance(&account).await.unwrap(), 50);
    other.ledger.hold(&account, "t", 50).await.unwrap();
    assert_eq!(s.store.ledger.balance(&account).await.unwrap(), 0);
    other.close().await;
}

/// A revocation committed by one gateway reaches the others' revocation feeds; a refused
/// revocation (already revoked) announces nothing.
#[tokio::test(flavor = "multi_thread")]
async fn revocations_reach_every_gateway_sharing_the_database() {
    use genmux_store::{NewKey, Revocation, Scope};
    use std::time::Duration;
    let s = scratch().await;
    let other = Store::open(&url_for(&s.name)).await.unwrap();
    let mut feed = other
        .keys
        .revocations()
        .await
        .unwrap()
        .expect("PostgreSQL has a revocation feed");
    let account = uid("acct");
    s.store.ledger.create_account(&account).await.unwrap();
    let new_key = || NewKey {
        account_id: account.clone(),
        name: "ci".into(),
        scopes: vec![Scope::ApiRead],
        expires_at: None,
    };
    let first = s.store.keys.create(new_key()).await.unwrap();
    let second = s.store.keys.create(new_key()).await.unwrap();
    assert!(s.store.keys.revoke(&first.key.id).await.unwrap());
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), feed.recv())
            .await
            .expect("a revocation arrives"),
        Some(Revocation::Key(first.key.id.clone()))
    );
    // Already revoked: nothing is announced, so the next event is the second key.
    assert!(!s.store.keys.revoke(&first.key.id).await.unwrap());
    assert!(other.keys.revoke(&second.key.id).await.unwrap());
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), feed.recv())
            .await
            .expect("a revocation arrives"),
        Some(Revocation::Key(second.key.id.clone()))
    );
    other.close().await;
}
