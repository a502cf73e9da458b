//! The `Authorization: Bearer <token>` of every request (`spec/kling-api.md` "Common
//! rules", "Auth"), from one of two kinds of [`Credentials`]:
//! - an AccessKey + SecretKey pair: the token is a JWT, HS256 signed with the SecretKey,
//!   `iss` = AccessKey, `exp` = now + 1800 s, `nbf` = now − 5 s. It is cached and renewed
//!   at 80 % of its life, so a request never leaves with a token about to expire;
//!   [`TokenSource::invalidate`] drops it after an authentication failure so the next
//!   request signs a fresh one;
//! - a static API key (newer accounts): sent as the bearer token as it is.

use genmux_core::{Error, ErrorKind, Result};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Token lifetime in seconds (spec: `exp` = now + 1800).
pub const TOKEN_LIFETIME_SECS: i64 = 1800;
/// How far `nbf` lies in the past, for clock skew (spec: `nbf` = now − 5).
pub const NOT_BEFORE_SKEW_SECS: i64 = 5;
/// A cached token is renewed once this many seconds of its life have passed (80 %).
pub const RENEW_AFTER_SECS: i64 = TOKEN_LIFETIME_SECS * 4 / 5;

/// The JWT claims Kling expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The AccessKey.
    pub iss: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Not valid before, Unix seconds.
    pub nbf: i64,
}

/// How a Kling account authenticates (spec "Auth": both kinds exist; an account uses one).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// AccessKey + SecretKey: a signed JWT per [`TOKEN_LIFETIME_SECS`].
    AccessKey {
        /// The JWT's `iss`.
        access_key: String,
        /// Signs the JWT.
        secret_key: String,
    },
    /// A static API key, sent as the bearer token.
    ApiKey(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::AccessKey { access_key, .. } => f
                .debug_struct("AccessKey")
                .field("access_key", access_key)
                .field("secret_key", &"<redacted>")
                .finish(),
            Credentials::ApiKey(_) => f.debug_tuple("ApiKey").field(&"<redacted>").finish(),
        }
    }
}

struct Cached {
    token: String,
    issued_at: i64,
}

enum Source {
    Jwt {
        access_key: String,
        key: EncodingKey,
        cached: Mutex<Option<Cached>>,
    },
    Static(String),
}

