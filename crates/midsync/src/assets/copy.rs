//! Copy on success (issue 18 point 1): when an upstream reports a task succeeded, its
//! assets are downloaded through the SSRF guard and streamed into the blob store; only when
//! every asset is stored is the task settled as succeeded (hold posted, usage row,
//! callback with gateway URLs). If the upstream's URLs are dead first, the task fails and
//! its hold is voided (the ledger rule of `docs/assets.md`).
//!
//! Crash safety: the copy job and its asset rows are written in one transaction when the
//! success is first reported (`begin`); a job is leased like a poll, so after a crash or
//! on another replica it is taken over when the lease expires. The object key of an asset
//! is its own ([`super::blobs::blob_key`]), so a repeated copy overwrites the same object,
//! and an asset is recorded stored once. Settling is idempotent, so a crash between
//! settling and closing the job settles nothing twice.

use super::blobs::{blob_key, Blobs};
use super::links::asset_url;
use crate::config::AssetsConfig;
use crate::engine::settle;
use crate::ssrf::{PostError, SsrfError};
use crate::AppState;
use futures_util::StreamExt;
use genmux_core::{Asset, Error, Result, TaskSnapshot, TaskStatus};
use genmux_store::{
    AssetRecord, AssetState, CopyJob, CopyState, NewAsset, NewCopy, StoredBlob, TaskRecord,
    TaskUpdate, TaskUpdateOutcome,
};
use object_store::WriteMultipart;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tracing::Instrument;

/// A dead link is asked for again (a fresh status query) only while the job has failed
/// fewer times than this: providers that mint a new download link per query (MiniMax's
/// `files/retrieve`, a genmux upstream's signed links) recover; the others fail.
const MAX_LINK_REFRESHES: i64 = 3;
/// Redirects followed (each hop checked by the guard again).
const MAX_REDIRECTS: usize = 5;
/// Multipart part size: S3's least part size is 5 MiB (all but the last part).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploading at once; with [`PART_BYTES`], at most ~16 MiB of a video in memory.
const PARTS_IN_FLIGHT: usize = 2;
/// Most a copy holds in memory: the part being filled and the parts uploading.
const MAX_COPY_BUFFER: u64 = PART_BYTES as u64 * (PARTS_IN_FLIGHT as u64 + 1);
/// The copier's memory budget is counted in KiB (a semaphore's permits).
const BUDGET_UNIT: u64 = 1024;

/// Permits of a memory budget of `bytes` (at least one copy's worth, so a budget set too
/// small slows copies down instead of stopping them).
pub(crate) fn budget_units(bytes: u64) -> usize {
    let units = bytes.max(MAX_COPY_BUFFER) / BUDGET_UNIT;
    usize::try_from(units)
        .unwrap_or(usize::MAX)
        .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// What a copy of `declared` bytes (unknown: `None`) reserves of the budget, in permits:
/// all it may hold at once, taken in one piece so copies never wait holding part of it.
fn reservation(declared: Option<u64>) -> u32 {
    let bytes = declared.map_or(MAX_COPY_BUFFER, |n| n.min(MAX_COPY_BUFFER));
    u32::try_from(bytes.div_ceil(BUDGET_UNIT).max(1)).unwrap_or(u32::MAX)
}

/// Why copying one asset failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyFailure {
    /// The upstream's URL is gone (expired link, deleted object, refused): never retried.
    Dead(String),
    /// Larger than `assets.max_bytes`: never retried.
    TooLarge(u64),
    /// Worth retrying until the deadline: timeouts, resets, 5xx, 429, the blob store.
    Transient(String),
}

/// What an upstream's HTTP status on a result download means; `None` for a 2xx.
/// 408, 425, 429 and 5xx are retried; any other 4xx means the link is dead (an expired
/// signed URL answers 403 on S3-like CDNs, a deleted object 404 or 410).
pub fn classify_status(status: u16) -> Option<CopyFailure> {
    match status {
        200..=299 => None,
        408 | 425 | 429 | 500..=599 => Some(CopyFailure::Transient(format!(
            "the provider's file server answered HTTP {status}"
        ))),
        _ => Some(CopyFailure::Dead(format!(
            "the provider's file server answered HTTP {status}"
        ))),
    }
}

