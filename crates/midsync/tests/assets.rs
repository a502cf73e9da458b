//! Results kept by the gateway (issue 18), over real HTTP with the simulators serving real
//! media bytes: copied into the blob store before success is announced, served from
//! `/v1/assets/{id}` with the owner's key or a signed link (ranges, HEAD, ETag), a dead
//! upstream URL failing the task without a charge, a gateway killed mid-copy, two
//! replicas sharing the store, and the retention sweep. On the filesystem store and on a
//! real S3-compatible server (moto's), on SQLite and PostgreSQL.

mod common;

use common::blobs::{BlobKind, Shelf};
use common::*;
use genmux_core::{Catalog, Provider, TaskStatus};
use genmux_midsync::assets::{copy, links, retention};
use genmux_midsync::clock::ManualClock;
use genmux_midsync::engine::{delivery, poller};
use genmux_sim::kling::Endpoint;
use genmux_sim::FaultPlan;
use genmux_store::{AssetState, CopyState, Scope};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Runs a scenario on a store backend × blob store.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_fs() {
                super::$name(Db::sqlite(), BlobKind::Fs).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres_fs() {
                super::$name(Db::postgres().await, BlobKind::Fs).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite_s3() {
                super::$name(Db::sqlite(), BlobKind::S3).await
            }
        }
    )*};
}

scenarios!(
    results_are_copied_before_success_and_served_from_the_gateway,
    a_link_expired_before_the_first_copy_is_asked_for_again,
    a_link_dead_for_good_fails_the_task_without_a_charge,
    a_gateway_killed_mid_copy_is_finished_once_after_restart,
    a_download_longer_than_the_lease_keeps_its_job,
    the_retention_sweep_deletes_expired_results,
    transient_failures_are_retried_until_the_deadline,
);

async fn status_of(gw: &Gateway, task_id: &str) -> Value {
    let s = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    s.body
}

