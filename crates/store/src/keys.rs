//! API keys (`design/RELIABILITY.md` "API keys"; Stripe/GitHub token format):
//! `gmx_<id>_<secret>`, shown once; only the SHA-256 of the secret is stored (K1); looked
//! up by id and compared in constant time; scopes; revocation; expiry; and an append-only
//! audit log of creations, revocations and failed authentications without secrets (K4).

use async_trait::async_trait;
use genmux_core::{Error, Result};
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "gmx_";
/// Characters in a key id (alphanumeric).
pub const ID_CHARS: usize = 16;
/// Characters in a key secret (alphanumeric: ~190 bits).
pub const SECRET_CHARS: usize = 32;

/// What a key may do (`spec/unified-api.md`: `api.read`, `api.generate`, `admin`; and
/// `operator`, issue 13 point 4).
///
/// The order is the stored order (`scopes_to_db` sorts), so a new scope goes last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Usage and status endpoints.
    ApiRead,
    /// Generation (quote, generate).
    ApiGenerate,
    /// Everything within the key's own account: its keys, usage, generation.
    Admin,
    /// Every account: create, list, show, top up and adjust accounts, read their ledgers,
    /// create keys for them. Only the gateway's own operators hold it (the key `genmux
    /// serve` creates on first start); `admin` does not imply it.
    Operator,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [
        Scope::ApiRead,
        Scope::ApiGenerate,
        Scope::Admin,
        Scope::Operator,
    ];

    /// Every scope a tenant's own admin may grant (all but `operator`).
    pub const TENANT: [Scope; 3] = [Scope::ApiRead, Scope::ApiGenerate, Scope::Admin];

    /// The scope's name as written in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ApiRead => "api.read",
            Scope::ApiGenerate => "api.generate",
            Scope::Admin => "admin",
            Scope::Operator => "operator",
        }
    }

    /// Parses [`Scope::as_str`] output; the error names the allowed values.
    pub fn parse(s: &str) -> Result<Self> {
        Scope::ALL
            .into_iter()
            .find(|sc| sc.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "scope `{s}` is unknown; allowed: api.read, api.generate, admin, operator"
                ))
            })
    }
}

/// A key to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// The owning account (must exist in the ledger).
    pub account_id: String,
    /// A human label.
    pub name: String,
    /// Granted scopes (at least one).
    pub scopes: Vec<Scope>,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

/// A stored key, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The key id (the `<id>` of `gmx_<id>_<secret>`; not secret).
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The human label.
    pub name: String,
    /// Granted scopes, sorted.
    pub scopes: Vec<Scope>,
    /// `gmx_<id>`: what listings show before the ellipsis.
    pub prefix: String,
    /// The secret's last 4 characters: what listings show after it.
    pub last4: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry, if any.
    pub expires_at: Option<OffsetDateTime>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether the key grants `scope`. `admin` grants every scope of its own account, but
    /// not `operator`: a tenant's admin must not reach other accounts (issue 13, the
    /// account takeover).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
            || (scope != Scope::Operator && self.scopes.contains(&Scope::Admin))
    }

    /// How listings display the key: `gmx_<id>_…<last4>`.
    pub fn masked(&self) -> String {
        format!("{}_…{}", self.prefix, self.last4)
    }
}

/// A freshly created key: the only time the plaintext exists.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedKey {
    /// The stored key.
    pub key: ApiKey,
    /// `gmx_<id>_<secret>`: show it once, it cannot be recovered.
    pub plaintext: String,
}

impl std::fmt::Debug for CreatedKey {
    // K1: the plaintext never reaches logs, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("plaintext", &"<redacted>")
            .finish()
    }
}

/// What an audit row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A key was created.
    Created,
    /// A key was revoked.
    Revoked,
    /// An authentication attempt failed.
    AuthFailed,
}

impl AuditAction {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Created => "created",
            AuditAction::Revoked => "revoked",
            AuditAction::AuthFailed => "auth_failed",
        }
    }

    /// Parses [`AuditAction::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => AuditAction::Created,
            "revoked" => AuditAction::Revoked,
            "auth_failed" => AuditAction::AuthFailed,
            _ => return None,
        })
    }
}

