//! R4 (`design/RELIABILITY.md`): the gateway is killed with SIGKILL at several points and
//! restarted on the same SQLite file; afterwards every task is final, I1–I4 hold, and every
//! outbound callback was delivered at least once with one stable `webhook-id`.
//!
//! The gateway runs as a real child process: this test binary re-executes itself with
//! `R4_CHILD` set (as `genmux-store`'s SIGKILL durability test does), and the child serves
//! the API with the engine on a fixed loopback port. The parent owns the Kling simulator, a
//! proxy in front of it (which can kill the child the instant the upstream accepted a task,
//! before the answer reaches the gateway), and the receiver of the callers' callbacks. The
//! child is only ever stopped with `Child::kill()` on its own pid.

mod common;

use common::{kling_sim, new_key, receiver, sim_config, Db, Receiver};
use genmux_core::Catalog;
use genmux_kling::{KlingConfig, KlingProvider};
use genmux_midsync::{AppState, GatewayConfig};
use genmux_router::{RetryConfig, Router};
use genmux_sim::kling::KlingSim;
use genmux_store::{EntryKind, HoldState, Page, Scope, Store};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHILD_ENV: &str = "R4_CHILD";
const TEST_NAME: &str = "r4_sigkill_at_random_points_loses_nothing";
const START: i64 = 100_000;
/// Proxy kill modes.
const DISARMED: u8 = 0;
const AFTER_UPSTREAM: u8 = 1;
const BEFORE_UPSTREAM: u8 = 2;

/// The child: a gateway over `db` with Kling at `upstream`, on `port`, engine running, fast
/// timings so the parent's bounded waits are short. Runs until killed.
async fn child_gateway(spec: &str) {
    let parts: Vec<&str> = spec.split('|').collect();
    let [db, upstream, ak, sk, port] = parts[..] else {
        panic!("{CHILD_ENV} = db|upstream|ak|sk|port, got {spec}");
    };
    let store = Store::open(db).await.expect("child: open the store");
    let kling = KlingProvider::new(
        KlingConfig::new(ak, sk).with_base_url(upstream),
        Catalog::builtin(),
    )
    .expect("child: Kling provider")
    .into_provider()
    .expect("child: provider halves");
    let router = Router::builder()
        .retry(RetryConfig {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..RetryConfig::default()
        })
        .provider(kling)
        .build()
        .expect("child: router");
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("child: bind the gateway port");
    let mut config = GatewayConfig::new(
        format!("http://127.0.0.1:{port}"),
        b"r4 master key".to_vec(),
    );
    config.allow_loopback_callbacks = true;
    config.poll.first_delay = Duration::from_millis(200);
    config.poll.max_delay = Duration::from_millis(400);
    config.poll.tick = Duration::from_millis(50);
    config.poll.lease_for = Duration::from_secs(1);
    config.poll.unknown_grace = Duration::from_secs(2);
    config.delivery.schedule = vec![Duration::from_millis(100); 30];
    config.delivery.jitter = 0.0;
    config.delivery.tick = Duration::from_millis(50);
    config.delivery.lease_for = Duration::from_secs(1);
    config.delivery.timeout = Duration::from_secs(2);
    config.idempotency_takeover = Duration::from_secs(2);
    config.repair_every = Duration::from_millis(200);
    let state = AppState::new(config, store, Arc::new(router));
    println!("ready");
    genmux_midsync::shutdown::serve(listener, state, std::future::pending())
        .await
        .expect("child: serve");
}

/// The gateway child process and how to (re)start it.
struct Gateway {
    spec: String,
    base: String,
    child: Arc<Mutex<Option<Child>>>,
}

impl Gateway {
    fn start(&self) {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &self.spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the gateway child");
        let out = child.stdout.take().expect("child stdout");
        let mut ready = false;
        for line in BufReader::new(out).lines() {
            if line.expect("child output").trim_end().ends_with("ready") {
                ready = true;
                break;
            }
        }
        assert!(ready, "the gateway child did not start");
        *self.child.lock().unwrap() = Some(child);
    }

    /// SIGKILL (`Child::kill` on this child's pid only), then reap it.
    fn kill(&self) {
        kill_child(&self.child);
    }
}

