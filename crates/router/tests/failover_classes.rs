//! Failover by error class (issue 14 point 3): one case per class of the router's table
//! ([`genmux_router::recovery`]), each with two simulated providers. Kling's errors come
//! from Kling's own error table; the others are shaped as `genmux-midsync`'s HTTP table
//! maps them.
//!
//! Every case runs the same scene: the cheaper provider fails once with the error under
//! test, the dearer one fails once transiently (503) and then accepts, and the cheaper one
//! would accept a second try. So
//! - `retry_same`: cheap → dear (503) → cheap again, which accepts;
//! - `next_provider`: cheap → dear (503) → dear again, which accepts; cheap is not retried;
//! - `stop`: the error is returned at once and dear never hears of the request.

mod support;

use genmux_core::{Error, ErrorKind, TaskStatus};
use genmux_router::{recovery, Recovery, RetryConfig, Router};
use std::time::Duration;
use support::*;

/// Kling's answer for `code`, through its error table.
fn kling(code: i64) -> Error {
    let status = genmux_kling::error::code_row(code).unwrap().http_status;
    let retry_after = (code == 1302 || code == 1303).then_some(Duration::from_secs(2));
    genmux_kling::error::api_error(
        status,
        Some(code),
        "kling says no",
        Some("req-1"),
        retry_after,
    )
}

/// An upstream HTTP answer as `genmux-midsync`'s table maps it.
fn http(kind: ErrorKind, status: u16, retryable: bool) -> Error {
    Error::new(kind, format!("HTTP {status}"))
        .with_provider("cheap")
        .with_retryable(retryable)
}

struct Scene {
    cheap: std::sync::Arc<MemProvider>,
    dear: std::sync::Arc<MemProvider>,
    router: Router,
}

fn scene(error: Error) -> Scene {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.script([Act::Fail(error)]);
    let dear = MemProvider::serving("dear", 0.20);
    dear.script([Act::Fail(unavailable())]);
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .retry(RetryConfig {
            max_attempts: 4,
            ..Default::default()
        })
        .build()
        .unwrap();
    Scene {
        cheap,
        dear,
        router,
    }
}

