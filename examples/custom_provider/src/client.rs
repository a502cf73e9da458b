//! [`EchoClient`]: every call to the Echo Video API, and the one table from its errors to
//! genmux [`Error`]s.
//!
//! What it promises the router (`docs/adding-a-provider.md` step 4):
//! - an error answer becomes the kind of [`error_from`]'s table, the API's message kept,
//!   `Retry-After` kept on retryable answers;
//! - a create that fails after its body may have reached the API (a timeout, a connection
//!   lost before the answer, an unreadable success answer) is
//!   [`Error::with_maybe_accepted`]: never resubmitted, found again by its `client_ref`;
//! - a failure before anything was sent (connection refused) is retryable, not
//!   maybe-accepted.

use crate::wire::{CreateVideo, ErrorBody, TaskList, VideoTask};
use crate::ID;
use genmux_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A client for one Echo account.
#[derive(Clone)]
pub struct EchoClient {
    http: reqwest::Client,
    base: reqwest::Url,
    token: String,
}

impl std::fmt::Debug for EchoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoClient")
            .field("base", &self.base.as_str())
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Whether a call creates something upstream (so a failure after sending is ambiguous).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Create,
    Read,
}

impl EchoClient {
    /// A client for `base_url` with `token`; each call gives up after `timeout`.
    pub fn new(base_url: &str, token: &str, timeout: Duration) -> Result<Self> {
        let base = reqwest::Url::parse(base_url.trim().trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{}: `{base_url}` is not an http(s) URL",
                    crate::BASE_URL_SETTING
                ))
                .with_provider(ID)
            })?;
        if token.trim().is_empty() {
            return Err(
                Error::invalid(format!("{}: empty", crate::TOKEN_SETTING)).with_provider(ID)
            );
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::internal(format!("building the HTTP client: {e}")))?;
        Ok(EchoClient {
            http,
            base,
            token: token.trim().to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    /// §Create.
    pub async fn create(&self, body: &CreateVideo) -> Result<VideoTask> {
        let req = self.http.post(self.url("/v1/videos")).json(body);
        self.send(req, Call::Create).await
    }

    /// §Task.
    pub async fn get(&self, id: &str) -> Result<VideoTask> {
        // One path segment, percent-encoded: an id cannot change the path.
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| Error::internal("the base URL cannot take a path"))?
            .pop_if_empty()
            .extend(["v1", "videos", id]);
        self.send(self.http.get(url), Call::Read).await
    }

    /// §Find: the task created with `client_ref`, if the API has one.
    pub async fn find(&self, client_ref: &str) -> Result<Option<VideoTask>> {
        let req = self
            .http
            .get(self.url("/v1/videos"))
            .query(&[("client_ref", client_ref)]);
        let list: TaskList = self.send(req, Call::Read).await?;
        Ok(list
            .data
            .into_iter()
            .find(|t| t.client_ref.as_deref() == Some(client_ref)))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        call: Call,
    ) -> Result<T> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| transport_error(e, call))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp.bytes().await.map_err(|e| transport_error(e, call))?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            return Err(error_from(status, body, retry_after, call == Call::Create));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            let err = Error::new(
                ErrorKind::ProviderUnavailable,
                format!("unreadable answer from the Echo API: {e}"),
            )
            .with_provider(ID);
            // The API said yes to a create: the task may exist.
            if call == Call::Create {
                err.with_maybe_accepted()
            } else {
                err
            }
        })
    }
}

/// A failure of the HTTP exchange itself.
fn transport_error(e: reqwest::Error, call: Call) -> Error {
    if e.is_connect() {
        // Nothing reached the API.
        return Error::new(
            ErrorKind::ProviderUnavailable,
            format!("cannot connect to the Echo API: {e}"),
        )
        .with_provider(ID);
    }
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::ProviderUnavailable
    };
    let err = Error::new(kind, format!("Echo API call failed: {e}")).with_provider(ID);
    match call {
        Call::Create => err.with_maybe_accepted(),
        Call::Read => err,
    }
}

/// The error table (Echo API §Errors): the HTTP status and the body's `type` decide the
/// kind and whether a retry can help. `create` marks an upstream timeout on a create as
/// maybe-accepted (the task may exist).
pub fn error_from(
    status: u16,
    body: Option<ErrorBody>,
    retry_after: Option<Duration>,
    create: bool,
) -> Error {
    let (kind_word, message) = body
        .map(|b| (b.error.kind, b.error.message))
        .unwrap_or_else(|| (String::new(), format!("HTTP {status}")));
    let (kind, retryable) = match (status, kind_word.as_str()) {
        (401, _) => (ErrorKind::Unauthenticated, false),
        // The account is out of credit: waiting does not help, another provider may.
        (402, _) => (ErrorKind::ProviderUnavailable, false),
        (403, _) => (ErrorKind::PermissionDenied, false),
        (404, _) => (ErrorKind::NotFound, false),
        (429, _) => (ErrorKind::RateLimited, true),
        (400 | 422, "content_policy") => (ErrorKind::ContentRejected, false),
        (400 | 422, _) => (ErrorKind::InvalidRequest, false),
        (504, _) => (ErrorKind::Timeout, true),
        (500..=599, _) => (ErrorKind::ProviderUnavailable, true),
        _ => (ErrorKind::Internal, false),
    };
    let text = if kind_word.is_empty() {
        format!("Echo HTTP {status}: {message}")
    } else {
        format!("Echo {kind_word} (HTTP {status}): {message}")
    };
    let mut err = Error::new(kind, text)
        .with_provider(ID)
        .with_retryable(retryable);
    if let (true, Some(after)) = (retryable, retry_after) {
        err = err.with_retry_after(after);
    }
    if create && status == 504 {
        err = err.with_maybe_accepted();
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ErrorDetail;

    fn body(kind: &str) -> Option<ErrorBody> {
        Some(ErrorBody {
            error: ErrorDetail {
                kind: kind.into(),
                message: "m".into(),
            },
        })
    }

    #[test]
    fn the_error_table() {
        let cases = [
            (401, "auth", ErrorKind::Unauthenticated, false),
            (
                402,
                "insufficient_credit",
                ErrorKind::ProviderUnavailable,
                false,
            ),
            (429, "rate_limit", ErrorKind::RateLimited, true),
            (400, "invalid_request", ErrorKind::InvalidRequest, false),
            (400, "content_policy", ErrorKind::ContentRejected, false),
            (404, "not_found", ErrorKind::NotFound, false),
            (503, "server_error", ErrorKind::ProviderUnavailable, true),
            (504, "timeout", ErrorKind::Timeout, true),
        ];
        for (status, kind, want, retryable) in cases {
            let e = error_from(status, body(kind), Some(Duration::from_secs(2)), false);
            assert_eq!(
                (e.kind(), e.is_retryable()),
                (want, retryable),
                "{status} {kind}"
            );
            assert_eq!(e.provider(), Some(ID));
            assert_eq!(
                e.retry_after(),
                retryable.then_some(Duration::from_secs(2)),
                "{status}"
            );
        }
        let e = error_from(504, body("timeout"), None, true);
        assert!(e.maybe_accepted() && !e.is_retryable());
        let e = error_from(502, None, None, false);
        assert_eq!(e.message(), "Echo HTTP 502: HTTP 502");
    }
}
