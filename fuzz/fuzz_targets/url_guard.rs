//! The SSRF guard on arbitrary URL text, with a resolver stub answering the addresses
//! encoded in the input's first bytes: never a panic, never an admitted blocked address.
#![no_main]

use genmux_midsync::ssrf::{blocked_range, Resolve, UrlGuard};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

struct Stub(Vec<IpAddr>);

#[async_trait::async_trait]
impl Resolve for Stub {
    async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(self.0.clone())
    }
}

/// Independent of the guard's table: std's own classification covers most of the list.
fn obviously_blocked(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.octets()[0] == 0
                || v4.octets()[0] >= 240
        }
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_multicast(),
    }
}

fuzz_target!(|data: &[u8]| {
    let (n, rest) = match data.split_first() {
        Some((n, rest)) => (usize::from(*n % 4), rest),
        None => return,
    };
    let mut answers = Vec::new();
    let mut rest = rest;
    for _ in 0..n {
        if rest.len() >= 17 && rest[0] & 1 == 1 {
            let mut o = [0u8; 16];
            o.copy_from_slice(&rest[1..17]);
            answers.push(IpAddr::V6(Ipv6Addr::from(o)));
            rest = &rest[17..];
        } else if rest.len() >= 5 {
            answers.push(IpAddr::V4(Ipv4Addr::new(
                rest[1], rest[2], rest[3], rest[4],
            )));
            rest = &rest[5..];
        }
    }
    let raw = String::from_utf8_lossy(rest);
    let guard = UrlGuard::with_resolver(Arc::new(Stub(answers)), false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    if let Ok(checked) = rt.block_on(guard.check(&raw)) {
        for a in &checked.addrs {
            assert!(blocked_range(a.ip()).is_none(), "{raw} admitted {a}");
            assert!(!obviously_blocked(a.ip()), "{raw} admitted {a}");
        }
    }
});
