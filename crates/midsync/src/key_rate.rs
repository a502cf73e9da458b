//! The per-API-key request rate (K3 in `design/RELIABILITY.md`): counted in this process
//! (governor's GCRA), or in Redis so that every gateway sharing one database also shares
//! each key's budget.
//!
//! The shared limiter runs the same GCRA as governor — one "theoretical arrival time" per
//! key — as one Lua script, so the read-compare-write is atomic in Redis and the clock is
//! Redis's own (`TIME`), not each replica's (Redis ≥ 5, whose scripts replicate their
//! effects, so a write after `TIME` is allowed). If Redis cannot be reached, requests are
//! counted by this process's limiter instead (each replica then allows the full rate), and
//! a warning is logged at most every 10 s: an outage of the limiter's store must not turn
//! into an outage of the API.

use crate::config::KeyRate;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// GCRA over one key. KEYS[1]: the key's theoretical arrival time (µs since the epoch);
/// ARGV[1]: the emission interval (µs per request); ARGV[2]: the burst tolerance (µs).
/// Returns 0 when the request is admitted, else the µs to wait.
const GCRA_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - now - tolerance
end
local next_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', string.format('%.0f', math.ceil((next_tat - now) / 1000) + 1))
return 0
"#;

/// How often an unreachable Redis is logged.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// How long requests are counted locally after Redis failed, before it is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// Longest a request waits for Redis (connecting or answering) before counting locally.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// Counts requests per API key.
pub(crate) struct KeyRateLimiter {
    local: DefaultKeyedRateLimiter<String>,
    shared: Option<Shared>,
}

struct Shared {
    url: String,
    client: redis::Client,
    conn: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    script: redis::Script,
    /// Emission interval and burst tolerance, µs.
    emission_us: u64,
    tolerance_us: u64,
    last_warning: Mutex<Option<Instant>>,
    /// Not before this instant after a failure.
    retry_at: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for KeyRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRateLimiter")
            .field("shared", &self.shared.as_ref().map(|s| &s.url))
            .finish_non_exhaustive()
    }
}

/// A Redis to count per-key rates in (`redis://[:password@]host:port/db`; `rediss://`
/// is refused, TLS is not built in), checked when it is configured:
/// [`crate::GatewayConfig::key_rate_redis`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Checks `url`; an error names it (its password hidden) and the accepted form.
    pub fn parse(url: &str) -> genmux_core::Result<Self> {
        redis::Client::open(url).map_err(|e| {
            genmux_core::Error::invalid(format!(
                "limits.redis_url = {:?} is not a Redis URL ({e}); use redis://host:port/db",
                redact(url)
            ))
        })?;
        Ok(RedisUrl(url.to_string()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, for logs and messages.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RedisUrl").field(&self.redacted()).finish()
    }
}

/// `url` with any password replaced by `***` (unparsable URLs are shown as they are: they
/// carry no recognisable password).
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl KeyRateLimiter {
    /// A limiter of `rate`, shared through `redis` when one is given (an unreachable
    /// server is not an error: see the module docs).
    pub(crate) fn new(rate: KeyRate, redis: Option<&RedisUrl>) -> Self {
        let local = RateLimiter::keyed(Quota::per_minute(rate.per_minute).allow_burst(rate.burst));
        let shared = redis.and_then(|url| match redis::Client::open(url.as_str()) {
            Ok(client) => Some(client),
            // `RedisUrl::parse` opened it already.
            Err(e) => {
                tracing::error!(redis = %url.redacted(), error = %e, "shared key rate limiter disabled");
                None
            }
        });
        let shared = match (redis, shared) {
            (Some(url), Some(client)) => {
                // At least 1 µs: Redis counts in µs (governor in ns).
                let emission_us = (60_000_000 / u64::from(rate.per_minute.get())).max(1);
                Some(Shared {
                    url: url.redacted(),
                    client,
                    conn: tokio::sync::OnceCell::new(),
                    script: redis::Script::new(GCRA_LUA),
                    emission_us,
                    tolerance_us: emission_us * u64::from(rate.burst.get() - 1),
                    last_warning: Mutex::new(None),
                    retry_at: Mutex::new(None),
                })
            }
            _ => None,
        };
        KeyRateLimiter { local, shared }
    }

    /// Counts one request of `key_id`: `Err(wait)` when over the rate.
    pub(crate) async fn check(&self, key_id: &str) -> Result<(), Duration> {
        if let Some(shared) = self.shared.as_ref().filter(|s| s.may_try()) {
            match shared.check(key_id).await {
                Ok(verdict) => return verdict,
                Err(e) => shared.failed(&e),
            }
        }
        self.local
            .check_key(&key_id.to_string())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

impl Shared {
    async fn check(&self, key_id: &str) -> redis::RedisResult<Result<(), Duration>> {
        // Bounded as a whole: connecting retries with backoff of its own.
        tokio::time::timeout(REDIS_TIMEOUT, self.ask(key_id))
            .await
            .unwrap_or_else(|_| {
                Err(redis::RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} ms", REDIS_TIMEOUT.as_millis()),
                )))
            })
    }

    async fn ask(&self, key_id: &str) -> redis::RedisResult<Result<(), Duration>> {
        let conn = self
            .conn
            .get_or_try_init(|| {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT));
                self.client.get_connection_manager_with_config(config)
            })
            .await?;
        let mut conn = conn.clone();
        let wait_us: u64 = self
            .script
            .key(format!("genmux:key-rate:{key_id}"))
            .arg(self.emission_us)
            .arg(self.tolerance_us)
            .invoke_async(&mut conn)
            .await?;
        Ok(match wait_us {
            0 => Ok(()),
            us => Err(Duration::from_micros(us)),
        })
    }

    /// Whether to ask Redis now: not within [`RETRY_AFTER_FAILURE`] of a failure, so an
    /// outage does not add a connection attempt to every request.
    fn may_try(&self) -> bool {
        let retry_at = self.retry_at.lock().unwrap_or_else(|p| p.into_inner());
        retry_at.is_none_or(|t| Instant::now() >= t)
    }

    fn failed(&self, e: &redis::RedisError) {
        *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + RETRY_AFTER_FAILURE);
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(redis = %self.url, error = %e,
                "shared key rate limiter unreachable; counting in this process meanwhile");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_url_is_checked_and_the_error_names_it() {
        assert!(RedisUrl::parse("redis://127.0.0.1:6379/0").is_ok());
        assert!(RedisUrl::parse("redis://:secret@cache.internal:6380/2").is_ok());
        // TLS is not built in: refused up front, not at the first request.
        let e = RedisUrl::parse("rediss://cache.internal:6380/").unwrap_err();
        assert!(
            e.message().contains("\"rediss://cache.internal:6380/\""),
            "{e}"
        );
        let e = RedisUrl::parse("http://cache.internal:6379").unwrap_err();
        assert_eq!(e.kind(), genmux_core::ErrorKind::InvalidRequest);
        assert!(
            e.message().contains("\"http://cache.internal:6379\""),
            "{e}"
        );
        assert!(e.message().contains("redis://host:port/db"), "{e}");
        let e = RedisUrl::parse("http://:hunter2@cache.internal:6379").unwrap_err();
        assert!(!e.message().contains("hunter2"), "{e}");
        let url = RedisUrl::parse("redis://:hunter2@cache.internal:6379/1").unwrap();
        assert_eq!(url.redacted(), "redis://:***@cache.internal:6379/1");
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
