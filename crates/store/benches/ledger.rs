//! Hold + post throughput on each backend: one charge at a time, and 16 at once (the
//! gateway settles many tasks concurrently). SQLite uses a temporary file with the store's
//! real settings (WAL, synchronous=FULL); PostgreSQL a scratch database on `GENMUX_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
//!
//! `cargo bench -p genmux-store --bench ledger`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use genmux_store::Store;
use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::runtime::Runtime;

const CONCURRENCY: u64 = 16;

fn pg_admin_url() -> String {
    std::env::var("GENMUX_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

async fn pg_admin() -> sqlx::PgConnection {
    let url = pg_admin_url();
    sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!("the PostgreSQL bench needs a server at {url} (set GENMUX_TEST_PG): {e}")
    })
}

async fn funded(store: &Store) -> String {
    let account = format!("bench_{}", uuid::Uuid::new_v4().simple());
    store.ledger.create_account(&account).await.unwrap();
    store
        .ledger
        .top_up(&account, 1_000_000_000_000)
        .await
        .unwrap();
    account
}

async fn hold_post(store: &Store, account: &str, n: u64) {
    let task = format!("t{n}");
    store.ledger.hold(account, &task, 10).await.unwrap();
    assert!(store.ledger.post(&task).await.unwrap().applied());
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, store: Store) {
    let account = rt.block_on(funded(&store));
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group(format!("ledger/{name}"));

    group.throughput(Throughput::Elements(1));
    group.bench_function("hold+post sequential", |b| {
        b.to_async(rt).iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let (store, account) = (&store, &account);
            async move { hold_post(store, account, n).await }
        })
    });

    group.throughput(Throughput::Elements(CONCURRENCY));
    group.bench_function(format!("hold+post {CONCURRENCY} concurrent"), |b| {
        b.to_async(rt).iter(|| {
            let (store, account, counter) = (store.clone(), account.clone(), counter.clone());
            async move {
                let mut tasks = Vec::new();
                for _ in 0..CONCURRENCY {
                    let (s, a) = (store.clone(), account.clone());
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    tasks.push(tokio::spawn(async move { hold_post(&s, &a, n).await }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            }
        })
    });
    group.finish();
}

fn ledger(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let dir = std::env::temp_dir().join(format!("genmux-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let sqlite = rt.block_on(Store::open(&url)).unwrap();
    bench_backend(c, &rt, "sqlite", sqlite.clone());
    rt.block_on(sqlite.close());
    let _ = std::fs::remove_dir_all(&dir);

    let db = format!("genmux_bench_{}", uuid::Uuid::new_v4().simple());
    rt.block_on(async {
        let mut admin = pg_admin().await;
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut admin)
            .await
            .unwrap();
    });
    let mut pg_url = url::Url::parse(&pg_admin_url()).unwrap();
    pg_url.set_path(&db);
    let pg = rt.block_on(Store::open(pg_url.as_str())).unwrap();
    bench_backend(c, &rt, "postgres", pg.clone());
    rt.block_on(async {
        pg.close().await;
        let mut admin = pg_admin().await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    });
}

criterion_group!(benches, ledger);
criterion_main!(benches);
