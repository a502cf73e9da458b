//! The URL guard for every URL a caller gives us and we (or an upstream) fetch or POST to:
//! `callbackUrl` and the media URLs of a request (`design/RELIABILITY.md` "SSRF", the OWASP
//! SSRF cheat sheet, issue 13 point 9).
//!
//! - only `http`/`https`; parsed with the `url` crate (which normalizes `2130706433`,
//!   `0x7f000001`, `0177.0.0.1`, `127.1` to `127.0.0.1`) and the parsed host is checked;
//! - every A/AAAA answer is resolved and the URL is refused if **any** is blocked: every
//!   range of the IANA IPv4 and IPv6 special-purpose registries, multicast, reserved, and
//!   IPv6 outside global unicast; IPv4-mapped IPv6 is checked as the IPv4 address it is, and
//!   every other IPv6 form that carries an IPv4 address (compatible, translated, NAT64,
//!   6to4, Teredo, ISATAP) is refused naming that address when it is blocked;
//! - [`UrlGuard::check_all`] resolves a request's URLs at once, each name once, within a
//!   timeout;
//! - the request then connects only to the checked address (a per-request DNS override), so
//!   a second DNS answer cannot rebind it; redirects are never followed;
//! - loopback is allowed only by explicit configuration (tests, sandboxes).

use async_trait::async_trait;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use url::{Host, Url};

/// Resolves a host name to addresses. Injected so tests can answer what real DNS would.
#[async_trait]
pub trait Resolve: Send + Sync + 'static {
    /// Every address of `host` (A and AAAA).
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`tokio::net::lookup_host`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port))
            .await?
            .map(|sa| sa.ip())
            .collect())
    }
}

/// Why a URL was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    /// The text is not a URL.
    #[error("`{url}` is not a valid URL ({reason})")]
    Unparsable {
        /// The URL as given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// A scheme other than http/https.
    #[error("scheme `{0}:` is not allowed (only http and https)")]
    Scheme(String),
    /// No host.
    #[error("`{0}` has no host")]
    NoHost(String),
    /// `user:pass@` in the URL (a classic way to hide the real host).
    #[error("`{0}` contains credentials (user@host); they are not allowed")]
    Credentials(String),
    /// The host is or resolves to a blocked address.
    #[error(
        "host `{host}` resolves to {addr}, in a blocked range: {range}; only public addresses are allowed"
    )]
    Blocked {
        /// The host as written.
        host: String,
        /// The refused address.
        addr: IpAddr,
        /// The name of the blocked range (and, for an IPv6 address embedding an IPv4
        /// one, that address and its range).
        range: String,
    },
    /// DNS gave no usable answer.
    #[error("host `{host}` does not resolve ({reason})")]
    Unresolvable {
        /// The host as written.
        host: String,
        /// Why.
        reason: String,
    },
}