impl Drop for Gateway {
    /// A failing parent must not leave its child running.
    fn drop(&mut self) {
        if let Ok(mut slot) = self.child.lock() {
            if let Some(mut c) = slot.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn kill_child(slot: &Mutex<Option<Child>>) {
    if let Some(mut c) = slot.lock().unwrap().take() {
        let _ = c.kill();
        let status = c.wait().expect("reap the child");
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

/// A proxy in front of the simulator that forwards everything and, when armed, kills the
/// gateway right after the simulator accepted a create request — the upstream holds the
/// task, the gateway never hears of it.
async fn proxy(sim_base: String, arm: Arc<AtomicU8>, child: Arc<Mutex<Option<Child>>>) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, Uri};
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (http, sim_base, arm, child) =
                (http.clone(), sim_base.clone(), arm.clone(), child.clone());
            async move {
                let url = format!("{sim_base}{uri}");
                let mut rb = http.request(
                    reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
                    url,
                );
                for (k, v) in headers.iter() {
                    if k != "host" && k != "content-length" {
                        rb = rb.header(k.as_str(), v.as_bytes());
                    }
                }
                let is_create = method == Method::POST;
                if is_create && arm.load(Ordering::SeqCst) == BEFORE_UPSTREAM {
                    // Never forwarded: the upstream does not hear of this submission.
                    arm.store(DISARMED, Ordering::SeqCst);
                    kill_child(&child);
                    let mut out = axum::response::Response::new(axum::body::Body::empty());
                    *out.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
                    return out;
                }
                let resp = rb.body(body).send().await;
                if is_create && arm.load(Ordering::SeqCst) == AFTER_UPSTREAM {
                    arm.store(DISARMED, Ordering::SeqCst);
                    kill_child(&child);
                }
                match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let ct = r
                            .headers()
                            .get("content-type")
                            .map(|v| v.as_bytes().to_vec());
                        let bytes = r.bytes().await.unwrap_or_default();
                        let mut out = axum::response::Response::new(axum::body::Body::from(bytes));
                        *out.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                        if let Some(ct) = ct {
                            out.headers_mut()
                                .insert("content-type", ct.try_into().unwrap());
                        }
                        out
                    }
                    Err(_) => {
                        let mut out = axum::response::Response::new(axum::body::Body::empty());
                        *out.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
                        out
                    }
                }
            }
        },
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    url
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Parent {
    gw: Gateway,
    sim: KlingSim,
    hook: Receiver,
    key: String,
    http: reqwest::Client,
    /// Idempotency-Key → every taskId a 200 answered for it.
    answered: BTreeMap<String, BTreeSet<String>>,
}

impl Parent {
    /// POSTs a generation; `None` when the gateway died under it.
    async fn generate(&mut self, idem: &str) -> Option<(u16, Value)> {
        let body = json!({
            "model": "kling-2.5-turbo",
            "prompt": "A cinematic shot of a futuristic city",
            "duration": 5,
            "callbackUrl": self.hook.url,
        });
        let resp = self
            .http
            .post(format!("{}/unified-video/generate", self.gw.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.ok()?;
        if status == 200 {
            let id = v["taskId"].as_str().expect("taskId").to_string();
            self.answered
                .entry(idem.to_string())
                .or_default()
                .insert(id);
        }
        Some((status, v))
    }

    /// Retries a keyed request until it is answered with 200 (a 409 means the first attempt
    /// is still on record as running; the gateway must let it go eventually).
    async fn generate_until_done(&mut self, idem: &str) -> Value {
        for _ in 0..100 {
            if let Some((status, v)) = self.generate(idem).await {
                match status {
                    200 => return v,
                    409 => {}
                    s => panic!("{idem}: generate answered {s}: {v}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{idem}: still not processed after 100 tries (stuck Idempotency-Key)");
    }
}

async fn all_settled(store: &Store, account: &str) -> bool {
    let tasks = store
        .tasks
        .list_by_account(
            account,
            Page {
                page: 1,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    let mut ok = tasks.iter().all(|t| t.status.is_final());
    for t in &tasks {
        if let Some(d) = store.outbox.get(&format!("msg_{}", t.id)).await.unwrap() {
            ok &= d.state != genmux_store::DeliveryState::Pending;
        } else {
            ok = false;
        }
    }
    ok
}

#[test]
fn r4_sigkill_at_random_points_loses_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        rt.block_on(child_gateway(&spec));
        return;
    }
    rt.block_on(parent());
}

async fn parent() {
    let seed: u64 = std::env::var("R4_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("R4 seed = {seed} (rerun with R4_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let db = Db::sqlite();
    let mut cfg = sim_config().with_seed(seed);
    cfg.failure_rate = 0.3;
    for a in &mut cfg.accounts {
        a.video_concurrency = 1_000;
    }
    let (sim, _) = kling_sim(cfg).await;
    let store = Store::open(&db.url()).await.expect("open the store");
    let account = "acct_r4";
    store.ledger.create_account(account).await.unwrap();
    store.ledger.top_up(account, START).await.unwrap();
    let key = new_key(&store, account, &[Scope::ApiGenerate, Scope::ApiRead]).await;
    // The callback receiver fails its first answers, so deliveries are pending when killed.
    let hook = receiver(vec![(500, None); 12]).await;

    let child = Arc::new(Mutex::new(None));
    let arm = Arc::new(AtomicU8::new(DISARMED));
    let upstream = proxy(sim.base_url().to_string(), arm.clone(), child.clone()).await;
    let port = free_port();
    let gw = Gateway {
        spec: format!(
            "{}|{upstream}|{}|{}|{port}",
            db.url(),
            sim.access_key(),
            sim.secret_key()
        ),
        base: format!("http://127.0.0.1:{port}"),
        child,
    };
    gw.start();
    let mut p = Parent {
        gw,
        sim,
        hook,
        key,
        http: reqwest::Client::new(),
        answered: BTreeMap::new(),
    };

    // 1. Killed after the upstream accepted, before the gateway heard back (and so before
    //    it answered its caller). The caller retries with the same key after the restart.
    arm.store(AFTER_UPSTREAM, Ordering::SeqCst);
    assert!(
        p.generate("r4-after-submit").await.is_none(),
        "the gateway died before answering"
    );
    assert_eq!(p.sim.state().tasks().len(), 1, "the upstream has the task");
    p.gw.start();
    p.generate_until_done("r4-after-submit").await;

    // 1b. Killed with the task recorded but the submission not yet sent: the upstream never
    //     hears of it; the retry gets that task (not a second one), which is refunded.
    arm.store(BEFORE_UPSTREAM, Ordering::SeqCst);
    assert!(p.generate("r4-before-submit").await.is_none());
    assert_eq!(
        p.sim.state().tasks().len(),
        1,
        "nothing reached the upstream"
    );
    p.gw.start();
    p.generate_until_done("r4-before-submit").await;

    // 2. Load, then killed while provider callbacks and outbound callbacks are in flight.
    for i in 0..6 {
        p.generate_until_done(&format!("r4-load-{i}")).await;
    }
    p.sim.advance(Duration::from_secs(400)).await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
    p.gw.kill();
    p.gw.start();

    // 3. Mid-settlement under load: tasks finish upstream while the gateway is settling
    //    them by callback and by poll; killed after a random few milliseconds, three times.
    for round in 0..3 {
        for i in 0..5 {
            p.generate_until_done(&format!("r4-mid-{round}-{i}")).await;
        }
        let sim_advance = p.sim.advance(Duration::from_secs(400));
        let delay = Duration::from_millis(rng.random_range(0..40));
        tokio::join!(sim_advance, async {
            tokio::time::sleep(delay).await;
        });
        p.gw.kill();
        p.gw.start();
    }

    // 4. Killed with a submission in flight whose outcome the caller never learns.
    arm.store(AFTER_UPSTREAM, Ordering::SeqCst);
    assert!(p.generate("r4-never-answered").await.is_none());
    p.gw.start();

    // Let the last incarnation finish everything (bounded: the engine's timings are
    // fast; the bound only stops a broken gateway from hanging the test).
    let mut settled = false;
    for _ in 0..300 {
        p.sim.advance(Duration::from_secs(60)).await;
        if all_settled(&store, account).await {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.gw.kill();
    check(&store, account, &p, settled).await;
    store.close().await;
    p.sim.shutdown().await;
}

async fn check(store: &Store, account: &str, p: &Parent, settled: bool) {
    let tasks = store
        .tasks
        .list_by_account(
            account,
            Page {
                page: 1,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    let unfinished: Vec<_> = tasks
        .iter()
        .filter(|t| !t.status.is_final())
        .map(|t| format!("{} {}", t.id, t.status))
        .collect();
    assert!(
        unfinished.is_empty(),
        "every task reaches a final state: {unfinished:?}"
    );

    // I1
    let entries = store.ledger.entries(account).await.unwrap();
    let balance = store.ledger.balance(account).await.unwrap();
    let mut running = 0;
    for e in &entries {
        running += e.amount;
        assert_eq!(running, e.balance_after, "I1 at entry {}", e.id);
        assert!(running >= 0, "I1: negative balance at entry {}", e.id);
    }
    assert_eq!(running, balance, "I1: balance = sum of entries");

    // I2, I3: every hold belongs to a task or was refunded; one resolution per task.
    let mut per_task: BTreeMap<String, Vec<(EntryKind, i64)>> = BTreeMap::new();
    for e in &entries {
        if let Some(t) = &e.task_id {
            per_task
                .entry(t.clone())
                .or_default()
                .push((e.kind, e.amount));
        }
    }
    let ids: BTreeSet<String> = tasks.iter().map(|t| t.id.clone()).collect();
    for (t, es) in &per_task {
        let kinds: Vec<_> = es.iter().map(|e| e.0).collect();
        if ids.contains(t) {
            assert_eq!(kinds.len(), 2, "I2: task {t}: {kinds:?}");
            assert_eq!(kinds[0], EntryKind::Hold, "I2: task {t}: {kinds:?}");
        } else {
            assert_eq!(
                kinds,
                [EntryKind::Hold, EntryKind::Void],
                "I2: a hold without a task must be refunded: {t}"
            );
        }
    }
    for t in &tasks {
        let hold = store
            .ledger
            .get_hold(&t.id)
            .await
            .unwrap()
            .expect("I2: a hold");
        assert_eq!(hold.points, t.points, "I3: held = quoted");
        let want = if t.status.as_str() == "succeeded" {
            HoldState::Posted
        } else {
            HoldState::Voided
        };
        assert_eq!(
            hold.state, want,
            "I2: task {} {} hold {:?}",
            t.id, t.status, hold.state
        );
    }

    // I4: one task per key; one upstream task per gateway task.
    for (k, ids) in &p.answered {
        assert_eq!(ids.len(), 1, "I4: key {k} answered {ids:?}");
    }
    // A task the upstream never heard of (killed before sending) has no upstream id and
    // was refunded; every other task is exactly one upstream task.
    let upstream = p.sim.state().tasks().len();
    let sent: Vec<_> = tasks
        .iter()
        .filter(|t| t.provider_task_id.is_some())
        .collect();
    assert_eq!(
        upstream,
        sent.len(),
        "I4: one upstream submission per task ({upstream} upstream, {} known here)",
        sent.len()
    );
    let ids: BTreeSet<_> = sent
        .iter()
        .filter_map(|t| t.provider_task_id.clone())
        .collect();
    assert_eq!(
        ids.len(),
        sent.len(),
        "I4: no upstream task is shared by two tasks"
    );
    for t in tasks.iter().filter(|t| t.provider_task_id.is_none()) {
        assert_eq!(
            t.status.as_str(),
            "failed",
            "never sent → refunded: {}",
            t.id
        );
    }
    assert_eq!(
        tasks.len(),
        sent.len() + 1,
        "exactly the submission killed before sending never reached the upstream"
    );

    // Callbacks: each final task's callback arrived at least once, always with one id.
    let hits = p.hook.hits.lock().unwrap().clone();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (h, body) in &hits {
        let v: Value = serde_json::from_slice(body).unwrap();
        let task = v["taskId"].as_str().unwrap().to_string();
        let id = h["webhook-id"].to_str().unwrap().to_string();
        seen.entry(task).or_default().insert(id);
    }
    for t in &tasks {
        let ids = seen
            .get(&t.id)
            .unwrap_or_else(|| panic!("no callback for task {} ({})", t.id, t.status));
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            [&format!("msg_{}", t.id)],
            "stable webhook-id for {}",
            t.id
        );
    }
    assert!(
        settled,
        "all tasks final and callbacks delivered in the bound"
    );
    // The points left are the start minus the succeeded tasks.
    let spent: i64 = tasks
        .iter()
        .filter(|t| t.status.as_str() == "succeeded")
        .map(|t| t.points)
        .sum();
    assert_eq!(balance, START - spent, "only succeeded tasks are paid for");
}