/// A Kling task through `gw` with a callback receiver, driven until the upstream reports
/// success by its callback. Returns the task id and the receiver.
async fn kling_task(gw: &Gateway, sim: &genmux_sim::kling::KlingSim) -> (String, Receiver) {
    let hook = receiver(vec![]).await;
    let mut body = kling_body();
    body["callbackUrl"] = json!(hook.url);
    let created = gw
        .post("/unified-video/generate", &gw.key, &body, None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    (task_id, hook)
}

async fn results_are_copied_before_success_and_served_from_the_gateway(db: Db, kind: BlobKind) {
    let shelf = Shelf::new(kind).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway_keeping(
        db,
        vec![kling],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        shelf.blobs.clone(),
    )
    .await;
    let (task_id, hook) = kling_task(&gw, &sim).await;

    // The upstream said "succeeded" (its callback reached us), but nothing is announced
    // and nothing is charged until the copy is durable.
    let before = status_of(&gw, &task_id).await;
    assert_eq!(before["status"], "processing", "{before}");
    assert!(before.get("assets").is_none(), "{before}");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 0);
    let job = gw.store.assets.copy_of(&task_id).await.unwrap().unwrap();
    assert_eq!(job.state, CopyState::Pending);

    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let done = status_of(&gw, &task_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let url = done["assets"][0]["url"].as_str().unwrap().to_string();
    let prefix = format!("{}/v1/assets/ast_", gw.base);
    assert!(url.starts_with(&prefix), "a gateway URL: {url}");
    assert_eq!(done["output"]["videoUrls"][0], url.as_str());
    assert!(
        !done.to_string().contains(sim.base_url()),
        "no upstream URL reaches the caller: {done}"
    );
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    let job = gw.store.assets.copy_of(&task_id).await.unwrap().unwrap();
    assert_eq!(job.state, CopyState::Done);

    // The task list shows the gateway URL too.
    let list = gw.get("/unified-video/tasks", &gw.key).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        list.body["tasks"][0]["assets"][0]["url"],
        url.as_str(),
        "{}",
        list.body
    );

    // The callback announces success with the gateway URL.
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    let (_, sent) = hook.hits.lock().unwrap()[0].clone();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(sent["status"], "succeeded");
    assert_eq!(sent["assets"][0]["url"], url.as_str());

    // The stored bytes are the upstream's, byte for byte.
    let asset_id = url.rsplit('/').next().unwrap().to_string();
    let record = gw.store.assets.asset(&asset_id).await.unwrap().unwrap();
    assert!(record.upstream_url.starts_with(sim.base_url()));
    let original = gw
        .http
        .get(&record.upstream_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(&original[4..8], b"ftyp", "the simulator serves a real MP4");
    let size = original.len();
    assert_eq!(done["assets"][0]["sizeBytes"], size as u64);

    let whole = gw.get(&url.replace(&gw.base, ""), &gw.key).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.bytes, original);
    assert_eq!(whole.headers["content-type"], "video/mp4");
    assert_eq!(whole.headers["accept-ranges"], "bytes");
    assert_eq!(
        whole.headers["content-disposition"],
        format!(
            "inline; filename=\"{}.mp4\"",
            url.rsplit('/').next().unwrap()
        )
        .as_str()
    );
    assert_eq!(whole.headers["content-length"], size.to_string().as_str());
    let etag = whole.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(
        etag,
        format!("\"{}\"", record.blob.as_ref().unwrap().sha256)
    );
    assert_eq!(etag.len(), 66, "a SHA-256 in hex, quoted: {etag}");

    // Ranges, as <video> seeking asks for them.
    let ranged = |range: &str| {
        gw.http
            .get(&url)
            .bearer_auth(&gw.key)
            .header("range", range.to_string())
    };
    let part = gw.send(ranged("bytes=10-19")).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes, original[10..20].to_vec());
    assert_eq!(
        part.headers["content-range"],
        format!("bytes 10-19/{size}").as_str()
    );
    let tail = gw.send(ranged("bytes=-7")).await;
    assert_eq!(
        (tail.status, tail.bytes.clone()),
        (206, original[size - 7..].to_vec())
    );
    let open = gw.send(ranged(&format!("bytes={}-", size - 3))).await;
    assert_eq!(
        (open.status, open.bytes.clone()),
        (206, original[size - 3..].to_vec())
    );
    let past = gw.send(ranged(&format!("bytes={size}-"))).await;
    assert_eq!(past.status, 416, "{}", past.body);
    assert_eq!(
        past.headers["content-range"],
        format!("bytes */{size}").as_str()
    );
    // If-Range with another validator: the whole file, not a piece of another version.
    let stale = gw
        .send(ranged("bytes=0-9").header("if-range", "\"other\""))
        .await;
    assert_eq!((stale.status, stale.bytes.len()), (200, size));

    let head = gw.send(gw.http.head(&url).bearer_auth(&gw.key)).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-length"], size.to_string().as_str());
    assert!(head.bytes.is_empty());
    let cached = gw
        .send(
            gw.http
                .get(&url)
                .bearer_auth(&gw.key)
                .header("if-none-match", etag.clone()),
        )
        .await;
    assert_eq!((cached.status, cached.bytes.len()), (304, 0));

    // Who may read it: no key → 401; another account's key → 404, like a missing asset.
    let anon = gw.send(gw.http.get(&url)).await;
    assert_eq!(anon.status, 401, "{}", anon.body);
    let other = format!("acct_other_{}", uuid::Uuid::new_v4().simple());
    gw.store.ledger.create_account(&other).await.unwrap();
    let other_key = new_key(&gw.store, &other, &[Scope::ApiRead, Scope::Admin]).await;
    let theirs = gw.get(&url.replace(&gw.base, ""), &other_key).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let theirs = gw
        .get(&format!("/v1/assets/{asset_id}/link"), &other_key)
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);

    // A signed link loads without a header, and only as signed.
    let link = gw
        .get(&format!("/v1/assets/{asset_id}/link?ttl=600"), &gw.key)
        .await;
    assert_eq!(link.status, 200, "{}", link.body);
    let signed = link.body["url"].as_str().unwrap().to_string();
    assert!(signed.starts_with(&format!("{url}?expires=")), "{signed}");
    let by_link = gw
        .send(gw.http.get(&signed).header("range", "bytes=0-3"))
        .await;
    assert_eq!(
        (by_link.status, by_link.bytes.clone()),
        (206, original[..4].to_vec())
    );
    let tampered = gw.send(gw.http.get(format!("{signed}x"))).await;
    assert_eq!(tampered.status, 403, "{}", tampered.body);
    let key = gw.state.asset_link_key();
    let past_expiry = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let expired = gw
        .send(
            gw.http
                .get(links::signed_url(&gw.base, &key, &asset_id, past_expiry)),
        )
        .await;
    assert_eq!(expired.status, 403);
    assert!(expired.error().contains("expired"), "{}", expired.error());
    let bad_ttl = gw
        .get(&format!("/v1/assets/{asset_id}/link?ttl=0"), &gw.key)
        .await;
    assert_eq!(bad_ttl.status, 400);
    assert!(bad_ttl.error().contains("`ttl` = 0"), "{}", bad_ttl.error());

    // The upstream's URL is for operators only.
    let operator = new_key(&gw.store, &gw.account, &[Scope::Operator]).await;
    let up = gw
        .get(&format!("/v1/assets/{asset_id}/upstream"), &operator)
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    assert_eq!(up.body["upstreamUrl"], record.upstream_url.as_str());
    assert_eq!(up.body["sizeBytes"], size as u64);
    let up = gw
        .get(&format!("/v1/assets/{asset_id}/upstream"), &gw.key)
        .await;
    assert_eq!(up.status, 403);
    let account = gw
        .get(&format!("/v1/accounts/{}", gw.account), &operator)
        .await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert_eq!(
        account.body["account"]["storedBytes"], size as u64,
        "{}",
        account.body
    );
    assert_eq!(account.body["account"]["storedAssets"], 1);

    // Stored bytes per account.
    let bytes = gw
        .store
        .assets
        .stored_bytes(Some(&gw.account))
        .await
        .unwrap();
    assert_eq!((bytes[0].assets, bytes[0].bytes), (1, size as i64));
    if shelf.dir.is_some() {
        assert_eq!(shelf.files().len(), 1, "one object: {:?}", shelf.files());
    }
    sim.shutdown().await;
}

