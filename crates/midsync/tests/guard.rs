//! Issue 13 points 9 and 10, end to end on SQLite and PostgreSQL:
//! - quote and generate run one validation: every URL `/generate` refuses, `/quote`
//!   refuses with the same message naming the JSON path, and nothing is written;
//! - media URL host names are resolved and checked like callback hosts (a private answer or
//!   no answer is a 400 naming the field and the host), all at once within a timeout;
//! - an upstream's own error text never reaches the caller (generate response, status body,
//!   outbound callback) — the task record keeps it for operators;
//! - a receiver answering 410 disables the account's endpoint for later tasks.

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::*;
use genmux_midsync::engine::delivery;
use genmux_midsync::engine::settle::FAILED_UPSTREAM;
use genmux_midsync::ssrf::Resolve;
use genmux_midsync::{app, AppState};
use genmux_store::{DeliveryState, Scope};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

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
    quote_refuses_what_generate_refuses,
    media_hosts_are_resolved_and_checked,
    upstream_error_text_is_withheld_from_callers,
    a_410_disables_the_endpoint_for_later_tasks,
);

/// Answers from a table; `slow*` names never answer; other names fail like NXDOMAIN.
struct Dns(HashMap<&'static str, Vec<IpAddr>>);

#[async_trait::async_trait]
impl Resolve for Dns {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        if host.starts_with("slow") {
            std::future::pending::<()>().await;
        }
        self.0.get(host).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "NXDOMAIN (test table)")
        })
    }
}

fn dns() -> Arc<Dns> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    Arc::new(Dns(HashMap::from([
        ("cdn.test", vec![ip("93.184.216.34")]),
        ("hooks.test", vec![ip("93.184.216.35")]),
        ("internal.test", vec![ip("10.0.0.5")]),
        (
            "mixed.test",
            vec![ip("93.184.216.34"), ip("169.254.169.254")],
        ),
        ("six.test", vec![ip("2002:7f00:1::")]),
    ])))
}

