//! V4 (`design/RELIABILITY.md` "Input"), the gateway's side:
//! - arbitrary request bodies through the real app (`ApiJson`/`RawJson` → `parse_generation`
//!   → `Catalog::parse_request`) answer 400/413/422 with `{"success": false, "error": …}`
//!   naming where the problem is, never a 5xx (V1, V2);
//! - the SSRF guard, fed arbitrary URL text and a resolver stub answering arbitrary
//!   addresses, never admits a blocked address (checked against an independent list);
//! - the midsync provider's response parsers give a snapshot or an error with a kind.
//!
//! Proptest (stable Rust). A failing case prints its input; proptest shrinks it.

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::{gateway, kling_body, Db};
use genmux_core::{Catalog, ErrorKind, MediaKind, TaskStatus};
use genmux_midsync::mapping::{error_from_response, parse_generate, parse_status};
use genmux_midsync::ssrf::{Resolve, UrlGuard};
use genmux_midsync::{app, AppState};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Number, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use tower::ServiceExt;

const BODY_LIMIT: usize = 4096;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(-1i64), Just(0), Just(5), Just(10)].prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("succeeded"),
            Just("failed"),
            Just("processing"),
            Just("https://example.com/a.mp4"),
            Just("http://127.0.0.1/x"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec![
                        "model",
                        "prompt",
                        "duration",
                        "images",
                        "callbackUrl",
                        "taskId",
                        "status",
                        "assets",
                        "output",
                        "url",
                        "error",
                        "success",
                        "videoId",
                        "jobId",
                        "usage",
                        "type",
                        "index",
                    ])
                    .prop_map(String::from),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every catalog example body, plus the Kling body the gateway tests use.
fn example_bodies() -> Vec<(MediaKind, Map<String, Value>)> {
    let mut out = Vec::new();
    for m in Catalog::builtin().models() {
        for ex in &m.examples {
            let mut body = ex.clone();
            body.entry("model")
                .or_insert_with(|| Value::String(m.id.clone()));
            out.push((m.kind, body));
        }
    }
    if let Value::Object(o) = kling_body() {
        out.push((MediaKind::Video, o));
    }
    out
}

/// A request body: raw bytes, bytes of arbitrary JSON, a valid body with one field
/// replaced or added, or a valid body padded past the limit.
#[derive(Clone, Debug)]
enum BodyCase {
    Bytes(Vec<u8>),
    Json(Value),
    Mutated(Value),
    Oversized(Value),
}

fn body_case() -> impl Strategy<Value = BodyCase> {
    let examples = example_bodies();
    let n = examples.len();
    let mutated = (
        0..n,
        "[a-zA-Z]{1,14}",
        any::<usize>(),
        any_json(),
        any::<bool>(),
    )
        .prop_map(move |(i, new_key, pick, v, replace)| {
            let mut body = examples[i].1.clone();
            let keys: Vec<String> = body.keys().cloned().collect();
            let key = if replace && !keys.is_empty() {
                keys[pick % keys.len()].clone()
            } else {
                new_key
            };
            body.insert(key, v);
            Value::Object(body)
        })
        .boxed();
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..512).prop_map(BodyCase::Bytes),
        2 => any_json().prop_map(BodyCase::Json),
        4 => mutated.clone().prop_map(BodyCase::Mutated),
        1 => mutated.prop_map(BodyCase::Oversized),
    ]
}

fn bytes_of(case: &BodyCase) -> Vec<u8> {
    match case {
        BodyCase::Bytes(b) => b.clone(),
        BodyCase::Json(v) | BodyCase::Mutated(v) => serde_json::to_vec(v).expect("serialize"),
        BodyCase::Oversized(v) => {
            let mut b = serde_json::to_vec(v).expect("serialize");
            b.extend(std::iter::repeat_n(b' ', BODY_LIMIT + 1));
            b
        }
    }
}

/// `field: …`, `images[0].url: …`, or a message about the body as a whole.
fn names_a_path(message: &str) -> bool {
    if message.starts_with("request body") {
        return true;
    }
    let Some((path, rest)) = message.split_once(": ") else {
        return false;
    };
    !rest.trim().is_empty()
        && !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
}

async fn send(state: &AppState, path: &str, key: &str, body: Vec<u8>) -> (u16, Value) {
    let req = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    let resp = app(state.clone()).oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({"not json": String::from_utf8_lossy(&bytes)}));
    (status, json)
}

