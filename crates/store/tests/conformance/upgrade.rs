//! Upgrading a database written before migration 0003 (accounts and points): what it held
//! is kept, Idempotency-Key records move from API keys to their accounts, and the
//! first-start admin key gets the operator scope. `tests/sqlite.rs` and `tests/postgres.rs`
//! migrate a scratch database to 0002 with the real migration files, run [`SEED_0002`],
//! open it with [`genmux_store::Store::open`] (which applies 0003) and call [`check`].

use genmux_store::{
    AccountAuditAction, Actor, BeginOutcome, EntryKind, IdempotencyKey, Scope, Store,
};

/// The route the seeded Idempotency-Key records are for.
pub const ROUTE: &str = "POST /unified-video/generate";

/// Rows as a 0002 database holds them. `{BLOB}` is the backend's literal for a byte
/// string (SQLite `X'00'`, PostgreSQL `'\x00'::bytea`).
pub const SEED_0002: &str = "
INSERT INTO accounts (id, balance, created_at) VALUES ('default', 500, 1), ('tenant', 10, 2);
INSERT INTO ledger_entries (account_id, task_id, kind, amount, balance_after, created_at)
VALUES ('default', NULL, 'top_up', 500, 500, 1), ('tenant', NULL, 'top_up', 10, 10, 2);
INSERT INTO api_keys (id, account_id, name, secret_hash, last4, scopes, created_at)
VALUES ('bootkey000000000', 'default', 'admin (bootstrap)', {BLOB}, 'abcd', 'api.read api.generate admin', 1),
       ('opsadmin00000000', 'default', 'ops', {BLOB}, 'abcd', 'admin', 1),
       ('tenantk100000000', 'tenant', 'admin (bootstrap)', {BLOB}, 'abcd', 'admin', 2),
       ('tenantk200000000', 'tenant', 'ci', {BLOB}, 'abcd', 'api.generate', 2);
INSERT INTO idempotency_keys (api_key_id, route, idem_key, fingerprint, state, response_status, response_body, created_at, completed_at)
VALUES ('tenantk100000000', 'POST /unified-video/generate', 'k1', 'first', 'done', 200, {BLOB}, 100, 101),
       ('tenantk200000000', 'POST /unified-video/generate', 'k1', 'second', 'done', 201, {BLOB}, 200, 201),
       ('tenantk200000000', 'POST /unified-video/generate', 'k2', 'only', 'done', 202, {BLOB}, 300, 301),
       ('bootkey000000000', 'POST /unified-video/generate', 'k1', 'boot', 'done', 203, {BLOB}, 400, 401);
";

/// The seed as statements for `blob`.
pub fn seed_statements(blob: &str) -> Vec<String> {
    SEED_0002
        .replace("{BLOB}", blob)
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn status_of(outcome: BeginOutcome) -> u16 {
    match outcome {
        BeginOutcome::Done(r) => r.status,
        other => panic!("expected a stored response, got {other:?}"),
    }
}

/// What the upgraded database must hold and do.
pub async fn check(store: &Store) {
    // The ledger is kept; old entries have no reason.
    let entries = store.ledger.entries("default").await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].kind, entries[0].amount, entries[0].balance_after),
        (EntryKind::TopUp, 500, 500)
    );
    let tenant_before = store.ledger.entries("tenant").await.unwrap();
    assert_eq!(tenant_before.len(), 1);
    assert_eq!(entries[0].reason, None);
    assert_eq!(store.ledger.balance("tenant").await.unwrap(), 10);
    // New entries continue after the old ids, with the new kind and a reason.
    let actor = Actor::system();
    let e = store
        .accounts
        .adjust("tenant", -4, "upgrade check", &actor)
        .await
        .unwrap();
    assert!(e.id > tenant_before[0].id && e.id > entries[0].id, "{e:?}");
    assert_eq!((e.kind, e.balance_after), (EntryKind::Adjust, 6));
    let audit = store.accounts.audit_log(Some("tenant")).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AccountAuditAction::Adjust);

    // Only the first-start key of `default` becomes an operator.
    let boot = store.keys.get("bootkey000000000").await.unwrap().unwrap();
    assert_eq!(boot.scopes, Scope::ALL.to_vec());
    for other in ["opsadmin00000000", "tenantk100000000", "tenantk200000000"] {
        let k = store.keys.get(other).await.unwrap().unwrap();
        assert!(!k.scopes.contains(&Scope::Operator), "{other}: {k:?}");
    }

    // Idempotency records now belong to accounts: the oldest of the tenant's two `k1`
    // records answers for the whole account, the others are independent.
    let key = |account: &str, k: &str| IdempotencyKey::new(account, ROUTE, k).unwrap();
    let idem = &store.idempotency;
    assert_eq!(
        status_of(idem.begin(&key("tenant", "k1"), "first").await.unwrap()),
        200
    );
    assert_eq!(
        idem.begin(&key("tenant", "k1"), "second").await.unwrap(),
        BeginOutcome::Mismatch,
        "the newer duplicate was dropped"
    );
    assert_eq!(
        status_of(idem.begin(&key("tenant", "k2"), "only").await.unwrap()),
        202
    );
    assert_eq!(
        status_of(idem.begin(&key("default", "k1"), "boot").await.unwrap()),
        203
    );
    // Nothing is left under a key id.
    assert_eq!(
        idem.begin(&key("tenantk200000000", "k1"), "second")
            .await
            .unwrap(),
        BeginOutcome::New
    );
}

/// A directory holding this backend's migrations before 0003 (the real files), for a
/// `sqlx::migrate::Migrator` that brings a scratch database to where 0003 starts.
pub fn migrations_before_0003(backend: &str, scratch: &std::path::Path) -> std::path::PathBuf {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let to = scratch.join(format!("migrations-before-0003-{backend}"));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0003" {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
    to
}
