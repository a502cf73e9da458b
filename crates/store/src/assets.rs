//! Results kept by the gateway (issue 18): the copy job of each task whose upstream reported
//! success, and one row per asset copied into the blob store.
//!
//! A copy job is leased like polls and callbacks (one worker at a time; a dead worker's
//! lease expires and another takes over), so replicas and restarts neither lose nor double a
//! copy. An asset moves `pending` → `stored` once (the blob key is the asset's own, so a
//! second copy after a crash overwrites the same object) and `stored` → `expired` when the
//! retention sweep deletes its blob.

use async_trait::async_trait;
use genmux_core::{MediaKind, Result};
use std::time::Duration;
use time::OffsetDateTime;

/// One asset to copy, as the upstream reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAsset {
    /// The gateway's id of the asset (`ast_…`), used in its URL.
    pub id: String,
    /// Position in the task's result, from 0.
    pub index: u32,
    /// Video or image.
    pub kind: MediaKind,
    /// Where the upstream serves it (expires; for operators only).
    pub upstream_url: String,
}

/// A task's copy job to start.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCopy {
    /// The task (one job per task).
    pub task_id: String,
    /// The task's account.
    pub account_id: String,
    /// The upstream's report of success (`TaskSnapshot` as JSON), applied once the copy is
    /// done.
    pub report: serde_json::Value,
    /// The assets to copy.
    pub assets: Vec<NewAsset>,
    /// The first attempt.
    pub next_attempt_at: OffsetDateTime,
    /// After this, a copy that keeps failing transiently is given up.
    pub deadline_at: OffsetDateTime,
}

/// Where a copy job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CopyState {
    /// Waiting for (another) attempt.
    Pending,
    /// Every asset is stored and the task was settled.
    Done,
    /// The upstream's assets could not be copied; the task was failed.
    Failed,
}

impl CopyState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Pending => "pending",
            CopyState::Done => "done",
            CopyState::Failed => "failed",
        }
    }

    /// Parses [`CopyState::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => CopyState::Pending,
            "done" => CopyState::Done,
            "failed" => CopyState::Failed,
            _ => return None,
        })
    }
}

/// A stored copy job.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyJob {
    /// The task.
    pub task_id: String,
    /// The task's account.
    pub account_id: String,
    /// The upstream's report of success.
    pub report: serde_json::Value,
    /// Where it stands.
    pub state: CopyState,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Next attempt while pending.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When transient failures stop being retried.
    pub deadline_at: OffsetDateTime,
    /// The last failure.
    pub last_error: Option<String>,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// When that lease ends.
    pub lease_expires_at: Option<OffsetDateTime>,
    /// When the job was created.
    pub created_at: OffsetDateTime,
    /// When it ended.
    pub finished_at: Option<OffsetDateTime>,
}

/// Where an asset stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetState {
    /// Not copied yet.
    Pending,
    /// In the blob store.
    Stored,
    /// Its retention ended and its blob was deleted (`410 Gone`).
    Expired,
}

impl AssetState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetState::Pending => "pending",
            AssetState::Stored => "stored",
            AssetState::Expired => "expired",
        }
    }

    /// Parses [`AssetState::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => AssetState::Pending,
            "stored" => AssetState::Stored,
            "expired" => AssetState::Expired,
            _ => return None,
        })
    }
}

/// What was written to the blob store for an asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    /// The object's key (path) in the blob store.
    pub blob_key: String,
    /// The `Content-Type` the upstream declared (or the one the kind implies).
    pub content_type: String,
    /// Bytes written.
    pub size_bytes: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// When the copy completed.
    pub stored_at: OffsetDateTime,
    /// When the retention sweep deletes it.
    pub expires_at: OffsetDateTime,
}

/// A stored asset row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRecord {
    /// The gateway's id (`ast_…`).
    pub id: String,
    /// The task it belongs to.
    pub task_id: String,
    /// The account that owns it.
    pub account_id: String,
    /// Position in the task's result.
    pub index: u32,
    /// Video or image.
    pub kind: MediaKind,
    /// The upstream's URL (operators only).
    pub upstream_url: String,
    /// Where it stands.
    pub state: AssetState,
    /// Set once stored.
    pub blob: Option<StoredBlob>,
    /// When the row was created.
    pub created_at: OffsetDateTime,
}

/// Stored bytes of one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBytes {
    /// The account.
    pub account_id: String,
    /// Assets currently stored.
    pub assets: i64,
    /// Their total size.
    pub bytes: i64,
}

/// Copy jobs and assets.
#[async_trait]
pub trait AssetStore: Send + Sync {
    /// Starts the copy job of `copy.task_id` with its asset rows, in one transaction.
    /// Idempotent on the task id: a second call (a duplicate report of success) writes
    /// nothing and returns the stored job.
    async fn begin_copy(&self, copy: NewCopy) -> Result<CopyJob>;

    /// The copy job of a task.
    async fn copy_of(&self, task_id: &str) -> Result<Option<CopyJob>>;

    /// Leases up to `limit` pending jobs due at `now` that nobody holds (or whose lease
    /// expired) to `worker_id` for `lease_for`. Never two workers at once.
    async fn lease_copies(
        &self,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<CopyJob>>;

    /// Records a failed attempt by the lease holder and schedules the next; releases the
    /// lease. `false` (nothing written) if `worker_id` does not hold it.
    async fn retry_copy(
        &self,
        task_id: &str,
        worker_id: &str,
        next_attempt_at: OffsetDateTime,
        last_error: &str,
    ) -> Result<bool>;

    /// Extends the lease `worker_id` holds on a pending job to `until` (the copier renews
    /// its leases while a download runs, so a lease can be short and a crashed worker's
    /// copies are taken over soon). `false` (nothing written) if `worker_id` no longer holds
    /// it or the job is no longer pending.
    async fn renew_copy_lease(
        &self,
        task_id: &str,
        worker_id: &str,
        until: OffsetDateTime,
    ) -> Result<bool>;

    /// Ends a pending job as `done` or `failed` (with `last_error`). `false` if it was no
    /// longer pending.
    async fn finish_copy(
        &self,
        task_id: &str,
        state: CopyState,
        last_error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// A task's assets, by index.
    async fn assets_of(&self, task_id: &str) -> Result<Vec<AssetRecord>>;

    /// The asset with this id.
    async fn asset(&self, asset_id: &str) -> Result<Option<AssetRecord>>;

    /// Records a pending asset's blob: `pending` → `stored`, once. `false` if it was not
    /// pending (another worker stored it first).
    async fn mark_stored(&self, asset_id: &str, blob: &StoredBlob) -> Result<bool>;

    /// Replaces the upstream URL of a pending asset (the provider minted a fresh link after
    /// the first one died). `false` if the asset is not pending.
    async fn refresh_upstream_url(&self, asset_id: &str, upstream_url: &str) -> Result<bool>;

    /// Up to `limit` stored assets whose `expires_at <= now`, oldest expiry first.
    async fn expired(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<AssetRecord>>;

    /// `stored` → `expired` (after its blob was deleted). `false` if it was not stored.
    async fn mark_expired(&self, asset_id: &str) -> Result<bool>;

    /// Stored bytes per account (one account, or all with stored assets, by account id).
    async fn stored_bytes(&self, account_id: Option<&str>) -> Result<Vec<StoredBytes>>;
}