/// A MiniMax simulator (download links live about 9 h, minted per `files/retrieve`).
async fn minimax() -> (genmux_sim::minimax::MiniMaxSim, Provider) {
    use genmux_minimax::{MiniMaxConfig, MiniMaxProvider};
    use genmux_sim::framework::SimConfig;
    let sim = genmux_sim::minimax::MiniMaxSim::start(
        SimConfig::default()
            .with_settings(|s| s.with_timings(Duration::from_secs(4), Duration::from_secs(60))),
    )
    .await
    .expect("the MiniMax simulator starts");
    let provider = MiniMaxProvider::new(
        MiniMaxConfig::new(sim.api_key()).with_base_url(sim.base_url()),
        Catalog::builtin(),
    )
    .expect("MiniMax provider")
    .into_provider();
    (sim, provider)
}

/// MiniMax's download URL lives about 9 h. When it is dead (403) by the first copy
/// attempt, the copier asks MiniMax again, which mints a fresh link, and copies from it:
/// the caller gets the result and is charged once.
async fn a_link_expired_before_the_first_copy_is_asked_for_again(db: Db, kind: BlobKind) {
    let shelf = Shelf::new(kind).await;
    let (sim, mm) = minimax().await;
    let gw = gateway_keeping(db, vec![mm], |_| {}, shelf.blobs.clone()).await;
    let hook = receiver(vec![]).await;
    let body = json!({
        "model": "hailuo-2.3-standard",
        "prompt": "Natural breathing and blinking",
        "images": ["http://127.0.0.1:9/portrait.png"],
        "callbackUrl": hook.url,
    });
    let created = gw
        .post("/unified-video/generate", &gw.key, &body, None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();
    sim.advance(Duration::from_secs(70)).await;
    // Polled: MiniMax reports success with a download URL.
    poller::poll_due(&gw.state).await.unwrap();
    assert_eq!(status_of(&gw, &task_id).await["status"], "processing");
    let first_link = gw.store.assets.assets_of(&task_id).await.unwrap()[0]
        .upstream_url
        .clone();
    // The gateway was down for ten hours: the link is dead by the first attempt.
    sim.advance(Duration::from_secs(10 * 3600)).await;
    let dead = gw.http.get(&first_link).send().await.unwrap().status();
    assert_eq!(dead.as_u16(), 403, "the simulator's expired link");
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let job = gw.store.assets.copy_of(&task_id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (CopyState::Pending, 1));
    assert!(job.last_error.unwrap_or_default().contains("HTTP 403"));
    let fresh = gw.store.assets.assets_of(&task_id).await.unwrap()[0]
        .upstream_url
        .clone();
    assert_ne!(fresh, first_link, "a fresh link from files/retrieve");
    // Due at once.
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let done = status_of(&gw, &task_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let url = done["assets"][0]["url"]
        .as_str()
        .unwrap()
        .replace(&gw.base, "");
    let got = gw.get(&url, &gw.key).await;
    assert_eq!((got.status, &got.bytes[4..8]), (200, &b"ftyp"[..]));
    assert_eq!(gw.balance().await, BALANCE - points);
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    let (_, sent) = hook.hits.lock().unwrap()[0].clone();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(sent["status"], "succeeded");
}

/// Issue 18 point 4 and the ledger rule of docs/assets.md: a result link dead for good
/// (Kling keeps results 30 days; the gateway copies after 31) — and the provider has no
/// fresher one — fails the task with a clear error, the caller is not charged (hold
/// voided, no usage row), the callback says so, and operators keep the reason.
async fn a_link_dead_for_good_fails_the_task_without_a_charge(db: Db, kind: BlobKind) {
    let shelf = Shelf::new(kind).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway_keeping(
        db,
        vec![kling],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        shelf.blobs.clone(),
    )
    .await;
    let (task_id, hook) = kling_task(&gw, &sim).await;
    assert_eq!(status_of(&gw, &task_id).await["status"], "processing");
    assert!(gw.balance().await < BALANCE, "held");
    sim.advance(Duration::from_secs(31 * 86_400)).await;
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);

    let failed = status_of(&gw, &task_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("expired or was removed") && error.contains("no points were charged"),
        "{error}"
    );
    assert_eq!(failed["pointsCharged"], 0);
    assert_eq!(gw.balance().await, BALANCE, "the hold is voided");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "void"]);
    let record = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(record.status, TaskStatus::Failed);
    let note = record.upstream_error.unwrap_or_default();
    assert!(note.contains("HTTP 404"), "operators see why: {note}");
    let job = gw.store.assets.copy_of(&task_id).await.unwrap().unwrap();
    assert_eq!(job.state, CopyState::Failed);
    // No usage row: nothing was billed to the caller.
    let logs = gw
        .get("/v1/usage/logs?date_range=last_7_days", &gw.key)
        .await;
    assert_eq!(logs.body["total"], 0, "{}", logs.body);
    // The callback says failed, once.
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    let (_, sent) = hook.hits.lock().unwrap()[0].clone();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(sent["status"], "failed");
    assert_eq!(
        copy::copy_due(&gw.state).await.unwrap(),
        0,
        "nothing is retried"
    );
    assert!(
        shelf.files().is_empty(),
        "nothing stored: {:?}",
        shelf.files()
    );
    sim.shutdown().await;
}