#[test]
fn any_body_answers_cleanly_with_a_path() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // No provider: a body that passes every check gets 503 from /generate, which is fine
    // here — the point is what the parser answers, and that nothing is a 500.
    let gw = rt.block_on(gateway(Db::sqlite(), vec![], |c| {
        c.body_limit = BODY_LIMIT;
        c.allow_loopback_callbacks = false;
    }));
    let mut runner = TestRunner::new(Config {
        cases: 384,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(body_case(), any::<bool>(), any::<bool>()),
        |(case, video, gen)| {
            let bytes = bytes_of(&case);
            let prefix = if video {
                "/unified-video"
            } else {
                "/unified-image"
            };
            let path = format!("{prefix}/{}", if gen { "generate" } else { "quote" });
            let (status, body) = rt.block_on(send(&gw.state, &path, &gw.key, bytes.clone()));
            let parsed_ok = matches!(case, BodyCase::Mutated(_)) && status < 400;
            if parsed_ok {
                prop_assert!(status == 200, "{path}: {status} {body}");
                return Ok(());
            }
            let allowed: &[u16] = match case {
                BodyCase::Oversized(_) => &[413],
                BodyCase::Mutated(_) if gen => &[400, 402, 422, 503],
                _ => &[400, 413, 422],
            };
            prop_assert!(allowed.contains(&status), "{path}: {status} {body}");
            prop_assert_eq!(&body["success"], &json!(false), "{} {}", path, body);
            let message = body["error"].as_str().unwrap_or("");
            prop_assert!(!message.is_empty(), "{path}: {status} {body}");
            if status == 400 {
                prop_assert!(names_a_path(message), "{path}: no path in {message:?}");
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn a_body_without_json_content_type_is_415() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let gw = rt.block_on(gateway(Db::sqlite(), vec![], |_| {}));
    let req = Request::post("/unified-video/quote")
        .header(header::AUTHORIZATION, format!("Bearer {}", gw.key))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(serde_json::to_vec(&kling_body()).expect("json")))
        .expect("request");
    let resp = rt
        .block_on(app(gw.state.clone()).oneshot(req))
        .expect("infallible");
    assert_eq!(resp.status(), 415);
}

// ---------------------------------------------------------------------------------------
// SSRF guard

/// The blocked list of `design/RELIABILITY.md` "SSRF" and issue 13 point 9 (the IANA
/// special-purpose registries; IPv6 outside global unicast 2000::/3), written independently
/// of the guard (bit masks rather than `ipnet`), with IPv4-mapped IPv6 unwrapped.
fn is_blocked(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => v4_blocked(v4),
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            let within = |base: u128, len: u32| {
                let mask = u128::MAX << (128 - len);
                n & mask == base & mask
            };
            // ISATAP interface identifier (…:0:5efe:a.b.c.d or …:200:5efe:a.b.c.d) under
            // any prefix: the IPv4 address it leads to.
            let iid = (n >> 32) as u32;
            let isatap =
                (iid == 0x0000_5efe || iid == 0x0200_5efe) && v4_blocked(Ipv4Addr::from(n as u32));
            !within(0x2000_u128 << 112, 3)
                || within(0x2001_u128 << 112, 23)
                || within(0x2001_0db8_u128 << 96, 32)
                || within(0x2002_u128 << 112, 16)
                || within(0x2620_004f_8000_u128 << 80, 48)
                || within(0x3fff_u128 << 112, 20)
                || isatap
        }
    }
}

fn v4_blocked(v4: Ipv4Addr) -> bool {
    let n = u32::from(v4);
    let within = |base: [u8; 4], len: u32| {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        n & mask == u32::from(Ipv4Addr::from(base)) & mask
    };
    within([0, 0, 0, 0], 8)
        || within([10, 0, 0, 0], 8)
        || within([100, 64, 0, 0], 10)
        || within([127, 0, 0, 0], 8)
        || within([169, 254, 0, 0], 16)
        || within([172, 16, 0, 0], 12)
        || within([192, 0, 0, 0], 24)
        || within([192, 0, 2, 0], 24)
        || within([192, 31, 196, 0], 24)
        || within([192, 52, 193, 0], 24)
        || within([192, 88, 99, 0], 24)
        || within([192, 168, 0, 0], 16)
        || within([192, 175, 48, 0], 24)
        || within([198, 18, 0, 0], 15)
        || within([198, 51, 100, 0], 24)
        || within([203, 0, 113, 0], 24)
        || n >= 0xe000_0000
}

