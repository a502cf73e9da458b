//! Shared harness of the gateway tests: scratch databases (SQLite file or PostgreSQL
//! database), a gateway on `127.0.0.1:0`, a Kling simulator, and a loopback receiver for the
//! caller's `callbackUrl`.
#![allow(dead_code)]

pub mod blobs;

use genmux_core::{Catalog, Provider};
use genmux_kling::{KlingConfig, KlingProvider};
use genmux_midsync::{app, AppState, GatewayConfig};
use genmux_router::{RetryConfig, Router, RouterBuilder};
use genmux_sim::kling::{KlingSim, KlingSimConfig};
use genmux_store::{NewKey, Scope, Store};
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A scratch database, removed when dropped.
pub enum Db {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database on the server of `GENMUX_TEST_PG`.
    Postgres { admin: String, name: String },
}

impl Db {
    /// A fresh SQLite file in the temp dir.
    pub fn sqlite() -> Db {
        Db::Sqlite(std::env::temp_dir().join(format!("genmux-midsync-{}.db", uid())))
    }

    /// A fresh PostgreSQL database. An unreachable server fails the test: CI has one.
    pub async fn postgres() -> Db {
        let admin = std::env::var("GENMUX_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.into());
        let name = format!("genmux_midsync_{}", uid());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL tests need a server at {admin} (GENMUX_TEST_PG): {e}")
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create the scratch database");
        conn.close().await.ok();
        Db::Postgres { admin, name }
    }

    /// The store URL.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(p) => format!("sqlite://{}", p.display()),
            Db::Postgres { admin, name } => {
                let mut u = url::Url::parse(admin).expect("GENMUX_TEST_PG is a URL");
                u.set_path(name);
                u.to_string()
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        match self {
            Db::Sqlite(p) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
                }
            }
            Db::Postgres { admin, name } => {
                let (admin, name) = (admin.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                        }
                    })
                })
                .join();
            }
        }
    }
}

/// A Kling simulator (manual clock) and a provider pointed at it.
pub async fn kling_sim(config: KlingSimConfig) -> (KlingSim, Provider) {
    let sim = KlingSim::start(config)
        .await
        .expect("start the Kling simulator");
    let provider = KlingProvider::new(
        KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url()),
        Catalog::builtin(),
    )
    .expect("Kling provider")
    .into_provider()
    .expect("Kling provider halves");
    (sim, provider)
}

/// A running gateway with one funded account and keys.
pub struct Gateway {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its state (the tests drive the engine passes through it).
    pub state: AppState,
    /// Its store.
    pub store: Store,
    /// The funded account.
    pub account: String,
    /// A key with `api.generate` and `api.read`.
    pub key: String,
    /// HTTP client.
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    /// The scratch database, dropped with the gateway (`None` for a second gateway on
    /// another's database).
    _db: Option<Db>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The starting balance of every test account.
pub const BALANCE: i64 = 1_000;

/// Starts a gateway over `db` with `providers`; `tweak` adjusts the config (loopback
/// callbacks are allowed and polls are due at once unless it says otherwise).
pub async fn gateway(
    db: Db,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> Gateway {
    gateway_over(db, providers, tweak, |store| store).await
}

/// [`gateway`] whose engine and routes see the store through `wrap` (a test double for
/// one trait, say); [`Gateway::store`] stays the real one.
pub async fn gateway_over(
    db: Db,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
    wrap: impl FnOnce(Store) -> Store,
) -> Gateway {
    let url = db.url();
    start_gateway(&url, Some(db), providers, tweak, wrap, |b| b, None).await
}

/// [`gateway`] that keeps results in `blobs` (issue 18).
pub async fn gateway_keeping(
    db: Db,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
    blobs: genmux_midsync::assets::Blobs,
) -> Gateway {
    let url = db.url();
    start_gateway(&url, Some(db), providers, tweak, |s| s, |b| b, Some(blobs)).await
}

/// [`second_gateway`] that keeps results in `blobs` (issue 18).
pub async fn second_gateway_keeping(
    url: &str,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
    blobs: genmux_midsync::assets::Blobs,
) -> Gateway {
    start_gateway(url, None, providers, tweak, |s| s, |b| b, Some(blobs)).await
}

/// [`gateway`] whose router is adjusted by `route` (limits, a picker) before it is built.
pub async fn gateway_routed(
    db: Db,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
    route: impl FnOnce(RouterBuilder) -> RouterBuilder,
) -> Gateway {
    let url = db.url();
    start_gateway(&url, Some(db), providers, tweak, |store| store, route, None).await
}

/// [`second_gateway`] whose router is adjusted by `route` before it is built.
pub async fn second_gateway_routed(
    url: &str,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
    route: impl FnOnce(RouterBuilder) -> RouterBuilder,
) -> Gateway {
    start_gateway(url, None, providers, tweak, |store| store, route, None).await
}

/// Another gateway process on the database of a running one (`url`), with its own
/// account and key.
pub async fn second_gateway(
    url: &str,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> Gateway {
    start_gateway(url, None, providers, tweak, |store| store, |b| b, None).await
}

async fn start_gateway(
    url: &str,
    db: Option<Db>,
    providers: Vec<Provider>,
    tweak: impl FnOnce(&mut GatewayConfig),
    wrap: impl FnOnce(Store) -> Store,
    route: impl FnOnce(RouterBuilder) -> RouterBuilder,
    blobs: Option<genmux_midsync::assets::Blobs>,
) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut config = GatewayConfig::new(base.clone(), b"test master key".to_vec());
    config.allow_loopback_callbacks = true;
    config.poll.first_delay = Duration::ZERO;
    config.poll.max_delay = Duration::ZERO;
    tweak(&mut config);
    let store = Store::open(url).await.expect("open the store");
    let mut builder = Router::builder().retry(RetryConfig {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..RetryConfig::default()
    });
    for p in providers {
        builder = builder.provider(p);
    }
    let router = Arc::new(route(builder).build().expect("router"));
    let mut state = AppState::new(config, wrap(store.clone()), router);
    if let Some(b) = blobs {
        state = state.with_blobs(b);
    }
    let server = {
        let app = app(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        })
    };
    let account = format!("acct_{}", uid());
    store
        .ledger
        .create_account(&account)
        .await
        .expect("account");
    store
        .ledger
        .top_up(&account, BALANCE)
        .await
        .expect("top up");
    let key = new_key(&store, &account, &[Scope::ApiGenerate, Scope::ApiRead]).await;
    Gateway {
        base,
        state,
        store,
        account,
        key,
        http: reqwest::Client::new(),
        server,
        _db: db,
    }
}

/// A new key of `account` with `scopes`.
pub async fn new_key(store: &Store, account: &str, scopes: &[Scope]) -> String {
    store
        .keys
        .create(NewKey {
            account_id: account.to_string(),
            name: "test".into(),
            scopes: scopes.to_vec(),
            expires_at: None,
        })
        .await
        .expect("create key")
        .plaintext
}

/// An HTTP answer: status, headers, JSON body (`Value::Null` if not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The `error` message of an error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body").to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        bytes,
    }
}