/// The wait before copy attempt `attempt + 1` (1 = after the first failure): doubling from
/// the first delay up to the maximum, ±20 % jitter.
pub fn copy_backoff(cfg: &AssetsConfig, attempt: i64) -> Duration {
    let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    let base = cfg
        .first_retry_delay
        .saturating_mul(2u32.saturating_pow(exp))
        .min(cfg.max_retry_delay);
    base.mul_f64(rand::rng().random_range(0.8..=1.2))
        .max(Duration::from_millis(1))
}

/// The media type of a downloaded asset: the upstream's `Content-Type` when it names a
/// video or image type, else what the first bytes are (MP4, WebM, PNG, JPEG, WebP, GIF),
/// else `application/octet-stream`.
pub fn content_type(declared: Option<&str>, first_bytes: &[u8]) -> String {
    if let Some(d) = declared {
        let essence = d
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence.starts_with("video/") || essence.starts_with("image/") {
            return essence;
        }
    }
    let b = first_bytes;
    let sniffed = if b.len() >= 8 && &b[4..8] == b"ftyp" {
        "video/mp4"
    } else if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        "video/webm"
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP" {
        "image/webp"
    } else if b.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "application/octet-stream"
    };
    sniffed.to_string()
}

/// The assets a caller sees once the copy is done: the gateway's URLs and sizes, with the
/// upstream's per-asset details (its asset id, duration, index) by position.
pub fn gateway_assets(reported: &[Asset], stored: &[AssetRecord], base_url: &str) -> Vec<Asset> {
    stored
        .iter()
        .map(|r| {
            let up = reported.get(r.index as usize);
            Asset {
                kind: r.kind,
                url: asset_url(base_url, &r.id),
                id: up.and_then(|a| a.id.clone()),
                duration_secs: up.and_then(|a| a.duration_secs),
                index: up.map_or(r.index, |a| a.index),
                size_bytes: r
                    .blob
                    .as_ref()
                    .and_then(|b| u64::try_from(b.size_bytes).ok()),
            }
        })
        .collect()
}

fn new_asset_id() -> String {
    format!("ast_{}", uuid::Uuid::new_v4().simple())
}

/// Starts the copy of a task the upstream reported succeeded (`snap`): the job and its
/// assets are recorded (once, whatever number of reports arrive), and the task shows
/// `processing` until the copy settles it. Called by settlement.
pub(crate) async fn begin(
    state: &AppState,
    task: &TaskRecord,
    snap: TaskSnapshot,
) -> Result<TaskUpdateOutcome> {
    let store = state.store();
    let now = state.clock().now();
    let deadline = time::Duration::try_from(state.config().assets.copy_deadline)
        .map_err(|e| Error::invalid(format!("assets.copy_deadline: {e}")))?;
    let report = serde_json::to_value(&snap)
        .map_err(|e| Error::internal(format!("the report of task {}: {e}", task.id)))?;
    let job = store
        .assets
        .begin_copy(NewCopy {
            task_id: task.id.clone(),
            account_id: task.account_id.clone(),
            report,
            assets: snap
                .assets
                .iter()
                .enumerate()
                .map(|(i, a)| NewAsset {
                    id: new_asset_id(),
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    kind: a.kind,
                    upstream_url: a.url.clone(),
                })
                .collect(),
            next_attempt_at: now,
            deadline_at: now + deadline,
        })
        .await?;
    if job.attempts == 0 && job.state == CopyState::Pending {
        tracing::info!(task = %task.id, provider = %task.provider, assets = snap.assets.len(),
            "upstream reported success; copying the results before announcing it");
    }
    store
        .tasks
        .update(
            &task.id,
            TaskUpdate {
                status: TaskStatus::Processing,
                assets: Vec::new(),
                error: None,
                upstream_error: None,
                provider_task_id: Some(snap.provider_task_id).filter(|s| !s.is_empty()),
                provider_model: None,
            },
        )
        .await
}

