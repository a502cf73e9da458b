// KeyStore over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::{begin_write, write_once, Backend, Db};
use crate::db_error::ctx;
use crate::keys::{
    generate, hash_secret, hashes_equal, parse, scopes_to_db, ApiKey, AuditAction, AuditEvent,
    CreatedKey, KeyStore, NewKey, Revocation, KEY_PREFIX,
};
use crate::rows::{AuditRow, KeyRow, AUDIT_COLUMNS, KEY_COLUMNS};
use crate::timestamp::{now, to_micros};
use async_trait::async_trait;
use genmux_core::{Error, ErrorKind, Result};

#[derive(sqlx::FromRow)]
struct AuthRow {
    #[sqlx(flatten)]
    key: KeyRow,
    secret_hash: Vec<u8>,
}

async fn audit(
    exec: impl sqlx::Executor<'_, Database = Db>,
    action: AuditAction,
    key_id: Option<&str>,
    account_id: Option<&str>,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO key_audit (action, key_id, account_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(action.as_str())
    .bind(key_id)
    .bind(account_id)
    .bind(detail)
    .bind(to_micros(now()))
    .execute(exec)
    .await
    .map_err(ctx("writing a key audit row"))?;
    Ok(())
}

fn unauthenticated(why: &str) -> Error {
    Error::new(ErrorKind::Unauthenticated, format!("API key {why}"))
}

/// Inserts a new key for an existing account and its `created` audit row on `conn` (a
/// write transaction the caller commits); returns `(id, secret)`.
pub(super) async fn insert_key(
    conn: &mut <Db as sqlx::Database>::Connection,
    new: &NewKey,
) -> Result<(String, String)> {
    if new.scopes.is_empty() {
        return Err(Error::invalid(
            "scopes is empty; give at least one of api.read, api.generate, admin, operator",
        ));
    }
    let (id, secret) = generate();
    let last4 = secret[secret.len() - 4..].to_string();
    let created_at = now();
    let exists = sqlx::query_scalar::<Db, i64>("SELECT COUNT(*) FROM accounts WHERE id = $1")
        .bind(&new.account_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(ctx("checking an account"))?;
    if exists == 0 {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("account `{}` does not exist", new.account_id),
        ));
    }
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, secret_hash, last4, scopes, created_at, \
         expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
    )
    .bind(&id)
    .bind(&new.account_id)
    .bind(&new.name)
    .bind(hash_secret(&secret))
    .bind(&last4)
    .bind(scopes_to_db(&new.scopes))
    .bind(to_micros(created_at))
    .bind(new.expires_at.map(to_micros))
    .execute(&mut *conn)
    .await
    .map_err(ctx("storing an API key"))?;
    audit(
        &mut *conn,
        AuditAction::Created,
        Some(&id),
        Some(&new.account_id),
        &format!("name={:?} scopes={}", new.name, scopes_to_db(&new.scopes)),
    )
    .await?;
    Ok((id, secret))
}

/// Revokes a key on `conn` (a write transaction the caller commits) with its `revoked`
/// audit row and, on PostgreSQL, its announcement; the key's account, or `None` when
/// nothing was revoked (unknown or already revoked: see [`Backend::not_revoked`]).
pub(super) async fn revoke_key(
    conn: &mut <Db as sqlx::Database>::Connection,
    key_id: &str,
) -> Result<Option<String>> {
    let account = sqlx::query_scalar::<Db, String>(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
         RETURNING account_id",
    )
    .bind(to_micros(now()))
    .bind(key_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ctx("revoking an API key"))?;
    let Some(account) = account else {
        return Ok(None);
    };
    audit(
        &mut *conn,
        AuditAction::Revoked,
        Some(key_id),
        Some(&account),
        "revoked",
    )
    .await?;
    if let Some(notify) = super::NOTIFY_REVOKED {
        // Delivered to every listener when (and only if) the revocation commits.
        sqlx::query(notify)
            .bind(key_id)
            .execute(&mut *conn)
            .await
            .map_err(ctx("announcing a revocation"))?;
    }
    Ok(Some(account))
}

