//! Gateway settings: where the gateway is reachable, limits, and the task engine's timing.

use crate::key_rate::RedisUrl;
use std::num::NonZeroU32;
use std::time::Duration;

/// A per-API-key request rate (`design/RELIABILITY.md` K3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRate {
    /// Sustained requests per minute per key.
    pub per_minute: NonZeroU32,
    /// Requests allowed in a burst.
    pub burst: NonZeroU32,
}

/// How the poller treats unfinished tasks (callbacks are the primary path; polling is the
/// fallback, `spec/unified-api.md` front-end notes).
#[derive(Clone, Debug, PartialEq)]
pub struct PollConfig {
    /// Delay before the first poll of a new task.
    pub first_delay: Duration,
    /// Longest delay between two polls (the backoff doubles up to it).
    pub max_delay: Duration,
    /// How often the poller looks for due tasks.
    pub tick: Duration,
    /// Most tasks leased at once.
    pub batch: u32,
    /// Most polls running at once; more are leased as these finish.
    pub in_flight: usize,
    /// How long a lease lasts; a crashed worker's tasks are taken over after it.
    pub lease_for: Duration,
    /// A task unfinished this long after creation is failed and refunded.
    pub max_task_age: Duration,
    /// An `unknown` submission that the provider, asked by the id we sent, still does not
    /// know after this long was never accepted: it is failed and refunded (R1).
    pub unknown_grace: Duration,
    /// An `unknown` submission to a provider that cannot look tasks up by our id (the
    /// unified API) keeps its hold this long, waiting for the provider's callback; only then
    /// is the hold voided, with a warning and a count (X4: never refunded on a guess
    /// while the upstream may be running it). The operator deadline of issue 13.
    pub unknown_deadline: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            first_delay: Duration::from_secs(20),
            max_delay: Duration::from_secs(300),
            tick: Duration::from_secs(1),
            batch: 32,
            in_flight: 64,
            lease_for: Duration::from_secs(60),
            max_task_age: Duration::from_secs(6 * 3600),
            unknown_grace: Duration::from_secs(600),
            unknown_deadline: Duration::from_secs(24 * 3600),
        }
    }
}

/// Outbound callback delivery (`design/RELIABILITY.md` "Callbacks").
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryConfig {
    /// Waits after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Standard
    /// Webhooks). After the last one fails the delivery is given up.
    pub schedule: Vec<Duration>,
    /// Relative jitter applied to each wait (0.1 = ±10 %).
    pub jitter: f64,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// How often the deliverer looks for due callbacks.
    pub tick: Duration,
    /// Most deliveries leased at once.
    pub batch: u32,
    /// Most deliveries running at once; more are leased as these finish (issue 21: a slow
    /// receiver holds one slot, not the callbacks queued behind it).
    pub in_flight: usize,
    /// How long a delivery lease lasts.
    pub lease_for: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        let m = |x: u64| Duration::from_secs(x * 60);
        DeliveryConfig {
            schedule: vec![
                Duration::from_secs(5),
                m(5),
                m(30),
                m(120),
                m(300),
                m(600),
                m(600),
            ],
            jitter: 0.1,
            timeout: Duration::from_secs(15),
            tick: Duration::from_secs(1),
            batch: 32,
            in_flight: 128,
            lease_for: Duration::from_secs(60),
        }
    }
}

/// Results kept by the gateway (issue 18, `docs/assets.md`): how copies into the blob store
/// are made, retried and kept. The blob store itself is given to the state
/// ([`crate::AppState::with_blobs`]); without one, results are not copied.
#[derive(Clone, Debug, PartialEq)]
pub struct AssetsConfig {
    /// Largest asset copied, in bytes; a larger one fails its task (the caller is not
    /// charged). Default 2 GiB.
    pub max_bytes: u64,
    /// How long a stored asset is kept, unless its account has its own lifetime in
    /// `retention_by_account`. Default 30 days.
    pub retention: Duration,
    /// Lifetimes of single accounts' assets.
    pub retention_by_account: std::collections::BTreeMap<String, Duration>,
    /// Transient copy failures (timeouts, 5xx, the blob store down) are retried until this
    /// long after the upstream reported success; then the task fails. Default 6 h.
    pub copy_deadline: Duration,
    /// Wait before the second attempt; doubles up to `max_retry_delay`. Default 5 s.
    pub first_retry_delay: Duration,
    /// Longest wait between two attempts. Default 5 min.
    pub max_retry_delay: Duration,
    /// Time allowed for one download (connect to last byte). Default 30 min.
    pub fetch_timeout: Duration,
    /// How often the copier looks for due copies.
    pub tick: Duration,
    /// Most copy jobs leased at once.
    pub batch: u32,
    /// Most copy jobs running at once; more are leased as these finish (issue 21: a batch
    /// that waited for its slowest download held back every task behind it, and with it
    /// the callbacks that wait for the copy). Default 64; memory is bounded by
    /// `copy_buffer_bytes`, not by this.
    pub in_flight: usize,
    /// Memory the copies in flight may hold at once. Before it downloads, a copy reserves
    /// what it may buffer: its declared length, at most three 8 MiB parts (24 MiB, also
    /// when no length is declared); copies that do not fit wait. Default 256 MiB: 64 copies
    /// of short clips run at once, about ten of long videos.
    pub copy_buffer_bytes: u64,
    /// How long a copy lease lasts; the copier renews it every third of this while a copy
    /// runs, so a crashed or stopped worker's copies are taken over within one lease while
    /// a live worker's download of any length keeps its job. Default 60 s.
    pub lease_for: Duration,
    /// How long a signed link (`?expires=…&sig=…`) made by `GET /v1/assets/{id}/link` is
    /// valid by default. Default 1 h.
    pub link_ttl: Duration,
    /// How often the retention sweep runs. Default 10 min.
    pub sweep_every: Duration,
}

