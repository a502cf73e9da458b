//! What every provider's HTTP client shares: `Retry-After` parsing, the one-line cause
//! chain of an error, and the classification of a transport failure (ARCHITECTURE.md: a
//! submission is never retried once the upstream may have accepted it).

use crate::error::{Error, ErrorKind};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses a `Retry-After` value: delta-seconds or an HTTP date (RFC 9110 §10.2.3),
/// relative to `now` (Unix seconds). A date in the past means "now".
///
/// ```
/// use std::time::Duration;
/// use genmux_core::transport::parse_retry_after;
/// assert_eq!(parse_retry_after(" 3 ", 0), Some(Duration::from_secs(3)));
/// assert_eq!(
///     parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_767),
///     Some(Duration::from_secs(10))
/// );
/// assert_eq!(parse_retry_after("soon", 0), None);
/// ```
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    Some(Duration::from_secs(
        u64::try_from(at.unix_timestamp() - now).unwrap_or(0),
    ))
}

/// The `Retry-After` of an answer's headers, relative to the wall clock.
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    parse_retry_after(value, now)
}

/// The HTTP client of a provider's API client: its connect and request timeouts, a
/// `genmux-<provider>/<version>` user agent, and no redirects followed (an upstream is not
/// trusted to send our credentials elsewhere).
pub fn http_client(
    provider: &'static str,
    version: &str,
    connect: Duration,
    request: Duration,
) -> crate::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(request)
        .user_agent(format!("genmux-{provider}/{version}"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::internal(format!("building the HTTP client failed: {e}"))
                .with_provider(provider)
                .with_source(e)
        })
}

/// A provider's base URL setting, checked: an http(s) URL with a host (surrounding space
/// and trailing slashes dropped). The error names the setting and shows `examples`.
///
/// ```
/// use genmux_core::transport::base_url;
/// let u = base_url("acme", "ACME_BASE_URL", "https://api.acme.example/v1/", &[]).unwrap();
/// assert_eq!(u.as_str(), "https://api.acme.example/v1");
/// let e = base_url("acme", "ACME_BASE_URL", "ftp://x", &["https://api.acme.example"]).unwrap_err();
/// assert!(e.message().contains("ACME_BASE_URL: `ftp://x` is not an http(s) URL"));
/// ```
pub fn base_url(
    provider: &'static str,
    setting: &str,
    value: &str,
    examples: &[&str],
) -> crate::Result<url::Url> {
    let trimmed = value.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        _ => {
            let eg = if examples.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", examples.join(" or "))
            };
            Err(Error::invalid(format!(
                "{setting}: `{value}` is not an http(s) URL with a host{eg}"
            ))
            .with_provider(provider))
        }
    }
}

/// The error and its causes in one line (reqwest's own message omits the cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

/// A request to `provider` that failed in transport (the message names the URL the error
/// carries). Built but never sent: an internal error. Not connected: nothing reached the
/// upstream (retryable elsewhere). Anything later — a timeout waiting for the answer, a
/// reset mid-body — may follow an accepted `submission`, which is then maybe-accepted and
/// never retried.
pub fn transport_error(provider: &'static str, e: reqwest::Error, submission: bool) -> Error {
    let detail = error_chain(&e);
    let url = e
        .url()
        .map(|u| u.as_str().to_string())
        .unwrap_or_else(|| format!("the {provider} API"));
    if e.is_builder() {
        return Error::internal(format!("request to {url} could not be built: {detail}"))
            .with_provider(provider);
    }
    if e.is_connect() {
        return Error::new(
            ErrorKind::ProviderUnavailable,
            format!("connecting to {url} failed: {detail}"),
        )
        .with_provider(provider)
        .with_source(e);
    }
    let (kind, what) = if e.is_timeout() {
        (ErrorKind::Timeout, "timed out")
    } else {
        (ErrorKind::ProviderUnavailable, "failed")
    };
    let err = Error::new(kind, format!("request to {url} {what}: {detail}"))
        .with_provider(provider)
        .with_source(e);
    if submission {
        err.with_maybe_accepted()
    } else {
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_retryable_and_never_maybe_accepted() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        let e = reqwest::Client::new().get(&url).send().await.unwrap_err();
        let err = transport_error("acme", e, true);
        assert_eq!(err.kind(), ErrorKind::ProviderUnavailable);
        assert!(err.is_retryable() && !err.maybe_accepted(), "{err:?}");
        assert!(err.message().contains(&url), "{}", err.message());
    }

    #[tokio::test]
    async fn a_timeout_after_sending_a_submission_is_maybe_accepted() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        // Accepts, reads, never answers.
        tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let e = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap()
            .post(&url)
            .body("{}")
            .send()
            .await
            .unwrap_err();
        let submit = transport_error("acme", e, true);
        assert_eq!(submit.kind(), ErrorKind::Timeout);
        assert!(
            submit.maybe_accepted() && !submit.is_retryable(),
            "{submit:?}"
        );
    }

    #[test]
    fn retry_after_reads_the_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    }
}
