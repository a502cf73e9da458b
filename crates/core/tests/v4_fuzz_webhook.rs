//! V4 (`design/RELIABILITY.md` "Input", W1): `WebhookSecret::verify` on arbitrary headers
//! and bodies never panics and answers `Ok` exactly for a correctly signed message inside
//! the ±5 minute window — checked against an oracle (the signature this secret makes for
//! that id, timestamp and body), not against the verifier's own code path.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use genmux_core::webhook::{
    WebhookError, WebhookSecret, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, TOLERANCE_SECS,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const NOW: i64 = 1_750_000_000;

fn secret() -> impl Strategy<Value = WebhookSecret> {
    prop::collection::vec(any::<u8>(), 1..48).prop_map(|k| WebhookSecret::from_bytes(&k))
}

/// Timestamps: around now, at the tolerance edges, far away, and text that is not one.
fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        (-400i64..400).prop_map(|d| (NOW + d).to_string()),
        Just((NOW - TOLERANCE_SECS).to_string()),
        Just((NOW + TOLERANCE_SECS + 1).to_string()),
        any::<i64>().prop_map(|t| t.to_string()),
        (-400i64..400).prop_map(|d| format!(" {} ", NOW + d)),
        ".{0,12}",
    ]
}

/// The oracle: verification must succeed iff the timestamp parses, is inside the window,
/// and some space-separated entry is exactly this secret's `v1,` signature.
fn should_verify(s: &WebhookSecret, id: &str, ts: &str, sigs: &str, body: &[u8]) -> bool {
    let Ok(t) = ts.trim().parse::<i64>() else {
        return false;
    };
    if (NOW - t).abs() > TOLERANCE_SECS {
        return false;
    }
    let want = s.sign(id, t, body);
    sigs.split_whitespace().any(|e| e == want)
}

/// Signature headers: the right one (sometimes among others, sometimes tampered),
/// another secret's, arbitrary text, and `v1,` with arbitrary Base64.
fn signatures(s: WebhookSecret, id: String, ts: String, body: Vec<u8>) -> BoxedStrategy<String> {
    let right = ts
        .trim()
        .parse::<i64>()
        .map(|t| s.sign(&id, t, &body))
        .unwrap_or_else(|_| "v1,".into());
    prop_oneof![
        Just(right.clone()),
        (".{0,20}", ".{0,20}").prop_map({
            let r = right.clone();
            move |(a, b)| format!("{} {r} {}", a.replace(char::is_whitespace, ""), b)
        }),
        (0usize..64, any::<u8>()).prop_map({
            let r = right.clone();
            move |(i, x)| {
                let mut bytes = r.clone().into_bytes();
                let i = i % bytes.len();
                bytes[i] ^= x | 1;
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }),
        Just(right.trim_end_matches('=').to_string()),
        Just(right.replacen("v1,", "v2,", 1)),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| format!("v1,{}", B64.encode(b))),
        ".{0,60}",
    ]
    .boxed()
}

fn case() -> impl Strategy<Value = (WebhookSecret, String, String, String, Vec<u8>)> {
    (
        secret(),
        ".{0,24}",
        timestamp(),
        prop::collection::vec(any::<u8>(), 0..128),
    )
        .prop_flat_map(|(s, id, ts, body)| {
            let sigs = signatures(s.clone(), id.clone(), ts.clone(), body.clone());
            (Just(s), Just(id), Just(ts), sigs, Just(body))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn verify_accepts_exactly_the_correct_signature((s, id, ts, sigs, body) in case()) {
        let got = s.verify(&id, &ts, &sigs, &body, NOW);
        let want = should_verify(&s, &id, &ts, &sigs, &body);
        prop_assert_eq!(got.is_ok(), want, "verify = {:?} for ts {:?} sigs {:?}", got, ts, sigs);
    }

    /// A correctly signed message with one thing changed after signing is refused.
    #[test]
    fn tampering_is_refused(s in secret(), id in "[a-z0-9_]{1,20}", d in -300i64..=300,
                            body in prop::collection::vec(any::<u8>(), 0..64),
                            which in 0u8..3, flip in any::<u8>()) {
        let ts = NOW + d;
        let sig = s.sign(&id, ts, &body);
        prop_assert_eq!(s.verify(&id, &ts.to_string(), &sig, &body, NOW), Ok(()));
        let (mut id2, mut ts2, mut body2) = (id.clone(), ts, body.clone());
        match which {
            0 => id2.push('x'),
            1 => ts2 += if d > 0 { -1 } else { 1 },
            _ => match body2.first_mut() {
                Some(b) => *b ^= flip | 1,
                None => body2.push(flip),
            },
        }
        prop_assert_eq!(s.verify(&id2, &ts2.to_string(), &sig, &body2, NOW), Err(WebhookError::NoMatch));
    }

    /// Header maps with any of the three headers missing, duplicated or not text.
    #[test]
    fn verify_headers_never_panics(s in secret(),
                                   values in prop::collection::vec(
                                       (0usize..4, prop::collection::vec(any::<u8>(), 0..40)), 0..6),
                                   body in prop::collection::vec(any::<u8>(), 0..64)) {
        let names = [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE, "x-other"];
        let mut headers = HeaderMap::new();
        for (n, v) in &values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(HeaderName::from_static(names[*n]), v);
            }
        }
        let got = s.verify_headers(&headers, &body, NOW);
        for name in [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
            if headers.get(name).and_then(|v| v.to_str().ok()).is_none() {
                prop_assert!(got.is_err());
            }
        }
        if got.is_ok() {
            let text = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            prop_assert!(should_verify(&s, &text(HEADER_ID), &text(HEADER_TIMESTAMP), &text(HEADER_SIGNATURE), &body));
        }
    }

    /// Any secret text parses or is `BadSecret`; a parsed one round-trips through `whsec_`.
    #[test]
    fn secrets_parse_or_are_refused(text in prop_oneof![".{0,40}", "whsec_[A-Za-z0-9+/=]{0,40}"]) {
        match WebhookSecret::parse(&text) {
            Ok(s) => {
                let again = WebhookSecret::parse(&s.to_whsec()).expect("to_whsec parses");
                prop_assert_eq!(again.sign("m", NOW, b"x"), s.sign("m", NOW, b"x"));
            }
            Err(e) => prop_assert_eq!(e, WebhookError::BadSecret),
        }
    }
}
