//! Bearer API keys: `Authorization: Bearer gmx_<id>_<secret>` checked against the key store,
//! then the per-key rate limit (K3); each route states the scope it needs (K2).
//!
//! Successful authentications are cached in memory for [`AUTH_CACHE_TTL`] ([`AuthCache`]):
//! the key store costs a database query per request, which was most of a quote's cost
//! (docs/benchmarks.md).

use super::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use dashmap::DashMap;
use genmux_store::{ApiKey, Scope};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tracing::Instrument;

/// How long a successful authentication is reused without asking the key store, by
/// default ([`crate::GatewayConfig::auth_cache_ttl`]). A revocation through this process's
/// `DELETE /v1/keys/{id}` takes effect at once, and on PostgreSQL so does one through any
/// other gateway (the engine follows the store's revocation feed). The configured TTL is
/// the longest a revoked key keeps working here when that feed is down, or after a
/// revocation written to the database by hand (docs/operations.md).
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(5);

/// Most keys cached at once: bounds the memory a flood of distinct valid keys can take.
/// When full, expired entries are dropped; if none are, new keys are not cached (they still
/// authenticate, through the store).
pub const AUTH_CACHE_MAX_KEYS: usize = 10_000;

/// Successful authentications, keyed by the SHA-256 of the presented key (the plaintext is
/// never kept). Failures are never cached, so each one reaches the store and its K4 audit row.
#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    entries: DashMap<[u8; 32], Cached>,
    // Bumped by every `forget`: an authentication that started before a revocation must not
    // put the key back (it may have read the row before the revocation committed).
    generation: AtomicU64,
}

#[derive(Debug, Clone)]
struct Cached {
    key: ApiKey,
    until: Instant,
}

fn digest(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache::new(AUTH_CACHE_TTL)
    }
}

impl AuthCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl,
            entries: DashMap::new(),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached key for `presented`, unless its entry is older than the TTL at `now` or the
    /// key has expired by `wall_now` (then the entry is dropped and the store decides).
    pub fn get(&self, presented: &str, now: Instant, wall_now: OffsetDateTime) -> Option<ApiKey> {
        let hash = digest(presented);
        let hit = self.entries.get(&hash).map(|c| c.clone())?;
        if hit.until <= now || hit.key.expires_at.is_some_and(|t| t <= wall_now) {
            self.entries.remove(&hash);
            return None;
        }
        Some(hit.key)
    }

    /// The generation to pass to [`AuthCache::insert`]: read it before authenticating.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a successful authentication of `presented` made at generation `generation`
    /// (skipped if a key was forgotten since, or the cache is full of live entries).
    pub fn insert(&self, presented: &str, key: ApiKey, generation: u64, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        if self.entries.len() >= AUTH_CACHE_MAX_KEYS {
            self.entries.retain(|_, c| c.until > now);
            if self.entries.len() >= AUTH_CACHE_MAX_KEYS {
                return;
            }
        }
        // A TTL too long to add to `now` is not cached rather than a panic.
        let Some(until) = now.checked_add(self.ttl) else {
            return;
        };
        let hash = digest(presented);
        self.entries.insert(hash, Cached { key, until });
        // A `forget` that ran meanwhile may have missed the entry just written: undo it.
        if self.generation() != generation {
            self.entries.remove(&hash);
        }
    }

    /// Drops every cached authentication of key `key_id` (call after revoking it).
    pub fn forget(&self, key_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.retain(|_, c| c.key.id != key_id);
    }

    /// Drops every cached authentication (revocations may have been missed).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// How many authentications are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key used.
    pub key: ApiKey,
}

impl Caller {
    /// The paying account.
    pub fn account_id(&self) -> &str {
        &self.key.account_id
    }

    /// 403 unless the key grants one of `scopes` (`admin` grants all).
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), ApiError> {
        if scopes.iter().any(|s| self.key.allows(*s)) {
            return Ok(());
        }
        let need = scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        let has = self
            .key
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this API key lacks the {need} scope (it has: {has})"),
        ))
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let raw = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing Authorization header; send `Authorization: Bearer <api key>`",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "Authorization header is not text"))?;
    let (scheme, token) = raw.trim().split_once(' ').ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization header must be `Bearer <api key>`",
        )
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization header must be `Bearer <api key>`",
        ));
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Issue 19: authentication is a span of its own; the request's span gets the
        // account (never the key; the key's public id only on this one).
        let request = tracing::Span::current();
        let span = tracing::debug_span!(
            "genmux.auth",
            genmux.account = tracing::field::Empty,
            genmux.key_id = tracing::field::Empty,
        );
        let caller = authenticate(parts, state).instrument(span.clone()).await?;
        if !span.is_disabled() {
            span.record("genmux.account", caller.account_id());
            span.record("genmux.key_id", caller.key.id.as_str());
        }
        request.record("genmux.account", caller.account_id());
        Ok(caller)
    }
}

