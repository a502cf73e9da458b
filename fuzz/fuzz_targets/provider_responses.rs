//! The provider response parsers on arbitrary bytes: Kling callbacks/query answers into
//! task snapshots, and the midsync provider's generate/status/error answers — a value or
//! an error naming the provider, never a panic; a succeeded snapshot always has an asset.
#![no_main]

use genmux_core::{MediaKind, TaskStatus};
use genmux_kling::wire::{Envelope, Task};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let check = |snap: genmux_core::TaskSnapshot| {
        if snap.status == TaskStatus::Succeeded {
            assert!(!snap.assets.is_empty(), "{snap:?}");
        }
    };
    match genmux_kling::callback::parse_task(data) {
        Ok(task) => match genmux_kling::mapping::snapshot(&task) {
            Ok(s) => check(s),
            Err(e) => assert_eq!(e.provider(), Some("kling")),
        },
        Err(e) => assert_eq!(e.provider(), Some("kling")),
    }
    if let Ok(Envelope {
        data: Some(task), ..
    }) = serde_json::from_slice::<Envelope<Task>>(data)
    {
        if let Ok(s) = genmux_kling::mapping::snapshot(&task) {
            check(s);
        }
    }
    use genmux_midsync::mapping::{error_from_response, parse_generate, parse_status};
    match parse_status(data, "t", MediaKind::Video) {
        Ok(s) => check(s),
        Err(e) => assert_eq!(e.provider(), Some("midsync")),
    }
    if let Err(e) = parse_generate(data, "m") {
        assert!(!e.message().is_empty());
    }
    let status = data.first().map_or(500, |b| 400 + u16::from(*b));
    let e = error_from_response(status, data, None, data.len() % 2 == 0);
    assert_eq!(e.provider(), Some("midsync"));
});
