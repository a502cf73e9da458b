//! Accounts and points over real HTTP (issue 13 point 4, point 10 and the account
//! takeover), on SQLite and PostgreSQL (`GENMUX_TEST_PG`): tenant admin keys stay in their
//! own account, operators manage accounts, balances and ledgers with an audit row per
//! change, account ids have one form, and `Idempotency-Key` is scoped per account.

mod common;

use common::*;
use genmux_store::{AccountAuditAction, Scope};
use serde_json::{json, Value};

/// Runs a scenario on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(
    a_tenant_admin_cannot_take_over_another_account,
    operators_create_fund_adjust_and_read_ledgers,
    account_id_twins_are_refused,
    idempotency_keys_are_scoped_per_account,
);

/// The id part of `gmx_<id>_<secret>`.
fn key_id(plaintext: &str) -> String {
    plaintext.split('_').nth(1).expect("key id").to_string()
}

/// The `default` account with points and an operator key (what `genmux serve` creates on
/// first start), next to the harness's funded tenant.
async fn operator(gw: &Gateway) -> String {
    gw.store.ledger.create_account("default").await.unwrap();
    gw.store.ledger.top_up("default", 700).await.unwrap();
    new_key(&gw.store, "default", &Scope::ALL).await
}

impl Gateway {
    async fn delete(&self, path: &str, key: &str) -> Answer {
        self.send(
            self.http
                .delete(format!("{}{path}", self.base))
                .bearer_auth(key),
        )
        .await
    }

    /// POSTs raw JSON text (for numbers `serde_json::Value` cannot hold).
    async fn post_raw(&self, path: &str, key: &str, body: &str) -> Answer {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }
}

#[track_caller]
fn expect(a: &Answer, status: u16, parts: &[&str]) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["success"], false, "{}", a.body);
    for p in parts {
        assert!(a.error().contains(p), "`{p}` missing from: {}", a.error());
    }
}