/// Signs and caches Kling bearer tokens (or hands out the static API key).
pub struct TokenSource {
    source: Source,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Jwt { access_key, .. } => f
                .debug_struct("TokenSource")
                .field("access_key", access_key)
                .field("secret_key", &"<redacted>")
                .finish(),
            Source::Static(_) => f
                .debug_struct("TokenSource")
                .field("api_key", &"<redacted>")
                .finish(),
        }
    }
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl TokenSource {
    /// A token source for one AccessKey/SecretKey pair.
    pub fn new(access_key: impl Into<String>, secret_key: &str) -> Self {
        TokenSource {
            source: Source::Jwt {
                access_key: access_key.into(),
                key: EncodingKey::from_secret(secret_key.as_bytes()),
                cached: Mutex::new(None),
            },
        }
    }

    /// A token source for either kind of credentials.
    pub fn from_credentials(credentials: &Credentials) -> Self {
        match credentials {
            Credentials::AccessKey {
                access_key,
                secret_key,
            } => TokenSource::new(access_key.clone(), secret_key),
            Credentials::ApiKey(key) => TokenSource {
                source: Source::Static(key.clone()),
            },
        }
    }

    /// The AccessKey (the token's `iss`); `None` with a static API key.
    pub fn access_key(&self) -> Option<&str> {
        match &self.source {
            Source::Jwt { access_key, .. } => Some(access_key),
            Source::Static(_) => None,
        }
    }

    /// Signs a new token valid from `now − 5` to `now + 1800` (not cached); the API key
    /// itself for a static key.
    pub fn sign_at(&self, now: i64) -> Result<String> {
        let (access_key, key) = match &self.source {
            Source::Jwt {
                access_key, key, ..
            } => (access_key, key),
            Source::Static(k) => return Ok(k.clone()),
        };
        let claims = Claims {
            iss: access_key.clone(),
            exp: now + TOKEN_LIFETIME_SECS,
            nbf: now - NOT_BEFORE_SKEW_SECS,
        };
        // Header::new(HS256) carries typ "JWT", as the spec's header requires.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("signing the Kling JWT failed: {e}"),
            )
            .with_provider("kling")
        })
    }

    /// The cached token at Unix time `now`, signing a new one when none is cached or the
    /// cached one has lived 80 % of its life (or `now` went backwards past its issue time).
    pub fn token_at(&self, now: i64) -> Result<String> {
        let cached = match &self.source {
            Source::Jwt { cached, .. } => cached,
            Source::Static(k) => return Ok(k.clone()),
        };
        let mut guard = cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = guard.as_ref() {
            let age = now - c.issued_at;
            if (0..RENEW_AFTER_SECS).contains(&age) {
                return Ok(c.token.clone());
            }
        }
        let token = self.sign_at(now)?;
        *guard = Some(Cached {
            token: token.clone(),
            issued_at: now,
        });
        Ok(token)
    }

    /// The token for the current time.
    pub fn token(&self) -> Result<String> {
        self.token_at(unix_now())
    }

    /// Whether a rejected token can be replaced by a fresh one (a signed JWT can; a
    /// static API key is what it is).
    pub fn renewable(&self) -> bool {
        matches!(self.source, Source::Jwt { .. })
    }

    /// Drops the cached token (after Kling rejected it with 1000–1004). A static key has
    /// nothing to renew.
    pub fn invalidate(&self) {
        if let Source::Jwt { cached, .. } = &self.source {
            *cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn decode(token: &str, secret: &str) -> (jsonwebtoken::Header, Claims) {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
                .unwrap();
        (data.header, data.claims)
    }

    #[test]
    fn token_has_the_claims_kling_checks() {
        let src = TokenSource::new("AK-1", "SK-1");
        let (header, claims) = decode(&src.sign_at(1_700_000_000).unwrap(), "SK-1");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(
            claims,
            Claims {
                iss: "AK-1".into(),
                exp: 1_700_001_800,
                nbf: 1_699_999_995
            }
        );
    }

    #[test]
    fn token_signed_with_another_secret_does_not_verify() {
        let src = TokenSource::new("AK-1", "SK-1");
        let token = src.sign_at(1_700_000_000).unwrap();
        let v = Validation::new(Algorithm::HS256);
        assert!(
            jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(b"other"), &v)
                .is_err()
        );
    }

    #[test]
    fn cached_until_80_percent_of_life_then_renewed() {
        let src = TokenSource::new("AK", "SK");
        let t0 = 1_700_000_000;
        let first = src.token_at(t0).unwrap();
        assert_eq!(src.token_at(t0 + RENEW_AFTER_SECS - 1).unwrap(), first);
        let renewed = src.token_at(t0 + RENEW_AFTER_SECS).unwrap();
        assert_ne!(renewed, first);
        assert_eq!(
            decode(&renewed, "SK").1.exp,
            t0 + RENEW_AFTER_SECS + TOKEN_LIFETIME_SECS
        );
        // A clock that jumps backwards gets a fresh token rather than one not yet valid.
        let back = src.token_at(t0 - 60).unwrap();
        assert_eq!(decode(&back, "SK").1.nbf, t0 - 65);
    }

    #[test]
    fn a_static_api_key_is_the_token_itself() {
        let src = TokenSource::from_credentials(&Credentials::ApiKey("kling-api-key-1".into()));
        assert_eq!(src.token_at(1_700_000_000).unwrap(), "kling-api-key-1");
        src.invalidate();
        assert_eq!(src.token().unwrap(), "kling-api-key-1");
        assert_eq!(src.access_key(), None);
        assert!(!format!("{src:?}").contains("kling-api-key-1"));
        assert!(
            !format!("{:?}", Credentials::ApiKey("kling-api-key-1".into()))
                .contains("kling-api-key-1")
        );
    }

    #[test]
    fn invalidate_forces_a_new_token() {
        let src = TokenSource::new("AK", "SK");
        let t0 = 1_700_000_000;
        let first = src.token_at(t0).unwrap();
        src.invalidate();
        let second = src.token_at(t0 + 1).unwrap();
        assert_ne!(first, second);
        assert!(!format!("{src:?}").contains("SK"));
    }
}