/// The key presented with the request, checked (cached for the TTL) and within its rate.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    {
        let token = bearer(parts)?;
        let cache = state.auth_cache();
        let key =
            match cache.get(token, Instant::now(), OffsetDateTime::now_utc()) {
                Some(key) => key,
                None => {
                    let generation = cache.generation();
                    let key =
                        state.store().keys.authenticate(token).await.map_err(|e| {
                            match e.kind() {
                                genmux_core::ErrorKind::Unauthenticated => ApiError::new(
                                    StatusCode::UNAUTHORIZED,
                                    format!("API key rejected: {}", e.message()),
                                ),
                                _ => ApiError::from(e),
                            }
                        })?;
                    cache.insert(token, key.clone(), generation, Instant::now());
                    key
                }
            };
        state.check_key_rate(&key.id).await?;
        Ok(Caller { key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, expires_at: Option<OffsetDateTime>) -> ApiKey {
        ApiKey {
            id: id.into(),
            account_id: "acct".into(),
            name: "test".into(),
            scopes: vec![Scope::ApiRead],
            prefix: format!("gmx_{id}"),
            last4: "abcd".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at,
            revoked_at: None,
        }
    }

    const A: &str = "gmx_keya_0123456789abcdef0123456789abcdef";
    const B: &str = "gmx_keyb_0123456789abcdef0123456789abcdef";

    #[test]
    fn a_cached_key_is_reused_until_the_ttl_and_only_for_the_same_secret() {
        let cache = AuthCache::default();
        let t0 = Instant::now();
        let wall = OffsetDateTime::now_utc();
        cache.insert(A, key("keya", None), cache.generation(), t0);
        assert_eq!(cache.get(A, t0, wall).map(|k| k.id), Some("keya".into()));
        // Same id, other secret: not a hit (the entry is keyed by the whole presented key).
        let wrong = "gmx_keya_ffffffffffffffffffffffffffffffff";
        assert_eq!(cache.get(wrong, t0, wall), None);
        let almost = t0 + AUTH_CACHE_TTL - Duration::from_millis(1);
        assert!(cache.get(A, almost, wall).is_some());
        assert_eq!(cache.get(A, t0 + AUTH_CACHE_TTL, wall), None);
        assert!(cache.is_empty(), "the stale entry is dropped");
    }

    #[test]
    fn the_plaintext_key_is_not_kept() {
        let cache = AuthCache::default();
        cache.insert(A, key("keya", None), cache.generation(), Instant::now());
        let dump = format!("{cache:?}");
        assert!(!dump.contains("0123456789abcdef"), "{dump}");
    }

    #[test]
    fn an_expired_key_is_not_served_from_the_cache() {
        let cache = AuthCache::default();
        let t0 = Instant::now();
        let wall = OffsetDateTime::now_utc();
        let expires = wall + time::Duration::seconds(1);
        cache.insert(A, key("keya", Some(expires)), cache.generation(), t0);
        assert!(cache.get(A, t0, wall).is_some());
        assert_eq!(cache.get(A, t0, expires), None);
    }

    #[test]
    fn forget_drops_only_that_key_and_beats_an_authentication_in_flight() {
        let cache = AuthCache::default();
        let t0 = Instant::now();
        let wall = OffsetDateTime::now_utc();
        cache.insert(A, key("keya", None), cache.generation(), t0);
        cache.insert(B, key("keyb", None), cache.generation(), t0);
        let before_revoke = cache.generation();
        cache.forget("keya");
        assert_eq!(cache.get(A, t0, wall), None);
        assert!(cache.get(B, t0, wall).is_some());
        // An authentication that read the key before the revocation does not re-cache it.
        cache.insert(A, key("keya", None), before_revoke, t0);
        assert_eq!(cache.get(A, t0, wall), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = AuthCache::default();
        let t0 = Instant::now();
        let wall = OffsetDateTime::now_utc();
        for i in 0..AUTH_CACHE_MAX_KEYS {
            cache.insert(&format!("gmx_k{i}_secret"), key("k", None), 0, t0);
        }
        cache.insert(A, key("keya", None), 0, t0);
        assert_eq!(cache.len(), AUTH_CACHE_MAX_KEYS);
        assert_eq!(
            cache.get(A, t0, wall),
            None,
            "full of live entries: not cached"
        );
        // Once the others are stale they make room.
        let later = t0 + AUTH_CACHE_TTL;
        cache.insert(A, key("keya", None), 0, later);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(A, later, wall).is_some());
    }
}
