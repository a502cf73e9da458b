//! The unified simulator's HTTP surface, under `/unified-video` and `/unified-image`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use genmux_core::{Catalog, MediaKind};
use serde_json::{json, Value};

use super::config::UnifiedEndpoint;
use super::state::{Rejection, UnifiedState};
use crate::fault::FaultAction;
use crate::server::ConnectionKill;

/// Largest body read (Base64 images travel inline).
const MAX_BODY: usize = 64 * 1024 * 1024;

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            axum::Json(json!({"success": false, "error": self.error})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        r
    }
}

/// The router over `state`.
pub(crate) fn router(state: UnifiedState) -> Router {
    let mut r = Router::new();
    for (prefix, kind) in [
        ("/unified-video", MediaKind::Video),
        ("/unified-image", MediaKind::Image),
    ] {
        r = r
            .route(
                &format!("{prefix}/models"),
                get(move |st: State<UnifiedState>, req: Request| models(st, kind, req)),
            )
            .route(
                &format!("{prefix}/quote"),
                post(move |st: State<UnifiedState>, req: Request| quote(st, kind, req)),
            )
            .route(
                &format!("{prefix}/generate"),
                post(move |st: State<UnifiedState>, req: Request| generate(st, kind, req)),
            )
            .route(
                &format!("{prefix}/{{task_id}}/status"),
                get(move |st: State<UnifiedState>, req: Request| status(st, kind, req)),
            );
    }
    r.route("/media/{*path}", get(media))
        .method_not_allowed_fallback(|req: Request| async move {
            Rejection::new(
                405,
                format!(
                    "method {} is not allowed on {}",
                    req.method(),
                    req.uri().path()
                ),
            )
            .into_response()
        })
        .fallback(|req: Request| async move {
            Rejection::new(
                404,
                format!("no endpoint {} {}", req.method(), req.uri().path()),
            )
            .into_response()
        })
        .with_state(state)
}

/// The `error` text of an injected fault. The plan's code picks the class where the status
/// alone does not tell it: 1300/1301 are content-policy refusals, which the unified API
/// words as such (a 400 that says "content policy"), so a client can tell them from an
/// invalid request.
fn fault_message(status: u16, code: u32) -> &'static str {
    if matches!(code, 1300 | 1301) {
        return "content policy: the request was refused by the safety system (injected fault)";
    }
    match status {
        429 => "rate limited: retry after the Retry-After delay",
        503 => "service unavailable",
        504 => "upstream timeout",
        500 => "internal error",
        _ => "request refused (injected fault)",
    }
}

/// Faults, then auth, then `work`, then the post-processing faults.
async fn guarded<F>(
    state: &UnifiedState,
    endpoint: UnifiedEndpoint,
    req: Request,
    work: F,
) -> Response
where
    F: AsyncFnOnce(usize, Request) -> Result<Value, Rejection>,
{
    let decision = state.faults().decide(endpoint);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let FaultAction::Error {
        status,
        code,
        retry_after,
    } = decision.action
    {
        let mut r = Rejection::new(status, fault_message(status, code));
        r.retry_after = retry_after;
        return r.into_response();
    }
    let kill = req.extensions().get::<ConnectionKill>().cloned();
    let header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = match state.authenticate(header.as_deref()) {
        Ok(key) => work(key, req).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    };
    if !decision.stall.is_zero() {
        // The work is done (a task may exist now); the answer comes late.
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

async fn json_body(req: Request) -> Result<Value, Rejection> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|e| Rejection::new(413, format!("request body: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Rejection::new(400, format!("request body is not valid JSON: {e}")))
}

async fn models(State(state): State<UnifiedState>, kind: MediaKind, req: Request) -> Response {
    guarded(
        &state,
        UnifiedEndpoint::Models,
        req,
        async move |_key, _req| {
            let mut doc = Catalog::builtin().models_document(Some(kind));
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("success".into(), json!(true));
            }
            Ok(doc)
        },
    )
    .await
}

async fn quote(State(state): State<UnifiedState>, kind: MediaKind, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        UnifiedEndpoint::Quote,
        req,
        async move |_key, req| {
            let body = json_body(req).await?;
            st.quote(kind, &body)
        },
    )
    .await
}

async fn generate(State(state): State<UnifiedState>, kind: MediaKind, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        UnifiedEndpoint::Generate,
        req,
        async move |key, req| {
            let body = json_body(req).await?;
            st.generate(key, kind, &body)
        },
    )
    .await
}

async fn status(State(state): State<UnifiedState>, kind: MediaKind, req: Request) -> Response {
    let st = state.clone();
    guarded(
        &state,
        UnifiedEndpoint::Status,
        req,
        async move |key, req| {
            let path = req.uri().path();
            let id = path.split('/').rev().nth(1).unwrap_or_default().to_string();
            st.status(key, kind, &id)
        },
    )
    .await
}

async fn media(State(state): State<UnifiedState>, req: Request) -> Response {
    let decision = state.faults().decide(UnifiedEndpoint::Media);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.action {
        FaultAction::Error { status, code, .. } => {
            return Rejection::new(status, fault_message(status, code)).into_response()
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
            let bytes = if decision.action == FaultAction::Malformed {
                bytes[..bytes.len() / 2].to_vec()
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
        None => (StatusCode::NOT_FOUND, "no such media").into_response(),
    }
}