/// genmux behind genmux: the upstream gateway keeps its results too and serves them with
/// our key only; MidsyncProvider hands on a signed link to each, which the copier fetches
/// without a key (and, were a keyed URL to reach the copier, its 401 would make it ask the
/// provider again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_behind_a_gateway_copies_the_upstreams_kept_results() {
    let (up_shelf, shelf) = (
        Shelf::new(BlobKind::Fs).await,
        Shelf::new(BlobKind::Fs).await,
    );
    let (sim, kling) = kling_sim(sim_config()).await;
    let upstream = gateway_keeping(
        Db::sqlite(),
        vec![kling],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        up_shelf.blobs.clone(),
    )
    .await;
    let midsync = genmux_midsync::MidsyncProvider::new(
        genmux_midsync::MidsyncConfig::new(upstream.base.clone(), upstream.key.clone()),
        Catalog::builtin(),
    )
    .unwrap()
    .into_provider();
    let gw = gateway_keeping(
        Db::sqlite(),
        vec![midsync],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        shelf.blobs.clone(),
    )
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    assert_eq!(copy::copy_due(&upstream.state).await.unwrap(), 1);
    // The upstream's callback (its kept URL) reaches us.
    assert_eq!(delivery::deliver_due(&upstream.state).await.unwrap(), 1);
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let done = status_of(&gw, &task_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let ours = gw
        .get(
            &done["assets"][0]["url"]
                .as_str()
                .unwrap()
                .replace(&gw.base, ""),
            &gw.key,
        )
        .await;
    // What we copied from: the upstream's kept result, through a signed link.
    let kept = gw.store.assets.assets_of(&task_id).await.unwrap();
    let from = &kept[0].upstream_url;
    assert!(
        from.starts_with(&format!("{}/v1/assets/ast_", upstream.base)) && from.contains("&sig="),
        "{from}"
    );
    let theirs = upstream.send(upstream.http.get(from)).await;
    assert_eq!((ours.status, theirs.status), (200, 200));
    assert_eq!(ours.bytes, theirs.bytes, "the same file, copied");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    sim.shutdown().await;
}