/// Answers every name with the addresses of the case.
struct Stub(Vec<IpAddr>);

#[async_trait::async_trait]
impl Resolve for Stub {
    async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(self.0.clone())
    }
}

/// Addresses biased towards the blocked ranges and their edges.
fn ip() -> impl Strategy<Value = IpAddr> {
    let v4 = prop_oneof![
        any::<u32>(),
        (
            prop::sample::select(vec![
                0x0000_0000u32,
                0x0a00_0000,
                0x6440_0000,
                0x7f00_0000,
                0xa9fe_0000,
                0xac10_0000,
                0xc0a8_0000,
                0xc612_0000,
                0xe000_0000,
                0xf000_0000,
                0x647f_ffff,
                0x6480_0000,
                0xac20_0000,
                0xc614_0000,
                0x0808_0808,
                0xc000_0000,
                0xc000_0200,
                0xc01f_c400,
                0xc034_c100,
                0xc058_6300,
                0xc0af_3000,
                0xc633_6400,
                0xcb00_7100,
                0xffff_ff00,
            ]),
            0u32..256
        )
            .prop_map(|(b, o)| b.wrapping_add(o)),
    ]
    .prop_map(|n| IpAddr::V4(Ipv4Addr::from(n)));
    let v6 = prop_oneof![
        any::<u128>(),
        (
            prop::sample::select(vec![
                0u128,
                1,
                0x0064_ff9b_u128 << 96,
                0xfc00_u128 << 112,
                0xfd12_u128 << 112,
                0xfe80_u128 << 112,
                0xff02_u128 << 112,
                0xffff_u128 << 32,
                0x2001_0db8_u128 << 96,
                // IPv4 embedded: compatible, translated, NAT64 (both), 6to4 around
                // 127.0.0.1, Teredo, ISATAP under a global prefix, and the other IANA ranges
                0x7f00_0000,
                0xffff_0000_u128 << 32,
                0x0064_ff9b_0001_u128 << 80,
                (0x2002_7f00_u128 << 96) | (0x0001_u128 << 80),
                0x2001_0000_u128 << 96,
                (0x2606_4700_u128 << 96) | (0x5efe_u128 << 32),
                (0x2606_4700_u128 << 96) | (0x0200_5efe_u128 << 32),
                0x0100_u128 << 112,
                0x2620_004f_8000_u128 << 80,
                0x3fff_u128 << 112,
                0x5f00_u128 << 112,
                0xfec0_u128 << 112,
                0x2606_4700_u128 << 96,
                0x4000_u128 << 112,
            ]),
            any::<u32>()
        )
            .prop_map(|(b, o)| b | u128::from(o)),
    ]
    .prop_map(|n| IpAddr::V6(Ipv6Addr::from(n)));
    prop_oneof![v4, v6]
}

/// Host spellings the URL parser normalizes: dotted, decimal, hex, octal, short forms,
/// bracketed IPv6 (mapped too), `localhost` variants, names.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        ip().prop_map(|ip| match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        }),
        any::<u32>().prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| format!("0x{n:x}")),
        any::<[u8; 4]>().prop_map(|o| format!("0{:o}.0{:o}.{}.0x{:x}", o[0], o[1], o[2], o[3])),
        (any::<u8>(), any::<u32>()).prop_map(|(a, b)| format!("{a}.{}", b & 0x00ff_ffff)),
        any::<[u8; 4]>().prop_map(|o| format!("[::ffff:{}.{}.{}.{}]", o[0], o[1], o[2], o[3])),
        prop::sample::select(vec![
            "localhost",
            "LOCALHOST.",
            "a.localhost",
            "x.LocalHost.",
            "example.com",
            "metadata.google.internal",
            "127.0.0.1.nip.io",
            "[::]",
            "0",
            "%31%32%37.0.0.1",
        ])
        .prop_map(String::from),
        "[a-z0-9.-]{1,20}",
    ]
}

