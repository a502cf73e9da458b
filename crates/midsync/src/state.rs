//! [`AppState`]: what every handler and worker of the gateway shares.

use crate::api::auth::AuthCache;
use crate::clock::{Clock, SystemClock};
use crate::config::GatewayConfig;
use crate::in_flight::StoreInFlight;
use crate::key_rate::KeyRateLimiter;
use crate::ssrf::{Resolve, UrlGuard};
use crate::telemetry::{GatewayMetrics, Prometheus};
use genmux_core::webhook::WebhookSecret;
use genmux_core::{Error, ErrorKind, Result};
use genmux_router::Router;
use genmux_store::Store;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// The gateway's shared state: config, store, router, URL guard, per-key limiter, clock.
/// Cheap to clone: one reference count. (Every request clones it — axum's `State` — and
/// with a field-by-field clone the ~40 reference counts it touched and dropped were 8 % of
/// a status request's CPU in the profile of issue 21.)
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// What [`AppState`] shares; the builders below edit it before the state is shared.
#[derive(Clone)]
struct Shared {
    config: Arc<GatewayConfig>,
    store: Store,
    router: Arc<Router>,
    guard: UrlGuard,
    key_limiter: Option<Arc<KeyRateLimiter>>,
    clock: Arc<dyn Clock>,
    auth_cache: Arc<AuthCache>,
    unknown_voided: Arc<std::sync::atomic::AtomicU64>,
    metrics: GatewayMetrics,
    prometheus: Option<Prometheus>,
    blobs: Option<crate::assets::Blobs>,
    /// The copier's memory budget in KiB (`assets.copy_buffer_bytes`): each copy reserves
    /// what it may hold in memory before it starts.
    copy_buffers: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_base_url", &self.inner.config.public_base_url)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over a store and a router, with the system clock and resolver.
    pub fn new(config: GatewayConfig, store: Store, router: Arc<Router>) -> Self {
        let guard = UrlGuard::new(config.allow_loopback_callbacks);
        let key_limiter = config
            .key_rate
            .map(|rate| Arc::new(KeyRateLimiter::new(rate, config.key_rate_redis.as_ref())));
        let auth_cache = Arc::new(AuthCache::new(config.auth_cache_ttl));
        // In-flight limits count unfinished tasks in the store, shared by every replica and
        // kept across restarts (issue 14 point 6), not in this process.
        if !router.use_in_flight_source(Arc::new(StoreInFlight::new(store.tasks.clone()))) {
            tracing::debug!("the router already counts tasks in flight from a source of its own");
        }
        let copy_buffers = Arc::new(tokio::sync::Semaphore::new(
            crate::assets::copy::budget_units(config.assets.copy_buffer_bytes),
        ));
        let shared = Shared {
            copy_buffers,
            config: Arc::new(config),
            store,
            router,
            guard,
            key_limiter,
            clock: Arc::new(SystemClock),
            auth_cache,
            unknown_voided: Arc::default(),
            metrics: GatewayMetrics::global(),
            prometheus: None,
            blobs: None,
        };
        AppState {
            inner: Arc::new(shared),
        }
    }