/// One audit row. Never holds a secret: at most the key id, which is public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Increasing id.
    pub id: i64,
    /// What happened.
    pub action: AuditAction,
    /// The key concerned, when the presented key had a well-formed id.
    pub key_id: Option<String>,
    /// Its account, when the key exists.
    pub account_id: Option<String>,
    /// Why (for failures: `malformed`, `unknown_key`, `bad_secret`, `revoked`, `expired`).
    pub detail: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// API keys and their audit log.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Creates a key for an existing account and writes a `created` audit row. The
    /// plaintext is in the result and nowhere else.
    async fn create(&self, new: NewKey) -> Result<CreatedKey>;

    /// Checks a presented `gmx_<id>_<secret>`: the key exists, the secret's SHA-256 matches
    /// (constant-time), it is not revoked and not expired. Any failure is
    /// `Unauthenticated` and writes an `auth_failed` audit row.
    async fn authenticate(&self, plaintext: &str) -> Result<ApiKey>;

    /// The key with this id.
    async fn get(&self, key_id: &str) -> Result<Option<ApiKey>>;

    /// An account's keys, oldest first.
    async fn list(&self, account_id: &str) -> Result<Vec<ApiKey>>;

    /// Revokes a key (writes a `revoked` audit row). Returns `false` if it was already
    /// revoked; an unknown id is `NotFound`.
    async fn revoke(&self, key_id: &str) -> Result<bool>;

    /// Audit rows, oldest first; for one account, or all when `account_id` is `None`.
    async fn audit_log(&self, account_id: Option<&str>) -> Result<Vec<AuditEvent>>;

    /// Revocations made by any process sharing the database, as they commit, for callers
    /// that cache authentications. `None` where the backend has no such feed (SQLite: one
    /// process owns the file, and it knows its own revocations). On PostgreSQL,
    /// `LISTEN`/`NOTIFY` on one pooled connection kept for it; when that connection is
    /// lost, the feed says [`Revocation::Resync`] once it listens again on a new one
    /// (notifications sent in between are gone). The feed ends when the receiver is
    /// dropped or the store closes.
    async fn revocations(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Revocation>>>;
}

/// One event of [`KeyStore::revocations`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// This key id was revoked.
    Key(String),
    /// Revocations may have been missed: drop every cached authentication.
    Resync,
}

/// A newly generated key's parts: `(id, secret)`, alphanumeric so neither contains `_`.
pub(crate) fn generate() -> (String, String) {
    // `rand::rng()` is a CSPRNG (ChaCha12, reseeded from the OS).
    let mut rng = rand::rng();
    (
        Alphanumeric.sample_string(&mut rng, ID_CHARS),
        Alphanumeric.sample_string(&mut rng, SECRET_CHARS),
    )
}

/// Splits `gmx_<id>_<secret>` into `(id, secret)`; `None` if malformed.
pub(crate) fn parse(plaintext: &str) -> Option<(&str, &str)> {
    let rest = plaintext.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(id, ID_CHARS) && ok(secret, SECRET_CHARS)).then_some((id, secret))
}

/// The stored form of a secret.
pub(crate) fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time equality of two hashes (K: "constant-time compare").
pub(crate) fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Scopes as stored: space-separated names.
pub(crate) fn scopes_to_db(scopes: &[Scope]) -> String {
    let mut s: Vec<Scope> = scopes.to_vec();
    s.sort();
    s.dedup();
    s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

/// Reads stored scopes.
pub(crate) fn scopes_from_db(s: &str) -> Result<Vec<Scope>> {
    s.split_whitespace()
        .map(|x| Scope::parse(x).map_err(|e| Error::internal(format!("stored {}", e.message()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back() {
        let (id, secret) = generate();
        let plain = format!("{KEY_PREFIX}{id}_{secret}");
        assert_eq!(parse(&plain), Some((id.as_str(), secret.as_str())));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "gmx_",
            "gmx_abc_def",
            "sk_0123456789abcdef_0123456789abcdef0123456789abcdef",
            "gmx_0123456789abcdef_0123456789abcdef0123456789abcde!",
            "gmx_0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_round_trip_sorted_and_deduplicated() {
        let db = scopes_to_db(&[Scope::Admin, Scope::ApiRead, Scope::Admin]);
        assert_eq!(db, "api.read admin");
        assert_eq!(
            scopes_from_db(&db).unwrap(),
            vec![Scope::ApiRead, Scope::Admin]
        );
        assert!(Scope::parse("api.write")
            .unwrap_err()
            .message()
            .contains("allowed: api.read, api.generate, admin, operator"));
    }

    #[test]
    fn admin_does_not_imply_operator() {
        let key = |scopes: Vec<Scope>| ApiKey {
            id: "k".into(),
            account_id: "a".into(),
            name: "n".into(),
            scopes,
            prefix: "gmx_k".into(),
            last4: "abcd".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
            revoked_at: None,
        };
        let admin = key(vec![Scope::Admin]);
        for s in Scope::TENANT {
            assert!(admin.allows(s), "{s:?}");
        }
        assert!(!admin.allows(Scope::Operator));
        let operator = key(vec![Scope::Operator]);
        assert!(operator.allows(Scope::Operator));
        assert!(
            !operator.allows(Scope::Admin),
            "operator alone manages accounts only"
        );
        assert_eq!(
            scopes_to_db(&Scope::ALL),
            "api.read api.generate admin operator",
            "operator is stored last (the 0003 migration appends it)"
        );
    }
}
