//! The URL guard for every URL a caller gives us and we (or an upstream) fetch or POST to:
//! `callbackUrl` above all (`design/RELIABILITY.md` "SSRF", the OWASP SSRF cheat sheet).
//!
//! - only `http`/`https`; parsed with the `url` crate (which normalizes `2130706433`,
//!   `0x7f000001`, `0177.0.0.1`, `127.1` to `127.0.0.1`) and the parsed host is checked;
//! - every A/AAAA answer is resolved and the URL is refused if **any** is blocked
//!   (IPv4-mapped IPv6 unwrapped first);
//! - the request then connects only to the checked address (a per-request DNS override), so
//!   a second DNS answer cannot rebind it; redirects are never followed;
//! - loopback is allowed only by explicit configuration (tests, sandboxes).

use async_trait::async_trait;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
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
        "host `{host}` resolves to {addr}, a {range} address; only public addresses are allowed"
    )]
    Blocked {
        /// The host as written.
        host: String,
        /// The refused address.
        addr: IpAddr,
        /// The name of the blocked range.
        range: &'static str,
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

fn blocked_ranges() -> &'static [(IpNet, &'static str)] {
    static RANGES: OnceLock<Vec<(IpNet, &'static str)>> = OnceLock::new();
    RANGES.get_or_init(|| {
        let v4 = |a: [u8; 4], len: u8, name| {
            Ipv4Net::new(Ipv4Addr::from(a), len).map(|n| (IpNet::V4(n), name))
        };
        let v6 = |a: Ipv6Addr, len: u8, name| Ipv6Net::new(a, len).map(|n| (IpNet::V6(n), name));
        // design/RELIABILITY.md "SSRF": the blocked list, in its order.
        [
            v4([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
            v4([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
            v4([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
            v4([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
            v4([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
            v4([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
            v4([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
            v4([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
            v4([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
            v4([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
            v6(Ipv6Addr::LOCALHOST, 128, "loopback (::1)"),
            v6(Ipv6Addr::UNSPECIFIED, 128, "unspecified (::)"),
            v6(
                Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
                96,
                "NAT64 (64:ff9b::/96)",
            ),
            v6(
                Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
                7,
                "unique local (fc00::/7)",
            ),
            v6(
                Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
                10,
                "link-local (fe80::/10)",
            ),
            v6(
                Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
                8,
                "multicast (ff00::/8)",
            ),
        ]
        .into_iter()
        // Every literal above is a valid prefix length; a failure would drop one range, so
        // the test `every_listed_range_is_blocked` pins the count.
        .filter_map(Result::ok)
        .collect()
    })
}

/// The blocked range `ip` falls in, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) unwrapped.
pub fn blocked_range(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    blocked_ranges()
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, name)| *name)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A URL that passed the guard, with the addresses it may be connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedUrl {
    /// The parsed URL.
    pub url: Url,
    /// The checked addresses (all of them passed).
    pub addrs: Vec<SocketAddr>,
}

/// The SSRF guard.
#[derive(Clone)]
pub struct UrlGuard {
    resolver: Arc<dyn Resolve>,
    allow_loopback: bool,
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
                        range: "loopback (127.0.0.0/8)",
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
        let addrs: Vec<IpAddr> =
            match url.host() {
                Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
                Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
                Some(Host::Domain(d)) => {
                    let found = self.resolver.resolve(d, port).await.map_err(|e| {
                        SsrfError::Unresolvable {
                            host: d.to_string(),
                            reason: e.to_string(),
                        }
                    })?;
                    if found.is_empty() {
                        return Err(SsrfError::Unresolvable {
                            host: d.to_string(),
                            reason: "no A/AAAA records".into(),
                        });
                    }
                    for ip in &found {
                        self.check_ip(d, *ip)?;
                    }
                    found
                }
                None => return Err(SsrfError::NoHost(raw.to_string())),
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
    /// no redirect and ignores proxy settings.
    pub fn client_for(
        &self,
        checked: &CheckedUrl,
        timeout: Duration,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(Host::Domain(d)) = checked.url.host() {
            b = b.resolve_to_addrs(d, &checked.addrs);
        }
        b.build()
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
        assert_eq!(blocked_ranges().len(), 16);
        for ip in [
            "0.1.2.3",
            "10.9.8.7",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.31.255.255",
            "192.168.1.1",
            "198.19.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "64:ff9b::7f00:1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
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
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(blocked_range(ip.parse().unwrap()), None, "{ip} should pass");
        }
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
            "host `127.0.0.1` resolves to 127.0.0.1, a loopback (127.0.0.0/8) address; only public addresses are allowed"
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
