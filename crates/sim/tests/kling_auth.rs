//! JWT verification with Kling's codes 1000–1004 (HTTP 401) and account standing
//! 1100–1102 (HTTP 429).

mod common;

use std::time::Duration;

use common::{now_secs, Api};
use genmux_sim::kling::{encode_token, AccountStatus, AuthClock, KlingAccount, KlingSimConfig};
use serde_json::{json, Value};

async fn code_for(api: &Api, auth: Option<String>) -> (u16, i64, String) {
    let (status, v): (u16, Value) = api
        .post_as(
            "/v1/videos/text2video",
            &json!({"prompt": "a cat"}),
            auth.as_deref(),
        )
        .await;
    (
        status,
        v["code"].as_i64().unwrap(),
        v["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn tokens_are_checked_like_kling() {
    let api = Api::default().await;
    let (ak, sk) = (
        api.sim.access_key().to_string(),
        api.sim.secret_key().to_string(),
    );
    let now = now_secs();
    let bearer = |t: String| Some(format!("Bearer {t}"));
    let cases: Vec<(&str, Option<String>, i64)> = vec![
        (
            "valid",
            bearer(encode_token(&ak, &sk, now + 1800, now - 5)),
            0,
        ),
        ("no header", None, 1001),
        ("empty header", Some(String::new()), 1001),
        (
            "not Bearer",
            Some(encode_token(&ak, &sk, now + 1800, now - 5)),
            1002,
        ),
        ("garbage", bearer("not.a.jwt".into()), 1002),
        ("two parts", bearer("abc.def".into()), 1002),
        (
            "wrong secret",
            bearer(encode_token(&ak, "other", now + 1800, now - 5)),
            1000,
        ),
        (
            "unknown access key",
            bearer(encode_token("nobody", &sk, now + 1800, now - 5)),
            1000,
        ),
        (
            "not yet valid",
            bearer(encode_token(&ak, &sk, now + 1800, now + 600)),
            1003,
        ),
        (
            "expired",
            bearer(encode_token(&ak, &sk, now - 10, now - 1800)),
            1004,
        ),
    ];
    for (case, auth, code) in cases {
        let (status, got, msg) = code_for(&api, auth).await;
        let want_status = if code == 0 { 200 } else { 401 };
        assert_eq!((status, got), (want_status, code), "{case}: {msg}");
    }
    // Queries and lists need a token too.
    let r = api
        .http
        .get(api.url("/v1/videos/text2video"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The simulator's own helper makes valid tokens.
    let (status, _, _) = code_for(&api, Some(format!("Bearer {}", api.sim.token()))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn account_standing_answers_its_code() {
    let mut cfg = KlingSimConfig::default();
    for (key, status) in [
        ("abnormal", AccountStatus::Abnormal),
        ("arrears", AccountStatus::InArrears),
        ("exhausted", AccountStatus::PackExhausted),
    ] {
        let mut a = KlingAccount::new(key, "secret");
        a.status = status;
        cfg = cfg.with_account(a);
    }
    let api = Api::start(cfg).await;
    for (key, code) in [("abnormal", 1100), ("arrears", 1101), ("exhausted", 1102)] {
        let (status, got, _) = code_for(&api, Some(api.bearer_for(key, "secret"))).await;
        assert_eq!((status, got), (429, code), "{key}");
    }
}

#[tokio::test]
async fn with_the_sim_clock_tokens_expire_when_time_is_advanced() {
    let cfg = KlingSimConfig {
        auth_clock: AuthClock::Sim,
        ..KlingSimConfig::default()
    };
    let api = Api::start(cfg).await;
    let token = format!("Bearer {}", api.sim.token());
    assert_eq!(code_for(&api, Some(token.clone())).await.1, 0);
    api.sim.advance(Duration::from_secs(1801)).await;
    assert_eq!(code_for(&api, Some(token)).await.1, 1004);
    assert_eq!(
        code_for(&api, Some(format!("Bearer {}", api.sim.token())))
            .await
            .1,
        0
    );
}
