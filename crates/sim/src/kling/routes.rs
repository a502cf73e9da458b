//! The HTTP surface: the paths of spec/kling-api.md, each wrapped in fault injection and
//! JWT verification.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::auth;
use super::config::{Endpoint, Feature};
use super::envelope::{ok, KlingError};
use super::state::KlingState;
use crate::fault::FaultAction;
use crate::framework::{guard_with, InjectedFault, WireError};
use crate::server::ConnectionKill;

/// Largest body read: image_list may carry 10 Base64 images of 10 MB each.
const MAX_BODY: usize = 160 * 1024 * 1024;

/// The router over `state`.
pub(crate) fn router(state: KlingState) -> Router {
    let mut r = Router::new();
    for f in Feature::ALL {
        r = r
            .route(
                f.path(),
                post(move |st: State<KlingState>, req: Request| create(st, f, req))
                    .get(move |st: State<KlingState>, req: Request| list(st, f, req)),
            )
            .route(
                &format!("{}/{{id}}", f.path()),
                get(move |st: State<KlingState>, req: Request| query(st, f, req)),
            );
    }
    r.route("/v1/videos/identify-face", post(identify_face))
        .route("/media/{*path}", get(media))
        .method_not_allowed_fallback(|req: Request| async move {
            KlingError::new(
                1202,
                format!(
                    "method {} is not allowed on {}",
                    req.method(),
                    req.uri().path()
                ),
            )
            .into_response()
        })
        .fallback(|req: Request| async move {
            KlingError::new(
                1202,
                format!(
                    "no endpoint {} {}; see spec/kling-api.md for the /v1 paths",
                    req.method(),
                    req.uri().path()
                ),
            )
            .into_response()
        })
        .with_state(state)
}

/// What a handler needs from the request after faults and auth.
struct Call {
    account: usize,
    req: Request,
}

/// Applies the endpoint's faults (the framework's guard, in Kling's error shape), verifies
/// the JWT and runs `work`.
async fn guarded<F>(state: &KlingState, endpoint: Endpoint, req: Request, work: F) -> Response
where
    F: AsyncFnOnce(Call) -> Result<Value, KlingError>,
{
    guard_with::<_, KlingError, _>(state.faults(), endpoint, req, async move |req| {
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let account = auth::verify(
            header.as_deref(),
            &state.config().accounts,
            state.real_world_now(),
        )?;
        work(Call { account, req }).await.map(ok)
    })
    .await
}

impl WireError for KlingError {
    fn from_fault(fault: InjectedFault) -> Self {
        let mut e = KlingError::new(fault.code, fault_message(fault.code));
        e.retry_after = fault.retry_after;
        e
    }
}

fn fault_message(code: u32) -> &'static str {
    match code {
        1302 => "rate limit exceeded: too many requests, retry after the Retry-After delay",
        5000 => "internal server error",
        5001 => "service temporarily unavailable (maintenance)",
        5002 => "server timeout",
        1300 => "request refused by platform policy",
        _ => "request refused (injected fault)",
    }
}

async fn json_body(req: Request) -> Result<Value, KlingError> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|e| KlingError::invalid_request(format!("cannot read the request body: {e}")))?;
    if bytes.is_empty() {
        return Err(KlingError::invalid_request(
            "request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| KlingError::invalid_request(format!("request body is not valid JSON: {e}")))
}

async fn create(State(state): State<KlingState>, feature: Feature, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        Endpoint::Create(feature),
        req,
        async move |call: Call| {
            let body = json_body(call.req).await?;
            let measured = if feature == Feature::MotionControl {
                st.measure(&body).await
            } else {
                None
            };
            st.create(call.account, feature, &body, measured.as_ref())
        },
    )
    .await
}

async fn query(State(state): State<KlingState>, feature: Feature, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        Endpoint::Query(feature),
        req,
        async move |call: Call| {
            let prefix = format!("{}/", feature.path());
            let id = call
                .req
                .uri()
                .path()
                .strip_prefix(&prefix)
                .unwrap_or_default();
            let id = percent_decode(id);
            st.query(call.account, feature, &id)
        },
    )
    .await
}

/// spec, common rules: `pageNum` 1..1000 (default 1), `pageSize` 1..500 (default 30).
fn page_params(query: Option<&str>) -> Result<(u32, u32), KlingError> {
    let mut page = 1;
    let mut size = 30;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (slot, lo, hi) = match k {
            "pageNum" => (&mut page, 1, 1000),
            "pageSize" => (&mut size, 1, 500),
            _ => continue,
        };
        match v.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => *slot = n,
            _ => {
                return Err(KlingError::invalid_param(format!(
                    "{k} = {v:?} is not allowed; it must be an integer from {lo} to {hi}"
                )))
            }
        }
    }
    Ok((page, size))
}

async fn list(State(state): State<KlingState>, feature: Feature, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        Endpoint::List(feature),
        req,
        async move |call: Call| {
            let (page, size) = page_params(call.req.uri().query())?;
            Ok(st.list(call.account, feature, page, size))
        },
    )
    .await
}

async fn identify_face(State(state): State<KlingState>, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        Endpoint::IdentifyFace,
        req,
        async move |call: Call| {
            let body = json_body(call.req).await?;
            let measured = st.measure(&body).await;
            st.identify_face(call.account, &body, measured.as_ref())
        },
    )
    .await
}

/// Result downloads: no JWT (result URLs are plain links, valid 30 days), but faults apply.
async fn media(State(state): State<KlingState>, req: Request) -> Response {
    let decision = state.faults().decide(Endpoint::Media);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.action {
        FaultAction::Error { code, .. } => {
            return KlingError::new(code, fault_message(code)).into_response()
        }
        FaultAction::Drop => {
            if let Some(kill) = req.extensions().get::<ConnectionKill>() {
                kill.trigger();
                return std::future::pending::<Response>().await;
            }
            return StatusCode::BAD_GATEWAY.into_response();
        }
        _ => {}
    }
    let path = req.uri().path().strip_prefix("/media").unwrap_or_default();
    match state.media(path) {
        Some((content_type, bytes)) => {
            let full = bytes.len();
            // A malformed media fault truncates the file, as a broken download would.
            let bytes = if decision.action == FaultAction::Malformed {
                bytes[..full / 2].to_vec()
            } else {
                bytes
            };
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
            r
        }
        None => (
            StatusCode::NOT_FOUND,
            "no such media (unknown or older than 30 days)",
        )
            .into_response(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(page_params(None), Ok((1, 30)));
        assert_eq!(page_params(Some("pageNum=2&pageSize=500")), Ok((2, 500)));
        assert!(page_params(Some("pageNum=0")).is_err());
        assert!(page_params(Some("pageNum=1001")).is_err());
        assert!(page_params(Some("pageSize=501")).is_err());
        assert!(page_params(Some("pageSize=abc")).is_err());
    }

    #[test]
    fn decode() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("abc%2"), "abc%2");
    }
}