impl Backend {
    /// The answer of a revocation that revoked nothing: `false` if the key exists (it was
    /// revoked already), `NotFound` if it does not.
    pub(super) async fn not_revoked(&self, key_id: &str) -> Result<bool> {
        match self.key_by_id(key_id).await? {
            Some(_) => Ok(false),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("API key `{key_id}` does not exist"),
            )),
        }
    }

    /// The result of a committed [`insert_key`].
    pub(super) async fn created_key(&self, id: &str, secret: &str) -> Result<CreatedKey> {
        let key = self.key_by_id(id).await?.ok_or_else(|| {
            Error::internal(format!("API key `{id}` not readable after creation"))
        })?;
        Ok(CreatedKey {
            key,
            plaintext: format!("{KEY_PREFIX}{id}_{secret}"),
        })
    }

    async fn key_by_id(&self, key_id: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        sqlx::query_as::<Db, KeyRow>(&sql)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading an API key"))?
            .map(ApiKey::try_from)
            .transpose()
    }

    /// Records a failed authentication and returns the error to give the caller.
    async fn auth_failed(
        &self,
        key_id: Option<&str>,
        account_id: Option<&str>,
        detail: &str,
        message: &str,
    ) -> Error {
        // The caller is refused whatever happens to the audit row.
        let written = async {
            let mut w = write_once(self).await?;
            audit(
                w.conn(),
                AuditAction::AuthFailed,
                key_id,
                account_id,
                detail,
            )
            .await?;
            w.commit().await.map_err(ctx("committing an audit row"))
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not write the auth-failure audit row");
        }
        unauthenticated(message)
    }
}

#[async_trait]
impl KeyStore for Backend {
    async fn create(&self, new: NewKey) -> Result<CreatedKey> {
        let mut tx = begin_write(self).await?;
        let (id, secret) = insert_key(tx.conn(), &new).await?;
        tx.commit().await.map_err(ctx("committing an API key"))?;
        self.created_key(&id, &secret).await
    }

    async fn authenticate(&self, plaintext: &str) -> Result<ApiKey> {
        let Some((id, secret)) = parse(plaintext) else {
            return Err(self
                .auth_failed(
                    None,
                    None,
                    "malformed",
                    "is malformed; expected gmx_<id>_<secret>",
                )
                .await);
        };
        let presented = hash_secret(secret);
        let sql = format!("SELECT {KEY_COLUMNS}, secret_hash FROM api_keys WHERE id = $1");
        let stored = sqlx::query_as::<Db, AuthRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("reading an API key"))?;
        // Compare against a dummy hash when the id is unknown, so both paths do the same work.
        let expected = stored
            .as_ref()
            .map_or_else(|| vec![0u8; presented.len()], |r| r.secret_hash.clone());
        let matches = hashes_equal(&presented, &expected);
        let Some(row) = stored else {
            return Err(self
                .auth_failed(Some(id), None, "unknown_key", "is invalid")
                .await);
        };
        let key = ApiKey::try_from(row.key)?;
        if !matches {
            return Err(self
                .auth_failed(Some(id), Some(&key.account_id), "bad_secret", "is invalid")
                .await);
        }
        if key.revoked_at.is_some() {
            return Err(self
                .auth_failed(
                    Some(id),
                    Some(&key.account_id),
                    "revoked",
                    "has been revoked",
                )
                .await);
        }
        if key.expires_at.is_some_and(|t| t <= now()) {
            return Err(self
                .auth_failed(Some(id), Some(&key.account_id), "expired", "has expired")
                .await);
        }
        Ok(key)
    }

    async fn get(&self, key_id: &str) -> Result<Option<ApiKey>> {
        self.key_by_id(key_id).await
    }

    async fn list(&self, account_id: &str) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY created_at, id"
        );
        sqlx::query_as::<Db, KeyRow>(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("listing API keys"))?
            .into_iter()
            .map(ApiKey::try_from)
            .collect()
    }

    async fn revoke(&self, key_id: &str) -> Result<bool> {
        let mut tx = begin_write(self).await?;
        if revoke_key(tx.conn(), key_id).await?.is_none() {
            tx.rollback().await.map_err(ctx("rolling back"))?;
            return self.not_revoked(key_id).await;
        }
        tx.commit().await.map_err(ctx("committing a revocation"))?;
        Ok(true)
    }

    async fn audit_log(&self, account_id: Option<&str>) -> Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM key_audit WHERE ($1 IS NULL OR account_id = $1) ORDER BY id"
        );
        sqlx::query_as::<Db, AuditRow>(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading the key audit log"))?
            .into_iter()
            .map(AuditEvent::try_from)
            .collect()
    }

    async fn revocations(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Revocation>>> {
        super::revocation_feed(self).await
    }
}
