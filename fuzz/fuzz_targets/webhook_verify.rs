//! `WebhookSecret::verify` on arbitrary id, timestamp, signature header and body (the input
//! split at NUL bytes): never a panic, and `Ok` only when the header holds exactly the
//! signature this secret makes for that message inside the ±5 minute window.
#![no_main]

use genmux_core::webhook::{WebhookSecret, TOLERANCE_SECS};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_750_000_000;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(5, |b| *b == 0);
    let key = parts.next().unwrap_or_default();
    let text = |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
    let (id, ts, sigs) = (text(parts.next()), text(parts.next()), text(parts.next()));
    let body = parts.next().unwrap_or_default();
    let secret = WebhookSecret::from_bytes(if key.is_empty() { b"k" } else { key });
    let ok = secret.verify(&id, &ts, &sigs, body, NOW).is_ok();
    let expected = ts.trim().parse::<i64>().ok().is_some_and(|t| {
        (NOW - t).abs() <= TOLERANCE_SECS
            && sigs
                .split_whitespace()
                .any(|e| e == secret.sign(&id, t, body))
    });
    assert_eq!(ok, expected, "id {id:?} ts {ts:?} sigs {sigs:?}");
    let _ = WebhookSecret::parse(&sigs);
});
