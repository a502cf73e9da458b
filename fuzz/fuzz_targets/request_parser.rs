//! The gateway's body parser (`api::json::parse_json`, what `ApiJson`/`RawJson` bodies go
//! through) and then `Catalog::parse_request` and `Catalog::quote` on whatever parses:
//! never a panic; every refusal is a 400 / `InvalidRequest`-kind error with a message.
#![no_main]

use genmux_core::{Catalog, ErrorKind};
use genmux_midsync::api::json::parse_json;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let value: Value = match parse_json(data) {
        Ok(v) => v,
        Err(e) => {
            assert_eq!(e.status, 400, "{}", e.message);
            assert!(!e.message.is_empty());
            return;
        }
    };
    let catalog = Catalog::builtin();
    match catalog.parse_request(&value) {
        Ok(req) => {
            if let Err(e) = catalog.quote(&req) {
                assert!(matches!(
                    e.kind(),
                    ErrorKind::InvalidRequest | ErrorKind::Unsupported
                ));
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{}", e.message());
            assert!(e.message().contains(": "), "{}", e.message());
        }
    }
});
