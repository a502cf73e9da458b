//! The fault and answer wrapper every framework endpoint goes through.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{SimHandle, Wire};
use crate::fault::{FaultAction, FaultInjector, FaultKey};
use crate::server::ConnectionKill;

/// An error a fault plan injects, for the provider to answer in its own shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    /// HTTP status: the plan's `error_code` class (400 by default), 429 for `rate_limit`,
    /// 500/503/504 for `server_error`.
    pub status: u16,
    /// The plan's code (Kling's numbering, [`crate::fault::FaultPlan::error_code`]):
    /// 1300/1301 are content-policy refusals, 1302 a rate limit, 5000–5002 server errors.
    pub code: u32,
    /// `Retry-After` seconds, for rate limits.
    pub retry_after: Option<u64>,
}

impl InjectedFault {
    /// Whether the fault stands for a content-policy refusal (a provider with a distinct
    /// safety error answers that one).
    pub fn is_content_policy(&self) -> bool {
        matches!(self.code, 1300 | 1301)
    }
}

/// A provider's error answer, also built for injected faults in the provider's own
/// shape.
pub trait WireError: IntoResponse + Send + 'static {
    /// The provider's answer for an injected fault (400 policy, 429 rate limit with
    /// `Retry-After`, 500/503/504 server errors).
    fn from_fault(fault: InjectedFault) -> Self;
}

/// Applies `endpoint`'s faults around `work`: latency first; an injected error instead
/// of the work; after the work, a stall, a dropped connection (the work happened — a task
/// may exist — but the client never hears of it) or a truncated body.
pub async fn guarded<W, F>(
    sim: &SimHandle<W>,
    endpoint: W::Endpoint,
    req: Request,
    work: F,
) -> Response
where
    W: Wire,
    F: AsyncFnOnce(Request) -> Result<Response, W::Error>,
{
    guard_with::<_, W::Error, _>(sim.faults(), endpoint, req, work).await
}

/// [`guarded`] for any simulator with a [`FaultInjector`] and an error shape (also the
/// older Kling simulator, which is not a [`Wire`]).
pub async fn guard_with<E, Er, F>(
    faults: &FaultInjector<E>,
    endpoint: E,
    req: Request,
    work: F,
) -> Response
where
    E: FaultKey,
    Er: WireError,
    F: AsyncFnOnce(Request) -> Result<Response, Er>,
{
    let decision = faults.decide(endpoint);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let FaultAction::Error {
        status,
        code,
        retry_after,
    } = decision.action
    {
        return Er::from_fault(InjectedFault {
            status,
            code,
            retry_after,
        })
        .into_response();
    }
    let kill = req.extensions().get::<ConnectionKill>().cloned();
    let response = match work(req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if !decision.stall.is_zero() {
        tokio::time::sleep(decision.stall).await;
    }
    match decision.action {
        FaultAction::Drop => match kill {
            Some(kill) => {
                kill.trigger();
                std::future::pending::<Response>().await
            }
            None => {
                let mut r = StatusCode::BAD_GATEWAY.into_response();
                r.headers_mut()
                    .insert("x-sim-fault", HeaderValue::from_static("drop-connection"));
                r
            }
        },
        // `FaultPlan::malformed_json`: 200 with the body cut in half.
        FaultAction::Malformed => {
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            let mut r = Response::new(Body::from(bytes.slice(..bytes.len() / 2)));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        _ => response,
    }
}

/// A 200 JSON answer.
pub fn json_ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Why a request body could not be read as JSON.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than the limit.
    TooLarge(usize),
    /// Not JSON; the parser's message.
    NotJson(String),
}

/// Reads the body as JSON, at most `limit` bytes.
pub async fn read_json(req: Request, limit: usize) -> Result<Value, BodyError> {
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| BodyError::TooLarge(limit))?;
    serde_json::from_slice(&bytes).map_err(|e| BodyError::NotJson(e.to_string()))
}

/// The key of `Authorization: Bearer <key>`, if the header is there and well-formed.
pub fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|k| !k.is_empty())
}