impl Gateway {
    /// POST JSON with a key and an optional Idempotency-Key.
    pub async fn post(&self, path: &str, key: &str, body: &Value, idem: Option<&str>) -> Answer {
        let mut rb = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(body);
        if let Some(i) = idem {
            rb = rb.header("Idempotency-Key", i);
        }
        answer(rb.send().await.expect("request")).await
    }

    /// GET with a key.
    pub async fn get(&self, path: &str, key: &str) -> Answer {
        answer(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(key)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// A raw request.
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Answer {
        answer(rb.send().await.expect("request")).await
    }

    /// The account's balance.
    pub async fn balance(&self) -> i64 {
        self.store
            .ledger
            .balance(&self.account)
            .await
            .expect("balance")
    }

    /// The account's tasks.
    pub async fn tasks(&self) -> Vec<genmux_store::TaskRecord> {
        self.store
            .tasks
            .list_by_account(
                &self.account,
                genmux_store::Page {
                    page: 1,
                    limit: 100,
                },
            )
            .await
            .expect("tasks")
    }

    /// The account's ledger entry kinds, oldest first.
    pub async fn entry_kinds(&self) -> Vec<&'static str> {
        self.store
            .ledger
            .entries(&self.account)
            .await
            .expect("entries")
            .iter()
            .map(|e| e.kind.as_str())
            .collect()
    }
}

/// A valid kling-2.5-turbo body.
pub fn kling_body() -> Value {
    json!({
        "model": "kling-2.5-turbo",
        "prompt": "A cinematic shot of a futuristic city",
        "duration": 5,
        "aspectRatio": "16:9"
    })
}

/// Requests a [`Receiver`] got: headers and body.
pub type Hits = Arc<Mutex<Vec<(reqwest::header::HeaderMap, Vec<u8>)>>>;

/// A loopback HTTP receiver that records every request and answers from a script
/// (then 200 once the script is used up).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub hits: Hits,
}

/// Starts a receiver answering `script` in order (status, optional Retry-After), then 200.
pub async fn receiver(script: Vec<(u16, Option<u64>)>) -> Receiver {
    use axum::http::{HeaderMap, StatusCode};
    let hits: Hits = Arc::default();
    let script = Arc::new(Mutex::new(std::collections::VecDeque::from(script)));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
        let h = h.clone();
        let script = script.clone();
        async move {
            let mut copy = reqwest::header::HeaderMap::new();
            for (k, v) in headers.iter() {
                if let (Ok(k), Ok(v)) = (
                    reqwest::header::HeaderName::from_bytes(k.as_str().as_bytes()),
                    reqwest::header::HeaderValue::from_bytes(v.as_bytes()),
                ) {
                    copy.insert(k, v);
                }
            }
            h.lock().unwrap().push((copy, body.to_vec()));
            let next = script.lock().unwrap().pop_front();
            let (status, after) = next.unwrap_or((200, None));
            let mut resp = axum::response::Response::new(axum::body::Body::from("{}"));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap();
            if let Some(a) = after {
                resp.headers_mut()
                    .insert("retry-after", a.to_string().parse().unwrap());
            }
            if (300..400).contains(&status) {
                resp.headers_mut()
                    .insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
            }
            resp
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    Receiver { url, hits }
}

impl Receiver {
    /// Requests received so far.
    pub fn count(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
}

/// The default simulator config (manual clock).
pub fn sim_config() -> KlingSimConfig {
    KlingSimConfig::default()
}