fn url_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (
            prop::sample::select(vec!["http", "https", "HTTP", "ftp", "file", "gopher", "javascript"]),
            prop::option::of("[a-z]{1,5}(:[a-z]{0,5})?@"),
            host(),
            prop::option::of(any::<u16>()),
            "(/[a-zA-Z0-9%._?#=&-]{0,12}){0,2}",
        )
            .prop_map(|(scheme, user, host, port, path)| {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("{scheme}://{}{host}{port}{path}", user.unwrap_or_default())
            }),
        1 => ".{0,40}",
        1 => host().prop_map(|h| format!(" \thttp:\\\\{h}/x")),
    ]
}

#[test]
fn the_url_guard_never_admits_a_blocked_address() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 4096,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (url_text(), prop::collection::vec(ip(), 0..4));
    let result = runner.run(&strategy, |(raw, answers)| {
        let guard = UrlGuard::with_resolver(Arc::new(Stub(answers.clone())), false);
        // Without DNS: a literal blocked address or `localhost` is refused.
        if let Ok(url) = guard.parse(&raw) {
            prop_assert!(matches!(url.scheme(), "http" | "https"), "{raw}: {url}");
            match url.host() {
                Some(url::Host::Ipv4(v4)) => prop_assert!(!is_blocked(IpAddr::V4(v4)), "{raw}"),
                Some(url::Host::Ipv6(v6)) => prop_assert!(!is_blocked(IpAddr::V6(v6)), "{raw}"),
                Some(url::Host::Domain(d)) => {
                    let d = d.trim_end_matches('.').to_ascii_lowercase();
                    prop_assert!(d != "localhost" && !d.ends_with(".localhost"), "{raw}");
                }
                None => prop_assert!(false, "{raw}: admitted without a host"),
            }
        }
        // With DNS: every address it may connect to is public, and a name with any
        // blocked answer is refused.
        match rt.block_on(guard.check(&raw)) {
            Ok(checked) => {
                prop_assert!(!checked.addrs.is_empty(), "{raw}");
                for a in &checked.addrs {
                    prop_assert!(!is_blocked(a.ip()), "{raw} admitted {a}");
                }
                if let Some(url::Host::Domain(_)) = checked.url.host() {
                    prop_assert!(
                        answers.iter().all(|a| !is_blocked(*a)),
                        "{raw}: {answers:?}"
                    );
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_loopback_allowance_admits_loopback_only() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(url_text(), prop::collection::vec(ip(), 0..3)),
        |(raw, answers)| {
            let guard = UrlGuard::with_resolver(Arc::new(Stub(answers)), true);
            if let Ok(checked) = rt.block_on(guard.check(&raw)) {
                for a in &checked.addrs {
                    let ip = match a.ip() {
                        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                        v4 => v4,
                    };
                    prop_assert!(!is_blocked(ip) || ip.is_loopback(), "{raw} admitted {a}");
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------
// The midsync provider's response parsers

fn status_like() -> impl Strategy<Value = Value> {
    let asset = prop_oneof![
        ".{0,12}".prop_map(|u| json!({"url": u})),
        (".{0,12}", any_json()).prop_map(|(u, t)| json!({"url": u, "type": t, "index": t})),
        any_json(),
    ];
    (
        prop::option::of(any::<bool>()),
        prop::option::of(prop_oneof![
            prop::sample::select(vec![
                "succeeded",
                "failed",
                "processing",
                "queued",
                "unknown",
                "Done",
                "weird",
            ])
            .prop_map(|s| json!(s)),
            any_json(),
        ]),
        prop::collection::vec(asset, 0..3),
        prop::option::of(any_json()),
        prop::option::of(any_json()),
    )
        .prop_map(|(success, status, assets, output, error)| {
            let mut m = Map::new();
            if let Some(s) = success {
                m.insert("success".into(), json!(s));
            }
            if let Some(s) = status {
                m.insert("status".into(), s);
            }
            m.insert("assets".into(), Value::Array(assets));
            if let Some(o) = output {
                m.insert("output".into(), o);
            }
            if let Some(e) = error {
                m.insert("error".into(), e);
            }
            m.insert("taskId".into(), json!("t1"));
            Value::Object(m)
        })
}

fn response_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        any_json().prop_map(|v| serde_json::to_vec(&v).expect("serialize")),
        status_like().prop_map(|v| serde_json::to_vec(&v).expect("serialize")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn status_answers_give_a_snapshot_or_an_error_with_a_kind(body in response_bytes(), video in any::<bool>()) {
        let kind = if video { MediaKind::Video } else { MediaKind::Image };
        match parse_status(&body, "t1", kind) {
            Ok(snap) => {
                if snap.status == TaskStatus::Succeeded {
                    prop_assert!(!snap.assets.is_empty(), "succeeded without assets: {:?}", snap);
                }
                for a in &snap.assets {
                    prop_assert!(!a.url.trim().is_empty(), "empty asset url in {:?}", snap);
                }
            }
            Err(e) => {
                prop_assert_eq!(e.provider(), Some("midsync"));
                prop_assert!(!e.message().is_empty());
            }
        }
    }

    #[test]
    fn generate_answers_give_a_task_id_or_an_error_with_a_kind(body in prop_oneof![
        response_bytes(),
        (prop::option::of(any::<bool>()), prop::option::of(".{0,8}"), prop::option::of(any_json()))
            .prop_map(|(s, id, e)| serde_json::to_vec(&json!({"success": s, "taskId": id, "error": e}))
                .expect("serialize")),
    ]) {
        match parse_generate(&body, "m") {
            Ok(sub) => prop_assert!(!sub.provider_task_id.trim().is_empty(), "{:?}", sub),
            Err(e) => {
                prop_assert_eq!(e.provider(), Some("midsync"));
                prop_assert!(!e.message().is_empty());
            }
        }
    }

    #[test]
    fn error_answers_always_have_a_kind(status in 100u16..600, body in response_bytes(), submit in any::<bool>()) {
        let e = error_from_response(status, &body, None, submit);
        prop_assert_eq!(e.provider(), Some("midsync"));
        prop_assert!(!e.message().trim().is_empty());
        if status == 429 {
            prop_assert_eq!(e.kind(), ErrorKind::RateLimited);
        }
    }
}

/// What the property tests above found, pinned.
#[test]
fn found_by_the_property_tests() {
    // A `succeeded` answer whose only asset has no URL is not a success to charge for.
    let e = parse_status(
        br#"{"status":"succeeded","assets":[{"url":" "}]}"#,
        "t1",
        MediaKind::Image,
    )
    .expect_err("no usable asset");
    assert!(e.message().contains("no asset URL"), "{}", e.message());
    // `success: false` without an error text still says what happened.
    let e = parse_generate(br#"{"success":false}"#, "m").expect_err("refused");
    assert_eq!(
        e.message(),
        "upstream refused the generate request without a reason"
    );
}

/// What schemathesis found in the gateway (`scripts/schemathesis.sh`), pinned.
#[test]
fn found_by_schemathesis() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let gw = gateway(Db::sqlite(), vec![], |_| {}).await;
        let admin = common::new_key(&gw.store, &gw.account, &[genmux_store::Scope::Admin]).await;
        // The document lists 401 for every secured operation and 413/415 for every secured
        // body, in the error shape.
        let doc = gw.get("/openapi.json", &gw.key).await.body;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let responses = &op["responses"];
                if op.get("security").is_some() {
                    assert!(responses.get("401").is_some(), "{method} {path}: no 401");
                }
                if op.get("requestBody").is_some() && op.get("security").is_some() {
                    for s in ["400", "413", "415"] {
                        assert!(responses.get(s).is_some(), "{method} {path}: no {s}");
                    }
                }
            }
        }
        // An empty accountId is refused naming the field as the caller spelled it.
        let a = gw
            .post(
                "/v1/keys",
                &admin,
                &json!({"name": "x", "scopes": ["api.read"], "accountId": ""}),
                None,
            )
            .await;
        assert_eq!(a.status, 400);
        assert!(a.error().starts_with("accountId: "), "{}", a.error());
        // Pages past the documented int32 range are refused.
        let a = gw.get("/v1/usage/logs?page=2147483648", &gw.key).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.error().starts_with("page: "), "{}", a.error());
        let a = gw.get("/v1/usage/logs?page=2147483647", &gw.key).await;
        assert_eq!(a.status, 200, "{}", a.body);
        // A quote's 400 matches the documented error shape.
        let a = gw
            .post("/unified-video/quote", &gw.key, &json!({}), None)
            .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.body["success"], json!(false));
    });
}