/// A request through the app of `state` (so an injected resolver is used).
async fn call(state: &AppState, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let req = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn with(extra: Value) -> Value {
    let mut body = kling_body();
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Issue 13 point 9: quote accepted `file:`, `gopher:`, 10.x and 169.254.x URLs that
/// generate refused. Now both answer 400 with the same message, naming the JSON path.
async fn quote_refuses_what_generate_refuses(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| c.allow_loopback_callbacks = false).await;
    let state = gw.state.clone().with_resolver(dns());
    let cases: Vec<(Value, &str)> = vec![
        (json!({"images": ["file:///etc/passwd"]}), "images[0]: `file:///etc/passwd` is not an http(s) URL"),
        (json!({"images": ["gopher://cdn.test/x.png"]}), "images[0]: `gopher://cdn.test/x.png` is not an http(s) URL"),
        (json!({"images": ["http://10.0.0.5/x.png"]}), "images[0]: host `10.0.0.5` resolves to 10.0.0.5, in a blocked range: private (10.0.0.0/8)"),
        (json!({"images": ["http://169.254.169.254/latest/meta-data/"]}), "images[0]: host `169.254.169.254`"),
        (json!({"images": ["http://[::127.0.0.1]/x.png"]}), "around 127.0.0.1, loopback (127.0.0.0/8)"),
        (json!({"images": ["http://[2002:7f00:1::]/x.png"]}), "6to4 (2002::/16) around 127.0.0.1"),
        (json!({"images": ["http://192.0.0.1/x.png"]}), "IETF protocol assignments (192.0.0.0/24)"),
        (json!({"images": ["http://127.0.0.1:9/x.png"]}), "images[0]: host `127.0.0.1`"),
        (json!({"images": ["http://user:pw@cdn.test/x.png"]}), "images[0]: "),
        (json!({"images": ["https://cdn.test/ok.png", "https://internal.test/x.png"]}), "images[1]: host `internal.test` resolves to 10.0.0.5"),
        (json!({"callbackUrl": "gopher://hooks.test/"}), "callbackUrl: scheme `gopher:`"),
        (json!({"callbackUrl": "http://10.1.2.3/hook"}), "callbackUrl: host `10.1.2.3`"),
        (json!({"callbackUrl": "http://[64:ff9b::a9fe:a9fe]/hook"}), "callbackUrl: host"),
        (json!({"callbackUrl": "https://mixed.test/hook"}), "callbackUrl: host `mixed.test` resolves to 169.254.169.254"),
    ];
    for (extra, want) in &cases {
        let body = with(extra.clone());
        let (qs, q) = call(&state, "/unified-video/quote", &gw.key, &body).await;
        let (gs, g) = call(&state, "/unified-video/generate", &gw.key, &body).await;
        assert_eq!((qs, gs), (400, 400), "{extra}: quote {q}, generate {g}");
        assert_eq!(q["success"], false, "{q}");
        let message = q["error"].as_str().unwrap();
        assert!(
            message.contains(want),
            "{extra}: `{message}` should say `{want}`"
        );
        assert_eq!(
            q["error"], g["error"],
            "{extra}: one validation, one message"
        );
    }
    // the public ones pass both (and generate creates its task)
    let ok =
        with(json!({"images": ["https://cdn.test/a.png"], "callbackUrl": "https://hooks.test/cb"}));
    let (qs, q) = call(&state, "/unified-video/quote", &gw.key, &ok).await;
    assert_eq!(qs, 200, "{q}");
    assert_eq!(q["success"], true);
    assert_eq!(
        gw.entry_kinds().await,
        vec!["top_up"],
        "nothing written by any refusal"
    );
    assert!(gw.tasks().await.is_empty());
    assert!(sim.state().tasks().is_empty());
    let (gs, g) = call(&state, "/unified-video/generate", &gw.key, &ok).await;
    assert_eq!(gs, 200, "{g}");
    assert_eq!(g["pointsCharged"], q["pointsCharged"]);
    assert_eq!(gw.tasks().await.len(), 1);
    sim.shutdown().await;
}

/// Issue 13 point 9: media URL host names are resolved and checked the way callback hosts
/// are, all at once within `url_check_timeout`; a name that does not resolve is a 400
/// naming the field and the host. Loopback passes only where the guard allows it.
async fn media_hosts_are_resolved_and_checked(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.allow_loopback_callbacks = false;
        c.url_check_timeout = Duration::from_millis(500);
    })
    .await;
    let state = gw.state.clone().with_resolver(dns());
    for (extra, want) in [
        (json!({"images": ["https://internal.test/a.png"]}), "images[0]: host `internal.test` resolves to 10.0.0.5, in a blocked range: private (10.0.0.0/8); only public addresses are allowed"),
        (json!({"images": ["https://six.test/a.png"]}), "images[0]: host `six.test` resolves to 2002:7f00:1::, in a blocked range: 6to4 (2002::/16) around 127.0.0.1, loopback (127.0.0.0/8)"),
        (json!({"images": ["https://nowhere.test/a.png"]}), "images[0]: host `nowhere.test` does not resolve (NXDOMAIN (test table))"),
        (json!({"images": ["https://slow.test/a.png"]}), "images[0]: host `slow.test` does not resolve (no answer within 0.5 s)"),
        (json!({"images": ["https://mixed.test/a.png"]}), "images[0]: host `mixed.test` resolves to 169.254.169.254"),
    ] {
        let started = std::time::Instant::now();
        for path in ["/unified-video/quote", "/unified-video/generate"] {
            let (status, body) = call(&state, path, &gw.key, &with(extra.clone())).await;
            assert_eq!(status, 400, "{path} {extra}: {body}");
            let msg = body["error"].as_str().unwrap();
            assert!(msg.starts_with(want), "{path} {extra}: `{msg}` should start with `{want}`");
        }
        assert!(started.elapsed() < Duration::from_secs(5), "bounded: {:?}", started.elapsed());
    }
    // three names that never answer: asked at once, so the wait is one timeout, not three;
    // the first URL in body order is named
    let started = std::time::Instant::now();
    let (status, q) = call(
        &state,
        "/unified-video/quote",
        &gw.key,
        &with(json!({
            "images": ["https://slow1.test/a.png", "https://slow2.test/b.png"],
            "callbackUrl": "https://slow3.test/cb"
        })),
    )
    .await;
    assert_eq!(status, 400, "{q}");
    assert!(
        q["error"].as_str().unwrap().starts_with(
            "callbackUrl: host `slow3.test` does not resolve (no answer within 0.5 s)"
        ),
        "{q}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    assert!(gw.tasks().await.is_empty());
    assert_eq!(gw.entry_kinds().await, vec!["top_up"]);
    sim.shutdown().await;

    // Where loopback is allowed (tests, sandbox), a loopback media URL passes; a wrapped or
    // private one still does not.
    let (sim, kling) = kling_sim(sim_config()).await;
    let lax = gateway(Db::sqlite(), vec![kling], |c| {
        c.allow_loopback_callbacks = true
    })
    .await;
    let (status, q) = call(
        &lax.state,
        "/unified-video/quote",
        &lax.key,
        &with(json!({"images": ["http://127.0.0.1:9/a.png"]})),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    for refused in ["http://[2002:7f00:1::]/a.png", "http://10.0.0.5/a.png"] {
        let (status, q) = call(
            &lax.state,
            "/unified-video/quote",
            &lax.key,
            &with(json!({"images": [refused]})),
        )
        .await;
        assert_eq!(status, 400, "{refused}: {q}");
    }
    sim.shutdown().await;
}

/// Issue 13 point 10: the caller learns what to change; the upstream's own words (and its
/// request id) reach only the logs and the task record.
async fn upstream_error_text_is_withheld_from_callers(db: Db) {
    const REASON: &str = "SIM-UPSTREAM-REASON-4242 shard=eu-7";
    let mut cfg = sim_config();
    cfg.blocked_words = vec!["zebra".into()];
    cfg.failure_rate = 1.0;
    cfg.failure_message = REASON.into();
    let (sim, kling) = kling_sim(cfg).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;

    // A refusal at submission (Kling 1301, "content safety" with the word and a request id).
    let refused = gw
        .post(
            "/unified-video/generate",
            &gw.key,
            &with(json!({"prompt": "A zebra crossing a river"})),
            None,
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let msg = refused.error();
    assert!(
        msg.starts_with(
            "the provider refused the content of this request; change the prompt or images (reference "
        ),
        "{msg}"
    );
    for leak in ["zebra", "safety", "1301", "request_id", "Kling"] {
        assert!(!msg.contains(leak), "`{leak}` leaked: {msg}");
    }
    assert_eq!(gw.balance().await, BALANCE, "nothing charged");
    assert!(gw.tasks().await.is_empty(), "no task kept");

    // A task that fails upstream: status and outbound callback say what to do, not why
    // the provider said it failed.
    let hook = receiver(vec![]).await;
    let created = gw
        .post(
            "/unified-video/generate",
            &gw.key,
            &with(json!({"callbackUrl": hook.url})),
            None,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    let status = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(status.body["status"], "failed", "{}", status.body);
    assert_eq!(status.body["error"], FAILED_UPSTREAM);
    assert!(!String::from_utf8_lossy(&status.bytes).contains("SIM-UPSTREAM"));
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    let (_, sent) = hook.hits.lock().unwrap()[0].clone();
    let sent_text = String::from_utf8_lossy(&sent).to_string();
    assert!(!sent_text.contains("SIM-UPSTREAM"), "{sent_text}");
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(sent["error"], FAILED_UPSTREAM);
    // the operator's copy
    let record = gw.store.tasks.get(&task_id).await.unwrap().unwrap();
    assert_eq!(record.upstream_error.as_deref(), Some(REASON));
    assert_eq!(record.error.as_deref(), Some(FAILED_UPSTREAM));
    assert_eq!(gw.balance().await, BALANCE, "refunded");
    sim.shutdown().await;
}

/// Issue 13 point 10 (W2): the receiver answers 410 to the first task's callback; the next
/// task's callback to the same URL is not sent (its delivery says why), the account sees
/// the endpoint listed, enables it with an admin key, and the third task's callback
/// arrives.
async fn a_410_disables_the_endpoint_for_later_tasks(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let hook = receiver(vec![(410, None)]).await;
    let finish = |body: Value| {
        let gw = &gw;
        let sim = &sim;
        async move {
            let r = gw
                .post("/unified-video/generate", &gw.key, &body, None)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            sim.advance(Duration::from_secs(120)).await;
            r.body["taskId"].as_str().unwrap().to_string()
        }
    };
    let first = finish(with(json!({"callbackUrl": hook.url}))).await;
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 1);
    let d = gw
        .store
        .outbox
        .get(&format!("msg_{first}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.state, DeliveryState::Disabled);

    let listed = gw.get("/v1/webhooks/endpoints", &gw.key).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["accountId"], gw.account.as_str());
    assert_eq!(listed.body["endpoints"][0]["url"], hook.url.as_str());
    assert_eq!(
        listed.body["endpoints"][0]["webhookId"],
        format!("msg_{first}").as_str()
    );
    assert!(listed.body["endpoints"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("410"));

    // the next task's callback to the same URL (spelled differently) is not attempted
    let upper = hook.url.replace("http://", "HTTP://");
    let second = finish(with(json!({"callbackUrl": upper}))).await;
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 1, "nothing sent to a disabled endpoint");
    let d = gw
        .store
        .outbox
        .get(&format!("msg_{second}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Disabled, 0));
    let why = d.last_error.unwrap();
    assert!(why.starts_with("not sent: the endpoint"), "{why}");
    assert!(why.contains("POST /v1/webhooks/endpoints/enable"), "{why}");
    // another URL on the same receiver is a different endpoint
    let other_url = format!("{}/other", hook.url);
    let third = finish(with(json!({"callbackUrl": other_url}))).await;
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 2);
    assert_eq!(
        gw.store
            .outbox
            .get(&format!("msg_{third}"))
            .await
            .unwrap()
            .unwrap()
            .state,
        DeliveryState::Delivered
    );

    // enabling needs admin, a URL, and a disabled one; another account's needs an operator
    let enable = "/v1/webhooks/endpoints/enable";
    let r = gw
        .post(enable, &gw.key, &json!({"url": hook.url}), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let admin = new_key(&gw.store, &gw.account, &[Scope::Admin]).await;
    let r = gw
        .post(enable, &admin, &json!({"url": "not a url"}), None)
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .starts_with("url: `not a url` is not an http(s) URL"),
        "{}",
        r.error()
    );
    let r = gw
        .post(enable, &admin, &json!({"url": other_url}), None)
        .await;
    assert_eq!(r.status, 404);
    assert!(
        r.error().contains("is not a disabled callback endpoint"),
        "{}",
        r.error()
    );
    let r = gw
        .post(
            enable,
            &admin,
            &json!({"url": hook.url, "accountId": "someone-else"}),
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.error().starts_with("accountId: "), "{}", r.error());
    let r = gw.post(enable, &admin, &json!({"url": upper}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["url"], hook.url.as_str());
    let listed = gw.get("/v1/webhooks/endpoints", &gw.key).await;
    assert_eq!(listed.body["endpoints"], json!([]));

    // enabled: the next task's callback arrives
    let fourth = finish(with(json!({"callbackUrl": hook.url}))).await;
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    assert_eq!(hook.count(), 3);
    assert_eq!(
        gw.store
            .outbox
            .get(&format!("msg_{fourth}"))
            .await
            .unwrap()
            .unwrap()
            .state,
        DeliveryState::Delivered
    );
    // the skipped one stays given up
    assert_eq!(
        gw.store
            .outbox
            .get(&format!("msg_{second}"))
            .await
            .unwrap()
            .unwrap()
            .state,
        DeliveryState::Disabled
    );
    let r = gw.get("/v1/webhooks/endpoints?acount=x", &gw.key).await;
    assert_eq!(r.status, 400);
    assert!(r.error().contains("`acount`"), "{}", r.error());
    // both routes are in the OpenAPI document
    let doc = gw
        .send(gw.http.get(format!("{}/openapi.json", gw.base)))
        .await;
    assert!(doc.body["paths"]["/v1/webhooks/endpoints"]["get"].is_object());
    assert!(
        doc.body["paths"]["/v1/webhooks/endpoints/enable"]["post"]["responses"]["404"].is_object()
    );
    sim.shutdown().await;
}
