//! `POST /callbacks/{provider}/{token}`: a provider reports a task's status. The token (a
//! per-task secret in the URL we gave the upstream: 32 random alphanumerics, minted in
//! `api::generate`) finds the task; a handshake (MiniMax's `{"challenge":…}`, the
//! provider's `callback_handshake`) is answered at once with the provider's body and
//! settles nothing; otherwise the provider's own `parse_callback` reads the body (and
//! verifies its signature where the provider signs).
//!
//! A callback is a hint, never the decision: not every upstream signs its callbacks (Kling
//! does not, spec/kling-api.md "Errors, limits, callbacks"), so the state it claims is
//! confirmed by asking the provider, as the poller would, and what the provider answers is
//! settled. A forged body claiming success for a task still running changes nothing.
//! Settlement is idempotent, so duplicated, concurrent or late callbacks change nothing
//! twice (W3, W4).

use super::error::{ApiError, ApiResult};
use crate::engine::settle::settle;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use genmux_core::{ErrorKind, TaskSnapshot, UnknownLookup, UnknownTask};
use genmux_store::TaskRecord;
use serde_json::{json, Value};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/callbacks/{provider}/{token}", post(inbound))
}

/// An upstream provider's status callback.
#[utoipa::path(post, path = "/callbacks/{provider}/{token}", tag = "callbacks",
    params(("provider" = String, Path), ("token" = String, Path)),
    request_body(content = Object, description = "the provider's own callback body"),
    responses((status = 200, description = "accepted; for a handshake, the provider's answer (MiniMax: the challenge echoed)", body = Object),
        (status = 401, description = "bad signature", body = crate::wire::ErrorBody),
        (status = 404, description = "unknown callback URL", body = crate::wire::ErrorBody)))]
pub async fn inbound(
    State(state): State<AppState>,
    Path((provider, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let unknown = || ApiError::not_found("no task has this callback URL");
    let task = state
        .store()
        .tasks
        .find_by_callback_token(&token)
        .await?
        .filter(|t| t.provider == provider)
        .ok_or_else(unknown)?;
    let p = state.router().provider(&provider).ok_or_else(unknown)?;
    if let Some(answer) = p.callback_handshake(task.operation, &headers, &body) {
        // Answered at once (MiniMax waits 3 s at most); it carries no task state.
        return Ok(Json(answer));
    }
    let snap = p
        .parse_callback(task.operation, &headers, &body)
        .map_err(|e| match e.kind() {
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("callback refused: {}", e.message()),
            ),
            ErrorKind::Internal => ApiError::from(e),
            _ => ApiError::bad_request(format!("callback body: {}", e.message())),
        })?;
    if let Some(known) = &task.provider_task_id {
        if !snap.provider_task_id.is_empty() && &snap.provider_task_id != known {
            return Err(ApiError::bad_request(format!(
                "callback is about upstream task `{}`, but this URL belongs to `{known}`",
                snap.provider_task_id
            )));
        }
    }
    let confirmed = confirm(&state, &task, &snap).await?;
    let outcome = settle(&state, &task, confirmed).await?;
    Ok(Json(json!({
        "success": true,
        "taskId": task.id,
        "status": outcome.record().status,
    })))
}

/// The task's state as the provider reports it when asked, for a callback `hint`: by the
/// upstream id the task has; a submission of unknown outcome by the id we sent with it
/// where its offering can find it (so a callback cannot attach another upstream task to
/// it); otherwise by the upstream id the callback names (an upstream whose tasks cannot be
/// looked up either signs its callbacks, verified by `parse_callback`, or — MiniMax —
/// signs nothing: then the per-task URL's token is the only secret, and the named task is
/// queried all the same).
async fn confirm(
    state: &AppState,
    task: &TaskRecord,
    hint: &TaskSnapshot,
) -> ApiResult<TaskSnapshot> {
    if let Some(upstream_id) = &task.provider_task_id {
        let tref = crate::engine::poller::task_ref(task, upstream_id.clone());
        return Ok(state.router().status(&tref).await?);
    }
    let lookup = state
        .router()
        .unknown_lookup(&task.provider, &task.model)
        .unwrap_or(UnknownLookup::NotFindable);
    match (&task.external_task_id, lookup) {
        (Some(external_id), UnknownLookup::ExternalIdQuery | UnknownLookup::ListScan) => {
            let unknown: UnknownTask = crate::engine::poller::unknown_task(task, external_id);
            state.router().find_unknown(&unknown).await?.ok_or_else(|| {
                ApiError::not_found(
                    "the provider has no task submitted under this callback URL (yet)",
                )
            })
        }
        _ => {
            let tref = crate::engine::poller::task_ref(task, hint.provider_task_id.clone());
            Ok(state.router().status(&tref).await?)
        }
    }
}