/// A copy under way: a Kling task's results are being copied by `first`'s copier
/// (`copying`, its lease taken) from a download that takes `download`, with copy leases of
/// `lease`.
struct CopyUnderway {
    shelf: Shelf,
    sim: genmux_sim::kling::KlingSim,
    kling: Provider,
    url: String,
    first: Gateway,
    task_id: String,
    hook: Receiver,
    copying: tokio::task::JoinHandle<genmux_core::Result<usize>>,
}

async fn copy_underway(
    db: Db,
    kind: BlobKind,
    lease: Duration,
    download: Duration,
) -> CopyUnderway {
    let shelf = Shelf::new(kind).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let url = db.url();
    let first = gateway_keeping(
        db,
        vec![kling.clone()],
        |c| {
            c.poll.first_delay = Duration::from_secs(3600);
            c.assets.lease_for = lease;
        },
        shelf.blobs.clone(),
    )
    .await;
    let (task_id, hook) = kling_task(&first, &sim).await;
    sim.set_faults(
        Endpoint::Media,
        FaultPlan {
            latency: download,
            ..FaultPlan::none()
        },
    )
    .unwrap();
    let state = first.state.clone();
    let copying = tokio::spawn(async move { copy::copy_due(&state).await });
    for _ in 0..200 {
        let job = first.store.assets.copy_of(&task_id).await.unwrap().unwrap();
        if job.lease_owner.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    CopyUnderway {
        shelf,
        sim,
        kling,
        url,
        first,
        task_id,
        hook,
        copying,
    }
}

/// R4 for copies: a gateway dies while it copies (its download hangs); once its lease
/// expires, the next gateway on the same database and store copies the results and settles
/// the task exactly once: one post, one usage row, one callback, one object.
async fn a_gateway_killed_mid_copy_is_finished_once_after_restart(db: Db, kind: BlobKind) {
    let lease = Duration::from_millis(500);
    // The download hangs: the first gateway is mid-copy when it is killed.
    let CopyUnderway {
        shelf,
        sim,
        kling,
        url,
        first: _first,
        task_id,
        hook,
        copying,
    } = copy_underway(db, kind, lease, Duration::from_secs(3600)).await;
    copying.abort();
    let _ = copying.await;
    // `first` stays up only as the owner of the scratch database: its engine is dead.
    sim.set_faults(Endpoint::Media, FaultPlan::none()).unwrap();

    let second = second_gateway_keeping(&url, vec![kling], |_| {}, shelf.blobs.clone()).await;
    // Until the dead gateway's lease expires, nobody else takes the copy.
    let mut copied = copy::copy_due(&second.state).await.unwrap();
    while copied == 0 {
        tokio::time::sleep(lease / 5).await;
        copied = copy::copy_due(&second.state).await.unwrap();
    }
    assert_eq!(copied, 1);
    assert_eq!(copy::copy_due(&second.state).await.unwrap(), 0);
    let record = second.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(record.status, TaskStatus::Succeeded);
    let account = record.account_id.clone();
    let kinds: Vec<_> = second
        .store
        .ledger
        .entries(&account)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, vec!["top_up", "hold", "post"]);
    let assets = second.store.assets.assets_of(&task_id).await.unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].state, AssetState::Stored);
    assert_eq!(delivery::deliver_due(&second.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 1);
    if shelf.dir.is_some() {
        assert_eq!(shelf.files().len(), 1, "{:?}", shelf.files());
    }
    let got = second
        .get(
            &format!("/v1/assets/{}", assets[0].id),
            &new_key(&second.store, &account, &[Scope::ApiRead]).await,
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.bytes[4..8], b"ftyp");
    sim.shutdown().await;
}