/// The takeover of issue 13: the admin key of a fresh account asked for an admin key of
/// `default`, got it, and with it read `default`'s usage and webhook secret and revoked its
/// keys. Now every step is refused and `default` is untouched.
async fn a_tenant_admin_cannot_take_over_another_account(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let op = operator(&gw).await;
    let victim = new_key(&gw.store, "default", &[Scope::ApiRead]).await;

    let r = gw
        .post("/v1/accounts", &op, &json!({"id": "tenant-b"}), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = gw
        .post(
            "/v1/keys",
            &op,
            &json!({"name": "b admin", "accountId": "tenant-b", "scopes": ["admin"]}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["accountId"], "tenant-b");
    let b_admin = r.body["key"].as_str().unwrap().to_string();

    // The takeover request itself.
    let r = gw
        .post(
            "/v1/keys",
            &b_admin,
            &json!({"name": "mine now", "accountId": "default", "scopes": ["admin"]}),
            None,
        )
        .await;
    expect(&r, 403, &["accountId", "`default`", "operator"]);
    // Nor by granting itself the operator scope.
    let r = gw
        .post(
            "/v1/keys",
            &b_admin,
            &json!({"name": "op", "scopes": ["admin", "operator"]}),
            None,
        )
        .await;
    expect(&r, 403, &["scopes[1]", "operator"]);
    // Its own account, named or not, is fine.
    for body in [
        json!({"name": "reader", "scopes": ["api.read"]}),
        json!({"name": "reader", "accountId": "tenant-b", "scopes": ["api.read"]}),
    ] {
        let r = gw.post("/v1/keys", &b_admin, &body, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["accountId"], "tenant-b");
    }
    assert!(gw.store.keys.list("default").await.unwrap().len() == 2);

    // Listing, revoking and the webhook secret stay inside tenant-b.
    let listed = gw.get("/v1/keys", &b_admin).await;
    assert_eq!(listed.status, 200);
    let keys = listed.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    assert!(
        keys.iter().all(|k| k["accountId"] == "tenant-b"),
        "{keys:?}"
    );
    let victim_id = key_id(&victim);
    let r = gw.delete(&format!("/v1/keys/{victim_id}"), &b_admin).await;
    expect(&r, 404, &[&victim_id]);
    assert_eq!(
        gw.store
            .keys
            .get(&victim_id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None,
        "not revoked"
    );
    assert_eq!(gw.get("/v1/usage/logs", &victim).await.status, 200);
    // Nor by naming the account in the listing.
    let r = gw.get("/v1/keys?accountId=default", &b_admin).await;
    expect(&r, 403, &["accountId", "`default`"]);
    // Junk key ids name no key, on both backends (PostgreSQL refuses NUL in text).
    for junk in ["a%00b", "..", "x%20y"] {
        let r = gw.delete(&format!("/v1/keys/{junk}"), &b_admin).await;
        assert_eq!(r.status, 404, "{junk}: {}", r.body);
    }
    let r = gw.get("/v1/webhooks/secret", &b_admin).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["secret"],
        gw.state.webhook_secret("tenant-b").to_whsec()
    );
    assert_ne!(
        r.body["secret"],
        gw.state.webhook_secret("default").to_whsec()
    );
    // Its summary and balance are its own (0 points), not default's.
    let s = gw.get("/v1/usage/summary", &b_admin).await;
    assert_eq!((s.body["balance"].clone(), s.status), (json!(0), 200));
    let b = gw.get("/v1/balance", &b_admin).await;
    assert_eq!(b.body["accountId"], "tenant-b");

    // The operator routes need the operator scope, which admin does not imply.
    for r in [
        gw.get("/v1/accounts", &b_admin).await,
        gw.get("/v1/accounts/default", &b_admin).await,
        gw.get("/v1/accounts/default/ledger", &b_admin).await,
        gw.post("/v1/accounts", &b_admin, &json!({"id": "c"}), None)
            .await,
        gw.post(
            "/v1/accounts/tenant-b/top-up",
            &b_admin,
            &json!({"points": 1_000_000, "reason": "free points"}),
            None,
        )
        .await,
        gw.post(
            "/v1/accounts/default/adjust",
            &b_admin,
            &json!({"points": -700, "reason": "drain"}),
            None,
        )
        .await,
    ] {
        expect(&r, 403, &["operator"]);
    }
    assert_eq!(gw.store.ledger.balance("default").await.unwrap(), 700);
    assert_eq!(gw.store.ledger.balance("tenant-b").await.unwrap(), 0);

    // No account is created by naming it: a key for a missing account is refused, also
    // for an operator.
    let r = gw
        .post(
            "/v1/keys",
            &op,
            &json!({"name": "x", "accountId": "ghost", "scopes": ["admin"]}),
            None,
        )
        .await;
    expect(
        &r,
        404,
        &[
            "accountId",
            "`ghost`",
            "does not exist",
            "POST /v1/accounts",
        ],
    );
    assert_eq!(gw.store.accounts.get("ghost").await.unwrap(), None);
    // The operator scope stays in the operator's own account.
    let r = gw
        .post(
            "/v1/keys",
            &op,
            &json!({"name": "x", "accountId": "tenant-b", "scopes": ["operator"]}),
            None,
        )
        .await;
    expect(&r, 403, &["scopes[0]", "`tenant-b`"]);

    // The operator sees and revokes any account's keys; the revocation is audited.
    let r = gw.get("/v1/keys?accountId=tenant-b", &op).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 3);
    expect(
        &gw.get("/v1/keys?accountId=ghost", &op).await,
        404,
        &["`ghost`"],
    );
    let reader_id = r.body["keys"][2]["id"].as_str().unwrap().to_string();
    let r = gw.delete(&format!("/v1/keys/{reader_id}"), &op).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["revoked"], true);

    // Audit: who created tenant-b and each of its keys, and who revoked one.
    let audit = gw.store.accounts.audit_log(Some("tenant-b")).await.unwrap();
    let rows: Vec<(AccountAuditAction, Option<String>)> = audit
        .iter()
        .map(|r| (r.action, r.actor.key_id.clone()))
        .collect();
    let (op_id, b_id) = (key_id(&op), key_id(&b_admin));
    let op_id_again = op_id.clone();
    assert_eq!(
        rows,
        vec![
            (AccountAuditAction::Created, Some(op_id.clone())),
            (AccountAuditAction::KeyCreated, Some(op_id)),
            (AccountAuditAction::KeyCreated, Some(b_id.clone())),
            (AccountAuditAction::KeyCreated, Some(b_id)),
            (AccountAuditAction::KeyRevoked, Some(op_id_again)),
        ]
    );
    assert_eq!(audit.last().unwrap().detail, format!("key={reader_id}"));
    sim.shutdown().await;
}