/// Downloads `url` through the guard, following up to [`MAX_REDIRECTS`] redirects (each
/// target checked again); a non-2xx answer is classified by [`classify_status`].
async fn fetch(state: &AppState, url: &str) -> std::result::Result<reqwest::Response, CopyFailure> {
    let timeout = state.config().assets.fetch_timeout;
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let resp = state
            .guard()
            .get(&current, timeout)
            .await
            .map_err(|e| match e {
                PostError::Refused(SsrfError::Unresolvable { host, reason }) => {
                    CopyFailure::Transient(format!("cannot resolve `{host}`: {reason}"))
                }
                PostError::Refused(r) => CopyFailure::Dead(format!("the URL is refused: {r}")),
                PostError::Transport(t) => CopyFailure::Transient(t),
            })?;
        let status = resp.status();
        if status.is_redirection() {
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| resp.url().join(loc).ok())
                .ok_or_else(|| {
                    CopyFailure::Dead(format!("HTTP {status} without a usable Location"))
                })?;
            current = next.to_string();
            continue;
        }
        if let Some(failure) = classify_status(status.as_u16()) {
            return Err(failure);
        }
        return Ok(resp);
    }
    Err(CopyFailure::Dead(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// Streams one asset into the blob store: never more than a few parts in memory, at most
/// `assets.max_bytes`, hashed on the way.
async fn copy_asset(
    state: &AppState,
    blobs: &Blobs,
    asset: &AssetRecord,
) -> std::result::Result<StoredBlob, CopyFailure> {
    let cfg = &state.config().assets;
    let resp = fetch(state, &asset.upstream_url).await?;
    if let Some(len) = resp.content_length() {
        if len > cfg.max_bytes {
            return Err(CopyFailure::TooLarge(len));
        }
    }
    // Held until this copy ends (the body cannot outgrow a declared length: the HTTP
    // client reads exactly that many bytes).
    let _memory = state
        .copy_buffers()
        .clone()
        .acquire_many_owned(reservation(resp.content_length()))
        .await
        .map_err(|_| CopyFailure::Transient("the gateway is stopping".to_string()))?;
    let declared = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let key = blob_key(&asset.account_id, &asset.task_id, &asset.id);
    let store_err = |what: &str, e: object_store::Error| {
        CopyFailure::Transient(format!("blob store ({}): {what}: {e}", blobs.location()))
    };
    let upload = blobs
        .store()
        .put_multipart(&key)
        .await
        .map_err(|e| store_err("starting an upload", e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::new();
    let mut body = resp.bytes_stream();
    let failure = loop {
        let chunk = match body.next().await {
            None => break None,
            Some(Err(e)) => {
                break Some(CopyFailure::Transient(format!(
                    "download interrupted after {size} bytes: {e}"
                )))
            }
            Some(Ok(c)) => c,
        };
        size += chunk.len() as u64;
        if size > cfg.max_bytes {
            break Some(CopyFailure::TooLarge(size));
        }
        if head.len() < 16 {
            head.extend(chunk.iter().take(16 - head.len()));
        }
        hasher.update(&chunk);
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            break Some(store_err("uploading a part", e));
        }
        writer.write(&chunk);
    };
    if let Some(f) = failure {
        // An unfinished multipart upload is removed (a crash leaves one for the store's
        // lifecycle rule, docs/assets.md).
        if let Err(e) = writer.abort().await {
            tracing::warn!(asset = %asset.id, error = %e, "aborting an unfinished upload failed");
        }
        return Err(f);
    }
    writer
        .finish()
        .await
        .map_err(|e| store_err("completing the upload", e))?;
    let stored_at = state.clock().now();
    let keep = time::Duration::try_from(cfg.retention_for(&asset.account_id))
        .unwrap_or(time::Duration::days(30));
    Ok(StoredBlob {
        blob_key: key.to_string(),
        content_type: content_type(declared.as_deref(), &head),
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        sha256: hex(&hasher.finalize()),
        stored_at,
        expires_at: stored_at + keep,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Leases up to `n` due copy jobs for this worker (none where results are not kept).
pub async fn lease(state: AppState, n: usize) -> Result<Vec<CopyJob>> {
    if state.blobs().is_none() {
        return Ok(Vec::new());
    }
    let cfg = &state.config().assets;
    state
        .store()
        .assets
        .lease_copies(
            &state.config().worker_id,
            state.clock().now(),
            u32::try_from(n).unwrap_or(u32::MAX),
            cfg.lease_for,
        )
        .await
}

/// Copies one leased job in its own span, renewing its lease every third of
/// `assets.lease_for` while the copy runs: the lease can then be short, so a crashed or
/// killed worker's copies are taken over within one lease (issue 21: with a lease sized to
/// outlast a whole download, 35 min, a task copied when its gateway died kept its caller
/// waiting that long), while a live worker's long download is never taken over.
pub async fn copy_leased(state: AppState, job: CopyJob) -> Result<()> {
    let Some(blobs) = state.blobs().cloned() else {
        return Ok(());
    };
    let span = tracing::info_span!("genmux.copy_assets", genmux.task = %job.task_id);
    let task_id = job.task_id.clone();
    let copy = copy_job(&state, &blobs, job).instrument(span);
    tokio::select! {
        done = copy => done,
        never = keep_lease(&state, &task_id) => match never {},
    }
}

/// Renews this worker's lease on `task_id`'s copy job every third of the lease until
/// cancelled (by the copy finishing). A failed renewal is retried at the next turn; a lost
/// lease (another worker took the job after this one stalled past its lease, or the job
/// was closed) ends the renewals: the copy goes on, which is harmless — both write the
/// same object and an asset is recorded stored once.
async fn keep_lease(state: &AppState, task_id: &str) -> std::convert::Infallible {
    let lease_for = state.config().assets.lease_for;
    let every = (lease_for / 3).max(Duration::from_millis(10));
    let worker = &state.config().worker_id;
    loop {
        tokio::time::sleep(every).await;
        let until = state.clock().now() + lease_for;
        match state
            .store()
            .assets
            .renew_copy_lease(task_id, worker, until)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(task = %task_id, "the copy lease is no longer this worker's");
                return std::future::pending().await;
            }
            Err(e) => {
                tracing::warn!(task = %task_id, error = %e, "renewing a copy lease failed; retrying")
            }
        }
    }
}

/// One pass: lease up to a batch of due copy jobs, run them concurrently and wait for all
/// of them. Returns how many were leased. (The engine's copier keeps a pipeline instead.)
pub async fn copy_due(state: &AppState) -> Result<usize> {
    let jobs = lease(state.clone(), state.config().assets.batch as usize).await?;
    Ok(crate::engine::run_leased(
        jobs,
        "copying a task's results",
        |j| j.task_id.clone(),
        |job| copy_leased(state.clone(), job),
    )
    .await)
}

/// Copies what is still pending of one leased job, then settles its task.
pub async fn copy_job(state: &AppState, blobs: &Blobs, job: CopyJob) -> Result<()> {
    let store = state.store();
    let now = state.clock().now();
    let Some(task) = store.tasks.get(&job.task_id).await? else {
        store
            .assets
            .finish_copy(
                &job.task_id,
                CopyState::Failed,
                Some("the task is gone"),
                now,
            )
            .await?;
        return Ok(());
    };
    if task.status.is_final() {
        // Settled by an earlier run that died before closing the job, or ended otherwise
        // (cancelled by the caller while copying): nothing left to do.
        let end = if task.status == TaskStatus::Succeeded {
            CopyState::Done
        } else {
            CopyState::Failed
        };
        store.assets.finish_copy(&task.id, end, None, now).await?;
        return Ok(());
    }
    let report: TaskSnapshot = serde_json::from_value(job.report.clone())
        .map_err(|e| Error::internal(format!("stored report of task {}: {e}", task.id)))?;
    let mut assets = store.assets.assets_of(&task.id).await?;
    let last_pending = assets.iter().rposition(|a| a.state == AssetState::Pending);
    // The last download's record commits with the settlement (issue 21: one durable write
    // fewer per copy); earlier ones are recorded as they finish, so a retry after a
    // failure later in the list does not download them again.
    let mut deferred = Vec::new();
    let mut raced = false;
    for (i, asset) in assets.iter_mut().enumerate() {
        if asset.state != AssetState::Pending {
            continue;
        }
        match copy_asset(state, blobs, asset).await {
            Ok(blob) => {
                state.metrics().asset_copy("stored");
                state
                    .metrics()
                    .asset_bytes(u64::try_from(blob.size_bytes).unwrap_or(0));
                tracing::info!(task = %task.id, asset = %asset.id, bytes = blob.size_bytes,
                    content_type = %blob.content_type, "asset stored");
                if Some(i) == last_pending {
                    deferred.push((asset.id.clone(), blob.clone()));
                } else if !store.assets.mark_stored(&asset.id, &blob).await? {
                    // Another worker recorded it first (its record stands): read it back.
                    raced = true;
                }
                asset.state = AssetState::Stored;
                asset.blob = Some(blob);
            }
            Err(CopyFailure::Dead(why)) if job.attempts < MAX_LINK_REFRESHES => {
                if let Some(url) = fresh_link(state, &task, asset).await {
                    // The provider minted a new link: copy from it at once.
                    state.metrics().asset_copy("refreshed");
                    tracing::info!(task = %task.id, asset = %asset.id, provider = %task.provider,
                        error = %why, "the provider's link was dead; copying from the fresh one it gave");
                    store.assets.refresh_upstream_url(&asset.id, &url).await?;
                    store
                        .assets
                        .retry_copy(&task.id, &state.config().worker_id, now, &why)
                        .await?;
                    return Ok(());
                }
                return copy_failed(state, &task, &job, &report, CopyFailure::Dead(why)).await;
            }
            Err(f) => return copy_failed(state, &task, &job, &report, f).await,
        }
    }
    if raced {
        assets = store.assets.assets_of(&task.id).await?;
        for a in assets.iter_mut() {
            if let Some((_, blob)) = deferred.iter().find(|(id, _)| *id == a.id) {
                a.state = AssetState::Stored;
                a.blob = Some(blob.clone());
            }
        }
    }
    let snap = TaskSnapshot {
        assets: gateway_assets(&report.assets, &assets, &state.config().public_base_url),
        ..report
    };
    // Closes the copy job and records the last asset too, in the same write where the
    // store can.
    settle::copied(state, &task, snap, deferred).await?;
    Ok(())
}

/// The provider's current link to `asset` when it differs from the dead one: its task is
/// asked again (task affinity) and must still report success with an asset at that
/// position. `None` when it cannot say or gives the same link.
async fn fresh_link(state: &AppState, task: &TaskRecord, asset: &AssetRecord) -> Option<String> {
    let upstream_id = task.provider_task_id.clone()?;
    let tref = crate::engine::poller::task_ref(task, upstream_id);
    let snap = match state.router().status(&tref).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(task = %task.id, provider = %task.provider, error = %e,
                "asking the provider for a fresh link failed");
            return None;
        }
    };
    if snap.status != TaskStatus::Succeeded {
        return None;
    }
    let url = snap.assets.get(asset.index as usize)?.url.clone();
    (url != asset.upstream_url).then_some(url)
}

/// What the caller is told when the results could not be copied (no provider's words).
pub fn caller_message(f: &CopyFailure, cfg: &AssetsConfig, gave_up: bool) -> String {
    match f {
        CopyFailure::Dead(_) => "the provider's result expired or was removed before the gateway \
             could copy it; no points were charged. Generate again"
            .to_string(),
        CopyFailure::TooLarge(n) => format!(
            "the result ({n} bytes or more) is larger than this gateway keeps \
             (assets.max_bytes = {}); no points were charged",
            cfg.max_bytes
        ),
        CopyFailure::Transient(_) if gave_up => format!(
            "the provider's result could not be downloaded within {} min; no points were \
             charged. Generate again",
            cfg.copy_deadline.as_secs() / 60
        ),
        CopyFailure::Transient(_) => "copying the result is being retried".to_string(),
    }
}

fn detail(f: &CopyFailure) -> String {
    match f {
        CopyFailure::Dead(d) | CopyFailure::Transient(d) => d.clone(),
        CopyFailure::TooLarge(n) => format!("{n} bytes or more"),
    }
}

async fn copy_failed(
    state: &AppState,
    task: &TaskRecord,
    job: &CopyJob,
    report: &TaskSnapshot,
    failure: CopyFailure,
) -> Result<()> {
    let cfg = &state.config().assets;
    let store = state.store();
    let now = state.clock().now();
    if let CopyFailure::Transient(why) = &failure {
        let wait = copy_backoff(cfg, job.attempts + 1);
        let next = now + time::Duration::try_from(wait).unwrap_or(time::Duration::MINUTE);
        if next <= job.deadline_at {
            state.metrics().asset_copy("retried");
            tracing::warn!(task = %task.id, provider = %task.provider, attempt = job.attempts + 1,
                retry_in_ms = wait.as_millis() as u64, error = %why, "copying results failed; retrying");
            store
                .assets
                .retry_copy(&task.id, &state.config().worker_id, next, why)
                .await?;
            return Ok(());
        }
    }
    let outcome = match failure {
        CopyFailure::Transient(_) => "failed",
        _ => "dead",
    };
    state.metrics().asset_copy(outcome);
    let lost = report.billed_usd_micros.unwrap_or(0);
    state.metrics().lost_upstream_cost(&task.provider, lost);
    let why = detail(&failure);
    // Operators see what the caller does not: the provider, its task and cost, and why.
    tracing::error!(task = %task.id, account = %task.account_id, provider = %task.provider,
        provider_task_id = ?task.provider_task_id, lost_upstream_cost_micros = lost,
        error = %why, "results lost before they were copied: the task fails, the caller is \
        not charged, the upstream's cost is the operator's loss");
    let message = caller_message(&failure, cfg, true);
    settle::copy_failed(state, task, &message, &why).await?;
    store
        .assets
        .finish_copy(&task.id, CopyState::Failed, Some(&why), state.clock().now())
        .await?;
    Ok(())
}

/// Whether a task's success must be copied before it is announced: the gateway keeps
/// results (a blob store is configured) and the upstream reported some.
pub fn copies(state: &AppState, snap: &TaskSnapshot) -> bool {
    state.blobs().is_some() && snap.status == TaskStatus::Succeeded && !snap.assets.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_reserves_what_it_may_hold_and_the_default_budget_runs_64_clips() {
        // A 16 KB clip reserves 16 KiB; a long or unannounced video three parts.
        assert_eq!(reservation(Some(16 * 1024)), 16);
        assert_eq!(reservation(Some(1)), 1);
        assert_eq!(reservation(Some(0)), 1);
        assert_eq!(reservation(Some(5_000_000_000)), 24 * 1024);
        assert_eq!(reservation(None), 24 * 1024);
        let budget = budget_units(AssetsConfig::default().copy_buffer_bytes);
        assert_eq!(budget, 256 * 1024);
        assert_eq!(
            budget / reservation(None) as usize,
            10,
            "long videos at once"
        );
        assert!(budget / reservation(Some(20 * 1024 * 1024)) as usize >= 12);
        // A budget below one copy still lets one run.
        assert_eq!(budget_units(1), 24 * 1024);
    }

    #[test]
    fn statuses_are_dead_or_worth_retrying() {
        assert_eq!(classify_status(200), None);
        assert_eq!(classify_status(206), None);
        for s in [403, 404, 410, 400, 401] {
            assert!(
                matches!(classify_status(s), Some(CopyFailure::Dead(_))),
                "{s}"
            );
        }
        for s in [408, 429, 500, 502, 503] {
            assert!(
                matches!(classify_status(s), Some(CopyFailure::Transient(_))),
                "{s}"
            );
        }
    }

    #[test]
    fn content_type_prefers_a_media_header_then_sniffs() {
        assert_eq!(
            content_type(Some("video/mp4; codecs=avc1"), b""),
            "video/mp4"
        );
        assert_eq!(
            content_type(Some("application/octet-stream"), b"\0\0\0\x18ftypisom"),
            "video/mp4"
        );
        assert_eq!(content_type(None, b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(None, &[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(content_type(None, b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(content_type(None, b"hello"), "application/octet-stream");
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let cfg = AssetsConfig::default();
        let b1 = copy_backoff(&cfg, 1);
        assert!(
            b1 >= Duration::from_secs(4) && b1 <= Duration::from_secs(6),
            "{b1:?}"
        );
        let b3 = copy_backoff(&cfg, 3);
        assert!(
            b3 >= Duration::from_secs(16) && b3 <= Duration::from_secs(24),
            "{b3:?}"
        );
        let b20 = copy_backoff(&cfg, 20);
        assert!(b20 <= Duration::from_secs(360), "{b20:?}");
    }
}
