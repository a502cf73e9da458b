//! KeyStore: format, hashing, scopes, revocation, expiry, audit (K1, K4).

use super::ledger::funded_account;
use super::{expect_kind, uid};
use genmux_core::ErrorKind;
use genmux_store::timestamp::now;
use genmux_store::{AuditAction, NewKey, Scope, Store};

fn new_key(account: &str, scopes: &[Scope]) -> NewKey {
    NewKey {
        account_id: account.to_string(),
        name: "ci key".into(),
        scopes: scopes.to_vec(),
        expires_at: None,
    }
}

pub async fn create_authenticate_list_revoke(store: &Store) {
    let account = funded_account(store, 0).await;
    let created = store
        .keys
        .create(new_key(&account, &[Scope::ApiGenerate, Scope::ApiRead]))
        .await
        .unwrap();
    let plain = created.plaintext.clone();
    let parts: Vec<&str> = plain.splitn(3, '_').collect();
    assert_eq!(parts[0], "gmx");
    assert_eq!(parts[1], created.key.id);
    let secret = parts[2];
    assert!(secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        !format!("{created:?}").contains(secret),
        "Debug never prints the secret"
    );

    let key = store.keys.authenticate(&plain).await.unwrap();
    assert_eq!(key, created.key);
    assert_eq!(key.account_id, account);
    assert_eq!(key.scopes, vec![Scope::ApiRead, Scope::ApiGenerate]);
    assert!(key.allows(Scope::ApiRead) && key.allows(Scope::ApiGenerate));
    assert!(!key.allows(Scope::Admin));

    let second = store
        .keys
        .create(new_key(&account, &[Scope::Admin]))
        .await
        .unwrap();
    assert!(
        second.key.allows(Scope::ApiGenerate),
        "admin grants every scope"
    );
    assert_ne!(second.plaintext, plain);
    let listed = store.keys.list(&account).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0].masked(),
        format!("gmx_{}_…{}", created.key.id, &secret[secret.len() - 4..])
    );
    for k in &listed {
        assert!(!format!("{k:?}").contains(secret));
    }
    assert!(store.keys.list(&uid("acct")).await.unwrap().is_empty());
    assert_eq!(
        store.keys.get(&created.key.id).await.unwrap(),
        Some(created.key.clone())
    );

    assert!(store.keys.revoke(&created.key.id).await.unwrap());
    assert!(
        !store.keys.revoke(&created.key.id).await.unwrap(),
        "already revoked"
    );
    let e = expect_kind(
        store.keys.authenticate(&plain).await,
        ErrorKind::Unauthenticated,
    );
    assert!(e.message().contains("revoked"), "{e}");
    assert!(store
        .keys
        .get(&created.key.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    expect_kind(store.keys.revoke("nosuchkey").await, ErrorKind::NotFound);
    // The other key still works.
    store.keys.authenticate(&second.plaintext).await.unwrap();

    let log = store.keys.audit_log(Some(&account)).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::Created,
            AuditAction::Created,
            AuditAction::Revoked,
            AuditAction::AuthFailed
        ]
    );
    assert_eq!(log[2].key_id.as_deref(), Some(created.key.id.as_str()));
    assert_eq!(log[3].detail, "revoked");
}

pub async fn failures_are_unauthenticated_and_audited_without_secrets(store: &Store) {
    let account = funded_account(store, 0).await;
    let good = store
        .keys
        .create(new_key(&account, &[Scope::ApiRead]))
        .await
        .unwrap();
    let id = good.key.id.clone();
    let wrong_secret = format!("gmx_{id}_{}", "A".repeat(32));
    let unknown_id = format!("gmx_{}_{}", "Z".repeat(16), "B".repeat(32));
    let malformed = "gmx_not-a-key";
    for (presented, detail) in [
        (wrong_secret.as_str(), "bad_secret"),
        (unknown_id.as_str(), "unknown_key"),
        (malformed, "malformed"),
        ("", "malformed"),
    ] {
        expect_kind(
            store.keys.authenticate(presented).await,
            ErrorKind::Unauthenticated,
        );
        let log = store.keys.audit_log(None).await.unwrap();
        let last = log.last().unwrap();
        assert_eq!(
            (last.action, last.detail.as_str()),
            (AuditAction::AuthFailed, detail)
        );
    }

    let mut expiring = new_key(&account, &[Scope::ApiGenerate]);
    expiring.expires_at = Some(now() - time::Duration::seconds(1));
    let expired = store.keys.create(expiring).await.unwrap();
    let e = expect_kind(
        store.keys.authenticate(&expired.plaintext).await,
        ErrorKind::Unauthenticated,
    );
    assert!(e.message().contains("expired"), "{e}");
    let mut later = new_key(&account, &[Scope::ApiGenerate]);
    later.expires_at = Some(now() + time::Duration::hours(1));
    let valid = store.keys.create(later).await.unwrap();
    store.keys.authenticate(&valid.plaintext).await.unwrap();

    let e = expect_kind(
        store
            .keys
            .create(new_key(&uid("acct"), &[Scope::ApiRead]))
            .await,
        ErrorKind::NotFound,
    );
    assert!(e.message().contains("account"), "{e}");
    let e = expect_kind(
        store.keys.create(new_key(&account, &[])).await,
        ErrorKind::InvalidRequest,
    );
    assert!(e.message().contains("scopes"), "{e}");

    // K4: every create and failure is recorded; K1: no row carries any secret.
    let log = store.keys.audit_log(None).await.unwrap();
    assert!(
        log.iter()
            .filter(|e| e.action == AuditAction::AuthFailed)
            .count()
            >= 5
    );
    let secrets = [
        &good.plaintext,
        &expired.plaintext,
        &valid.plaintext,
        &wrong_secret,
        &unknown_id,
    ];
    for e in &log {
        let row = format!("{e:?}");
        for s in secrets {
            let secret = s.rsplit('_').next().unwrap();
            assert!(!row.contains(secret), "audit row {row} holds a secret");
        }
    }
}
