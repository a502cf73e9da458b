//! `Idempotency-Key` records (`design/RELIABILITY.md` I4, T1–T3; Stripe's model): per
//! (account, route, key) the fingerprint of the first request, whether it is still running,
//! and its response, replayed byte for byte.
//!
//! Records are scoped per **account**, not per API key (issue 13 point 10, as Stripe does):
//! a retry sent with another key of the same account replays the first answer instead of
//! creating — and charging — a second task; other accounts stay independent.

use async_trait::async_trait;
use genmux_core::Result;
use time::OffsetDateTime;

/// Largest accepted `Idempotency-Key` length (RELIABILITY.md: ≤ 255 chars).
pub const MAX_KEY_CHARS: usize = 255;

/// How long records must at least be kept (RELIABILITY.md: ≥ 24 h).
pub const MIN_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// The scope of one idempotency record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    /// The account sending the request: keys are independent per account (T2), shared by
    /// all of its API keys.
    pub account_id: String,
    /// The route, e.g. `POST /unified-video/generate`.
    pub route: String,
    /// The `Idempotency-Key` header value (1–255 chars).
    pub key: String,
}

impl IdempotencyKey {
    /// Builds a key for `account_id`, checking the header's length.
    pub fn new(
        account_id: impl Into<String>,
        route: impl Into<String>,
        key: impl Into<String>,
    ) -> Result<Self> {
        let key = key.into();
        let n = key.chars().count();
        if n == 0 || n > MAX_KEY_CHARS {
            return Err(genmux_core::Error::invalid(format!(
                "Idempotency-Key has {n} characters; allowed 1–{MAX_KEY_CHARS}"
            )));
        }
        Ok(IdempotencyKey {
            account_id: account_id.into(),
            route: route.into(),
            key,
        })
    }
}

/// A response kept for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes, exactly as first sent.
    pub body: Vec<u8>,
}

/// What [`IdempotencyStore::begin`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BeginOutcome {
    /// First time: this caller owns the key and must `complete` or `abandon` it.
    New,
    /// The first request with this key is still running (→ 409).
    InProgress,
    /// Finished before: replay this response.
    Done(StoredResponse),
    /// The key was used with a different request body (→ 422).
    Mismatch,
}

/// What [`IdempotencyStore::take_over_stale`] claimed: the key of a request that stopped
/// (its process died) while in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleClaim {
    /// The task id the stopped request had announced with [`IdempotencyStore::attach_task`],
    /// if it got that far.
    pub task_id: Option<String>,
}

/// Idempotency records.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for a request with `fingerprint` (a hash of the normalized body), atomically:
    /// of any number of concurrent callers exactly one gets [`BeginOutcome::New`].
    async fn begin(&self, key: &IdempotencyKey, fingerprint: &str) -> Result<BeginOutcome>;

    /// Stores the response of a request that began with [`BeginOutcome::New`]. Returns
    /// `false` if there was no in-progress record to complete.
    async fn complete(&self, key: &IdempotencyKey, response: &StoredResponse) -> Result<bool>;

    /// Forgets an in-progress key (the request failed validation and stored nothing, so a
    /// corrected retry with the same key is processed: T3). Returns whether one was removed.
    async fn abandon(&self, key: &IdempotencyKey) -> Result<bool>;

    /// Records which task the in-progress request of `key` is creating, before it writes
    /// anything else, so that a request taking the key over after a crash can find it.
    /// Returns `false` if there was no in-progress record.
    async fn attach_task(&self, key: &IdempotencyKey, task_id: &str) -> Result<bool>;

    /// Takes over an in-progress key with the same `fingerprint` whose request started more
    /// than `older_than` ago by the store's clock — the one that stamped it, so clocks of
    /// other processes do not matter — (its process died: R4), atomically — of any number of
    /// concurrent callers at most one gets `Some`, and the key counts as started now. `None`
    /// when the key is not in progress, belongs to another body, or is still fresh.
    async fn take_over_stale(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        older_than: std::time::Duration,
    ) -> Result<Option<StaleClaim>>;

    /// Deletes records created before `cutoff` (call with `now - ≥ 24 h`); returns how many.
    async fn purge_older_than(&self, cutoff: OffsetDateTime) -> Result<u64>;
}