/// Runs the scene for `error` and checks what the table says happened.
async fn plays(name: &str, error: Error, want: Recovery) {
    assert_eq!(
        recovery(&error, RetryConfig::default().max_retry_after),
        want,
        "{name}: the table"
    );
    let s = scene(error.clone());
    let routed = s.router.submit(&quote(), &no_callback).await;
    match want {
        Recovery::RetrySame => {
            let r = routed.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.provider, "cheap", "{name}: retried, and accepted");
            assert_eq!((r.attempts, r.failovers), (3, 2), "{name}");
            assert_eq!((s.cheap.submits(), s.dear.submits()), (2, 1), "{name}");
        }
        Recovery::NextProvider => {
            let r = routed.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.provider, "dear", "{name}: moved on for good");
            assert_eq!((r.attempts, r.failovers), (3, 1), "{name}");
            assert_eq!((s.cheap.submits(), s.dear.submits()), (1, 2), "{name}");
        }
        Recovery::Stop => {
            let e = routed.expect_err(name);
            assert_eq!(
                (e.kind(), e.message()),
                (error.kind(), error.message()),
                "{name}: the error as it came"
            );
            assert!(e.provider().is_some(), "{name}: names its provider");
            assert_eq!((s.cheap.submits(), s.dear.submits()), (1, 0), "{name}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn transient_errors_retry_the_same_provider_after_the_others() {
    for (name, e) in [
        ("HTTP 503", unavailable()),
        (
            "HTTP 429, Retry-After 2 s",
            too_many(Duration::from_secs(2)),
        ),
        ("Kling 1302 rate limit", kling(1302)),
        ("Kling 1303 concurrency over the pack limit", kling(1303)),
        ("Kling 5000 internal error", kling(5000)),
        ("Kling 5001 maintenance", kling(5001)),
        ("Kling 5002 timeout", kling(5002)),
        (
            "connect timeout (nothing sent)",
            Error::new(ErrorKind::Timeout, "connect timed out"),
        ),
    ] {
        plays(name, e, Recovery::RetrySame).await;
    }
}

#[tokio::test(start_paused = true)]
async fn account_balance_and_quota_refusals_move_to_the_next_provider() {
    for (name, e) in [
        ("Kling 1100 account abnormal", kling(1100)),
        ("Kling 1101 account in arrears", kling(1101)),
        ("Kling 1102 resource pack exhausted", kling(1102)),
        (
            "HTTP 402 upstream out of points",
            http(ErrorKind::InsufficientPoints, 402, false),
        ),
    ] {
        plays(name, e, Recovery::NextProvider).await;
    }
}

#[tokio::test(start_paused = true)]
async fn auth_and_permission_refusals_move_to_the_next_provider() {
    for (name, e) in [
        ("Kling 1000 authentication failed", kling(1000)),
        ("Kling 1004 token expired", kling(1004)),
        ("Kling 1103 no access to the model", kling(1103)),
        ("Kling 1304 IP not in whitelist", kling(1304)),
        ("HTTP 401", http(ErrorKind::Unauthenticated, 401, false)),
        ("HTTP 403", http(ErrorKind::PermissionDenied, 403, false)),
    ] {
        plays(name, e, Recovery::NextProvider).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_providers_own_rejection_of_a_request_the_catalog_accepted_moves_on() {
    for (name, e) in [
        ("Kling 1201 invalid parameter", kling(1201)),
        ("Kling 1203 model not found", kling(1203)),
        ("HTTP 422", http(ErrorKind::InvalidRequest, 422, false)),
        (
            "the provider's mapping cannot express it",
            Error::new(ErrorKind::Unsupported, "cameraControl: not for this model"),
        ),
        (
            "an answer the provider cannot read",
            Error::internal("truncated JSON before acceptance"),
        ),
    ] {
        plays(name, e, Recovery::NextProvider).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_wait_longer_than_the_router_waits_moves_on() {
    plays(
        "HTTP 429, Retry-After 10 min",
        too_many(Duration::from_secs(600)),
        Recovery::NextProvider,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn content_policy_and_conflicts_stop() {
    for (name, e) in [
        ("Kling 1300 platform policy", kling(1300)),
        ("Kling 1301 content safety", kling(1301)),
        (
            "HTTP 400 moderation",
            http(ErrorKind::ContentRejected, 400, false),
        ),
        ("HTTP 409", http(ErrorKind::Conflict, 409, false)),
    ] {
        plays(name, e, Recovery::Stop).await;
    }
}

#[tokio::test(start_paused = true)]
async fn after_the_upstream_may_have_accepted_nothing_is_resent_anywhere() {
    let s = scene(timed_out_after_send());
    let r = s.router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(r.submission.status, TaskStatus::Unknown);
    assert_eq!(r.provider, "cheap");
    assert_eq!((s.cheap.submits(), s.dear.submits()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn when_every_provider_refuses_our_accounts_the_last_refusal_is_returned() {
    let cheap = MemProvider::serving("cheap", 0.05);
    cheap.always(Act::Fail(kling(1102)));
    let dear = MemProvider::serving("dear", 0.20);
    dear.always(Act::Fail(http(ErrorKind::InsufficientPoints, 402, false)));
    let router = Router::builder()
        .provider(cheap.provider())
        .provider(dear.provider())
        .build()
        .unwrap();
    let e = router.submit(&quote(), &no_callback).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InsufficientPoints);
    assert!(
        e.message()
            .starts_with("2 attempt(s) for kling-2.5-turbo failed"),
        "{e}"
    );
    assert!(e.message().contains("Kling 1102"), "{e}");
    // Each provider was asked once: neither refusal is worth a retry.
    assert_eq!((cheap.submits(), dear.submits()), (1, 1));
}