/// A blocked range and the name the refusal gives it.
type NamedNet = (IpNet, &'static str);

fn blocked_ranges() -> &'static [NamedNet] {
    static RANGES: OnceLock<Vec<NamedNet>> = OnceLock::new();
    RANGES.get_or_init(|| {
        let v4 = |a: [u8; 4], len: u8, name| {
            Ipv4Net::new(Ipv4Addr::from(a), len).map(|n| (IpNet::V4(n), name))
        };
        let v6 = |a: [u16; 8], len: u8, name| {
            Ipv6Net::new(Ipv6Addr::from(a), len).map(|n| (IpNet::V6(n), name))
        };
        // design/RELIABILITY.md "SSRF" and issue 13 point 9: every entry of the IANA IPv4
        // and IPv6 Special-Purpose Address Registries (globally reachable anycast blocks
        // such as AS112 and AMT too: no media or callback host lives there), multicast,
        // and the reserved space. A more specific range comes before the one containing
        // it, so the refusal names the most precise one.
        [
            v4([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
            v4([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
            v4([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
            v4([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
            v4([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
            v4([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
            v4(
                [192, 0, 0, 0],
                24,
                "IETF protocol assignments (192.0.0.0/24)",
            ),
            v4(
                [192, 0, 2, 0],
                24,
                "documentation TEST-NET-1 (192.0.2.0/24)",
            ),
            v4([192, 31, 196, 0], 24, "AS112 (192.31.196.0/24)"),
            v4([192, 52, 193, 0], 24, "AMT (192.52.193.0/24)"),
            v4([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
            v4([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
            v4(
                [192, 175, 48, 0],
                24,
                "AS112 direct delegation (192.175.48.0/24)",
            ),
            v4([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
            v4(
                [198, 51, 100, 0],
                24,
                "documentation TEST-NET-2 (198.51.100.0/24)",
            ),
            v4(
                [203, 0, 113, 0],
                24,
                "documentation TEST-NET-3 (203.0.113.0/24)",
            ),
            v4([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
            v4(
                [255, 255, 255, 255],
                32,
                "limited broadcast (255.255.255.255)",
            ),
            v4([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
            v6([0; 8], 128, "unspecified (::)"),
            v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback (::1)"),
            v6(
                [0, 0, 0, 0, 0xffff, 0, 0, 0],
                96,
                "IPv4-translated (::ffff:0:0:0/96)",
            ),
            v6([0; 8], 96, "IPv4-compatible (::/96, deprecated)"),
            v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "NAT64 (64:ff9b::/96)"),
            v6(
                [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
                48,
                "local-use NAT64 (64:ff9b:1::/48)",
            ),
            v6([0; 8], 8, "reserved by the IETF (::/8)"),
            v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only (100::/64)"),
            v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "Teredo (2001::/32)"),
            v6(
                [0x2001, 0, 0, 0, 0, 0, 0, 0],
                23,
                "IETF protocol assignments (2001::/23)",
            ),
            v6(
                [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
                32,
                "documentation (2001:db8::/32)",
            ),
            v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4 (2002::/16)"),
            v6(
                [0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0],
                48,
                "AS112 direct delegation (2620:4f:8000::/48)",
            ),
            v6(
                [0x3fff, 0, 0, 0, 0, 0, 0, 0],
                20,
                "documentation (3fff::/20)",
            ),
            v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "SRv6 SIDs (5f00::/16)"),
            v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique local (fc00::/7)"),
            v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local (fe80::/10)"),
            v6(
                [0xfec0, 0, 0, 0, 0, 0, 0, 0],
                10,
                "site-local (fec0::/10, deprecated)",
            ),
            v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast (ff00::/8)"),
        ]
        .into_iter()
        // Every literal above is a valid prefix length; a failure would drop one range, so
        // the test `every_listed_range_is_blocked` pins the count.
        .filter_map(Result::ok)
        .collect()
    })
}

/// Global unicast IPv6 (RFC 4291): everything outside it is reserved, unassigned or one
/// of the special ranges above.
const GLOBAL_UNICAST: &str = "not global unicast (outside 2000::/3)";

/// The IPv4 addresses an IPv6 address carries in one of the forms that reach an IPv4 host
/// through it (issue 13 point 9): IPv4-compatible `::a.b.c.d`, IPv4-translated
/// `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (RFC 6052), 6to4 `2002:AABB:CCDD::`
/// (RFC 3056), Teredo `2001:0:SSSS:SSSS:…:CCCC:CCCC` (RFC 4380: the server's address
/// plain, the client's inverted) and an ISATAP interface identifier `…:0:5efe:a.b.c.d` or
/// `…:200:5efe:a.b.c.d` under any prefix (RFC 5214). IPv4-mapped `::ffff:a.b.c.d` is
/// unwrapped before this (it *is* the IPv4 address to the socket layer).
fn embedded_v4(v6: Ipv6Addr) -> Vec<(Ipv4Addr, &'static str)> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let mut out = Vec::new();
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => {
            out.push((v4(hi, lo), "IPv4-compatible (::/96)"))
        }
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => {
            out.push((v4(hi, lo), "IPv4-translated (::ffff:0:0:0/96)"))
        }
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => out.push((v4(hi, lo), "NAT64 (64:ff9b::/96)")),
        [0x64, 0xff9b, 1, ..] => out.push((v4(s[6], s[7]), "local-use NAT64 (64:ff9b:1::/48)")),
        [0x2002, hi, lo, ..] => out.push((v4(hi, lo), "6to4 (2002::/16)")),
        [0x2001, 0, server_hi, server_lo, .., client_hi, client_lo] => {
            out.push((v4(server_hi, server_lo), "Teredo (2001::/32) server"));
            out.push((v4(!client_hi, !client_lo), "Teredo (2001::/32) client"));
        }
        _ => {}
    }
    if matches!(s[4], 0 | 0x200) && s[5] == 0x5efe {
        out.push((
            v4(s[6], s[7]),
            "ISATAP (interface identifier ::5efe:a.b.c.d)",
        ));
    }
    out
}

fn v4_range(v4: Ipv4Addr) -> Option<&'static str> {
    let ip = IpAddr::V4(v4);
    blocked_ranges()
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, name)| *name)
}

/// Why `ip` is refused, or `None` for a public address: its blocked range, for an IPv6
/// address embedding a blocked IPv4 address that address and its range (checked first, so
/// the refusal names what the address leads to). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is
/// checked as the IPv4 address it is.
pub fn blocked_range(ip: IpAddr) -> Option<String> {
    let v6 = match ip {
        IpAddr::V4(v4) => return v4_range(v4).map(str::to_string),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => return v4_range(v4).map(str::to_string),
            None => v6,
        },
    };
    for (v4, form) in embedded_v4(v6) {
        if let Some(range) = v4_range(v4) {
            return Some(format!("{form} around {v4}, {range}"));
        }
    }
    let ip = IpAddr::V6(v6);
    if let Some((_, name)) = blocked_ranges().iter().find(|(net, _)| net.contains(&ip)) {
        return Some((*name).to_string());
    }
    // 2000::/3: the first three bits are 001.
    if v6.segments()[0] & 0xe000 != 0x2000 {
        return Some(GLOBAL_UNICAST.to_string());
    }
    None
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Most host names [`UrlGuard::check_all`] resolves at once.
pub const MAX_CONCURRENT_LOOKUPS: usize = 8;

/// Every address of `host`; no answer at all is an error naming the host.
async fn lookup(resolver: &dyn Resolve, host: &str, port: u16) -> Result<Vec<IpAddr>, SsrfError> {
    let found = resolver
        .resolve(host, port)
        .await
        .map_err(|e| SsrfError::Unresolvable {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    if found.is_empty() {
        return Err(SsrfError::Unresolvable {
            host: host.to_string(),
            reason: "no A/AAAA records".into(),
        });
    }
    Ok(found)
}

/// A URL that passed the guard, with the addresses it may be connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedUrl {
    /// The parsed URL.
    pub url: Url,
    /// The checked addresses (all of them passed).
    pub addrs: Vec<SocketAddr>,
}

/// Most HTTP clients a guard keeps (see [`UrlGuard::client_for`]); past it the cache is
/// emptied and refilled as destinations come back.
const MAX_CACHED_CLIENTS: usize = 256;

/// What a cached client is pinned to: the host name and the checked addresses it may
/// connect to (none for a literal address), and its timeout.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    host: Option<String>,
    addrs: Vec<SocketAddr>,
    timeout: Duration,
}

/// The SSRF guard.
#[derive(Clone)]
pub struct UrlGuard {
    resolver: Arc<dyn Resolve>,
    allow_loopback: bool,
    /// Clients by destination. A client per request cost a TLS configuration and a new
    /// connection each time, which held outbound callbacks to about 20 per second (issue 21);
    /// a cached client keeps its connections alive between deliveries to one receiver.
    clients: Arc<dashmap::DashMap<ClientKey, reqwest::Client>>,
}

impl std::fmt::Debug for UrlGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlGuard")
            .field("allow_loopback", &self.allow_loopback)
            .finish()
    }
}

impl UrlGuard {
    /// A guard using the system resolver; `allow_loopback` admits 127.0.0.0/8 and ::1 only.
    pub fn new(allow_loopback: bool) -> Self {
        Self::with_resolver(Arc::new(SystemResolver), allow_loopback)
    }

    /// A guard with an injected resolver.
    pub fn with_resolver(resolver: Arc<dyn Resolve>, allow_loopback: bool) -> Self {
        UrlGuard {
            resolver,
            allow_loopback,
            clients: Arc::default(),
        }
    }

    /// Whether loopback destinations are allowed.
    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), SsrfError> {
        if self.allow_loopback && is_loopback(ip) {
            return Ok(());
        }
        match blocked_range(ip) {
            Some(range) => Err(SsrfError::Blocked {
                host: host.to_string(),
                addr: ip,
                range,
            }),
            None => Ok(()),
        }
    }

    /// Checks what can be checked without DNS: scheme, host, credentials, and a literal IP
    /// host. Used for media URLs that an upstream (not us) fetches.
    pub fn parse(&self, raw: &str) -> Result<Url, SsrfError> {
        let url = Url::parse(raw.trim()).map_err(|e| SsrfError::Unparsable {
            url: raw.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SsrfError::Scheme(url.scheme().to_string()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SsrfError::Credentials(raw.to_string()));
        }
        match url.host() {
            None => return Err(SsrfError::NoHost(raw.to_string())),
            Some(Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), IpAddr::V6(ip))?,
            Some(Host::Domain(d)) => {
                // RFC 6761: `localhost` and `*.localhost` are loopback whatever DNS says.
                let name = d.trim_end_matches('.').to_ascii_lowercase();
                if !self.allow_loopback && (name == "localhost" || name.ends_with(".localhost")) {
                    return Err(SsrfError::Blocked {
                        host: d.to_string(),
                        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                        range: "loopback (127.0.0.0/8)".into(),
                    });
                }
            }
        }
        Ok(url)
    }

    /// Parses and resolves `raw`; refuses it when any address is blocked.
    pub async fn check(&self, raw: &str) -> Result<CheckedUrl, SsrfError> {
        let url = self.parse(raw)?;
        let port = url.port_or_known_default().unwrap_or(80);
        let found = match url.host() {
            Some(Host::Domain(d)) => Some(lookup(self.resolver.as_ref(), d, port).await),
            _ => None,
        };
        self.checked(url, port, found)
    }

    /// [`UrlGuard::check`] for several URLs at once (a request's `callbackUrl` and media
    /// URLs): each distinct host name is resolved once, at most
    /// [`MAX_CONCURRENT_LOOKUPS`] at a time, and all of it within `timeout` — a lookup
    /// still unanswered then refuses its URLs as unresolvable. One result per URL, in order.
    pub async fn check_all(
        &self,
        raws: &[&str],
        timeout: Duration,
    ) -> Vec<Result<CheckedUrl, SsrfError>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let parsed: Vec<Result<(Url, u16), SsrfError>> = raws
            .iter()
            .map(|raw| {
                let url = self.parse(raw)?;
                let port = url.port_or_known_default().unwrap_or(80);
                Ok((url, port))
            })
            .collect();
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_LOOKUPS));
        let mut lookups = tokio::task::JoinSet::new();
        let mut answers: HashMap<(String, u16), Result<Vec<IpAddr>, SsrfError>> = HashMap::new();
        for (url, port) in parsed.iter().flatten() {
            let Some(Host::Domain(d)) = url.host() else {
                continue;
            };
            let key = (d.to_string(), *port);
            if answers.contains_key(&key) {
                continue;
            }
            answers.insert(
                key.clone(),
                Err(SsrfError::Unresolvable {
                    host: key.0.clone(),
                    reason: format!("no answer within {} s", timeout.as_secs_f64()),
                }),
            );
            let resolver = self.resolver.clone();
            let permits = permits.clone();
            lookups.spawn(async move {
                let answer = tokio::time::timeout_at(deadline, async {
                    // The semaphore is never closed; without a permit, resolve anyway.
                    let _permit = permits.acquire_owned().await.ok();
                    lookup(resolver.as_ref(), &key.0, key.1).await
                })
                .await;
                (key, answer)
            });
        }
        while let Some(joined) = lookups.join_next().await {
            // A panicking resolver leaves its hosts refused as unanswered.
            if let Ok((key, Ok(answer))) = joined {
                answers.insert(key, answer);
            }
        }
        parsed
            .into_iter()
            .map(|p| {
                let (url, port) = p?;
                let found = match url.host() {
                    Some(Host::Domain(d)) => answers.get(&(d.to_string(), port)).cloned(),
                    _ => None,
                };
                self.checked(url, port, found)
            })
            .collect()
    }

    /// The addresses a parsed URL may be connected to: its literal address, or every
    /// address its name resolved to (`found`), each checked.
    fn checked(
        &self,
        url: Url,
        port: u16,
        found: Option<Result<Vec<IpAddr>, SsrfError>>,
    ) -> Result<CheckedUrl, SsrfError> {
        let addrs: Vec<IpAddr> = match url.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(d)) => {
                let found = found.unwrap_or_else(|| {
                    Err(SsrfError::Unresolvable {
                        host: d.to_string(),
                        reason: "not looked up".into(),
                    })
                })?;
                for ip in &found {
                    self.check_ip(d, *ip)?;
                }
                found
            }
            None => return Err(SsrfError::NoHost(url.to_string())),
        };
        Ok(CheckedUrl {
            addrs: addrs
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect(),
            url,
        })
    }

    /// An HTTP client that connects `checked`'s host only to its checked addresses, follows
    /// no redirect and ignores proxy settings. Clients are cached by host, checked
    /// addresses and timeout: a host whose name now resolves elsewhere gets a new client
    /// (pinned to the new, checked, addresses), never a connection made for the old ones.
    pub fn client_for(
        &self,
        checked: &CheckedUrl,
        timeout: Duration,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let host = match checked.url.host() {
            Some(Host::Domain(d)) => Some(d.to_ascii_lowercase()),
            _ => None,
        };
        let key = ClientKey {
            addrs: if host.is_some() {
                checked.addrs.clone()
            } else {
                Vec::new()
            },
            host,
            timeout,
        };
        if let Some(client) = self.clients.get(&key) {
            return Ok(client.clone());
        }
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(d) = &key.host {
            b = b.resolve_to_addrs(d, &key.addrs);
        }
        let client = b.build()?;
        if self.clients.len() >= MAX_CACHED_CLIENTS {
            self.clients.clear();
        }
        self.clients.insert(key, client.clone());
        Ok(client)
    }

    /// Checks `raw` and POSTs `body` to it with `headers`, connecting only to the checked
    /// address and following no redirect.
    pub async fn post(
        &self,
        raw: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<reqwest::Response, PostError> {
        let checked = self.check(raw).await.map_err(PostError::Refused)?;
        let client = self
            .client_for(&checked, timeout)
            .map_err(|e| PostError::Transport(e.to_string()))?;
        let mut req = client
            .post(checked.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        req.send()
            .await
            .map_err(|e| PostError::Transport(e.to_string()))
    }

    /// Checks `raw` and GETs it, connecting only to the checked address and following no
    /// redirect: how an upstream's result is downloaded (an upstream is not trusted to point
    /// the gateway at its own network, issue 18). `timeout` covers the whole download.
    pub async fn get(&self, raw: &str, timeout: Duration) -> Result<reqwest::Response, PostError> {
        let checked = self.check(raw).await.map_err(PostError::Refused)?;
        let client = self
            .client_for(&checked, timeout)
            .map_err(|e| PostError::Transport(e.to_string()))?;
        client
            .get(checked.url.clone())
            .send()
            .await
            .map_err(|e| PostError::Transport(e.to_string()))
    }
}

/// Why a guarded POST did not get an answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The guard refused the URL.
    #[error("refused: {0}")]
    Refused(SsrfError),
    /// Connect, TLS, timeout or I/O failure.
    #[error("transport: {0}")]
    Transport(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Answers from a table; unknown names fail like NXDOMAIN.
    struct TableResolver(Mutex<HashMap<String, Vec<IpAddr>>>);

    #[async_trait]
    impl Resolve for TableResolver {
        async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .get(host)
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "NXDOMAIN"))
        }
    }

    fn table(entries: &[(&str, &[&str])]) -> Arc<TableResolver> {
        Arc::new(TableResolver(Mutex::new(
            entries
                .iter()
                .map(|(h, ips)| {
                    (
                        h.to_string(),
                        ips.iter().map(|s| s.parse().unwrap()).collect(),
                    )
                })
                .collect(),
        )))
    }

    /// A loopback listener counting every request; `redirect_to` makes it answer 302.
    async fn listener(redirect_to: Option<String>) -> (SocketAddr, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let h = h.clone();
            let redirect_to = redirect_to.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                match redirect_to {
                    Some(to) => (
                        http::StatusCode::FOUND,
                        [(http::header::LOCATION, to)],
                        "moved",
                    )
                        .into_response(),
                    None => "ok".into_response(),
                }
            }
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        (addr, hits)
    }
    use axum::response::IntoResponse;

    #[test]
    fn every_listed_range_is_blocked() {
        assert_eq!(blocked_ranges().len(), 38);
        for ip in [
            "0.1.2.3",
            "10.9.8.7",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.1.1",
            "192.175.48.1",
            "198.19.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "::ffff:0:808:808",
            "::808:808",
            "::2",
            "64:ff9b::808:808",
            "64:ff9b:1::808:808",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "2002:808:808::1",
            "2620:4f:8000::1",
            "3fff::1",
            "5f00::1",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.0.0.1",
            "4000::1",
            "1::1",
        ] {
            assert!(
                blocked_range(ip.parse().unwrap()).is_some(),
                "{ip} should be blocked"
            );
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            // an ISATAP identifier around a public address under a global prefix
            "2606:4700::5efe:808:808",
        ] {
            assert_eq!(blocked_range(ip.parse().unwrap()), None, "{ip} should pass");
        }
    }

    /// S1 (issue 13 point 9): every IPv6 form that carries an IPv4 address is refused when
    /// that address is, and the refusal names the form and the address it leads to; the
    /// IANA special-purpose ranges are refused by name.
    #[tokio::test]
    async fn s1_embedded_ipv4_and_special_purpose_ranges_are_refused() {
        let guard = UrlGuard::with_resolver(table(&[]), false);
        let cases: &[(&str, &str)] = &[
            (
                "http://[::127.0.0.1]/",
                "IPv4-compatible (::/96) around 127.0.0.1, loopback (127.0.0.0/8)",
            ),
            (
                "http://[::a9fe:a9fe]/",
                "IPv4-compatible (::/96) around 169.254.169.254, link-local",
            ),
            (
                "http://[::ffff:0:7f00:1]/",
                "IPv4-translated (::ffff:0:0:0/96) around 127.0.0.1",
            ),
            (
                "http://[2002:7f00:1::]/",
                "6to4 (2002::/16) around 127.0.0.1, loopback",
            ),
            (
                "http://[2002:a00:1::1]/",
                "6to4 (2002::/16) around 10.0.0.1, private (10.0.0.0/8)",
            ),
            ("http://[2002:808:808::1]/", "6to4 (2002::/16)"),
            // Teredo: server 127.0.0.1 in clear; client 10.0.0.1 inverted (f5ff:fffe)
            (
                "http://[2001:0:7f00:1::1]/",
                "Teredo (2001::/32) server around 127.0.0.1",
            ),
            (
                "http://[2001:0:808:808:0:0:f5ff:fffe]/",
                "Teredo (2001::/32) client around 10.0.0.1",
            ),
            ("http://[2001:0:808:808::f7f7:f7f7]/", "Teredo (2001::/32)"),
            (
                "http://[64:ff9b::7f00:1]/",
                "NAT64 (64:ff9b::/96) around 127.0.0.1",
            ),
            ("http://[64:ff9b::808:808]/", "NAT64 (64:ff9b::/96)"),
            (
                "http://[64:ff9b:1::a00:1]/",
                "local-use NAT64 (64:ff9b:1::/48) around 10.0.0.1",
            ),
            (
                "http://[64:ff9b:1:2::808:808]/",
                "local-use NAT64 (64:ff9b:1::/48)",
            ),
            (
                "http://[2606:4700::5efe:7f00:1]/",
                "ISATAP (interface identifier ::5efe:a.b.c.d) around 127.0.0.1",
            ),
            (
                "http://[2606:4700::200:5efe:a9fe:a9fe]/",
                "ISATAP (interface identifier ::5efe:a.b.c.d) around 169.254.169.254",
            ),
            (
                "http://192.0.0.1/",
                "IETF protocol assignments (192.0.0.0/24)",
            ),
            (
                "http://192.0.0.171/",
                "IETF protocol assignments (192.0.0.0/24)",
            ),
            ("http://192.0.2.10/", "documentation TEST-NET-1"),
            ("http://198.51.100.10/", "documentation TEST-NET-2"),
            ("http://203.0.113.10/", "documentation TEST-NET-3"),
            ("http://198.18.0.1/", "benchmarking (198.18.0.0/15)"),
            ("http://198.19.255.255/", "benchmarking (198.18.0.0/15)"),
            ("http://100.64.0.1/", "carrier-grade NAT (100.64.0.0/10)"),
            (
                "http://100.127.255.255/",
                "carrier-grade NAT (100.64.0.0/10)",
            ),
            (
                "http://255.255.255.255/",
                "limited broadcast (255.255.255.255)",
            ),
            ("http://4294967295/", "limited broadcast (255.255.255.255)"),
            ("http://240.0.0.1/", "reserved (240.0.0.0/4)"),
            ("http://192.88.99.1/", "6to4 relay anycast (192.88.99.0/24)"),
            ("http://192.31.196.1/", "AS112 (192.31.196.0/24)"),
            (
                "http://192.175.48.1/",
                "AS112 direct delegation (192.175.48.0/24)",
            ),
            ("http://192.52.193.1/", "AMT (192.52.193.0/24)"),
            (
                "http://[::ffff:192.0.0.1]/",
                "IETF protocol assignments (192.0.0.0/24)",
            ),
            ("http://[100::1]/", "discard-only (100::/64)"),
            ("http://[2001:db8::1]/", "documentation (2001:db8::/32)"),
            ("http://[3fff::1]/", "documentation (3fff::/20)"),
            (
                "http://[2001:2::1]/",
                "IETF protocol assignments (2001::/23)",
            ),
            (
                "http://[2620:4f:8000::1]/",
                "AS112 direct delegation (2620:4f:8000::/48)",
            ),
            ("http://[5f00::1]/", "SRv6 SIDs (5f00::/16)"),
            ("http://[fec0::1]/", "site-local (fec0::/10, deprecated)"),
            ("http://[::2]/", "IPv4-compatible (::/96) around 0.0.0.2"),
            ("http://[1::1]/", "reserved by the IETF (::/8)"),
            ("http://[4000::1]/", "not global unicast (outside 2000::/3)"),
        ];
        for (raw, want) in cases {
            let err = guard.check(raw).await.expect_err(raw);
            assert!(matches!(err, SsrfError::Blocked { .. }), "{raw}: {err:?}");
            let msg = err.to_string();
            assert!(msg.contains(want), "{raw}: `{msg}` should say `{want}`");
            // the same without DNS (media URLs are parsed before any lookup)
            assert!(guard.parse(raw).is_err(), "{raw}");
        }
        // the whole message for the three examples
        for (raw, addr, range) in [
            (
                "http://[::127.0.0.1]/",
                "::127.0.0.1",
                "IPv4-compatible (::/96) around 127.0.0.1, loopback (127.0.0.0/8)",
            ),
            (
                "http://[2002:7f00:1::]/",
                "2002:7f00:1::",
                "6to4 (2002::/16) around 127.0.0.1, loopback (127.0.0.0/8)",
            ),
            (
                "http://192.0.0.1/",
                "192.0.0.1",
                "IETF protocol assignments (192.0.0.0/24)",
            ),
        ] {
            let e = guard.check(raw).await.unwrap_err();
            let addr: IpAddr = addr.parse().unwrap();
            assert_eq!(
                e.to_string(),
                format!("host `{addr}` resolves to {addr}, in a blocked range: {range}; only public addresses are allowed")
            );
        }
        // a name resolving to any of these is refused the same way
        let named = UrlGuard::with_resolver(
            table(&[("six.test", &["2606:4700::1111", "2002:7f00:1::"])]),
            false,
        );
        let e = named.check("https://six.test/a.png").await.unwrap_err();
        assert!(
            e.to_string().contains("6to4 (2002::/16) around 127.0.0.1"),
            "{e}"
        );
    }

    /// Loopback permission (tests, sandboxes) admits real loopback only: not an IPv6
    /// form around it, nor any other special range.
    #[tokio::test]
    async fn loopback_permission_does_not_admit_wrapped_loopback() {
        let lax = UrlGuard::with_resolver(table(&[]), true);
        for ok in [
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(lax.check(ok).await.is_ok(), "{ok}");
        }
        for refused in [
            "http://[::127.0.0.1]/",
            "http://[2002:7f00:1::]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2001:0:7f00:1::1]/",
            "http://192.0.0.1/",
        ] {
            assert!(lax.check(refused).await.is_err(), "{refused}");
        }
    }

    /// Counts lookups per name; `slow.test` never answers, `empty.test` has no records.
    struct CountingResolver {
        inner: Arc<TableResolver>,
        calls: Mutex<HashMap<String, usize>>,
    }

    #[async_trait]
    impl Resolve for CountingResolver {
        async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
            *self
                .calls
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .entry(host.to_string())
                .or_default() += 1;
            match host {
                "slow.test" => std::future::pending().await,
                "empty.test" => Ok(Vec::new()),
                _ => self.inner.resolve(host, port).await,
            }
        }
    }

    /// `check_all` resolves each name once, answers per URL in order, bounds the wait, and
    /// names the host that did not resolve.
    #[tokio::test]
    async fn check_all_resolves_each_name_once_within_the_timeout() {
        let resolver = Arc::new(CountingResolver {
            inner: table(&[
                ("cdn.test", &["93.184.216.34"]),
                ("inside.test", &["10.1.2.3"]),
            ]),
            calls: Mutex::default(),
        });
        let guard = UrlGuard::with_resolver(resolver.clone(), false);
        let urls = [
            "https://cdn.test/a.png",
            "https://cdn.test/b.png",
            "https://inside.test/c.png",
            "https://nowhere.test/d.png",
            "https://slow.test/e.png",
            "https://empty.test/f.png",
            "http://8.8.8.8/g.png",
            "gopher://cdn.test/",
        ];
        let started = std::time::Instant::now();
        let results = guard.check_all(&urls, Duration::from_millis(300)).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the timeout"
        );
        assert_eq!(results.len(), urls.len());
        assert_eq!(
            results[0].as_ref().unwrap().addrs,
            vec!["93.184.216.34:443".parse().unwrap()]
        );
        assert!(results[1].is_ok());
        assert!(
            matches!(&results[2], Err(SsrfError::Blocked { host, .. }) if host == "inside.test"),
            "{:?}",
            results[2]
        );
        let unresolvable = |i: usize| match &results[i] {
            Err(SsrfError::Unresolvable { host, reason }) => (host.clone(), reason.clone()),
            other => panic!("{}: {other:?}", urls[i]),
        };
        assert_eq!(unresolvable(3).0, "nowhere.test");
        let (host, reason) = unresolvable(4);
        assert_eq!(host, "slow.test");
        assert!(reason.contains("no answer within 0.3 s"), "{reason}");
        assert_eq!(
            unresolvable(5),
            ("empty.test".into(), "no A/AAAA records".into())
        );
        assert!(results[6].is_ok());
        assert_eq!(results[7], Err(SsrfError::Scheme("gopher".into())));
        let calls = resolver.calls.lock().unwrap().clone();
        assert_eq!(calls.get("cdn.test"), Some(&1), "{calls:?}");
        assert_eq!(calls.values().sum::<usize>(), 5, "{calls:?}");
        // the error message names the host
        let msg = results[3].as_ref().unwrap_err().to_string();
        assert!(
            msg.starts_with("host `nowhere.test` does not resolve"),
            "{msg}"
        );
    }

    /// S1: every encoding of loopback (and non-http schemes) is refused.
    #[tokio::test]
    async fn s1_encodings_are_refused() {
        let guard = UrlGuard::with_resolver(
            table(&[
                ("localhost.", &["127.0.0.1"]),
                ("localhost", &["127.0.0.1"]),
            ]),
            false,
        );
        for raw in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost./",
            "http://localhost/",
            "http://evil.com@127.0.0.1/",
            "http://[::1]:8080/hook",
            "http://169.254.169.254/latest/meta-data/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:25/",
            "data:text/plain,hello",
            "ftp://example.com/",
            "not a url",
        ] {
            let err = guard.check(raw).await.expect_err(raw);
            let msg = err.to_string();
            assert!(!msg.is_empty(), "{raw}");
        }
        // the messages say why
        let e = guard.check("http://0x7f000001/").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "host `127.0.0.1` resolves to 127.0.0.1, in a blocked range: loopback (127.0.0.0/8); only public addresses are allowed"
        );
        let e = guard.check("gopher://x/").await.unwrap_err();
        assert_eq!(e, SsrfError::Scheme("gopher".into()));
    }

    #[tokio::test]
    async fn public_names_pass_and_loopback_only_when_configured() {
        let r = table(&[
            ("hooks.example", &["93.184.216.34"]),
            ("me.test", &["127.0.0.1"]),
        ]);
        let strict = UrlGuard::with_resolver(r.clone(), false);
        let ok = strict.check("https://hooks.example/cb").await.unwrap();
        assert_eq!(ok.addrs, vec!["93.184.216.34:443".parse().unwrap()]);
        assert!(strict.check("http://me.test/").await.is_err());
        let lax = UrlGuard::with_resolver(r, true);
        assert!(lax.check("http://me.test/").await.is_ok());
        assert!(lax.check("http://127.0.0.1:9/").await.is_ok());
        // loopback permission admits loopback only, not the private ranges
        assert!(lax.check("http://10.0.0.1/").await.is_err());
        assert!(matches!(
            lax.check("http://nowhere.test/").await,
            Err(SsrfError::Unresolvable { .. })
        ));
    }

    /// S2: a DNS answer with a public address then a loopback one is refused whole, and the
    /// loopback listener sees no request.
    #[tokio::test]
    async fn s2_public_then_loopback_answer_makes_no_request() {
        let (addr, hits) = listener(None).await;
        let guard = UrlGuard::with_resolver(
            table(&[("rebind.test", &["93.184.216.34", "127.0.0.1"])]),
            false,
        );
        let url = format!("http://rebind.test:{}/hook", addr.port());
        let err = guard
            .post(&url, &[], b"{}".to_vec(), Duration::from_secs(5))
            .await;
        assert!(
            matches!(err, Err(PostError::Refused(SsrfError::Blocked { .. }))),
            "{err:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    /// The connection goes to the checked address, not to a fresh DNS answer: the name
    /// resolves only through the guard's resolver, yet the POST arrives.
    #[tokio::test]
    async fn connects_only_to_the_checked_address() {
        let (addr, hits) = listener(None).await;
        let guard = UrlGuard::with_resolver(table(&[("pinned.test", &["127.0.0.1"])]), true);
        let url = format!("http://pinned.test:{}/hook", addr.port());
        let resp = guard
            .post(
                &url,
                &[("x-test", "1".into())],
                b"{}".to_vec(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    /// Issue 21: deliveries to one receiver reuse the guard's cached client and its kept-alive
    /// connection (a client per request opened a connection and built a TLS configuration
    /// each time); a name that now resolves to a blocked address is still refused, even
    /// though a connection made for its earlier, allowed, address is open.
    #[tokio::test]
    async fn one_receiver_one_connection_and_a_rebound_name_is_still_refused() {
        let peers = Arc::new(Mutex::new(Vec::<SocketAddr>::new()));
        let p = peers.clone();
        let app = axum::Router::new().fallback(
            move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| {
                let p = p.clone();
                async move {
                    p.lock().unwrap().push(peer);
                    "ok"
                }
            },
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(l, app.into_make_service_with_connect_info::<SocketAddr>()).await
        });
        let names = table(&[("receiver.test", &["127.0.0.1"])]);
        let guard = UrlGuard::with_resolver(names.clone(), true);
        let url = format!("http://receiver.test:{}/hook", addr.port());
        for _ in 0..5 {
            let resp = guard
                .post(&url, &[], b"{}".to_vec(), Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.bytes().await.unwrap();
        }
        let seen = peers.lock().unwrap().clone();
        assert_eq!(seen.len(), 5);
        assert!(
            seen.iter().all(|p| *p == seen[0]),
            "five deliveries to one receiver should share one connection: {seen:?}"
        );
        assert_eq!(guard.clients.len(), 1);

        // The name now answers a private address: refused before any request is sent.
        names
            .0
            .lock()
            .unwrap()
            .insert("receiver.test".into(), vec!["10.0.0.7".parse().unwrap()]);
        let err = guard
            .post(&url, &[], b"{}".to_vec(), Duration::from_secs(5))
            .await;
        assert!(
            matches!(err, Err(PostError::Refused(SsrfError::Blocked { .. }))),
            "{err:?}"
        );
        assert_eq!(peers.lock().unwrap().len(), 5);
    }

    /// S3: an allowed URL answering a redirect to loopback is not followed.
    #[tokio::test]
    async fn s3_redirect_is_not_followed() {
        let (target, target_hits) = listener(None).await;
        let (start, start_hits) = listener(Some(format!("http://{target}/internal"))).await;
        let guard = UrlGuard::with_resolver(table(&[]), true);
        let resp = guard
            .post(
                &format!("http://{start}/hook"),
                &[],
                b"{}".to_vec(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
        assert_eq!(start_hits.load(Ordering::SeqCst), 1);
        assert_eq!(target_hits.load(Ordering::SeqCst), 0);
    }
}