/// A live gateway whose download outlasts its copy lease renews the lease (issue 21: the
/// lease is short so a dead gateway's copies are taken over soon): a second gateway
/// polling for due copies the whole time takes nothing, and the task settles once.
async fn a_download_longer_than_the_lease_keeps_its_job(db: Db, kind: BlobKind) {
    let lease = Duration::from_millis(900);
    // The download takes four leases.
    let CopyUnderway {
        shelf,
        sim,
        kling,
        url,
        first,
        task_id,
        hook,
        copying,
    } = copy_underway(db, kind, lease, lease * 4).await;
    let second = second_gateway_keeping(
        &url,
        vec![kling],
        |c| c.assets.lease_for = lease,
        shelf.blobs.clone(),
    )
    .await;
    let mut looked = 0;
    while !copying.is_finished() {
        assert_eq!(
            copy::copy_due(&second.state).await.unwrap(),
            0,
            "a copy whose lease is renewed was taken over"
        );
        looked += 1;
        tokio::time::sleep(lease / 6).await;
    }
    assert!(looked >= 6, "the second gateway looked {looked} times");
    assert_eq!(copying.await.unwrap().unwrap(), 1);
    let record = first.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(record.status, TaskStatus::Succeeded);
    let job = first.store.assets.copy_of(&task_id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 0, "{job:?}");
    let kinds: Vec<_> = first
        .store
        .ledger
        .entries(&record.account_id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, vec!["top_up", "hold", "post"]);
    assert_eq!(delivery::deliver_due(&first.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 1);
    sim.shutdown().await;
}

/// Retention: an asset past its account's lifetime has its blob deleted by the sweep and
/// answers 410 Gone; others are kept, and stored bytes drop.
async fn the_retention_sweep_deletes_expired_results(db: Db, kind: BlobKind) {
    let shelf = Shelf::new(kind).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway_keeping(
        db,
        vec![kling],
        |c| {
            c.poll.first_delay = Duration::from_secs(3600);
            c.assets.retention = Duration::from_secs(30 * 86_400);
        },
        shelf.blobs.clone(),
    )
    .await;
    let (task_id, _hook) = kling_task(&gw, &sim).await;
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let done = status_of(&gw, &task_id).await;
    let url = done["assets"][0]["url"]
        .as_str()
        .unwrap()
        .replace(&gw.base, "");
    assert_eq!(gw.get(&url, &gw.key).await.status, 200);

    // 29 days on, nothing is due; 31 days on, the asset expires.
    let clock = Arc::new(ManualClock::new(
        time::OffsetDateTime::now_utc() + time::Duration::days(29),
    ));
    let later = gw.state.clone().with_clock(clock.clone());
    assert_eq!(retention::sweep(&later).await.unwrap(), 0);
    assert_eq!(gw.get(&url, &gw.key).await.status, 200);
    clock.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(retention::sweep(&later).await.unwrap(), 1);
    assert_eq!(retention::sweep(&later).await.unwrap(), 0, "expired once");
    let gone = gw.get(&url, &gw.key).await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert!(gone.error().contains("expired"), "{}", gone.error());
    assert!(gw
        .store
        .assets
        .stored_bytes(Some(&gw.account))
        .await
        .unwrap()
        .is_empty());
    if shelf.dir.is_some() {
        assert!(
            shelf.files().is_empty(),
            "the blob is deleted: {:?}",
            shelf.files()
        );
    }
    // The task itself still says what it was.
    assert_eq!(status_of(&gw, &task_id).await["status"], "succeeded");
    sim.shutdown().await;
}

/// Two replicas on one PostgreSQL and one blob store: each copy is made once, whichever
/// replica takes it, and either replica serves every asset.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_the_store_and_copy_each_result_once() {
    let shelf = Shelf::new(BlobKind::Fs).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let db = Db::postgres().await;
    let url = db.url();
    let a = gateway_keeping(
        db,
        vec![kling.clone()],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        shelf.blobs.clone(),
    )
    .await;
    let b = second_gateway_keeping(
        &url,
        vec![kling],
        |c| c.poll.first_delay = Duration::from_secs(3600),
        shelf.blobs.clone(),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let created = a
            .post("/unified-video/generate", &a.key, &kling_body(), None)
            .await;
        assert_eq!(created.status, 200, "{}", created.body);
        ids.push(created.body["taskId"].as_str().unwrap().to_string());
    }
    sim.advance(Duration::from_secs(120)).await;
    let (sa, sb) = (a.state.clone(), b.state.clone());
    let (na, nb) = tokio::join!(
        async move {
            let mut n = 0;
            for _ in 0..4 {
                n += copy::copy_due(&sa).await.unwrap();
            }
            n
        },
        async move {
            let mut n = 0;
            for _ in 0..4 {
                n += copy::copy_due(&sb).await.unwrap();
            }
            n
        }
    );
    assert_eq!(na + nb, 4, "each copy once (a: {na}, b: {nb})");
    assert_eq!(shelf.files().len(), 4, "{:?}", shelf.files());
    for id in &ids {
        let done = status_of(&a, id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let path = done["assets"][0]["url"]
            .as_str()
            .unwrap()
            .split("/v1/assets/")
            .nth(1)
            .unwrap()
            .to_string();
        for gw in [&a, &b] {
            let got = gw.get(&format!("/v1/assets/{path}"), &a.key).await;
            assert_eq!(got.status, 200, "{}", got.body);
        }
    }
    let entries = a.store.ledger.entries(&a.account).await.unwrap();
    assert_eq!(
        entries.iter().filter(|e| e.kind.as_str() == "post").count(),
        4
    );
    sim.shutdown().await;
}

/// 5xx answers are retried with backoff (the task stays `processing`, nothing charged)
/// until they stop, then the copy succeeds; failures that last past the copy deadline fail
/// the task without a charge.
async fn transient_failures_are_retried_until_the_deadline(db: Db, kind: BlobKind) {
    let shelf = Shelf::new(kind).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway_keeping(
        db,
        vec![kling],
        |c| {
            c.poll.first_delay = Duration::from_secs(3600);
            c.assets.copy_deadline = Duration::from_secs(600);
        },
        shelf.blobs.clone(),
    )
    .await;
    let failing = FaultPlan {
        server_error: 1.0,
        ..FaultPlan::none()
    };

    // Recovers: two failed attempts, then the file is served again.
    let (first, _) = kling_task(&gw, &sim).await;
    // The copier's clock, from just after the success was recorded (on the system clock).
    let clock = Arc::new(ManualClock::new(
        time::OffsetDateTime::now_utc() + time::Duration::seconds(1),
    ));
    let engine = gw.state.clone().with_clock(clock.clone());
    sim.set_faults(Endpoint::Media, failing.clone()).unwrap();
    assert_eq!(copy::copy_due(&engine).await.unwrap(), 1);
    let job = gw.store.assets.copy_of(&first).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (CopyState::Pending, 1));
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("HTTP 5"),
        "{job:?}"
    );
    assert_eq!(
        copy::copy_due(&engine).await.unwrap(),
        0,
        "not due before its backoff"
    );
    clock.advance(Duration::from_secs(7));
    assert_eq!(copy::copy_due(&engine).await.unwrap(), 1);
    assert_eq!(
        gw.store
            .assets
            .copy_of(&first)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );
    assert_eq!(status_of(&gw, &first).await["status"], "processing");
    assert_eq!(gw.balance().await, BALANCE - gw.tasks().await[0].points);
    sim.set_faults(Endpoint::Media, FaultPlan::none()).unwrap();
    clock.advance(Duration::from_secs(15));
    assert_eq!(copy::copy_due(&engine).await.unwrap(), 1);
    assert_eq!(status_of(&gw, &first).await["status"], "succeeded");

    // Gives up at the deadline: failed, refunded, the reason kept for operators.
    let (second, _) = kling_task(&gw, &sim).await;
    sim.set_faults(Endpoint::Media, failing).unwrap();
    let mut attempts = 0;
    while status_of(&gw, &second).await["status"] == "processing" {
        attempts += copy::copy_due(&engine).await.unwrap();
        clock.advance(Duration::from_secs(400));
        assert!(attempts < 10, "still retrying after {attempts} attempts");
    }
    let failed = status_of(&gw, &second).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("could not be downloaded within 10 min") && error.contains("no points"),
        "{error}"
    );
    let record = gw.store.tasks.get(&second).await.unwrap().unwrap();
    assert!(
        record.upstream_error.unwrap_or_default().contains("HTTP 5"),
        "operators see why"
    );
    let kinds = gw.entry_kinds().await;
    assert_eq!(kinds, vec!["top_up", "hold", "post", "hold", "void"]);
    sim.shutdown().await;
}