/// Create → top up → adjust (never below zero) → a tenant generates → balance, held
/// points, usage summary and the ledger agree, and every change has its audit row.
async fn operators_create_fund_adjust_and_read_ledgers(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.first_delay = std::time::Duration::from_secs(3600)
    })
    .await;
    let op = operator(&gw).await;

    let r = gw
        .post("/v1/accounts", &op, &json!({"id": "acme"}), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["account"]["id"], "acme");
    assert_eq!(r.body["account"]["balance"], 0);
    assert_eq!(r.body["account"]["heldPoints"], 0);
    assert!(r.body["account"]["createdAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let r = gw
        .post("/v1/accounts", &op, &json!({"id": "acme"}), None)
        .await;
    expect(&r, 409, &["`acme`", "already exists"]);

    let r = gw
        .post(
            "/v1/accounts/acme/top-up",
            &op,
            &json!({"points": 500, "reason": "contract #1"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["entry"]["kind"], "top_up");
    assert_eq!(r.body["entry"]["points"], 500);
    assert_eq!(r.body["entry"]["balanceAfter"], 500);
    assert_eq!(r.body["entry"]["reason"], "contract #1");
    assert_eq!(r.body["account"]["balance"], 500);
    let r = gw
        .post(
            "/v1/accounts/acme/adjust",
            &op,
            &json!({"points": -200, "reason": "double top-up corrected"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["entry"]["kind"], "adjust");
    assert_eq!(r.body["account"]["balance"], 300);

    // Below zero: refused naming the balance, nothing changes.
    let r = gw
        .post(
            "/v1/accounts/acme/adjust",
            &op,
            &json!({"points": -301, "reason": "too much"}),
            None,
        )
        .await;
    expect(&r, 409, &["points", "-301", "balance is 300 points"]);
    let shown = gw.get("/v1/accounts/acme", &op).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["account"]["balance"], 300);
    assert_eq!(gw.store.ledger.entries("acme").await.unwrap().len(), 2);

    // Bad bodies name the field; nothing is written.
    let long = "r".repeat(501);
    for (route, body, field) in [
        (
            "adjust",
            r#"{"points":0,"reason":"r"}"#.to_string(),
            "points",
        ),
        (
            "adjust",
            r#"{"points":1.5,"reason":"r"}"#.to_string(),
            "points",
        ),
        (
            "adjust",
            r#"{"points":9223372036854775808,"reason":"r"}"#.to_string(),
            "points",
        ),
        (
            "adjust",
            r#"{"points":-9223372036854775809,"reason":"r"}"#.to_string(),
            "points",
        ),
        (
            "top-up",
            r#"{"points":-5,"reason":"r"}"#.to_string(),
            "points",
        ),
        (
            "top-up",
            r#"{"points":1000000000000001,"reason":"r"}"#.to_string(),
            "points",
        ),
        ("top-up", r#"{"points":5}"#.to_string(), "reason"),
        (
            "top-up",
            r#"{"points":5,"reason":"  "}"#.to_string(),
            "reason",
        ),
        (
            "top-up",
            format!(r#"{{"points":5,"reason":"{long}"}}"#),
            "reason",
        ),
        (
            "top-up",
            r#"{"points":5,"reason":"r","note":1}"#.to_string(),
            "note",
        ),
    ] {
        let r = gw
            .post_raw(&format!("/v1/accounts/acme/{route}"), &op, &body)
            .await;
        expect(&r, 400, &[field]);
    }
    // A well-formed top-up the balance cannot take (past 10^15): 409, unchanged.
    let r = gw
        .post(
            "/v1/accounts/acme/top-up",
            &op,
            &json!({"points": 1_000_000_000_000_000_i64, "reason": "too much"}),
            None,
        )
        .await;
    expect(&r, 409, &["points", "from 300 past the largest balance"]);
    let r = gw
        .post(
            "/v1/accounts/ghost/top-up",
            &op,
            &json!({"points": 5, "reason": "r"}),
            None,
        )
        .await;
    expect(&r, 404, &["accountId", "`ghost`"]);
    expect(&gw.get("/v1/accounts/ghost", &op).await, 404, &["`ghost`"]);
    expect(
        &gw.get("/v1/accounts/ghost/ledger", &op).await,
        404,
        &["`ghost`"],
    );
    assert_eq!(gw.store.ledger.entries("acme").await.unwrap().len(), 2);
    assert_eq!(gw.store.ledger.balance("acme").await.unwrap(), 300);

    // A tenant key for acme spends: the hold shows as held points.
    let r = gw
        .post(
            "/v1/keys",
            &op,
            &json!({"name": "acme app", "accountId": "acme", "scopes": ["api.generate", "api.read"]}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let acme = r.body["key"].as_str().unwrap().to_string();
    let q = gw
        .post("/unified-video/quote", &acme, &kling_body(), None)
        .await;
    let price = q.body["pointsCharged"].as_i64().unwrap();
    let created = gw
        .post("/unified-video/generate", &acme, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let b = gw.get("/v1/balance", &acme).await;
    assert_eq!(b.status, 200, "{}", b.body);
    assert_eq!(
        b.body,
        json!({"success": true, "accountId": "acme", "balance": 300 - price, "heldPoints": price})
    );
    let s = gw.get("/v1/usage/summary", &acme).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.body["balance"], 300 - price);
    assert_eq!(s.body["heldPoints"], price);
    for kept in [
        "totalPointsCharged",
        "totalRequests",
        "totalInputTokens",
        "totalOutputTokens",
        "byModel",
    ] {
        assert!(!s.body[kept].is_null(), "{kept} kept: {}", s.body);
    }
    let shown = gw.get("/v1/accounts/acme", &op).await;
    assert_eq!(shown.body["account"]["heldPoints"], price);

    // The ledger, newest first, paged.
    let l = gw.get("/v1/accounts/acme/ledger", &op).await;
    assert_eq!(l.status, 200, "{}", l.body);
    assert_eq!(l.body["total"], 3);
    let entries = l.body["entries"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value, Value)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].clone(),
                e["points"].clone(),
                e["taskId"].clone(),
                e["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("hold"), json!(-price), json!(task_id), Value::Null),
            (
                json!("adjust"),
                json!(-200),
                Value::Null,
                json!("double top-up corrected")
            ),
            (
                json!("top_up"),
                json!(500),
                Value::Null,
                json!("contract #1")
            ),
        ]
    );
    assert!(entries.iter().all(|e| e["createdAt"].is_string()));
    let p2 = gw.get("/v1/accounts/acme/ledger?page=2&limit=2", &op).await;
    assert_eq!(p2.body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(p2.body["entries"][0]["kind"], "top_up");
    assert_eq!(
        (p2.body["page"].clone(), p2.body["limit"].clone()),
        (json!(2), json!(2))
    );
    expect(
        &gw.get("/v1/accounts/acme/ledger?limit=0", &op).await,
        400,
        &["limit", "`0`"],
    );
    expect(
        &gw.get("/v1/accounts/acme/ledger?sort=asc", &op).await,
        400,
        &["`sort`"],
    );

    // The list pages through every account with its balance and held points.
    let mut seen = Vec::new();
    for page in 1..=10 {
        let r = gw
            .get(&format!("/v1/accounts?page={page}&limit=1"), &op)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let accounts = r.body["accounts"].as_array().unwrap().clone();
        if accounts.is_empty() {
            assert_eq!(r.body["total"], seen.len());
            break;
        }
        seen.extend(accounts);
    }
    let ids: Vec<&str> = seen.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![gw.account.as_str(), "acme", "default"], "by id");
    assert_eq!(seen[1]["balance"], 300 - price);
    assert_eq!(seen[1]["heldPoints"], price);
    assert_eq!(seen[2]["balance"], 700);

    // Every operator action has its audit row, naming the operator's key and the reason.
    let audit = gw.store.accounts.audit_log(Some("acme")).await.unwrap();
    let rows: Vec<(AccountAuditAction, Option<i64>, Option<String>)> = audit
        .iter()
        .map(|r| (r.action, r.points, r.reason.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (AccountAuditAction::Created, None, None),
            (
                AccountAuditAction::TopUp,
                Some(500),
                Some("contract #1".into())
            ),
            (
                AccountAuditAction::Adjust,
                Some(-200),
                Some("double top-up corrected".into())
            ),
            (AccountAuditAction::KeyCreated, None, None),
        ]
    );
    let op_id = key_id(&op);
    assert!(audit
        .iter()
        .all(|r| r.actor.key_id.as_deref() == Some(op_id.as_str())
            && r.actor.account_id.as_deref() == Some("default")));

    // The operator's own balance route answers for its own account.
    let mine = gw.get("/v1/balance", &op).await;
    assert_eq!(mine.body["accountId"], "default");
    assert_eq!(mine.body["balance"], 700);
    sim.shutdown().await;
}

/// One form per account id: case and whitespace twins, NUL bytes and overlong ids are
/// refused wherever an id comes in, with the field, the value and the rule; `default` stays
/// valid.
async fn account_id_twins_are_refused(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let op = operator(&gw).await;
    let tenant_admin = new_key(&gw.store, &gw.account, &[Scope::Admin]).await;
    let before = gw
        .store
        .accounts
        .list(genmux_store::Page {
            page: 1,
            limit: 100,
        })
        .await
        .unwrap();

    let long = "x".repeat(5000);
    for (bad, shown) in [
        ("DEFAULT", "`DEFAULT`"),
        ("Default", "`Default`"),
        ("default ", "`default `"),
        (" default", "` default`"),
        ("a\u{0}b", r"`a\0b`"),
        (long.as_str(), "(5000 characters)"),
        ("", "``"),
        ("a/b", "`a/b`"),
    ] {
        let r = gw
            .post("/v1/accounts", &op, &json!({ "id": bad }), None)
            .await;
        expect(&r, 400, &["id: `", shown, "allowed: 1–63 characters"]);
        assert!(
            r.error().chars().count() < 400,
            "the value is cut: {}",
            r.error()
        );
        for key in [&op, &tenant_admin] {
            let r = gw
                .post(
                    "/v1/keys",
                    key,
                    &json!({"name": "k", "accountId": bad, "scopes": ["api.read"]}),
                    None,
                )
                .await;
            expect(&r, 400, &["accountId: `", shown, "lowercase letters"]);
        }
    }
    // Ids in the path (percent-encoded by the client).
    for path in [
        "/v1/accounts/DEFAULT",
        "/v1/accounts/default%20",
        "/v1/accounts/a%00b",
        "/v1/accounts/Default/ledger",
    ] {
        expect(&gw.get(path, &op).await, 400, &["accountId: `", "allowed"]);
    }
    let r = gw
        .post(
            "/v1/accounts/DEFAULT/top-up",
            &op,
            &json!({"points": 5, "reason": "r"}),
            None,
        )
        .await;
    expect(&r, 400, &["accountId: `DEFAULT`", "lowercase"]);
    let after = gw
        .store
        .accounts
        .list(genmux_store::Page {
            page: 1,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(after, before, "nothing was created");
    assert_eq!(gw.store.ledger.balance("default").await.unwrap(), 700);

    // `default` itself is an id like any other.
    let r = gw
        .post("/v1/accounts", &op, &json!({"id": "default"}), None)
        .await;
    expect(&r, 409, &["`default`", "already exists"]);
    assert_eq!(gw.get("/v1/accounts/default", &op).await.status, 200);
    sim.shutdown().await;
}

/// The same `Idempotency-Key` and body from a second key of one account replays the first
/// answer (one task, one charge); another account with the same key is independent.
async fn idempotency_keys_are_scoped_per_account(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |_| {}).await;
    let second = new_key(&gw.store, &gw.account, &[Scope::ApiGenerate]).await;
    gw.store.ledger.create_account("other-co").await.unwrap();
    gw.store.ledger.top_up("other-co", BALANCE).await.unwrap();
    let other = new_key(&gw.store, "other-co", &[Scope::ApiGenerate]).await;
    let body = kling_body();

    let first = gw
        .post("/unified-video/generate", &gw.key, &body, Some("order-42"))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let price = first.body["pointsCharged"].as_i64().unwrap();
    let replay = gw
        .post("/unified-video/generate", &second, &body, Some("order-42"))
        .await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.bytes, first.bytes, "byte for byte");
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(gw.tasks().await.len(), 1, "one task");
    assert_eq!(gw.balance().await, BALANCE - price, "one charge");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);
    assert_eq!(sim.state().tasks().len(), 1, "one upstream submission");
    // The same account, the same key, another body: refused as before.
    let mut changed = body.clone();
    changed["duration"] = json!(10);
    let r = gw
        .post(
            "/unified-video/generate",
            &second,
            &changed,
            Some("order-42"),
        )
        .await;
    expect(&r, 422, &["different request body"]);

    // Another account is its own namespace.
    let theirs = gw
        .post("/unified-video/generate", &other, &body, Some("order-42"))
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_ne!(theirs.body["taskId"], first.body["taskId"]);
    assert_eq!(
        gw.store.ledger.balance("other-co").await.unwrap(),
        BALANCE - price
    );
    assert_eq!(
        gw.balance().await,
        BALANCE - price,
        "the first account is untouched"
    );
    assert_eq!(sim.state().tasks().len(), 2);
    sim.shutdown().await;
}