impl Default for AssetsConfig {
    fn default() -> Self {
        AssetsConfig {
            max_bytes: 2 * 1024 * 1024 * 1024,
            retention: Duration::from_secs(30 * 86_400),
            retention_by_account: Default::default(),
            copy_deadline: Duration::from_secs(6 * 3600),
            first_retry_delay: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(300),
            fetch_timeout: Duration::from_secs(1800),
            tick: Duration::from_secs(1),
            batch: 8,
            in_flight: 64,
            copy_buffer_bytes: 256 * 1024 * 1024,
            lease_for: Duration::from_secs(60),
            link_ttl: Duration::from_secs(3600),
            sweep_every: Duration::from_secs(600),
        }
    }
}

impl AssetsConfig {
    /// How long `account_id`'s assets are kept.
    pub fn retention_for(&self, account_id: &str) -> Duration {
        self.retention_by_account
            .get(account_id)
            .copied()
            .unwrap_or(self.retention)
    }
}

/// Everything the gateway needs besides the store and the router.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The gateway's public base URL (`https://api.example.com`): upstream callbacks are
    /// sent to `<base>/callbacks/<provider>/<token>`.
    pub public_base_url: String,
    /// Largest request body in bytes; larger bodies get 413 before parsing (V1).
    pub body_limit: usize,
    /// Per-key request rate; `None` = unlimited.
    pub key_rate: Option<KeyRate>,
    /// Admit loopback `callbackUrl`s (tests and sandboxes only).
    pub allow_loopback_callbacks: bool,
    /// The providers are simulators in this process (`genmux serve`'s sandbox): said in
    /// `GET /unified-video/models`, `/unified-image/models` and `/healthz` as
    /// `"sandbox": true`, so a sandbox is never mistaken for a real deployment (issue 13
    /// point 6).
    pub sandbox: bool,
    /// The sandbox's sample media base URL (`genmux_sim::samples`): when set, the models
    /// documents list the catalog examples with their media URLs pointing there, so every
    /// example runs as shown (issue 20 point 3). Only the sandbox sets it; a real
    /// deployment lists the catalog's own example URLs.
    pub sample_media: Option<String>,
    /// Master key from which each account's `whsec_` callback secret is derived.
    pub webhook_signing_key: Vec<u8>,
    /// This process's name in leases.
    pub worker_id: String,
    /// Poller timing.
    pub poll: PollConfig,
    /// Outbound callback timing.
    pub delivery: DeliveryConfig,
    /// An `Idempotency-Key` still "in progress" this long after its request started belongs
    /// to a request whose process died (R4); a retry takes it over. Longer than any request
    /// can take, so a live request is never taken over.
    pub idempotency_takeover: Duration,
    /// How often the repair sweep runs (orphan holds of requests that died between the hold
    /// and the task record are voided once older than `poll.unknown_grace`).
    pub repair_every: Duration,
    /// How long a successful authentication is reused without asking the key store
    /// (default [`crate::api::auth::AUTH_CACHE_TTL`]; zero turns the cache off). On
    /// PostgreSQL a revocation through any gateway reaches the others at once (the engine
    /// follows the store's revocation feed); this is the bound if that feed is down.
    pub auth_cache_ttl: Duration,
    /// Where `key_rate` is counted: a Redis shared by every gateway, so a key's budget is
    /// one across replicas; `None`: in each process (a budget per replica). See
    /// [`crate::key_rate`].
    pub key_rate_redis: Option<RedisUrl>,
    /// Serve `GET /unified-{video,image}/models` without a key (for public forms). Off by
    /// default: the seed says the models routes need Authorization (issue 13).
    pub models_public: bool,
    /// How long `/quote` and `/generate` wait for the DNS answers of a request's URLs
    /// (`callbackUrl` and media URLs, resolved at once); a host still unanswered then is
    /// refused as unresolvable (issue 13 point 9). Default 5 s.
    pub url_check_timeout: Duration,
    /// Copies of results into the blob store (issue 18).
    pub assets: AssetsConfig,
}

impl GatewayConfig {
    /// Defaults around `public_base_url` and the callback master key: a 10 MiB body limit
    /// (Base64 images travel in bodies), no key rate, loopback callbacks refused.
    pub fn new(
        public_base_url: impl Into<String>,
        webhook_signing_key: impl Into<Vec<u8>>,
    ) -> Self {
        GatewayConfig {
            public_base_url: public_base_url.into().trim_end_matches('/').to_string(),
            body_limit: 10 * 1024 * 1024,
            key_rate: None,
            allow_loopback_callbacks: false,
            sandbox: false,
            sample_media: None,
            webhook_signing_key: webhook_signing_key.into(),
            worker_id: format!("gw-{}", uuid::Uuid::new_v4().simple()),
            poll: PollConfig::default(),
            delivery: DeliveryConfig::default(),
            idempotency_takeover: Duration::from_secs(600),
            repair_every: Duration::from_secs(60),
            auth_cache_ttl: crate::api::auth::AUTH_CACHE_TTL,
            key_rate_redis: None,
            models_public: false,
            url_check_timeout: Duration::from_secs(5),
            assets: AssetsConfig::default(),
        }
    }
}