    /// The shared state to edit (a builder step; copied only if already shared).
    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.inner)
    }

    /// Replaces the gateway's instruments (default: on the global meter provider as
    /// installed when the state was built).
    pub fn with_metrics(mut self, metrics: GatewayMetrics) -> Self {
        self.shared_mut().metrics = metrics;
        self
    }

    /// Serves `GET /metrics` from this registry (operator scope).
    pub fn with_prometheus(mut self, prometheus: Prometheus) -> Self {
        self.shared_mut().prometheus = Some(prometheus);
        self
    }

    /// Keeps results in `blobs` (issue 18): each task's assets are copied there before its
    /// success is announced, and served from `/v1/assets/{id}`. Without it, status and
    /// callbacks carry the upstream's own URLs (for embedded use and older tests only;
    /// `genmux serve` always keeps results).
    pub fn with_blobs(mut self, blobs: crate::assets::Blobs) -> Self {
        self.shared_mut().blobs = Some(blobs);
        self
    }

    /// Where results are kept, if they are.
    pub fn blobs(&self) -> Option<&crate::assets::Blobs> {
        self.inner.blobs.as_ref()
    }

    /// The copier's memory budget ([`crate::assets::copy`]).
    pub(crate) fn copy_buffers(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.copy_buffers
    }

    /// The key signing asset links (`?expires=…&sig=…`): derived from the master key like
    /// the callback secrets, so every replica verifies what any replica signed.
    pub fn asset_link_key(&self) -> Vec<u8> {
        match Hmac::<Sha256>::new_from_slice(&self.inner.config.webhook_signing_key) {
            Ok(mut mac) => {
                mac.update(b"genmux-asset-links");
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length; this arm is never taken.
            Err(_) => self.inner.config.webhook_signing_key.clone(),
        }
    }

    /// The gateway's instruments.
    pub fn metrics(&self) -> &GatewayMetrics {
        &self.inner.metrics
    }

    /// The registry behind `GET /metrics`, if any.
    pub fn prometheus(&self) -> Option<&Prometheus> {
        self.inner.prometheus.as_ref()
    }

    /// Replaces the clock (tests drive retry schedules with a manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.shared_mut().clock = clock;
        self
    }

    /// Replaces the DNS resolver of the URL guard (tests inject answers).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        let allow_loopback = self.inner.config.allow_loopback_callbacks;
        self.shared_mut().guard = UrlGuard::with_resolver(resolver, allow_loopback);
        self
    }

    /// The settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The router.
    pub fn router(&self) -> &Arc<Router> {
        &self.inner.router
    }

    /// The SSRF guard.
    pub fn guard(&self) -> &UrlGuard {
        &self.inner.guard
    }

    /// Authentications reused for a few seconds (`api::auth`); revoking a key in this
    /// process must call [`AuthCache::forget`].
    pub fn auth_cache(&self) -> &AuthCache {
        &self.inner.auth_cache
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Counts a hold voided at the operator deadline for a submission whose outcome stayed
    /// unknown (X4): each one is a task the provider may still bill.
    pub fn count_unknown_voided(&self) {
        self.inner
            .unknown_voided
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Holds voided at the operator deadline by this process since it started.
    pub fn unknown_voided_total(&self) -> u64 {
        self.inner
            .unknown_voided
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts one request of API key `key_id` against the per-key rate (K3) and the
    /// router's caller limit; `RateLimited` with a `Retry-After` when over.
    pub async fn check_key_rate(&self, key_id: &str) -> Result<()> {
        if let Some(l) = &self.inner.key_limiter {
            if let Err(wait) = l.check(key_id).await {
                // Retry-After is whole seconds; round up so a client that obeys it succeeds.
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(Error::new(
                    ErrorKind::RateLimited,
                    format!(
                        "this API key is over its rate limit; retry in {} s",
                        secs.max(1)
                    ),
                )
                .with_retry_after(Duration::from_secs(secs.max(1))));
            }
        }
        self.inner.router.check_caller(key_id)
    }

    /// The account's `whsec_` secret for outbound callbacks: HMAC-SHA256 of the account id
    /// under the gateway's master key, so it is stable without being stored.
    pub fn webhook_secret(&self, account_id: &str) -> WebhookSecret {
        let key = match Hmac::<Sha256>::new_from_slice(&self.inner.config.webhook_signing_key) {
            Ok(mut mac) => {
                mac.update(b"genmux-callback-secret:");
                mac.update(account_id.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length; this arm is never taken.
            Err(_) => account_id.as_bytes().to_vec(),
        };
        WebhookSecret::from_bytes(&key)
    }

    /// The inbound callback URL of a task created by `provider`.
    pub fn inbound_callback_url(&self, provider: &str, token: &str) -> String {
        format!(
            "{}/callbacks/{provider}/{token}",
            self.inner.config.public_base_url.trim_end_matches('/')
        )
    }
}