/// The SSRF guard applies to results (an upstream is not trusted to point the gateway at
/// its own network): where loopback is not allowed, a loopback result URL is refused, the
/// task fails without a charge and nothing is fetched or stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_result_url_on_our_own_network_is_refused() {
    let shelf = Shelf::new(BlobKind::Fs).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway_keeping(
        Db::sqlite(),
        vec![kling],
        |c| {
            c.poll.first_delay = Duration::from_secs(3600);
            c.allow_loopback_callbacks = false;
        },
        shelf.blobs.clone(),
    )
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let failed = status_of(&gw, &task_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(gw.balance().await, BALANCE);
    let note = gw
        .store
        .tasks
        .get(&task_id)
        .await
        .unwrap()
        .unwrap()
        .upstream_error
        .unwrap_or_default();
    assert!(
        note.contains("refused") && note.contains("127.0.0.1"),
        "{note}"
    );
    assert!(shelf.files().is_empty());
    sim.shutdown().await;
}

/// A result over `assets.max_bytes` is not kept: the task fails naming the limit, without
/// a charge, and no partial object is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_result_over_the_size_limit_fails_its_task_naming_the_limit() {
    let shelf = Shelf::new(BlobKind::Fs).await;
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway_keeping(
        Db::sqlite(),
        vec![kling],
        |c| {
            c.poll.first_delay = Duration::from_secs(3600);
            c.assets.max_bytes = 100;
        },
        shelf.blobs.clone(),
    )
    .await;
    let (task_id, _) = kling_task(&gw, &sim).await;
    assert_eq!(copy::copy_due(&gw.state).await.unwrap(), 1);
    let failed = status_of(&gw, &task_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("assets.max_bytes = 100") && error.contains("no points were charged"),
        "{error}"
    );
    assert_eq!(gw.balance().await, BALANCE);
    assert!(shelf.files().is_empty(), "{:?}", shelf.files());
    sim.shutdown().await;
}
