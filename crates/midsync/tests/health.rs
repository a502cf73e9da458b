//! `GET /healthz` and the `sandbox` flag of the models documents (issue 13 point 6), over
//! real HTTP on both store backends: 200 naming the backend while the database answers,
//! 503 once it does not; `"sandbox"` says whether the providers are simulators.

mod common;

use common::{gateway, Db};

async fn says_health_and_sandbox(db: Db, backend: &str, sandbox: bool) {
    let gw = gateway(db, vec![], |c| c.sandbox = sandbox).await;
    let health = || gw.send(gw.http.get(format!("{}/healthz", gw.base)));
    let h = health().await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.body["status"], "ok", "{}", h.body);
    assert_eq!(h.body["sandbox"], sandbox, "{}", h.body);
    assert_eq!(h.body["database"], backend, "{}", h.body);
    for path in ["/unified-video/models", "/unified-image/models"] {
        let m = gw.get(path, &gw.key).await;
        assert_eq!(m.status, 200, "{path}");
        assert_eq!(m.body["sandbox"], sandbox, "{path}: {}", m.body);
    }
    // A database that no longer answers makes the gateway unavailable, saying why.
    gw.store.close().await;
    let h = health().await;
    assert_eq!(h.status, 503, "{}", h.body);
    assert_eq!(h.body["status"], "unavailable", "{}", h.body);
    assert_eq!(h.body["sandbox"], sandbox, "{}", h.body);
    assert!(
        h.body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("database: ")),
        "{}",
        h.body
    );
}

#[tokio::test]
async fn healthz_and_models_say_whether_this_is_a_sandbox_on_sqlite() {
    says_health_and_sandbox(Db::sqlite(), "sqlite", false).await;
    says_health_and_sandbox(Db::sqlite(), "sqlite", true).await;
}

#[tokio::test]
async fn healthz_and_models_say_whether_this_is_a_sandbox_on_postgres() {
    says_health_and_sandbox(Db::postgres().await, "postgres", false).await;
    says_health_and_sandbox(Db::postgres().await, "postgres", true).await;
}
